"""The one decoder: probabilities -> character spans and relations. ``predict()`` and evaluation both reach it
through the inference runner; it runs no model and reads no tokenizer.

The inference runner averages the tag probabilities of every window that covers a token, so spans near a window
edge are decided with the context of the window that sees them best; BIO tags become token spans widened to whole
words (``decode_tags``), for a whole document or for the piece of a long one before a ``safe_cut``. Relation probabilities of a span pair are averaged over the windows that scored it, and
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
    role_fillers: tuple[SpanPrediction, ...] = ()


EMPTY = DecodedText((), (), ())


def decode_tags(probs: torch.Tensor, tag_names: tuple[str, ...], document: EncodedDocument, offset: int = 0
                ) -> list[tuple[TokenSpan, float]]:
    """BIO decoding with repair (an I- that does not continue a span of its type starts one), then each span is
    widened to whole words so no span ends inside a word. Each span comes with its mean tag probability.

    ``probs`` may cover only tokens ``offset .. offset + len(probs) - 1`` of the document (a long document is
    decoded piece by piece); spans are widened only inside that piece."""
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
        start, end = _widen_to_words(document, start + offset, end + offset, offset, offset + len(best))
        start, end = start - offset, end - offset
        if word_spans and start < word_spans[-1][1]:  # widening made two spans meet: keep the first
            continue
        if label == "Quantity":
            end = _without_trailing_of(document, start + offset, end + offset) - offset
        word_spans.append((start, end, label))
    return [(TokenSpan(start + offset, end + offset, label), round(sum(confidence[start:end]) / (end - start), 4))
            for start, end, label in word_spans]


def safe_cut(document: EncodedDocument, tag_ids: list[torch.Tensor], start: int, end: int) -> int | None:
    """The last position in ``start .. end - 1`` where decoding may cut the document in two without changing
    any span: every layer's best tag there is O (tag id 0) and the token is glued to neither neighbour, so no
    span runs across it and no widening reaches it. None when there is no such position."""
    outside = torch.ones(end - start, dtype=torch.bool)
    for ids in tag_ids:
        outside &= ids == 0
    for position in reversed(outside.nonzero().flatten().tolist()):
        position += start
        if not (position > 0 and _glued(document, position - 1, position)) and not (
                position + 1 < len(document) and _glued(document, position, position + 1)):
            return position
    return None


class RelationVotes:
    """Relation probability rows of span pairs, averaged over the windows that scored each pair; the most
    probable type is kept unless it is "none". Pairs can be settled as soon as no later window can score them,
    so a long document never holds the rows of all its pairs."""

    def __init__(self, document: EncodedDocument):
        self.document = document
        self.scores: dict[int, float] = {}  # id(span) -> its tag score
        self.sums: dict[tuple[int, int], torch.Tensor] = {}
        self.seen: dict[tuple[int, int], int] = {}
        self.ends: dict[tuple[int, int], tuple[TokenSpan, TokenSpan]] = {}
        self.relations: list[RelationPrediction] = []

    def add_spans(self, spans: list[tuple[TokenSpan, float]]) -> None:
        self.scores.update((id(span), score) for span, score in spans)

    def add(self, scored_pairs: Iterable[tuple[tuple[TokenSpan, TokenSpan], torch.Tensor]]) -> None:
        for (head, tail), row in scored_pairs:
            key = (id(head), id(tail))
            self.sums[key] = self.sums.get(key, 0) + row
            self.seen[key] = self.seen.get(key, 0) + 1
            self.ends[key] = (head, tail)

    def decide_all(self, spans: list[TokenSpan], head: torch.Tensor, tail: torch.Tensor, probs: torch.Tensor
                   ) -> None:
        """Every row of a whole document at once (``head`` and ``tail`` index ``spans``, rows in window order):
        each pair's mean row decides it, as ``add`` and ``settle`` would one row at a time (the rows of a pair are
        summed in the same order), in a few tensor operations instead of Python per pair."""
        if not len(head):
            return
        pairs, inverse = torch.unique(head * len(spans) + tail, return_inverse=True)
        sums = torch.zeros((len(pairs), probs.shape[1]), dtype=probs.dtype).index_add_(0, inverse, probs)
        means = sums / torch.bincount(inverse, minlength=len(pairs)).unsqueeze(1)
        best = means.argmax(-1)
        for index in best.nonzero().flatten().tolist():
            self._keep(spans[int(pairs[index]) // len(spans)], spans[int(pairs[index]) % len(spans)], means[index])

    def settle(self, before_token: int | None = None) -> None:
        """Decide every pair whose earlier span starts before ``before_token`` (None: every pair)."""
        keys = [key for key, (head, tail) in self.ends.items()
                if before_token is None or min(head.token_start, tail.token_start) < before_token]
        for key in keys:
            self._keep(*self.ends.pop(key), self.sums.pop(key) / self.seen.pop(key))

    def _keep(self, head: TokenSpan, tail: TokenSpan, probs: torch.Tensor) -> None:
        """A pair decided by its mean row ``probs``: a relation of the most probable type, unless that is none."""
        label_index = int(probs.argmax())
        if label_index == 0:
            return
        self.relations.append(RelationPrediction(
            head=to_prediction(self.document, (head, self.scores[id(head)])),
            tail=to_prediction(self.document, (tail, self.scores[id(tail)])),
            label=RELATION_CLASSES[label_index],
            score=round(float(probs[label_index]), 4),
        ))

    def result(self) -> tuple[RelationPrediction, ...]:
        """Every relation, ordered by head start, tail start and label."""
        self.settle()
        order = lambda r: (r.head.start, r.tail.start, r.label, r.head.end, r.tail.end)  # noqa: E731
        return tuple(sorted(self.relations, key=order))


def decode_relations(document: EncodedDocument, spans: list[tuple[TokenSpan, float]],
                     scored_pairs: Iterable[tuple[tuple[TokenSpan, TokenSpan], torch.Tensor]]
                     ) -> tuple[RelationPrediction, ...]:
    """Relations from (head, tail) pairs of ``spans`` with a probability row over RELATION_CLASSES each; a pair
    scored in several windows gets the mean of its rows. Ordered by head start, tail start and label."""
    votes = RelationVotes(document)
    votes.add_spans(spans)
    votes.add(scored_pairs)
    return votes.result()


def _widen_to_words(document: EncodedDocument, start: int, end: int, lowest: int = 0, highest: int | None = None
                    ) -> tuple[int, int]:
    """Grow a token span while its edge token is glued to an alphanumeric neighbour ("hu" + "##rras"), staying
    inside tokens ``lowest .. highest - 1``."""
    highest = len(document) if highest is None else highest
    while start > lowest and _glued(document, start - 1, start):
        start -= 1
    while end < highest and _glued(document, end - 1, end):
        end += 1
    return start, end


# "a number of" is itself the quantity; in "[At least 40] of them" the "of" is not (GUIDELINES 7.1).
_NOUNS_BEFORE_OF = frozenset({"number", "couple"})


def _without_trailing_of(document: EncodedDocument, start: int, end: int) -> int:
    """The end of a Quantity token span without a last word "of" that follows a count ("At least 40 of" ->
    "At least 40"), where the tagger ran the number on into the phrase it counts."""
    if end - start < 2 or _word(document, end - 1).lower() != "of":
        return end
    return end if _word(document, end - 2).lower() in _NOUNS_BEFORE_OF else end - 1


def _word(document: EncodedDocument, token: int) -> str:
    return document.text[document.char_starts[token]:document.char_ends[token]]


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
