"""Cross-article linking rules on hand-made incident records (conflict_ie/incidents/linking.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from conflict_ie.incidents.dates import resolve_date
from conflict_ie.incidents.linking import (LinkRecord, LinkSettings, block_keys, candidate_pairs, cluster, compare,
                                           link_incidents, link_records, record_from_incident)
from conflict_ie.records import ArticleResult, Count, DateValue, Incident, Place, SpanPrediction


def record(article: str, **values) -> LinkRecord:
    """A strike in Kafr Jallis on 2019-08-31 by the coalition on Hurras al-Din leaders, 40 killed, unless told."""
    base = dict(article_id=article, index=0, type="AirStrike", event_type="Explosions/Remote violence",
                date_iso="2019-08-31", date_precision="day", date_text="Saturday",
                places=(("Kafr Jallis", "Idlib", "Syria"),), country="Syria",
                attackers=("US-led coalition",), targets=("Hurras al-Din leaders",), fatalities=(40, 40))
    base.update(values)
    return LinkRecord(**base)


def linked(a: LinkRecord, b: LinkRecord, settings: LinkSettings = LinkSettings()) -> bool:
    return compare(a, b, settings).linked


def reasons(a: LinkRecord, b: LinkRecord) -> dict:
    return {v.rule: v for v in compare(a, b).verdicts}


# -------------------------------------------------------------------------------------------- places

def test_a_town_nests_in_its_province_and_links():
    wire = record("wire", places=(("Idlib", "Syria"),), attackers=("international coalition",))
    local = record("local")
    assert linked(wire, local)
    assert reasons(wire, local)["places"].points == 1  # nesting agrees, at region level


def test_the_same_town_is_an_anchor():
    verdict = reasons(record("a"), record("b", date_iso=None, date_precision=None, date_text=None))["places"]
    assert verdict.anchor and verdict.points == 2


def test_a_place_spelt_with_its_admin_word_is_the_same_place():
    assert reasons(record("a", places=(("Idlib province", "Syria"),)),
                   record("b", places=(("Idlib", "Syria"),)))["places"].veto is False


def test_two_towns_of_one_province_are_apart():
    other_town = record("b", places=(("Binnish", "Idlib", "Syria"),))
    assert reasons(record("a"), other_town)["places"].veto
    assert not linked(record("a"), other_town)  # near miss: the same day in another town


def test_a_village_one_report_places_nests_in_another_report():
    """The gazetteer does not know Thiban; a report that writes "Thiban, in Deir ez-Zor" tells the linker that
    another report's bare "Thiban" lies in Deir ez-Zor, so it nests with a third report's province."""
    bare = record("bare", places=(("Thiban",),), country=None, attackers=("Islamic State",), fatalities=(2, 2))
    province = record("province", places=(("Deir ez-Zor", "Syria"),), attackers=("Islamic State",),
                      fatalities=(2, 2))
    placed = record("placed", places=(("Thiban", "Deir ez-Zor", "Syria"),), attackers=("ISIS",), targets=("SDF",),
                    fatalities=(30, 30))  # another toll: this report stays apart
    assert reasons(bare, province)["places"].veto  # alone, two names the linker cannot relate
    assert cluster([bare, province]) == [[0], [1]]
    assert cluster([bare, province, placed]) == [[0, 1], [2]]  # the third report's hierarchy makes them nest


def test_two_countries_never_link():
    assert not linked(record("a"), record("b", places=(("Marib", "Yemen"),), country="Yemen"))


# -------------------------------------------------------------------------------------------- dates

def test_same_town_another_day_stays_apart():
    assert not linked(record("a"), record("b", date_iso="2019-09-01"))
    # a tolerance of one day (late-night attacks reported on both days) is a setting
    assert linked(record("a"), record("b", date_iso="2019-09-01"), LinkSettings(date_tolerance_days=1))


def _incident(date_text: str, publication: str, place: str = "Kafr Jallis") -> Incident:
    span = SpanPrediction(0, len(date_text), date_text, "Temporal", 1.0)
    place_span = SpanPrediction(0, len(place), place, "Location", 1.0)
    return Incident(type="AirStrike", event_type="Explosions/Remote violence", sub_event_type="Air/drone strike",
                    triggers=(SpanPrediction(0, 6, "strike", "AirStrike", 1.0),),
                    dates=(resolve_date(span, dt.date.fromisoformat(publication)),),
                    places=(Place(place_span, (place, "Idlib", "Syria"), "Syria", "Idlib"),),
                    fatalities=(Count(SpanPrediction(0, 2, "40", "Quantity", 1.0), 40, None, "at least"),))


def test_relative_dates_resolve_against_each_publication_date():
    saturday = record_from_incident("wire", 0, _incident("on Saturday", "2019-08-31"), "2019-08-31")
    yesterday = record_from_incident("monitor", 0, _incident("yesterday", "2019-09-01"), "2019-09-01")
    assert saturday.date_iso == yesterday.date_iso == "2019-08-31"
    assert linked(saturday, yesterday)
    week_later = record_from_incident("late", 0, _incident("yesterday", "2019-09-08"), "2019-09-08")
    assert not linked(saturday, week_later)


def test_an_undated_report_falls_in_the_week_before_publication():
    undated = record("b", date_iso=None, date_precision=None, date_text=None, publication_date="2019-09-02")
    assert linked(record("a"), undated)  # window 08-26..09-02 holds 08-31; the same town anchors it
    too_late = replace(undated, publication_date="2019-09-20")
    assert reasons(record("a"), too_late)["dates"].veto


def test_a_month_overlaps_its_days_but_anchors_nothing():
    month = record("b", date_iso="2019-08", date_precision="month", places=(("Idlib", "Syria"),))
    verdict = reasons(record("a"), month)["dates"]
    assert not verdict.veto and not verdict.anchor


def test_unresolved_date_words_compare_as_words():
    a = record("a", date_iso=None, date_precision=None, date_text="Saturday afternoon", places=(("Idlib", "Syria"),))
    assert reasons(a, record("b", date_iso=None, date_text="on Saturday"))["dates"].anchor
    assert reasons(a, record("b", date_iso=None, date_text="Friday"))["dates"].veto
    assert not reasons(a, record("b", date_iso=None, date_text="September 20"))["dates"].veto  # cannot tell


# -------------------------------------------------------------------------------------------- roles, types, counts

def test_a_retaliation_strike_stays_apart():
    strike = record("a", attackers=("Israeli army",), targets=("Hamas positions",))
    retaliation = record("b", attackers=("Hamas",), targets=("Israeli army post",), type="Shelling")
    assert reasons(strike, retaliation)["roles"].veto
    assert not linked(strike, retaliation)


def test_generic_words_are_no_shared_actor():
    verdict = reasons(record("a", targets=("civilians",), attackers=()),
                      record("b", targets=("civilians",), attackers=()))["roles"]
    assert verdict.points == 0


def test_types():
    assert linked(record("a", type="Shelling"), record("b"))  # "rocket attack" and "air strike" of one strike
    assert linked(record("a", type="Attack"), record("b"))  # the catch-all
    assert not linked(record("a", type="Abduction"), record("b"))
    # one assault read as "clashes" by one outlet and "an explosion" or "an air strike" by another
    assert linked(record("a", type="ArmedClash"), record("b", type="Explosion"))
    assert not linked(record("a", type="ArmedClash"), record("b", type="Abduction"))


def test_casualty_figures():
    assert reasons(record("a", fatalities=(40, 41)), record("b", fatalities=(40, 40)))["casualties"].points == 1
    assert not reasons(record("a", fatalities=(9, 9)), record("b", fatalities=(14, 14)))["casualties"].veto
    assert reasons(record("a", fatalities=(3, 3)), record("b", fatalities=(40, 40)))["casualties"].veto
    assert not linked(record("a", fatalities=(3, 3)), record("b", fatalities=(40, 40)))


def test_points_without_an_anchor_do_not_link():
    # region-level place, shared attacker and target, no date agreement: seed 000 against seed 001
    a = record("a", date_iso=None, date_precision=None, date_text="Saturday", places=(("Idlib", "Syria"),))
    b = record("b", date_iso=None, date_precision=None, date_text="September 20",
               places=(("Binnish", "Idlib", "Syria"),), fatalities=(None, None))
    comparison = compare(a, b)
    assert comparison.points >= 3 and not comparison.linked


# -------------------------------------------------------------------------------------------- clustering, blocking

def test_a_veto_stops_chaining():
    # b links to a and to c, but a and c name different days: one of them stays out
    a = record("a", date_iso=None, date_precision=None, date_text="Saturday")
    b = record("b", date_iso=None, date_precision=None, date_text=None)
    c = record("c", date_iso=None, date_precision=None, date_text="Sunday")
    assert linked(a, b) and linked(b, c) and compare(a, c).vetoed
    groups = cluster([a, b, c])
    assert len(groups) == 2


def test_blocking_never_compares_across_countries_or_distant_days():
    records = [record("a"), record("b", date_iso="2019-08-25"), record("c", country="Yemen",
                                                                      places=(("Marib", "Yemen"),)),
               record("d")]
    pairs = candidate_pairs(records)
    assert pairs == {(0, 3)}
    # no country: compared with every country's records of its days
    nowhere = record("e", country=None, places=())
    assert {(0, 4), (2, 4), (3, 4)} <= candidate_pairs(records + [nowhere])
    assert (1, 4) not in candidate_pairs(records + [nowhere])


def test_block_keys_cover_the_date_window():
    keys = block_keys(record("a", date_iso=None, date_text=None, publication_date="2019-09-02"))
    assert len(keys) == LinkSettings().publication_window_days + 1
    assert block_keys(record("a", date_iso="2019", date_precision="year"))[0][1] is None


def test_merged_record():
    wire = record("wire", places=(("Idlib", "Syria"),), fatalities=(41, None), sources=("AFP",),
                  attackers=("Central Command",))
    monitor = record("monitor", fatalities=(40, 40), sources=("Syrian Observatory for Human Rights",),
                     attackers=("US Central Command",), date_iso="2019-08-31")
    other = record("other", date_iso="2019-09-05")
    events = link_records([wire, monitor, other])
    assert [len(e.members) for e in events] == [2, 1]
    event = events[0]
    assert event.place == ("Kafr Jallis", "Idlib", "Syria")  # the most specific
    assert (event.fatalities_min, event.fatalities_max) == (40, 41)
    assert event.sources == ("AFP", "Syrian Observatory for Human Rights")
    assert event.attackers == ("Central Command",)  # one actor, two spellings
    assert event.articles == ("wire", "monitor") and event.date_iso == "2019-08-31" and event.date_support == 2
    assert event.to_dict()["reports"][1]["article_id"] == "monitor"


def test_link_incidents_on_article_results():
    results = [ArticleResult(incidents=(_incident("on Saturday", "2019-08-31"),)), ArticleResult(),
               ArticleResult(incidents=(_incident("yesterday", "2019-09-01"),
                                        _incident("yesterday", "2019-09-01", place="Binnish")))]
    events = link_incidents(results, ["2019-08-31", None, "2019-09-01"], ["a", "b", "c"])
    assert [[m.key for m in e.members] for e in events] == [[("a", 0), ("c", 0)], [("c", 1)]]
    assert link_incidents([]) == []


def test_blocking_splits_by_region_type_family_and_town():
    a = record("a", admin1="Idlib")
    assert candidate_pairs([a, record("b", admin1="Aleppo", places=(("Azaz", "Aleppo", "Syria"),))]) == set()
    assert candidate_pairs([a, record("b", type="Abduction", admin1="Idlib")]) == set()
    assert candidate_pairs([a, record("b", type="Attack", admin1="Idlib")]) == {(0, 1)}  # the catch-all: any family
    assert candidate_pairs([a, record("b", places=(("Binnish", "Idlib", "Syria"),), admin1="Idlib")]) == set()
    # without a known region, any of its names may be one: it meets every town's report
    assert candidate_pairs([a, record("b", places=(("Binnish", "Idlib", "Syria"),))]) == {(0, 1)}
    # a report placed only in the province meets every town's report of it
    assert candidate_pairs([a, record("b", places=(("Idlib", "Syria"),), admin1="Idlib")]) == {(0, 1)}


def test_blocking_keeps_every_pair_the_rules_link():
    import itertools
    import random

    rng = random.Random(7)
    towns = [("Kafr Jallis", "Idlib"), ("Binnish", "Idlib"), ("Idlib",), ("Tafas", "Daraa"), ("Daraa",)]
    records = []
    for number in range(160):
        place = rng.choice(towns)
        records.append(record(
            f"r{number}", type=rng.choice(["AirStrike", "Shelling", "Attack", "ArmedClash", "Abduction"]),
            date_iso=rng.choice([None, "2019-08-30", "2019-08-31", "2019-08"]),
            date_precision=None, date_text=rng.choice([None, "Saturday"]),
            publication_date=rng.choice([None, "2019-08-31", "2019-09-02"]),
            places=rng.choice([(place + ("Syria",),), ()]), admin1=rng.choice([place[-1], None]),
            country=rng.choice(["Syria", "Syria", None]), fatalities=rng.choice([(None, None), (40, 41), (3, 3)])))
    linked = {(i, j) for i, j in itertools.combinations(range(len(records)), 2)
              if compare(records[i], records[j]).linked}
    assert linked and linked <= candidate_pairs(records)


def test_incidents_of_one_article_never_link():
    assert reasons(record("a"), replace(record("a"), index=1))["articles"].veto


def test_a_region_named_by_both_is_no_anchor():
    a = record("a", places=(("Deir ez-Zor", "Syria"),), admin1="Deir ez-Zor")
    b = record("b", places=(("Deir ez-Zor", "Euphrates", "Syria"),), admin1="Deir ez-Zor")
    verdict = reasons(a, b)["places"]
    assert verdict.points == 1 and not verdict.anchor
    assert reasons(a, record("c", admin1="Idlib"))["places"].veto  # two known first-level regions


def test_one_place_put_in_another_country_does_not_veto():
    # a gazetteer slip ("Borno > Germany") beside the right country
    a = record("a", places=(("Damasak", "Nigeria"), ("Borno", "Germany")), country="Nigeria",
               countries=("Nigeria", "Germany"))
    b = record("b", places=(("Damasak", "Borno", "Nigeria"),), country="Nigeria", countries=("Nigeria",))
    assert not reasons(a, b)["places"].veto
    assert any(key[0] == "germany" for key in block_keys(a))


def test_both_sides_attack_in_a_clash():
    clash = record("a", type="ArmedClash", attackers=("Islamic State", "Syrian Democratic Forces"),
                   targets=("checkpoint",))
    attack = record("b", type="Attack", attackers=("ISIS cells",), targets=("Syrian Democratic Forces",))
    assert not reasons(clash, attack)["roles"].veto  # one direction only, and one of them is a clash
    counter = record("c", type="Attack", attackers=("Syrian Democratic Forces",), targets=("Islamic State",))
    strike = record("d", type="Attack", attackers=("Islamic State",), targets=("Syrian Democratic Forces",))
    assert reasons(strike, counter)["roles"].veto


def test_datelines_are_not_where_or_when_it_happened():
    text = "BEIRUT, Sept 18 – Militants attacked a checkpoint in Thiban on Tuesday night."
    span = lambda part, label: SpanPrediction(text.index(part), text.index(part) + len(part), part, label, 1.0)  # noqa
    publication = dt.date(2024, 9, 18)
    incident = Incident(
        type="ArmedClash", event_type="Battles", sub_event_type="Armed clash",
        triggers=(span("attacked", "ArmedClash"),),
        dates=(resolve_date(span("Sept 18", "Temporal"), publication),
               resolve_date(span("Tuesday night", "Temporal"), publication)),
        places=(Place(span("BEIRUT", "Location"), ("BEIRUT", "Lebanon"), "Lebanon", "Beirut"),
                Place(span("Thiban", "Location"), ("Thiban", "Syria"), "Syria")))
    linked_record = record_from_incident("d01", 0, incident, publication)
    assert linked_record.places == (("Thiban", "Syria"),) and linked_record.country == "Syria"
    assert linked_record.date_iso == "2024-09-17" and linked_record.date_text == "Tuesday night"



def test_a_region_one_report_names_among_the_places_of_another_does_not_veto():
    """"the Sinjar region of northern Iraq" makes Sinjar one report's first-level region; another writes
    "Khanasor, in Sinjar district, Nineveh". Two regions contradict only when neither report names the other's."""
    district = record("a", places=(("Sinjar", "Iraq"), ("Iraq",)), admin1="Sinjar", country="Iraq")
    town = record("b", places=(("Sinjar", "Nineveh", "Iraq"), ("Khanasor",)), admin1="Nineveh", country="Iraq")
    verdict = reasons(district, town)["places"]
    assert not verdict.veto and verdict.points == 1 and not verdict.anchor  # a region named by one: weak
    assert linked(district, town)
    assert candidate_pairs([district, town]) == {(0, 1)}
    # another region, which neither names, still vetoes and still keeps the blocks apart
    elsewhere = record("c", places=(("Gara", "Duhok", "Iraq"),), admin1="Duhok", country="Iraq")
    assert reasons(district, elsewhere)["places"].veto
    assert candidate_pairs([district, elsewhere]) == set()
