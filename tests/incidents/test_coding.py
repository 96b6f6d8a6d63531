"""ACLED coding from an incident's targets: the codebook's test is who was targeted, not the trigger word."""

from __future__ import annotations

import json

import pytest

from conflict_ie.incidents.coding import acled_coding, group_members, span_kind, target_kind, type_by_means
from conflict_ie.records import RelationPrediction, SpanPrediction
from tests.conftest import REPO_ROOT


def span(text: str, label: str = "Person", start: int = 0) -> SpanPrediction:
    return SpanPrediction(start, start + len(text), text, label, 0.9)


@pytest.mark.parametrize("text, label, kind", [
    ("civilians", "Person", "civilian"), ("four children", "Person", "civilian"), ("market", "Location", "civilian"),
    ("aid convoy", "Location", "civilian"), ("soldiers", "Person", "armed"), ("army checkpoint", "Location", "armed"),
    ("senior leaders", "Person", "armed"), ("al-Qaeda", "Organisation", "armed"),
    ("Syrian Arab Red Crescent", "Organisation", "civilian"), ("families", "Organisation", "civilian"), ("car", "Location", None), ("Idlib", "Location", None),
])
def test_span_kind_reads_head_words_and_labels(text, label, kind):
    assert span_kind(span(text, label)) == kind


def test_a_person_the_relations_put_in_an_armed_group_is_armed():
    coordinator, qaeda = span("Salim Abu Ahmed"), span("Al-Qaeda", "Organisation", 40)
    members = group_members([RelationPrediction(coordinator, qaeda, "InChargeOf", 0.9)])
    assert span_kind(coordinator) is None and span_kind(coordinator, members) == "armed"
    observatory = span("Syrian Observatory for Human Rights", "Organisation", 80)
    # membership of a civilian organisation says nothing armed
    assert not group_members([RelationPrediction(coordinator, span("UNICEF", "Organisation", 90), "BelongsTo", 0.9)])
    assert span_kind(observatory) == "armed"  # an Organisation without a civilian word: read as an actor


def test_attack_codes_by_its_targets_and_remote_violence_keeps_its_type():
    civilians, fighters = [span("civilians")], [span("fighters")]
    assert acled_coding("Attack", target_kind(civilians, [])) == (
        acled_coding("Attack", "civilian")[0], True)
    assert acled_coding("Attack", "civilian")[0].event_type == "Violence against civilians"
    assert acled_coding("Attack", target_kind(fighters, civilians))[0].event_type == "Battles"  # collateral
    assert acled_coding("Attack", None)[0].sub_event_type == "Armed clash"  # nobody named: not civilians by default
    coding, civilian = acled_coding("AirStrike", target_kind([], civilians))
    assert coding.event_type == "Explosions/Remote violence" and civilian
    coding, civilian = acled_coding("Shelling", "armed")
    assert coding.sub_event_type == "Shelling/artillery/missile attack" and not civilian
    assert acled_coding("Abduction", "armed")[0].event_type == "Violence against civilians"


def test_the_seeds_us_raids_on_al_qaeda_leaders_are_battles_not_violence_against_civilians():
    gold = [json.loads(line) for line in (REPO_ROOT / "annotations" / "gold_incidents_seeds.jsonl").open()]
    incidents = [(record["doc_id"], incident) for record in gold for incident in record["incidents"]]
    raids = [i for doc, i in incidents if i["type"] == "Attack"]
    assert raids and all(i["event_type"] == "Battles" and i["sub_event_type"] == "Armed clash" for i in raids)
    assert not any(i["event_type"] == "Violence against civilians" for _, i in incidents)
    assert not any(i["civilian_targeting"] for _, i in incidents)  # the seeds' strikes hit armed groups


@pytest.mark.parametrize("incident_type, instruments, decided", [
    ("AirStrike", ["shells"], "Shelling"),  # "shelled ... the strike": the shells say what it was
    ("Shelling", ["warplane"], "AirStrike"),
    ("Attack", ["Shahed-type attack drones"], "AirStrike"),
    ("AirStrike", ["Iskander-M ballistic missiles"], "Shelling"),
    ("Attack", ["IEDs"], "Explosion"),
    ("Attack", ["helicopters", "barrel bombs"], "AirStrike"),  # bombs dropped from the air: an air strike
    ("AirStrike", ["ballistic missiles", "drones"], "AirStrike"),  # two kinds of means: the triggers' type stays
    ("Attack", ["AK-47 rifles"], "Attack"),  # no kind of remote or explosive means
    ("Attack", [], "Attack"),
    ("ArmedClash", ["mortars"], "ArmedClash"),  # a clash is told by the fighting, whatever arms were used
    ("Abduction", ["trucks"], "Abduction"),
])
def test_the_means_decide_the_type_over_the_word(incident_type, instruments, decided):
    assert type_by_means(incident_type, [span(text, "Weapon") for text in instruments]) == decided
