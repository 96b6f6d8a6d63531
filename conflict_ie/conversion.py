"""Documents <-> predictions: the one place where predicted spans become a Document, a gold Document's spans
become predictions, and predicted span ids are minted.

Predicted span ids are ``e1``, ``e2``.. for entities, ``t1``, ``t2``.. for triggers and ``r1``.. for role fillers, in the order the spans
are given; a relation end that is not among the given spans is added under the next id of its kind.
"""

from __future__ import annotations

from collections.abc import Sequence

from .data.document import Document, Relation, Span
from .records import RelationPrediction, SpanPrediction
from .schema import LAYERS, ROLE_FILLER_LABELS, TRIGGER_LABELS


def predictions_to_document(doc_id: str, text: str, entities: Sequence[SpanPrediction],
                            triggers: Sequence[SpanPrediction], relations: Sequence[RelationPrediction], *,
                            role_fillers: Sequence[SpanPrediction] = (), source: str = "prediction",
                            meta: dict | None = None
                            ) -> tuple[Document, dict[str, float]]:
    """A Document of predictions (annotated in every layer) and each span id's score. Raises ValueError when a
    span's text is not ``text[start:end]``; repeated spans and relations are kept once."""
    spans: list[Span] = []
    scores: dict[str, float] = {}
    ids: dict[tuple[int, int, str], str] = {}
    counts = {"e": 0, "t": 0, "r": 0}

    def add(prediction: SpanPrediction) -> str:
        key = (prediction.start, prediction.end, prediction.label)
        if key in ids:
            return ids[key]
        if text[prediction.start:prediction.end] != prediction.text:
            raise ValueError(f"predicted span {prediction.label} {prediction.text!r} at {prediction.start}.."
                             f"{prediction.end} does not match the text there "
                             f"({text[prediction.start:prediction.end]!r})")
        prefix = "t" if prediction.label in TRIGGER_LABELS else "r" if prediction.label in ROLE_FILLER_LABELS else "e"
        counts[prefix] += 1
        span_id = f"{prefix}{counts[prefix]}"
        ids[key] = span_id
        spans.append(Span(span_id, prediction.start, prediction.end, prediction.text, prediction.label))
        scores[span_id] = float(prediction.score)
        return span_id

    for span in (*entities, *triggers, *role_fillers):
        add(span)
    kept: dict[Relation, None] = {}  # insertion-ordered set
    for relation in relations:
        kept.setdefault(Relation(add(relation.head), add(relation.tail), relation.label))
    document = Document(id=doc_id, text=text, spans=tuple(spans), relations=tuple(kept), layers=frozenset(LAYERS),
                        source=source, meta=dict(meta or {}))
    return document, scores


def document_to_predictions(document: Document
                            ) -> tuple[tuple[SpanPrediction, ...], tuple[SpanPrediction, ...],
                                       tuple[RelationPrediction, ...]]:
    """A (gold) Document's entities, triggers (in text order) and relations as predictions of score 1.0."""
    spans = {span.id: SpanPrediction(span.start, span.end, span.text, span.label, 1.0) for span in document.spans}
    entities = tuple(s for s in spans.values() if s.label not in TRIGGER_LABELS and s.label not in ROLE_FILLER_LABELS)
    triggers = tuple(sorted((s for s in spans.values() if s.label in TRIGGER_LABELS), key=lambda s: s.start))
    relations = tuple(RelationPrediction(spans[r.head], spans[r.tail], r.label, 1.0) for r in document.relations)
    return entities, triggers, relations
