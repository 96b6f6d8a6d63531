"""The inference runner: texts -> encoding -> model -> decoding, in batches. ``predict()`` and the training loop's
dev evaluation both run it.

Texts are tokenized in one pass and cut into overlapping windows; documents are taken shortest first in chunks
of at most ``windows_per_chunk`` windows, and each chunk's windows are sorted by length and batched. The tag pass
keeps each window's features; after tag decoding, relations are scored for pairs of decoded spans inside each
window from those same features (no second encoder pass). A layer the model never learnt (``layers``, from the
model metadata) is not decoded at all: an untrained head's output is noise, not a prediction.

A document longer than a chunk is streamed: its windows run in text order, spans are decoded up to the last
place no later window can change, each window's relation pairs are scored as soon as every span inside it is
known, and its features are dropped. Time grows linearly with the length of an article and memory stays
bounded by a few windows (plus the predictions themselves).
"""

from __future__ import annotations

import bisect

import torch

from .backends import TorchTagger
from .decoding import EMPTY, DecodedText, RelationVotes, decode_tags, safe_cut, to_prediction
from .encoding import (ENTITY_TAGS, RELATION_CLASSES, ROLE_FILLER_TAGS, SPAN_LABELS, TRIGGER_TAGS, EncodedDocument,
                       TokenSpan, Window, collate, make_windows, tokenize_texts, window_count)
from .memory import release_freed_memory
from .model import ExtractionModel
from .schema import LAYERS

# Windows, beyond one batch, whose relations may wait for a safe cut before a long document is cut anyway (a text
# with no word breaks, or a model that tags every token).
MAX_PENDING_WINDOWS = 8


