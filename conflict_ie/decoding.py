"""The one decoder: model outputs -> character spans and relations. ``predict()`` and evaluation both call it.

Texts are tokenized in one pass and cut into overlapping windows; windows are sorted by length and batched.
Tag probabilities from every window that covers a token are averaged, so spans near a window edge are decided
with the context of the window that sees them best. Relations are scored for pairs of decoded spans inside each
window, from the same encoder pass, and averaged over the windows that contain both spans.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .encoding import (ENTITY_TAGS, RELATION_CLASSES, TRIGGER_TAGS, EncodedDocument, TokenSpan,
                       Window, collate, make_windows, spans_in_window, tokenize_texts)
from .model import ExtractionModel, allowed_label_pairs
from .records import RelationPrediction, SpanPrediction


@dataclass(frozen=True)
class DecodedText:
    entities: tuple[SpanPrediction, ...]
    triggers: tuple[SpanPrediction, ...]
    relations: tuple[RelationPrediction, ...]


EMPTY = DecodedText((), (), ())


class Decoder:
    def __init__(self, model: ExtractionModel, tokenizer, *, batch_size: int = 16, windows_per_chunk: int = 128):
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.windows_per_chunk = windows_per_chunk
        self.allowed_pairs = allowed_label_pairs()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.inference_mode()
    def decode(self, texts: list[str], progress: bool = False) -> list[DecodedText]:
        """Decode every text; one result per text, in input order."""
        was_training = self.model.training
        self.model.eval()
        try:
            encoded = tokenize_texts(self.tokenizer, texts)
            results: list[DecodedText] = [EMPTY] * len(texts)
            order = sorted((i for i in range(len(texts)) if len(encoded[i])), key=lambda i: len(encoded[i]))
            bar = _progress_bar(len(order), progress)
            for chunk in self._chunks(order, encoded):
                for index, decoded in zip(chunk, self._decode_chunk([encoded[i] for i in chunk])):
                    results[index] = decoded
                bar.update(len(chunk))
            bar.close()
            return results
        finally:
            self.model.train(was_training)

    def _chunks(self, order: list[int], encoded: list[EncodedDocument]):
        config = self.model.config
        step = config.max_length - 2 - config.stride
        chunk, window_count = [], 0
        for index in order:
            count = max(1, -(-max(len(encoded[index]) - config.stride, 1) // step))
            if chunk and window_count + count > self.windows_per_chunk:
                yield chunk
                chunk, window_count = [], 0
            chunk.append(index)
            window_count += count
        if chunk:
            yield chunk

    def _decode_chunk(self, documents: list[EncodedDocument]) -> list[DecodedText]:
        config = self.model.config
        windows = make_windows([len(d) for d in documents], config.max_length, config.stride)
        entity_probs, trigger_probs, window_features = [], [], {}
        ordered = sorted(windows, key=lambda w: w.token_end - w.token_start)
        for start in range(0, len(ordered), self.batch_size):
            batch_windows = ordered[start:start + self.batch_size]
            batch = collate(documents, batch_windows, self.tokenizer).to(self.device)
            features = self.model.features(batch)
            entity_batch = self.model.entity_head(features).softmax(-1).float().cpu()
            trigger_batch = self.model.trigger_head(features).softmax(-1).float().cpu()
            for row, window in enumerate(batch_windows):
                n = window.token_end - window.token_start
                entity_probs.append(entity_batch[row, 1:n + 1])
                trigger_probs.append(trigger_batch[row, 1:n + 1])
                window_features[window] = features[row, :n + 2]
        lengths = [len(d) for d in documents]
        entity_merged = merge_windows(lengths, ordered, entity_probs)
        trigger_merged = merge_windows(lengths, ordered, trigger_probs)

        results = []
        for doc_index, document in enumerate(documents):
            entity_spans = decode_tags(entity_merged[doc_index], ENTITY_TAGS, document)
            trigger_spans = decode_tags(trigger_merged[doc_index], TRIGGER_TAGS, document)
            doc_windows = [w for w in windows if w.doc_index == doc_index]
            relations = self._relations(document, entity_spans + trigger_spans, doc_windows, window_features)
            results.append(DecodedText(
                entities=tuple(_to_prediction(document, s) for s in entity_spans),
                triggers=tuple(_to_prediction(document, s) for s in trigger_spans),
                relations=relations,
            ))
        return results

    def _relations(self, document: EncodedDocument, spans: list[tuple[TokenSpan, float]], windows: list[Window],
                   window_features: dict[Window, torch.Tensor]) -> tuple[RelationPrediction, ...]:
        if len(spans) < 2:
            return ()
        token_spans = [span for span, _ in spans]
        scores = {id(span): score for span, score in spans}
        sums: dict[tuple[int, int], torch.Tensor] = {}
        seen: dict[tuple[int, int], int] = {}
        by_id = {id(span): span for span in token_spans}
        for window in windows:
            inside = spans_in_window(token_spans, window)
            if len(inside) < 2:
                continue
            local = Window(0, window.token_start, window.token_end)
            batch = collate([document], [local], self.tokenizer, candidate_spans=[inside],
                            max_distance=self.model.config.max_relation_distance,
                            allowed_pairs=self.allowed_pairs).to(self.device)
            if not len(batch.pair_batch_index):
                continue
            features = window_features[window].unsqueeze(0)
            probs = self.model.relation_logits(features, batch).softmax(-1).float().cpu()
            keys = _pair_keys(inside, self.allowed_pairs, self.model.config.max_relation_distance)
            for key, row in zip(keys, probs):
                sums[key] = sums.get(key, 0) + row
                seen[key] = seen.get(key, 0) + 1
        relations = []
        for (head_key, tail_key), total in sums.items():
            probs = total / seen[(head_key, tail_key)]
            label_index = int(probs.argmax())
            if label_index == 0:
                continue
            head, tail = by_id[head_key], by_id[tail_key]
            relations.append(RelationPrediction(
                head=_to_prediction(document, (head, scores[head_key])),
                tail=_to_prediction(document, (tail, scores[tail_key])),
                label=RELATION_CLASSES[label_index],
                score=round(float(probs[label_index]), 4),
            ))
        relations.sort(key=lambda r: (r.head.start, r.tail.start, r.label))
        return tuple(relations)


def _pair_keys(spans: list[TokenSpan], allowed_pairs, max_distance: int) -> list[tuple[int, int]]:
    """The (head, tail) pairs in the order ``collate`` emits them for candidate spans."""
    keys = []
    for head in spans:
        for tail in spans:
            if head is tail or (head.label, tail.label) not in allowed_pairs:
                continue
            if abs(head.token_start - tail.token_start) > max_distance:
                continue
            keys.append((id(head), id(tail)))
    return keys


def merge_windows(lengths: list[int], windows: list[Window], window_probs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per-document tag probabilities: the mean over every window that covers each token."""
    sums = [torch.zeros((n, window_probs[0].shape[-1])) for n in lengths]
    counts = [torch.zeros((n, 1)) for n in lengths]
    for window, probs in zip(windows, window_probs):
        sums[window.doc_index][window.token_start:window.token_end] += probs
        counts[window.doc_index][window.token_start:window.token_end] += 1
    return [total / count.clamp(min=1) for total, count in zip(sums, counts)]


