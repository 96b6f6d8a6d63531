"""The role-filler layer of a document: which mentions fill an incident role somewhere in it.

A corpus like MUC-4 annotates this layer directly (spans labelled with ``ROLE_FILLER_LABELS``). Our own gold
annotates it through role relations: the tail of every attacker, target, victim and instrument relation is a
filler, labelled by ``schema.ROLE_FILLER_SOURCES``. Either way the layer is document-level, as MUC-4 defines it:
a filler is tagged at every place its words occur in the text (case-insensitive, on word boundaries), so that the
tagger is never taught that one mention of "the FMLN" fills a role and the next one does not.

Spans are flat: where two fillers overlap, the longer one is kept (on equal length, the role listed first in
``ROLE_FILLER_LABELS``), the order the training tags and the gold of the evaluation both use.
"""

from __future__ import annotations

import re

from ..schema import ROLE_FILLER_LABELS, ROLE_FILLER_SOURCES
from .document import Document, Span

def filler_label(role: str, tail_label: str) -> str | None:
    """The role-filler label of a role relation's tail (None for roles with no filler label: place, time..)."""
    for label, (source, tail_types) in ROLE_FILLER_SOURCES.items():
        if source == role and (tail_types is None or tail_label in tail_types):
            return label
    return None


def role_filler_spans(document: Document) -> list[Span]:
    """The document's role fillers as flat spans in text order: its own role-filler spans, and the fillers its role
    relations imply (when it annotates triggers and relations), each at every occurrence of its text."""
    if "role_fillers" not in document.layers:
        return []
    seeds: list[tuple[str, str]] = [(span.text, span.label) for span in document.spans
                                    if span.label in ROLE_FILLER_LABELS]
    if {"triggers", "relations"} <= document.layers:
        spans = document.span_by_id()
        for relation in document.relations:
            tail = spans.get(relation.tail)
            label = filler_label(relation.label, tail.label) if tail is not None else None
            if label is not None:
                seeds.append((tail.text, label))
    candidates = {(span.start, span.end, span.label) for span in document.spans if span.label in ROLE_FILLER_LABELS}
    for text, label in dict.fromkeys(seeds):
        for start, end in occurrences(document.text, text):
            candidates.add((start, end, label))
    return [Span(f"rf{i}", start, end, document.text[start:end], label)
            for i, (start, end, label) in enumerate(flatten(candidates), start=1)]


def occurrences(text: str, phrase: str) -> list[tuple[int, int]]:
    """(start, end) of every case-insensitive occurrence of ``phrase`` in ``text`` on word boundaries, any run of
    whitespace matching any other."""
    words = phrase.split()
    if not words:
        return []
    pattern = r"\s+".join(re.escape(word) for word in words)
    pattern = (r"(?<!\w)" if words[0][0].isalnum() or words[0][0] == "_" else "") + pattern
    pattern += r"(?!\w)" if words[-1][-1].isalnum() or words[-1][-1] == "_" else ""
    return [(m.start(), m.end()) for m in re.finditer(pattern, text, flags=re.IGNORECASE)]


def flatten(candidates) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, label) in text order: longer spans first, then by role order, then earlier."""
    priority = {label: i for i, label in enumerate(ROLE_FILLER_LABELS)}
    kept: list[tuple[int, int, str]] = []
    for start, end, label in sorted(candidates, key=lambda c: (c[0] - c[1], priority[c[2]], c[0])):
        if all(end <= k_start or start >= k_end for k_start, k_end, _ in kept):
            kept.append((start, end, label))
    return sorted(kept)


def with_role_fillers(document: Document) -> Document:
    """The document with its derived role-filler spans in place of any it had (the gold of the role-filler
    layer); documents that do not annotate the layer are returned as they are."""
    if "role_fillers" not in document.layers:
        return document
    others = tuple(span for span in document.spans if span.label not in ROLE_FILLER_LABELS)
    return Document(document.id, document.text, others + tuple(role_filler_spans(document)), document.relations,
                    document.layers, document.source, document.licence, document.meta)