class InferenceRunner:
    # windows_per_chunk: a chunk's windows keep their features (about 0.4 MB each) until its relations are scored;
    # 256 pads 1.5% more tokens than one global sort of the dev set's windows, 128 padded 3.8%
    def __init__(self, model: ExtractionModel, tokenizer, *, batch_size: int = 16, windows_per_chunk: int = 256,
                 layers: tuple[str, ...] = LAYERS, tagger=None):
        self.model = model
        # runs the tag pass on a batch (conflict_ie.backends): the torch model, or an exported ONNX graph
        self.tagger = tagger if tagger is not None else TorchTagger(model)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.windows_per_chunk = windows_per_chunk
        # the windows the model was trained with, unless a caller measures others (benchmarks/speed.py)
        self.max_length, self.stride = model.config.max_length, model.config.stride
        # [head label, tail label] -> whether the schema lets any relation link them
        self.allowed_label_matrix = model.allowed_relations[:, :, 1:].any(-1).cpu()
        self.layers = frozenset(layers)  # the layers decoded; the others stay empty

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.inference_mode()
    def run(self, texts: list[str], progress: bool = False) -> list[DecodedText]:
        """Decode every text; one result per text, in input order (empty texts give empty results)."""
        was_training = self.model.training
        self.model.eval()
        threads = torch.get_num_threads()
        torch.set_num_threads(getattr(self.tagger, "torch_threads", None) or threads)
        try:
            encoded = tokenize_texts(self.tokenizer, texts)
            results: list[DecodedText] = [EMPTY] * len(texts)
            order = sorted((i for i in range(len(texts)) if len(encoded[i])), key=lambda i: len(encoded[i]))
            bar = _progress_bar(len(order), progress)
            for chunk in self._chunks(order, encoded):
                documents = [encoded[i] for i in chunk]
                decoded = (self._run_chunk(documents) if len(chunk) > 1 or self._windows(documents[0]) <=
                           self.windows_per_chunk else [self._run_long(documents[0])])
                for index, result in zip(chunk, decoded):
                    results[index] = result
                bar.update(len(chunk))
            bar.close()
            return results
        finally:
            torch.set_num_threads(threads)
            self.model.train(was_training)

    def _windows(self, document: EncodedDocument) -> int:
        return window_count(len(document), self.max_length, self.stride)

    def _chunks(self, order: list[int], encoded: list[EncodedDocument]):
        """Documents in ``order``, grouped so that a group has at most ``windows_per_chunk`` windows (or one
        document)."""
        chunk, windows = [], 0
        for index in order:
            count = self._windows(encoded[index])
            if chunk and windows + count > self.windows_per_chunk:
                yield chunk
                chunk, windows = [], 0
            chunk.append(index)
            windows += count
        if chunk:
            yield chunk

    def _tag_pass(self, documents: list[EncodedDocument], windows: list[Window]):
        """(window, (entity, trigger, role-filler) probabilities, features) of each window, batched in order."""
        for start in range(0, len(windows), self.batch_size):
            batch_windows = windows[start:start + self.batch_size]
            tags = self.tagger(collate(documents, batch_windows, self.tokenizer))
            layers = (tags.entity.cpu(), tags.trigger.cpu(), tags.role.cpu())
            for row, window in enumerate(batch_windows):
                n = window.token_end - window.token_start
                yield window, tuple(probs[row, 1:n + 1] for probs in layers), tags.features[row, :n + 2]

    def encoder_batches(self, texts: list[str]) -> list:
        """The batches of windows the tag pass runs over ``texts`` (shortest windows first), collated: what the
        speed benchmark times the bare encoder on."""
        encoded = [document for document in tokenize_texts(self.tokenizer, texts) if len(document)]
        windows = make_windows([len(d) for d in encoded], self.max_length, self.stride)
        windows.sort(key=lambda w: w.token_end - w.token_start)
        return [collate(encoded, windows[start:start + self.batch_size], self.tokenizer)
                for start in range(0, len(windows), self.batch_size)]

    def _run_chunk(self, documents: list[EncodedDocument]) -> list[DecodedText]:
        """Short documents together: windows of similar length are batched, then each document is decoded."""
        windows = make_windows([len(d) for d in documents], self.max_length, self.stride)
        decoders = [_DocumentDecoder(self, document) for document in documents]
        ordered = sorted(windows, key=lambda w: w.token_end - w.token_start)
        for window, probs, features in self._tag_pass(documents, ordered):
            decoders[window.doc_index].add(window, probs, features)
        for decoder in decoders:
            decoder.decode_spans(len(decoder.document))
        self._score_together(decoders)
        return [decoder.finish() for decoder in decoders]

    def _score_together(self, decoders: list["_DocumentDecoder"]) -> None:
        """The relations of every window of several fully decoded documents, scored in one batch (one call per
        document cost more in overhead than in arithmetic) and handed back to each document's decoder."""
        ready = [decoder.take_ready(len(decoder.document)) for decoder in decoders]
        items = [item for document_ready in ready for item in document_ready]
        head, tail, probs = self.score_windows(items) if items else (None, None, None)
        offset, first_pair = 0, 0
        for decoder, document_ready in zip(decoders, ready):
            spans = sum(len(inside) for _, _, inside in document_ready)
            if spans:  # pairs come window by window, so a document's pairs are the run of heads in its span range
                last_pair = int(torch.searchsorted(head, offset + spans))
                decoder.vote_all(document_ready, head[first_pair:last_pair] - offset,
                                 tail[first_pair:last_pair] - offset, probs[first_pair:last_pair])
                offset, first_pair = offset + spans, last_pair
            decoder.settle(len(decoder.document))

    def _run_long(self, document: EncodedDocument) -> DecodedText:
        """One long document, streamed: windows in text order, decoded and scored as soon as they are final."""
        windows = make_windows([len(document)], self.max_length, self.stride)
        decoder = _DocumentDecoder(self, document)
        for start in range(0, len(windows), self.batch_size):
            for window, probs, features in self._tag_pass([document], windows[start:start + self.batch_size]):
                decoder.add(window, probs, features)
            following = start + self.batch_size
            decoder.advance(windows[following].token_start if following < len(windows) else len(document))
            release_freed_memory()  # the heap fragments batch after batch: peak memory would grow with length
        return decoder.finish()

    def score_windows(self, items: list[tuple[Window, torch.Tensor, list[TokenSpan]]]
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Relation probabilities of the candidate pairs of decoded spans inside several windows at once, from
        the tag pass's features: (head, tail, probabilities), where head and tail index the windows' span lists
        laid end to end. Pairs come window by window, head-major, in the order ``candidate_pairs`` gives them:
        distinct spans whose labels may relate and whose starts lie at most ``max_relation_distance`` apart.
        All windows go through each step together (a handful of tensor operations, not a handful per window)."""
        spans = [span for _, _, inside in items for span in inside]
        counts = torch.tensor([len(inside) for _, _, inside in items])
        starts = torch.tensor([span.token_start for span in spans])
        ends = torch.tensor([span.token_end for span in spans])
        label_ids = torch.tensor([SPAN_LABELS.index(span.label) for span in spans])
        # the feature rows of each span's first and last token, gathered window by window (a copy of the rows
        # needed, not of every window's features); position 0 of a window is [CLS]
        shift = 1 - torch.repeat_interleave(torch.tensor([w.token_start for w, _, _ in items]), counts)
        sizes = counts.tolist()

        def rows(tokens: torch.Tensor) -> torch.Tensor:
            return torch.cat([features.index_select(0, positions.to(features.device)) for (_, features, _), positions
                              in zip(items, torch.split(tokens + shift, sizes))])

        first, last = rows(starts), rows(ends - 1)
        vectors = self.model.span_vectors(first, last, label_ids.to(self.device))
        # every (head, tail) of one window, head-major: a span's tails are its window's spans
        per_head = torch.repeat_interleave(counts, counts)
        window_first = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
        head = torch.repeat_interleave(torch.arange(len(spans)), per_head)
        pair_first = torch.repeat_interleave(torch.cumsum(per_head, 0) - per_head, per_head)
        tail = torch.repeat_interleave(window_first, per_head) + torch.arange(len(head)) - pair_first
        gap = (starts[head] - starts[tail]).abs()
        keep = (self.allowed_label_matrix[label_ids[head], label_ids[tail]]
                & (gap <= self.model.config.max_relation_distance) & (head != tail))
        head, tail, gap = head[keep], tail[keep], gap[keep]
        if not len(head):
            return head, tail, torch.zeros((0, len(RELATION_CLASSES)))
        probs = self.model.pair_probabilities(vectors, label_ids.to(self.device), head.to(self.device),
                                              tail.to(self.device), gap.to(self.device),
                                              getattr(self.tagger, "dtype", None)).cpu()
        return head, tail, probs


# The tag layers, in the order the tag pass yields their probabilities.
TAG_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entities", ENTITY_TAGS), ("triggers", TRIGGER_TAGS), ("role_fillers", ROLE_FILLER_TAGS))


class _DocumentDecoder:
    """One document's decoding as its windows arrive. Tag probabilities are summed per token over the windows
    that cover it (their mean decides the tag); tokens no later window reaches are decoded up to a safe cut;
    a window's relation pairs are scored from its features once every span inside it is decoded, and the
    features are dropped; pairs are settled once no later window can score them."""

    def __init__(self, runner: InferenceRunner, document: EncodedDocument):
        self.runner = runner
        self.document = document
        self.base = 0  # tokens before this are decoded; the sums below start here
        self.sums = [torch.zeros((0, len(tags))) for _, tags in TAG_LAYERS]  # per tag layer
        self.count = torch.zeros((0, 1))
        self.pending: list[tuple[Window, torch.Tensor]] = []  # windows whose relations are not scored yet
        self.spans: list[list[tuple[TokenSpan, float]]] = [[] for _ in TAG_LAYERS]
        self.starts: list[list[int]] = [[] for _ in TAG_LAYERS]  # token starts of the spans, to find a window's
        self.votes = RelationVotes(document)
        self.quiet = _QuietPairs()
        self.numbered: list[TokenSpan] = []  # entities and triggers in decoding order; a span's index is its number
        self.number: dict[int, int] = {}  # id(span) -> its number

    def add(self, window: Window, probs: tuple[torch.Tensor, ...], features: torch.Tensor) -> None:
        start, end = window.token_start - self.base, window.token_end - self.base
        if end > len(self.count):
            grow = end - len(self.count)
            self.sums = [torch.cat([total, torch.zeros((grow, total.shape[1]))]) for total in self.sums]
            self.count = torch.cat([self.count, torch.zeros((grow, 1))])
        for total, layer_probs in zip(self.sums, probs):
            total[start:end] += layer_probs
        self.count[start:end] += 1
        if "relations" in self.runner.layers:
            self.pending.append((window, features))

    def advance(self, frontier: int) -> None:
        """No window still to come reaches a token before ``frontier``: decode up to the last safe cut there."""
        if frontier <= self.base:
            return
        merged = self._merged(frontier - self.base)
        cut = safe_cut(self.document, [probs.argmax(-1) for probs in merged], self.base, frontier)
        if cut is None or cut <= self.base:
            if len(self.pending) < self.runner.batch_size + MAX_PENDING_WINDOWS:
                return  # wait for a word break
            cut = frontier  # no break in sight (a text with no spaces): cut here rather than hold it all
        self._decode(cut)

    def finish(self) -> DecodedText:
        if len(self.document) > self.base:
            self._decode(len(self.document))
        entities, triggers, role_fillers = (tuple(to_prediction(self.document, span) for span in spans)
                                            for spans in self.spans)
        return DecodedText(entities=entities, triggers=triggers, relations=self.votes.result(),
                           role_fillers=role_fillers)

    def _merged(self, length: int) -> list[torch.Tensor]:
        count = self.count[:length].clamp(min=1)
        return [total[:length] / count for total in self.sums]

    def _decode(self, cut: int) -> None:
        """Decode tokens ``base .. cut - 1``, score the windows that lie before ``cut``, drop what is done."""
        self.decode_spans(cut)
        self._score_windows_before(cut)

    def decode_spans(self, cut: int) -> None:
        """Decode tokens ``base .. cut - 1`` into spans and drop their tag sums; relations wait."""
        if cut <= self.base:
            return
        for index, ((layer, tags), probs) in enumerate(zip(TAG_LAYERS, self._merged(cut - self.base))):
            new = decode_tags(probs, tags, self.document, self.base) if layer in self.runner.layers else []
            self.spans[index] += new
            self.starts[index] += [span.token_start for span, _ in new]
            if layer != "role_fillers":  # relations link entities and triggers only
                self.votes.add_spans(new)
                for span, _ in new:
                    self.number[id(span)] = len(self.numbered)
                    self.numbered.append(span)
        done = cut - self.base
        self.sums = [total[done:].clone() for total in self.sums]
        self.count = self.count[done:].clone()
        self.base = cut

    def _score_windows_before(self, cut: int) -> None:
        ready = self.take_ready(cut)
        if ready:
            self.vote_scored(ready, *self.runner.score_windows(ready))
        self.settle(cut)

    def take_ready(self, cut: int) -> list[tuple[Window, torch.Tensor, list[TokenSpan]]]:
        """The pending windows that lie before ``cut`` and hold a pair to score, with their decoded spans; the
        others before ``cut`` are dropped (nothing to score)."""
        if "relations" not in self.runner.layers:
            return []
        self.pending.sort(key=lambda item: item[0].token_start)
        ready = [(window, features, self._inside(window)) for window, features in self.pending
                 if window.token_end <= cut]
        self.pending = [item for item in self.pending if item[0].token_end > cut]
        return [item for item in ready if len(item[2]) >= 2]

    def vote_scored(self, ready, head: torch.Tensor, tail: torch.Tensor, probs: torch.Tensor) -> None:
        """Count the scored pairs of ``ready`` (from ``take_ready``; head and tail index its spans end to end)."""
        spans, numbers = self._numbers(ready)
        starts = torch.tensor([span.token_start for span in spans], dtype=torch.long)
        self._vote(numbers[head], numbers[tail], torch.minimum(starts[head], starts[tail]), probs)

    def vote_all(self, ready, head: torch.Tensor, tail: torch.Tensor, probs: torch.Tensor) -> None:
        """Decide every pair of a fully decoded document from all its scored windows (``ready`` from
        ``take_ready(len(document))``) at once."""
        _, numbers = self._numbers(ready)
        self.votes.decide_all(self.numbered, numbers[head], numbers[tail], probs)

    def _numbers(self, ready) -> tuple[list[TokenSpan], torch.Tensor]:
        """The spans of ``ready`` laid end to end (what scored pairs index) and each one's decoding number."""
        spans = [span for _, _, inside in ready for span in inside]
        return spans, torch.tensor([self.number[id(span)] for span in spans], dtype=torch.long)

    def settle(self, cut: int) -> None:
        """Settle the pairs no pending window can score any more (all windows before ``cut`` are scored)."""
        if "relations" not in self.runner.layers:
            return
        frontier = self.pending[0][0].token_start if self.pending else cut
        self.votes.settle(frontier)
        self.quiet.settle(frontier)

    def _vote(self, head: torch.Tensor, tail: torch.Tensor, first: torch.Tensor, probs: torch.Tensor) -> None:
        """Hand the decoder the rows of every pair that some window scores as a relation, in window order; rows of
        pairs that every window so far scored "none" wait aside (a mean of rows whose best class is "none" is
        "none", so most pairs never reach the per-pair Python of RelationVotes)."""
        head, tail, probs = self.quiet.take(head, tail, first, probs)
        spans = self.numbered
        self.votes.add(((spans[h], spans[t]), row) for h, t, row in zip(head.tolist(), tail.tolist(), probs))

    def _inside(self, window: Window) -> list[TokenSpan]:
        """The decoded spans that lie wholly inside ``window``: entities first, then triggers, each in order."""
        inside = []
        for spans, starts in zip(self.spans[:2], self.starts[:2]):
            first = bisect.bisect_left(starts, window.token_start)
            last = bisect.bisect_left(starts, window.token_end)
            inside += [span for span, _ in spans[first:last] if span.token_end <= window.token_end]
        return inside


class _QuietPairs:
    """The relation rows of open pairs that every window so far scored "none", kept as tensors. Such a pair's
    mean is "none" (no class can beat "none" on average when it beats it in no row), so the decoder never needs
    them, unless a later window scores the pair as a relation: then its waiting rows are handed on first, in
    window order, so the decoder averages exactly the rows it would have seen one by one."""

    SHIFT = 1 << 32  # pair code: head number * SHIFT + tail number

    def __init__(self):
        self.codes = torch.zeros(0, dtype=torch.long)  # waiting rows
        self.firsts = torch.zeros(0, dtype=torch.long)
        self.rows = torch.zeros((0, len(RELATION_CLASSES)))
        self.passed = torch.zeros(0, dtype=torch.long)  # codes of the open pairs already handed on
        self.passed_firsts = torch.zeros(0, dtype=torch.long)

    def take(self, head: torch.Tensor, tail: torch.Tensor, first: torch.Tensor, probs: torch.Tensor):
        """(head, tail, rows) to hand the decoder, in window order; the others wait. ``first`` is the earlier
        start of each pair's two spans (what settling goes by)."""
        codes = head * self.SHIFT + tail
        fresh = (probs.argmax(-1) != 0) & ~torch.isin(codes, self.passed)
        new_codes, inverse = torch.unique(codes[fresh], return_inverse=True)
        self.passed = torch.cat([self.passed, new_codes])
        self.passed_firsts = torch.cat([self.passed_firsts, torch.zeros_like(new_codes).scatter_(
            0, inverse, first[fresh])])
        called = torch.isin(self.codes, new_codes)  # waiting rows of pairs now scored as a relation
        send = torch.isin(codes, self.passed)
        out = (torch.cat([self.codes[called], codes[send]]), torch.cat([self.rows[called], probs[send]]))
        self.codes = torch.cat([self.codes[~called], codes[~send]])
        self.firsts = torch.cat([self.firsts[~called], first[~send]])
        self.rows = torch.cat([self.rows[~called], probs[~send]])
        return out[0] // self.SHIFT, out[0] % self.SHIFT, out[1]

    def settle(self, before_token: int) -> None:
        """Forget the pairs whose earlier span starts before ``before_token``: the decoder has settled them."""
        keep = self.firsts >= before_token
        self.codes, self.firsts, self.rows = self.codes[keep], self.firsts[keep], self.rows[keep]
        keep = self.passed_firsts >= before_token
        self.passed, self.passed_firsts = self.passed[keep], self.passed_firsts[keep]


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
