"""Incident assembly: which trigger mentions become one incident record."""

from __future__ import annotations

import datetime as dt

from conflict_ie.incidents.assembly import assemble, joined_abutting_triggers, typed_by_incident
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


# ---------------------------------------------------------------- dates, generic attacks and role-filler fragments

def at(text: str, phrase: str, label: str, occurrence: int = 0) -> SpanPrediction:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(phrase, start + 1)
    return SpanPrediction(start, start + len(phrase), phrase, label, 0.9)


SEED_LIKE = ("A raid on Idlib kills an al-Qaeda leader\n\nThe US military announced, on Friday, that the leader, who "
             "was killed in an air strike in Idlib, is Salim. A drone strike on September 20 targeted a car near "
             "Idlib. Rigsby said in a statement Friday that Salim planned attacks.")


def test_an_announcement_date_is_not_the_incident_time_and_a_date_beside_its_trigger_is():
    raid, air, drone = (at(SEED_LIKE, "raid", "Attack"), at(SEED_LIKE, "air strike", "AirStrike"),
                        at(SEED_LIKE, "drone strike", "AirStrike"))
    friday, september = at(SEED_LIKE, "Friday", "Temporal"), at(SEED_LIKE, "September 20", "Temporal")
    friday2 = at(SEED_LIKE, "Friday", "Temporal", 1)
    relations = (role(air, friday, "time"), role(air, friday2, "time"), role(drone, air, "same_incident"))
    (incident,) = assemble(SEED_LIKE, (friday, september, friday2), (air, drone), relations)
    assert [d.span.text for d in incident.dates] == ["September 20"]


def test_a_generic_attack_joins_the_specific_incident_it_shares_a_place_with():
    raid, air = at(SEED_LIKE, "raid", "Attack"), at(SEED_LIKE, "air strike", "AirStrike")
    idlib, idlib2 = at(SEED_LIKE, "Idlib", "Location"), at(SEED_LIKE, "Idlib", "Location", 1)
    relations = (role(raid, idlib, "place"), role(air, idlib2, "place"))
    (incident,) = assemble(SEED_LIKE, (idlib, idlib2), (raid, air), relations)
    assert incident.type == "AirStrike" and [t.text for t in incident.triggers] == ["raid", "air strike"]
    assert incident.event_type == "Explosions/Remote violence"


def test_every_trigger_of_an_incident_and_its_relations_carry_the_events_type():
    raid, air = at(SEED_LIKE, "raid", "Attack"), at(SEED_LIKE, "air strike", "AirStrike")
    idlib, idlib2 = at(SEED_LIKE, "Idlib", "Location"), at(SEED_LIKE, "Idlib", "Location", 1)
    relations = (role(raid, idlib, "place"), role(air, idlib2, "place"), role(raid, air, "same_incident"))
    (incident,) = assemble(SEED_LIKE, (idlib, idlib2), (raid, air), relations)
    assert [(t.text, t.label) for t in incident.triggers] == [("raid", "AirStrike"), ("air strike", "AirStrike")]
    triggers, typed_relations = typed_by_incident((raid, air), relations, (incident,))
    assert [t.label for t in triggers] == ["AirStrike", "AirStrike"] and triggers[0].score == raid.score
    assert [(r.head.label, r.tail.label) for r in typed_relations] == [
        ("AirStrike", "Location"), ("AirStrike", "Location"), ("AirStrike", "AirStrike")]
    # an attack on another day is its own incident, and keeps its own type
    text = "A raid in Aleppo on Monday killed two. An air strike in Aleppo on Tuesday killed five."
    raid, air = at(text, "raid", "Attack"), at(text, "air strike", "AirStrike")
    monday, tuesday = at(text, "Monday", "Temporal"), at(text, "Tuesday", "Temporal")
    incidents = assemble(text, (monday, tuesday), (raid, air), (role(raid, monday, "time"), role(air, tuesday, "time")))
    assert [t.label for t in typed_by_incident((raid, air), (), incidents)[0]] == ["Attack", "AirStrike"]


