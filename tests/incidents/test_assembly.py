"""Incident assembly: which trigger mentions become one incident record."""

from __future__ import annotations

from conflict_ie.incidents.assembly import assemble
from conflict_ie.records import RelationPrediction, SpanPrediction

TEXT = ("An air strike hit Idlib on Monday, killing 12 people. The strikes also destroyed a depot. "
        "A separate air strike hit Aleppo. Gunmen later attacked a checkpoint in Homs.")


def span(text: str, label: str, occurrence: int = 0) -> SpanPrediction:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(text, start + 1)
    return SpanPrediction(start, start + len(text), text, label, 0.9)


def role(trigger: SpanPrediction, filler: SpanPrediction, label: str) -> RelationPrediction:
    return RelationPrediction(trigger, filler, label, 0.9)


FIRST = span("air strike", "AirStrike")
BARE = span("strikes", "AirStrike")
SECOND = span("air strike", "AirStrike", occurrence=1)
ATTACK = span("attacked", "Attack")
IDLIB, ALEPPO, HOMS = span("Idlib", "Location"), span("Aleppo", "Location"), span("Homs", "Location")
TWELVE = span("12", "Quantity")
ENTITIES = (IDLIB, TWELVE, ALEPPO, HOMS)
ROLES = (role(FIRST, IDLIB, "place"), role(FIRST, TWELVE, "killed_count"), role(SECOND, ALEPPO, "place"),
         role(ATTACK, HOMS, "place"))


def test_a_bare_mention_joins_the_incident_it_refers_to_and_distinct_places_stay_apart():
    incidents = assemble(TEXT, ENTITIES, (FIRST, BARE, SECOND, ATTACK), ROLES)
    assert [[t.text for t in i.triggers] for i in incidents] == [["air strike", "strikes"], ["air strike"],
                                                                 ["attacked"]]
    first, second, attack = incidents
    assert [p.span.text for p in first.places] == ["Idlib"] and first.fatalities[0].minimum == 12
    assert [p.span.text for p in second.places] == ["Aleppo"] and not second.fatalities
    assert attack.type == "Attack" and [p.span.text for p in attack.places] == ["Homs"]


def test_a_bare_mention_never_joins_another_event_type():
    bare_attack = span("attacked", "Attack")
    incidents = assemble(TEXT, ENTITIES, (FIRST, bare_attack), ROLES[:2])
    assert len(incidents) == 2


def test_same_incident_relations_merge_whatever_the_fillers():
    relations = ROLES + (role(SECOND, FIRST, "same_incident"),)
    incidents = assemble(TEXT, ENTITIES, (FIRST, SECOND), relations, merge_heuristics=False)
    (incident,) = incidents
    assert sorted(p.span.text for p in incident.places) == ["Aleppo", "Idlib"]
