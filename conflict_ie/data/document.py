"""The typed document every loader produces: text, character spans, relations and the layers annotated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..schema import LAYERS, span_layer


@dataclass(frozen=True)
class Span:
    """A labelled character span: ``text[start:end] == self.text`` (end exclusive)."""

    id: str
    start: int
    end: int
    text: str
    label: str

    @property
    def layer(self) -> str:
        return span_layer(self.label)


@dataclass(frozen=True)
class Relation:
    """A directed relation between two spans of the same document, by span id."""

    head: str
    tail: str
    label: str


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    spans: tuple[Span, ...]
    relations: tuple[Relation, ...] = ()
    layers: frozenset[str] = frozenset(LAYERS)
    source: str = ""
    licence: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def publication_date(self) -> dt.date | None:
        """``meta["publication_date"]`` as a date; None when absent or not an ISO date."""
        raw = self.meta.get("publication_date")
        try:
            return dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            return None

    def span_by_id(self) -> dict[str, Span]:
        return {span.id: span for span in self.spans}

    def spans_in_layer(self, layer: str) -> list[Span]:
        return [span for span in self.spans if span.layer == layer]


@dataclass
class LoadReport:
    """What a loader read and what it skipped, with reasons, so nothing is dropped silently."""

    source: str
    documents: int = 0
    spans: dict[str, int] = field(default_factory=dict)
    relations: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Annotation errors whose items were left out (also in notes), as opposed to skips by a corpus's conversion
    # rules (re3d's confidence threshold, overlaps): what evaluate and gold-incidents refuse unless allowed.
    errors: list[str] = field(default_factory=list)

    def count_document(self, document: Document) -> None:
        self.documents += 1
        for span in document.spans:
            self.spans[span.label] = self.spans.get(span.label, 0) + 1
        for relation in document.relations:
            self.relations[relation.label] = self.relations.get(relation.label, 0) + 1

    def skip(self, reason: str, note: str | None = None) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if note is not None:
            self.notes.append(note)

    def reject(self, problem: str) -> None:
        """Record an annotation error whose item was left out (count the item with ``skip``)."""
        self.errors.append(problem)
        self.notes.append(problem)

    def summary(self) -> str:
        lines = [f"{self.source}: {self.documents} documents"]
        if self.spans:
            lines.append("  spans: " + ", ".join(f"{k} {v}" for k, v in sorted(self.spans.items())))
        if self.relations:
            lines.append("  relations: " + ", ".join(f"{k} {v}" for k, v in sorted(self.relations.items())))
        if self.skipped:
            lines.append("  skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())))
        else:
            lines.append("  skipped: none")
        return "\n".join(lines)