def test_an_instrument_of_one_kind_types_the_incident_and_all_its_triggers():
    text = "Russian forces shelled Kharkiv with artillery. The strike killed three."
    shelled, strike = at(text, "shelled", "Shelling"), at(text, "strike", "AirStrike")
    artillery, kharkiv = at(text, "artillery", "Weapon"), at(text, "Kharkiv", "Location")
    strike = SpanPrediction(strike.start, strike.end, strike.text, "AirStrike", 0.99)  # the word outweighs
    relations = (role(shelled, artillery, "instrument"), role(shelled, kharkiv, "place"),
                 role(strike, shelled, "same_incident"))
    (incident,) = assemble(text, (kharkiv, artillery), (shelled, strike), relations)
    assert incident.type == "Shelling" and incident.sub_event_type == "Shelling/artillery/missile attack"
    assert [t.label for t in incident.triggers] == ["Shelling", "Shelling"]
    # without the artillery the heavier word decides, and a specific word keeps its own type
    (incident,) = assemble(text, (kharkiv,), (shelled, strike), relations[1:])
    assert incident.type == "AirStrike" and [t.label for t in incident.triggers] == ["Shelling", "AirStrike"]


def test_a_generic_attack_on_another_day_stays_apart():
    text = "A raid in Aleppo on Monday killed two. An air strike in Aleppo on Tuesday killed five."
    raid, air = at(text, "raid", "Attack"), at(text, "air strike", "AirStrike")
    aleppo, aleppo2 = at(text, "Aleppo", "Location"), at(text, "Aleppo", "Location", 1)
    monday, tuesday = at(text, "Monday", "Temporal"), at(text, "Tuesday", "Temporal")
    relations = (role(raid, aleppo, "place"), role(air, aleppo2, "place"), role(raid, monday, "time"),
                 role(air, tuesday, "time"))
    incidents = assemble(text, (aleppo, monday, aleppo2, tuesday), (raid, air), relations)
    assert [i.type for i in incidents] == ["Attack", "AirStrike"]
    assert [[d.span.text for d in i.dates] for i in incidents] == [["Monday"], ["Tuesday"]]


def test_the_definite_mention_of_an_earlier_word_is_that_incident_unless_it_has_a_time_of_its_own():
    text = ("In early July, Washington confirmed a raid on a camp in Aleppo. A raid in Homs killed three. "
            "The raid, according to the observatory, killed eight elements. On Friday the raid hit Hama.")
    raids = [at(text, "raid", "Attack", n) for n in range(4)]
    july, camp, aleppo, homs = (at(text, "early July", "Temporal"), at(text, "camp", "Location"),
                                at(text, "Aleppo", "Location"), at(text, "Homs", "Location"))
    elements, friday, hama = at(text, "elements", "Person"), at(text, "Friday", "Temporal"), at(text, "Hama", "Location")
    relations = (role(raids[0], july, "time"), role(raids[0], camp, "target"), role(raids[0], aleppo, "place"),
                 role(raids[1], homs, "place"), role(raids[2], elements, "victim"), role(raids[3], friday, "time"),
                 role(raids[3], hama, "place"))
    incidents = assemble(text, (july, camp, aleppo, homs, elements, friday, hama), tuple(raids), relations)
    # "The raid ... killed eight elements" is the latest raid before it (Homs); "On Friday the raid" has its own day
    assert [[t.start for t in i.triggers] for i in incidents] == [[raids[0].start], [raids[1].start, raids[2].start],
                                                                  [raids[3].start]]


def test_role_filler_fragments_stand_for_their_entity_and_function_words_are_dropped():
    text = "Missile strikes targeted a meeting of leaders inside their training camp near Idlib."
    strikes = at(text, "Missile strikes", "Shelling")
    camp = at(text, "training camp", "Location")
    fillers = (at(text, "training", "Target"), at(text, "of", "Target"), at(text, "leaders", "Target"))
    (incident,) = assemble(text, (camp,), (strikes,), (), role_fillers=fillers)
    assert [t.text for t in incident.targets] == ["leaders", "training camp"]


# ---------------------------------------------------------------- merges that the days or places contradict

DEIR = ("ISIS gunmen attacked an SDF checkpoint in Thiban, east of Deir ez-Zor, on Tuesday. Gunmen also attacked a "
        "military vehicle in al-Shuhayl, east of Deir ez-Zor. An air strike hit Kafr Jallis in Idlib province on "
        "Monday. The air strike in Idlib killed four. Another air strike hit Binnish on Sunday.")


