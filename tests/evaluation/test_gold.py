"""The committed gold incident records stay in step with the seed annotations and say what a reader finds."""

from __future__ import annotations

import json

from conflict_ie.evaluation.gold import gold_incident_lines

from ..conftest import REPO_ROOT

GOLD = REPO_ROOT / "annotations" / "gold_incidents_seeds.jsonl"


def test_committed_gold_incidents_match_the_annotations():
    assert GOLD.read_text(encoding="utf-8") == gold_incident_lines([REPO_ROOT / "annotations" / "seeds.json"]), (
        "regenerate: conflict-ie gold-incidents annotations/seeds.json --out annotations/gold_incidents_seeds.jsonl")


def test_gold_incidents_are_the_ones_a_careful_reader_finds():
    records = {row["doc_id"]: row["incidents"] for row in map(json.loads, GOLD.read_text().splitlines())}
    for doc_id in ("seed-000", "seed-003"):
        strike = records[doc_id][0]
        assert strike["type"] == "Shelling"
        assert min(c["minimum"] for c in strike["fatalities"]) == 40
        assert any("Idlib" in place["hierarchy"] for place in strike["places"])
    assert len(records["seed-000"]) == 1
    (drone,) = records["seed-001"]
    assert drone["type"] == "AirStrike"
    assert "Salim Abu Ahmed" in {victim["text"] for victim in drone["victims"]}
    assert "US Central Command" in {attacker["text"] for attacker in drone["attackers"]}
    assert [i["type"] for i in records["seed-003"]] == ["Shelling", "Attack"]