def decode_tags(probs: torch.Tensor, tag_names: tuple[str, ...], document: EncodedDocument
                 ) -> list[tuple[TokenSpan, float]]:
    """BIO decoding with repair (an I- that does not continue a span of its type starts one), then each span is
    widened to whole words so no span ends inside a word."""
    best = probs.argmax(-1).tolist()
    confidence = probs.max(-1).values.tolist()
    spans: list[tuple[int, int, str]] = []
    for position, tag_id in enumerate(best):
        tag = tag_names[tag_id]
        if tag == "O":
            continue
        prefix, label = tag.split("-", 1)
        if prefix == "I" and spans and spans[-1][1] == position and spans[-1][2] == label:
            spans[-1] = (spans[-1][0], position + 1, label)
        else:
            spans.append((position, position + 1, label))
    word_spans: list[tuple[int, int, str]] = []
    for start, end, label in spans:
        start, end = _widen_to_words(document, start, end)
        if word_spans and start < word_spans[-1][1]:  # widening made two spans meet: keep the first
            continue
        word_spans.append((start, end, label))
    return [(TokenSpan(start, end, label), round(sum(confidence[start:end]) / (end - start), 4))
            for start, end, label in word_spans]


def _widen_to_words(document: EncodedDocument, start: int, end: int) -> tuple[int, int]:
    """Grow a token span while its edge token is glued to an alphanumeric neighbour ("hu" + "##rras")."""
    while start > 0 and _glued(document, start - 1, start):
        start -= 1
    while end < len(document) and _glued(document, end - 1, end):
        end += 1
    return start, end


def _glued(document: EncodedDocument, left: int, right: int) -> bool:
    text = document.text
    return (document.char_ends[left] == document.char_starts[right]
            and text[document.char_ends[left] - 1].isalnum() and text[document.char_starts[right]].isalnum())


def _to_prediction(document: EncodedDocument, span_and_score: tuple[TokenSpan, float]) -> SpanPrediction:
    span, score = span_and_score
    char_start = document.char_starts[span.token_start]
    char_end = document.char_ends[span.token_end - 1]
    return SpanPrediction(char_start, char_end, document.text[char_start:char_end], span.label, score)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="predict", unit="doc")