def test_a_shared_attacker_does_not_join_attacks_on_different_places_of_one_province():
    first, second = at(DEIR, "attacked", "Attack"), at(DEIR, "attacked", "Attack", 1)
    gunmen, gunmen2 = at(DEIR, "ISIS gunmen", "Organisation"), at(DEIR, "Gunmen", "Organisation")
    thiban, shuhayl = at(DEIR, "Thiban", "Location"), at(DEIR, "al-Shuhayl", "Location")
    deir, deir2 = at(DEIR, "Deir ez-Zor", "Location"), at(DEIR, "Deir ez-Zor", "Location", 1)
    relations = (role(first, gunmen, "attacker"), role(first, thiban, "place"), role(first, deir, "place"),
                 role(second, gunmen2, "attacker"), role(second, shuhayl, "place"), role(second, deir2, "place"))
    incidents = assemble(DEIR, (gunmen, thiban, deir, gunmen2, shuhayl, deir2), (first, second), relations)
    assert [[p.span.text for p in i.places] for i in incidents] == [["Thiban", "Deir ez-Zor"],
                                                                    ["al-Shuhayl", "Deir ez-Zor"]]


def test_a_place_inside_the_other_incidents_place_joins_it_and_another_day_does_not():
    strike, restated, other = (at(DEIR, "air strike", "AirStrike"), at(DEIR, "air strike", "AirStrike", 1),
                               at(DEIR, "air strike", "AirStrike", 2))
    kafr, idlib, idlib2 = (at(DEIR, "Kafr Jallis", "Location"), at(DEIR, "Idlib", "Location"),
                           at(DEIR, "Idlib", "Location", 1))
    binnish, monday, sunday = (at(DEIR, "Binnish", "Location"), at(DEIR, "Monday", "Temporal"),
                               at(DEIR, "Sunday", "Temporal"))
    relations = (role(strike, kafr, "place"), role(strike, monday, "time"), role(restated, idlib2, "place"),
                 role(other, binnish, "place"), role(other, sunday, "time"),
                 # the model links the third strike too, but it happened on another day
                 role(other, strike, "same_incident"))
    incidents = assemble(DEIR, (kafr, idlib, monday, idlib2, binnish, sunday), (strike, restated, other), relations,
                         publication_date=dt.date(2024, 9, 18))
    assert [[t.start for t in i.triggers] for i in incidents] == [[strike.start, restated.start], [other.start]]
    assert [d.iso for d in incidents[0].dates] == ["2024-09-16"] and [d.iso for d in incidents[1].dates] == \
        ["2024-09-15"]


def test_a_same_incident_link_joins_whatever_places_it_names_and_gold_links_join_across_days():
    strike, other = at(DEIR, "air strike", "AirStrike"), at(DEIR, "air strike", "AirStrike", 2)
    kafr, binnish = at(DEIR, "Kafr Jallis", "Location"), at(DEIR, "Binnish", "Location")
    monday, sunday = at(DEIR, "Monday", "Temporal"), at(DEIR, "Sunday", "Temporal")
    link = role(other, strike, "same_incident")
    (linked,) = assemble(DEIR, (kafr, binnish), (strike, other),
                         (role(strike, kafr, "place"), role(other, binnish, "place"), link))
    assert sorted(p.span.text for p in linked.places) == ["Binnish", "Kafr Jallis"]
    days = (role(strike, monday, "time"), role(other, sunday, "time"), link)
    assert len(assemble(DEIR, (monday, sunday), (strike, other), days, publication_date=dt.date(2024, 9, 18))) == 2
    assert len(assemble(DEIR, (monday, sunday), (strike, other), days, publication_date=dt.date(2024, 9, 18),
                        merge_heuristics=False)) == 1


