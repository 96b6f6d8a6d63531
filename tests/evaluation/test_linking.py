"""Scoring cross-article linking (conflict_ie/evaluation/linking.py): the clustering scores worked by hand, the
predicted-incident alignment, and the gold event files' loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conflict_ie.data.document import LoadReport
from conflict_ie.data.label_studio_export import load_label_studio
from conflict_ie.evaluation.linking import (EventFileError, bcubed_scores, clustering_scores, event_files,
                                            linking_rows, load_gold_events, pairwise_scores, score_predicted_linking)
from conflict_ie.records import Incident, Place, SpanPrediction

REPO = Path(__file__).resolve().parents[2]


def test_pairwise_and_bcubed_worked_by_hand():
    gold = {"a": 1, "b": 1, "c": 2}
    system = {"a": "x", "b": "y", "c": "y"}
    pairwise = pairwise_scores(gold, system)  # gold pairs {ab}, system pairs {bc}: none right
    assert (pairwise["precision"], pairwise["recall"], pairwise["correct_pairs"]) == (0.0, 0.0, 0)
    bcubed = bcubed_scores(gold, system)
    # a: 1/1, 1/2; b: 1/2, 1/2; c: 1/2, 1/1  -> precision 2/3, recall 2/3
    assert bcubed["precision"] == pytest.approx(2 / 3) and bcubed["recall"] == pytest.approx(2 / 3)
    assert bcubed["f1"] == pytest.approx(2 / 3)


def test_scores_of_a_perfect_and_an_over_merged_clustering():
    gold = {"a": 1, "b": 1, "c": 2, "d": 3}
    assert clustering_scores(gold, gold)["exact"]
    assert bcubed_scores(gold, gold)["f1"] == 1.0
    merged = {item: 0 for item in gold}  # everything one event
    pairwise = pairwise_scores(gold, merged)
    assert (pairwise["precision"], pairwise["recall"]) == (1 / 6, 1.0)
    bcubed = bcubed_scores(gold, merged)
    assert bcubed["recall"] == 1.0 and bcubed["precision"] == pytest.approx((2 / 4 * 2 + 1 / 4 * 2) / 4)


def test_only_singletons_score_one_when_nothing_is_linked():
    singletons = {"a": 1, "b": 2}
    assert pairwise_scores(singletons, singletons)["f1"] == 1.0
    assert pairwise_scores(singletons, {"a": 0, "b": 0})["precision"] == 0.0


def _incident(place: str, attacker: str, type_: str = "AirStrike") -> Incident:
    span = lambda text, label: SpanPrediction(0, len(text), text, label, 1.0)  # noqa: E731
    return Incident(type=type_, event_type="Explosions/Remote violence", sub_event_type="Air/drone strike",
                    triggers=(span("strike", type_),), places=(Place(span(place, "Location"), (place, "Syria"),
                                                                     "Syria"),),
                    attackers=(span(attacker, "Organisation"),))


def test_predicted_incidents_are_aligned_missed_and_spurious_count():
    from conflict_ie.evaluation.linking import GoldEvent

    gold = {"a": [_incident("Kansafra", "Russian warplanes")], "b": [_incident("Kansafra", "Russian jets"),
                                                                      _incident("Ariha", "army")]}
    events = [GoldEvent("E1", "dev", "", "f", (("a", 0), ("b", 0))), GoldEvent("E2", "dev", "", "f", (("b", 1),))]
    # b's Ariha incident is missed; a's second incident (Binnish) is spurious and linked to nothing
    predicted = {"a": [_incident("Kansafra", "Russian warplanes"), _incident("Binnish", "coalition")],
                 "b": [_incident("Kansafra", "Russian jets")]}
    scores = score_predicted_linking(events, gold, predicted, ["a", "b"], {})
    assert (scores["missed_gold"], scores["spurious_predicted"], scores["items"]) == (1, 1, 4)
    # the two Kansafra reports share the same place (an anchor) but no date: 2 points, under the threshold
    assert scores["pairwise"]["gold_pairs"] == 1


def test_linking_rows():
    from conflict_ie.evaluation.linking import GoldEvent

    events = [GoldEvent("E1", "dev", "", "f", (("d1", 0), ("d2", 0))),
              GoldEvent("S1", "mixed", "", "s", (("seed-000", 0), ("seed-003", 0)))]
    rows = linking_rows(events, {"dev": ["d1", "d2", "x"], "test": ["seed-003", "y"]})
    assert rows == {"dev": ["d1", "d2"], "test": ["seed-003"], "seeds": ["seed-000", "seed-003"]}


# -------------------------------------------------------------------------------------------- the loader

@pytest.fixture(scope="module")
def seed_documents():
    return load_label_studio(REPO / "annotations" / "seeds.json", LoadReport("seeds"))


def test_the_committed_seed_events_load(seed_documents):
    events = load_gold_events([REPO / "annotations" / "events" / "seeds.json"], seed_documents)
    assert [(e.id, e.incidents) for e in events] == [
        ("seeds-E01", (("seed-000", 0), ("seed-003", 0))), ("seeds-E02", (("seed-001", 0),)),
        ("seeds-E03", (("seed-003", 1),))]


def test_every_committed_event_file_loads():
    documents = [d for name in ("seeds.json", "authored.json")
                 for d in load_label_studio(REPO / "annotations" / name, LoadReport(name))]
    splits = {doc: split for split, ids in json.loads((REPO / "annotations" / "splits.json").read_text()).items()
              for doc in ids}
    events = load_gold_events(event_files(REPO / "annotations" / "events"), documents, splits=splits)
    assert any(e.split == "mixed" for e in events)


def _write(tmp_path, events, name="x.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"events": events}), encoding="utf-8")
    return path


SEED_EVENTS = [{"id": "S1", "split": "mixed", "incidents": [{"document": "seed-000", "trigger": "t1"},
                                                             {"document": "seed-003", "trigger": "t2"}]},
               {"id": "S2", "split": "mixed", "incidents": [{"document": "seed-001", "trigger": "t4"}]},
               {"id": "S3", "split": "mixed", "incidents": [{"document": "seed-003", "trigger": "t6"}]}]


def test_any_trigger_of_the_cluster_names_the_incident(tmp_path, seed_documents):
    events = load_gold_events([_write(tmp_path, SEED_EVENTS)], seed_documents)
    assert events[0].incidents == (("seed-000", 0), ("seed-003", 0))


@pytest.mark.parametrize("change, message", [
    (lambda e: e[0]["incidents"].append({"document": "seed-009", "trigger": "t1"}), "event S1: unknown document "
                                                                                     "seed-009"),
    (lambda e: e[1]["incidents"].append({"document": "seed-001", "trigger": "e1"}), "event S2: seed-001 e1 is a"),
    (lambda e: e[1]["incidents"].append({"document": "seed-001", "trigger": "t99"}), "t99 is no span id"),
    (lambda e: e[2]["incidents"].append({"document": "seed-000", "trigger": "t3"}), "event S3: seed-000 incident "
                                                                                    "of trigger t3 is also in "
                                                                                    "event S1"),
    (lambda e: e.pop(2), "seed-003 gold incident 2 (Attack: raid, operation, raid) is in no event"),
    (lambda e: e[0].update(split="validation"), "event S1: split 'validation' is not one of"),
    (lambda e: e[1].update(id="S1"), "event S1: id S1 is also used in"),
    (lambda e: e[2].update(incidents=[]), "event S3: 'incidents' must list at least one incident"),
    (lambda e: e[0]["incidents"].append({"doc": "seed-000"}), "an incident is {\"document\""),
])
def test_loader_errors_name_the_file_and_the_event(tmp_path, seed_documents, change, message):
    events = json.loads(json.dumps(SEED_EVENTS))
    change(events)
    path = _write(tmp_path, events)
    with pytest.raises(EventFileError) as error:
        load_gold_events([path], seed_documents)
    assert message in str(error.value) and str(path) in str(error.value)


def test_a_split_that_disagrees_with_the_split_file(tmp_path, seed_documents):
    events = json.loads(json.dumps(SEED_EVENTS))
    events[1]["split"] = "test"
    with pytest.raises(EventFileError, match="event S2: split test but document seed-001 is in dev"):
        load_gold_events([_write(tmp_path, events)], seed_documents, splits={"seed-001": "dev"})


def test_a_file_that_is_not_an_event_file(tmp_path, seed_documents):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text("[]", encoding="utf-8")
    with pytest.raises(EventFileError) as error:
        load_gold_events([bad, other], seed_documents)
    assert "bad.json: not a readable JSON file" in str(error.value)
    assert 'other.json: expected {"events": [...]}' in str(error.value)


# -------------------------------------------------------------------------------------------- report and card

LINKING_SECTION = {
    "settings": {"link_threshold": 3}, "event_files": ["annotations/events/seeds.json"], "notes": [],
    "rows": {"seeds": {
        "documents": ["seed-000", "seed-001", "seed-003"], "events": 3,
        "gold": {"pairwise": {"precision": 1.0, "recall": 1.0, "f1": 1.0}, "bcubed": {"precision": 1.0,
                 "recall": 1.0, "f1": 1.0}, "documents": 3, "gold_events": 3, "system_events": 3},
        "predicted": {"pairwise": {"precision": 0.5, "recall": 1.0, "f1": 0.667},
                      "bcubed": {"precision": 0.8, "recall": 1.0, "f1": 0.889}, "documents": 3, "gold_events": 5,
                      "system_events": 4, "missed_gold": 0, "spurious_predicted": 2}}}}


def test_report_and_model_card_show_the_linking_scores():
    from conflict_ie.evaluation.model_card import front_matter, render_model_card
    from conflict_ie.evaluation.report import render_markdown

    metrics = {"linking": LINKING_SECTION}
    markdown = render_markdown(metrics)
    assert "## Cross-article linking" in markdown
    assert "| seeds | predicted | 3 | 5 | 4 | 0.500 | 1.000 | 0.667 | 0.800 | 1.000 | **0.889** | 0 / 2 |" in markdown
    card = render_model_card(metrics)
    assert "### Cross-article linking" in card and "**0.889**" in card
    index = front_matter(metrics)["model-index"][0]["results"][0]["metrics"]
    assert {"type": "f1", "value": 0.889, "name": "Cross-article linking B-cubed F1 (seeds, predicted incidents)"} \
        in index
    assert "cross-article linking is not scored here" in render_model_card({})
