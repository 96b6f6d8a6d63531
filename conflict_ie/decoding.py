"""The one decoder: probabilities -> character spans and relations. ``predict()`` and evaluation both reach it
through the inference runner; it runs no model and reads no tokenizer.

Tag probabilities from every window that covers a token are averaged (``merge_windows``), so spans near a window
edge are decided with the context of the window that sees them best; BIO tags become token spans widened to whole
words (``decode_tags``). Relation probabilities of a span pair are averaged over the windows that scored it, and
the most probable relation type is kept unless it is "none" (``decode_relations``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from .encoding import RELATION_CLASSES, EncodedDocument, TokenSpan, Window
from .records import RelationPrediction, SpanPrediction


@dataclass(frozen=True)
class DecodedText:
    entities: tuple[SpanPrediction, ...]
    triggers: tuple[SpanPrediction, ...]
    relations: tuple[RelationPrediction, ...]


EMPTY = DecodedText((), (), ())


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
    widened to whole words so no span ends inside a word. Each span comes with its mean tag probability."""
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


def decode_relations(document: EncodedDocument, spans: list[tuple[TokenSpan, float]],
                     scored_pairs: Iterable[tuple[tuple[TokenSpan, TokenSpan], torch.Tensor]]
                     ) -> tuple[RelationPrediction, ...]:
    """Relations from (head, tail) pairs of ``spans`` with a probability row over RELATION_CLASSES each; a pair
    scored in several windows gets the mean of its rows. Ordered by head start, tail start and label."""
    scores = {id(span): score for span, score in spans}
    sums: dict[tuple[int, int], torch.Tensor] = {}
    seen: dict[tuple[int, int], int] = {}
    ends: dict[tuple[int, int], tuple[TokenSpan, TokenSpan]] = {}
    for (head, tail), row in scored_pairs:
        key = (id(head), id(tail))
        sums[key] = sums.get(key, 0) + row
        seen[key] = seen.get(key, 0) + 1
        ends[key] = (head, tail)
    relations = []
    for key, total in sums.items():
        probs = total / seen[key]
        label_index = int(probs.argmax())
        if label_index == 0:
            continue
        head, tail = ends[key]
        relations.append(RelationPrediction(
            head=to_prediction(document, (head, scores[key[0]])),
            tail=to_prediction(document, (tail, scores[key[1]])),
            label=RELATION_CLASSES[label_index],
            score=round(float(probs[label_index]), 4),
        ))
    relations.sort(key=lambda r: (r.head.start, r.tail.start, r.label))
    return tuple(relations)


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


def to_prediction(document: EncodedDocument, span_and_score: tuple[TokenSpan, float]) -> SpanPrediction:
    """A token span as a character span of the document's original text."""
    span, score = span_and_score
    char_start = document.char_starts[span.token_start]
    char_end = document.char_ends[span.token_end - 1]
    return SpanPrediction(char_start, char_end, document.text[char_start:char_end], span.label, score)