def test_the_dateline_is_neither_the_place_nor_the_time_of_an_incident():
    text = "BEIRUT, Sept 18 (Reuters) - An air strike hit Idlib on Tuesday."
    strike = at(text, "air strike", "AirStrike")
    beirut, sept, idlib, tuesday = (at(text, "BEIRUT", "Location"), at(text, "Sept 18", "Temporal"),
                                    at(text, "Idlib", "Location"), at(text, "Tuesday", "Temporal"))
    relations = tuple(role(strike, filler, label) for filler, label in
                      ((beirut, "place"), (sept, "time"), (idlib, "place"), (tuesday, "time")))
    (incident,) = assemble(text, (beirut, sept, idlib, tuesday), (strike,), relations,
                           publication_date=dt.date(2024, 9, 18))
    assert [p.span.text for p in incident.places] == ["Idlib"]
    assert [(d.span.text, d.iso) for d in incident.dates] == [("Tuesday", "2024-09-17")]


# ---------------------------------------------------------------- talk about violence

GENERIC_TEXT = ("Coalition aircraft conducted a strike near Mosul on Monday. A strike, as defined in these releases, "
                "means one or more aircraft. Officials promised many more strikes. The strike was reviewed.")


def span_in(text: str, word: str, label: str, occurrence: int = 0) -> SpanPrediction:
    """The span of the ``occurrence``-th ``word`` of ``text``."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(word, start + 1)
    return SpanPrediction(start, start + len(word), word, label, 0.9)


def _generic_span(word: str, label: str = "AirStrike", occurrence: int = 0) -> SpanPrediction:
    return span_in(GENERIC_TEXT, word, label, occurrence)


def test_a_generic_mention_with_nothing_anchoring_it_is_no_incident():
    real, definition = _generic_span("strike"), _generic_span("strike", occurrence=1)
    promise, definite = _generic_span("strikes"), _generic_span("strike", occurrence=3)
    mosul, coalition = _generic_span("Mosul", "Location"), _generic_span("Coalition aircraft", "Organisation")
    aircraft, officials = _generic_span("aircraft", "Weapon", occurrence=1), _generic_span("Officials", "Person")
    relations = (RelationPrediction(real, mosul, "place", 0.9), RelationPrediction(real, coalition, "attacker", 0.9),
                 RelationPrediction(definition, aircraft, "instrument", 0.9),
                 RelationPrediction(promise, officials, "reported_by", 0.9))
    triggers = (real, definition, promise, definite)
    incidents = assemble(GENERIC_TEXT, (mosul, coalition, aircraft, officials), triggers, relations)
    # "a strike near Mosul" is anchored by its place, and "The strike" restates it; "A strike, as defined" and
    # "many more strikes" have a means and a source but no time, place, target, victim or count
    assert [[t.text for t in incident.triggers] for incident in incidents] == [["strike", "strike"]]
    kept, kept_relations = typed_by_incident(triggers, relations, incidents)
    assert kept == (real, definite) and kept_relations == relations[:2]
    # with a place, the same words are an incident; and gold is assembled as annotated
    anchored = relations + (RelationPrediction(definition, mosul, "place", 0.9),)
    assert len(assemble(GENERIC_TEXT, (mosul,), (definition,), anchored[4:])) == 1
    assert len(assemble(GENERIC_TEXT, (aircraft,), (definition,), relations[2:3], merge_heuristics=False)) == 1


def test_an_event_word_modifying_a_noun_is_no_trigger():
    text = "Apache attack helicopters struck a fighting position near Hit. Strike assessments follow."
    attack = SpanPrediction(7, 13, "attack", "Attack", 0.9)
    struck = SpanPrediction(text.index("struck"), text.index("struck") + 6, "struck", "AirStrike", 0.9)
    fighting = SpanPrediction(text.index("fighting"), text.index("fighting") + 8, "fighting", "ArmedClash", 0.9)
    strike = SpanPrediction(text.index("Strike"), text.index("Strike") + 6, "Strike", "AirStrike", 0.9)
    hit = SpanPrediction(text.index("Hit"), text.index("Hit") + 3, "Hit", "Location", 0.9)
    relations = tuple(RelationPrediction(t, hit, "place", 0.9) for t in (attack, struck, fighting, strike))
    incidents = assemble(text, (hit,), (attack, struck, fighting, strike), relations)
    assert [[t.text for t in i.triggers] for i in incidents] == [["struck"]]
    assert typed_by_incident((attack, struck, fighting, strike), relations, incidents)[0] == (struck,)
    # gold is assembled as annotated
    assert len(assemble(text, (hit,), (fighting,), relations[2:3], merge_heuristics=False)) == 1


def test_a_count_of_events_over_whole_countries_is_a_total_not_an_incident():
    text = ("Coalition forces conducted 34 strikes against ISIL in Syria and Iraq. Near Mosul, five strikes "
            "destroyed a depot. In Lebanon, five rockets struck a base.")

    def at(word: str, label: str, occurrence: int = 0) -> SpanPrediction:
        return span_in(text, word, label, occurrence)

    total, town, rockets = at("strikes", "AirStrike"), at("strikes", "AirStrike", 1), at("struck", "Shelling")
    syria, iraq, mosul = at("Syria", "Location"), at("Iraq", "Location"), at("Mosul", "Location")
    lebanon, depot, base = at("Lebanon", "Location"), at("depot", "Facility"), at("base", "Facility")
    relations = (RelationPrediction(total, syria, "place", 0.9), RelationPrediction(total, iraq, "place", 0.9),
                 RelationPrediction(town, mosul, "place", 0.9), RelationPrediction(town, depot, "target", 0.9),
                 RelationPrediction(rockets, lebanon, "place", 0.9), RelationPrediction(rockets, base, "target", 0.9))
    incidents = assemble(text, (syria, iraq, mosul, lebanon, depot, base), (total, town, rockets), relations)
    # the national total goes; the strikes near a town stay, and so does a count of the means, not of events
    assert [[t.text for t in i.triggers] for i in incidents] == [["strikes"], ["struck"]]
    assert incidents[0].triggers[0].start == town.start


def test_a_bare_plural_placed_only_in_a_country_is_talk_about_violence():
    text = ("Coalition nations which have conducted strikes in Syria include Canada. Israeli strikes in Syria "
            "killed five on Monday. The strikes in Syria were condemned.")

    def at(word: str, label: str, occurrence: int = 0) -> SpanPrediction:
        return span_in(text, word, label, occurrence)

    habit, counted, definite = (at("strikes", "AirStrike", n) for n in range(3))
    syria = [at("Syria", "Location", n) for n in range(3)]
    five = at("five", "Quantity")
    relations = tuple(RelationPrediction(t, place, "place", 0.9) for t, place in zip((habit, counted, definite), syria))
    relations += (RelationPrediction(counted, five, "killed_count", 0.9),)
    # each on its own: merged, the anchored record would keep the others
    kept = [bool(assemble(text, (*syria, five), (t,), relations)) for t in (habit, counted, definite)]
    assert kept == [False, True, True]  # the habit goes; a count anchors; "The strikes" is definite


def test_abutting_trigger_words_are_one_trigger_with_the_relations_of_both():
    text = "A grenade attack hit the gate in Basra. Then an attack strike. Raids\nStrikes resumed"
    grenade, attack = span_in(text, "grenade", "Explosion"), span_in(text, "attack", "Shelling")
    catch_all, strike = span_in(text, "attack", "Attack", 1), span_in(text, "strike", "AirStrike")
    line_end, next_line = span_in(text, "Raids", "Attack"), span_in(text, "Strikes", "AirStrike")
    gate, basra = span_in(text, "gate", "Facility"), span_in(text, "Basra", "Location")
    relations = (RelationPrediction(grenade, basra, "place", 0.7), RelationPrediction(attack, gate, "target", 0.9),
                 RelationPrediction(attack, basra, "place", 0.8), RelationPrediction(grenade, attack, "same_incident", 0.9))
    triggers, joined = joined_abutting_triggers(text, (grenade, attack, catch_all, strike, line_end, next_line),
                                                relations)
    # the word that names the means types the compound; the catch-all gives way; a line break keeps words apart
    assert [(t.text, t.label) for t in triggers] == [("grenade attack", "Explosion"), ("attack strike", "AirStrike"),
                                                     ("Raids", "Attack"), ("Strikes", "AirStrike")]
    compound = triggers[0]
    assert sorted((r.tail.text, r.label, r.score) for r in joined) == [("Basra", "place", 0.8), ("gate", "target", 0.9)]
    assert all(r.head == compound for r in joined)
    assert joined_abutting_triggers(text, (grenade, catch_all), relations[:1]) == ((grenade, catch_all), relations[:1])
