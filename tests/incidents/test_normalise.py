"""Counts, dates and places: table-driven, offline (the gazetteer reads only its packages' files)."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path

import pytest

from conflict_ie.incidents import gazetteer
from conflict_ie.incidents.counts import parse_count
from conflict_ie.incidents.dates import resolve_date
from conflict_ie.incidents.places import place_hierarchy_string, place_name, resolve_places
from conflict_ie.records import Place, SpanPrediction

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def span(text: str, label: str = "Quantity", start: int = 0) -> SpanPrediction:
    return SpanPrediction(start, start + len(text), text, label, 1.0)


# ------------------------------------------------------------------------------------------------------ counts

@pytest.mark.parametrize("text, minimum, maximum, qualifier", [
    ("at least 40", 40, None, "at least"),
    ("At least 40", 40, None, "at least"),
    ("At least 40 members", 40, None, "at least"),
    ("no fewer than 12", 12, None, "at least"),
    ("more than forty", 41, None, "more than"),
    ("over 20", 21, None, "more than"),
    ("more than a dozen", 13, None, "more than"),
    ("40", 40, 40, "exact"),
    ("forty", 40, 40, "exact"),
    ("seven", 7, 7, "exact"),
    ("twenty-three", 23, 23, "exact"),
    ("1,800", 1800, 1800, "exact"),
    ("one hundred and twenty", 120, 120, "exact"),
    ("3.5 million", 3_500_000, 3_500_000, "exact"),
    ("about 1,800", 1800, 1800, "about"),
    ("some 40", 40, 40, "about"),
    ("nearly 30", None, 30, "at most"),
    ("up to 30", None, 30, "at most"),
    ("at most 30", None, 30, "at most"),
    ("fewer than 10", None, 9, "fewer than"),
    ("dozens", 24, None, "vague"),
    ("dozens of people", 24, None, "vague"),
    ("scores", 40, None, "vague"),
    ("hundreds", 200, None, "vague"),
    ("several hundred", 200, None, "vague"),
    ("a number of", 2, None, "vague"),
    ("several", 2, None, "vague"),
    ("a few", 2, None, "vague"),
    ("a dozen", 12, 12, "exact"),
    ("eight elements", 8, 8, "exact"),
    ("two", 2, 2, "exact"),
    ("one", 1, 1, "exact"),
    ("a", 1, 1, "exact"),
    ("10 to 15", 10, 15, "range"),
    ("10-15", 10, 15, "range"),
    ("between 10 and 15", 10, 15, "range"),
    ("two or three", 2, 3, "range"),
    ("thirty-one to thirty-five", 31, 35, "range"),
    ("no", 0, 0, "exact"),
    ("none", 0, 0, "exact"),
    ("No civilian casualties", 0, 0, "exact"),
    ("the dead", None, None, "unparsed"),
    ("", None, None, "unparsed"),
    ("???", None, None, "unparsed"),
])
def test_parse_count(text, minimum, maximum, qualifier):
    count = parse_count(span(text))
    assert (count.minimum, count.maximum, count.qualifier) == (minimum, maximum, qualifier)
    assert count.span == span(text)


# ------------------------------------------------------------------------------------------------------- dates

PUBLISHED = dt.date(2019, 9, 27)  # a Friday


@pytest.mark.parametrize("text, iso, precision", [
    ("September 20", "2019-09-20", "day"),
    ("October 5", "2018-10-05", "day"),  # no year: the most recent October 5 not after publication
    ("20 September 2019", "2019-09-20", "day"),
    ("the 20th of September", "2019-09-20", "day"),
    ("Sept. 3", "2019-09-03", "day"),
    ("2019-09-20", "2019-09-20", "day"),
    ("Saturday", "2019-09-21", "day"),
    ("on Saturday", "2019-09-21", "day"),
    ("Saturday afternoon", "2019-09-21", "day"),
    ("Saturday morning", "2019-09-21", "day"),
    ("Tuesday night", "2019-09-24", "day"),
    ("Friday", "2019-09-27", "day"),  # a story dated Friday that says "Friday" means that day
    ("last Friday", "2019-09-20", "day"),  # ... and "last Friday" the one before
    ("last Wednesday", "2019-09-25", "day"),
    ("yesterday", "2019-09-26", "day"),
    ("today", "2019-09-27", "day"),
    ("last night", "2019-09-26", "day"),
    ("the past 24 hours", "2019-09-27", "day"),
    ("a few days ago", None, None),
    ("last week", None, None),
    ("February 2018", "2018-02", "month"),
    ("early July", "2019-07", "month"),
    ("early December", "2018-12", "month"),
    ("last month", "2019-08", "month"),
    ("2017", "2017", "year"),
    ("Since 2017", "2017", "year"),
    ("last year", "2018", "year"),
    ("the time", None, None),
    ("February 30, 2019", None, None),
])
def test_resolve_date_with_publication_date(text, iso, precision):
    value = resolve_date(span(text, "Temporal"), PUBLISHED)
    assert (value.iso, value.precision) == (iso, precision)
    assert value.span.text == text


@pytest.mark.parametrize("text, iso, precision", [
    ("20 September 2019", "2019-09-20", "day"),
    ("2019-09-20", "2019-09-20", "day"),
    ("February 2018", "2018-02", "month"),
    ("2017", "2017", "year"),
    ("September 20", None, None),
    ("Saturday", None, None),
    ("yesterday", None, None),
    ("early July", None, None),
    ("last year", None, None),
])
def test_resolve_date_without_publication_date_resolves_only_absolute_dates(text, iso, precision):
    value = resolve_date(span(text, "Temporal"), None)
    assert (value.iso, value.precision) == (iso, precision)


def test_resolve_date_accepts_a_datetime_as_publication_date():
    assert resolve_date(span("yesterday", "Temporal"), dt.datetime(2019, 9, 27, 18, 30)).iso == "2019-09-26"


# ------------------------------------------------------------------------------------------------------ places

def spans_of(text: str, *names: str, label: str = "Location") -> list[SpanPrediction]:
    """A span for every occurrence of each name in the text, in text order."""
    found = []
    for name in names:
        start = text.find(name)
        assert start >= 0, name
        while start >= 0:
            found.append(SpanPrediction(start, start + len(name), name, label, 1.0))
            start = text.find(name, start + 1)
    return sorted(found, key=lambda s: s.start)


def first(spans: list[SpanPrediction], name: str, after: int = 0) -> SpanPrediction:
    return next(s for s in spans if s.text == name and s.start >= after)


def seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def resolved(text: str, place: SpanPrediction, locations: list[SpanPrediction]) -> Place:
    (result,) = resolve_places([place], text, locations)
    assert text[result.span.start:result.span.end] == result.span.text
    return result


def test_seed_kafr_jallis_southeast_of_idlib():
    text = seed("000")
    locations = spans_of(text, "Kafr Jallis", "Idlib")
    place = resolved(text, first(locations, "Kafr Jallis"), locations)
    assert place.hierarchy == ("Kafr Jallis", "Idlib", "Syria")
    assert place_hierarchy_string(place) == "Kafr Jallis > Idlib > Syria"
    assert (place.country, place.admin1) == ("Syria", "Idlib")  # "Idlib province" in the article
    assert (place.latitude, place.longitude) == (None, None)  # a village the gazetteer lacks: no borrowed point


def test_seed_idlib_gets_country_and_coordinates_from_the_gazetteer():
    text = seed("000")
    locations = spans_of(text, "Kafr Jallis", "Idlib")
    place = resolved(text, first(locations, "Idlib"), locations)
    assert place.hierarchy == ("Idlib", "Syria")
    assert (place.country, place.admin1) == ("Syria", "Idlib")
    assert place.latitude == pytest.approx(35.93, abs=0.05) and place.longitude == pytest.approx(36.63, abs=0.05)


def test_seed_facility_north_of_idlib():
    text = seed("000")
    locations = spans_of(text, "Kafr Jallis", "Idlib", "facility")
    assert resolved(text, first(locations, "facility"), locations).hierarchy == ("facility", "Idlib", "Syria")


def test_seed_idlib_region_in_northwestern_syria_and_binnish():
    text = seed("001")
    locations = spans_of(text, "Idlib", "Syria", "Binnish", "Sochi", "Black Sea")
    idlib = first(locations, "Idlib", after=text.index("the Idlib region"))
    syria = first(locations, "Syria")
    binnish = first(locations, "Binnish")
    places = resolve_places([idlib, syria, binnish], text, locations)
    assert [p.span for p in places] == [idlib, syria, binnish]  # one result per input, in input order
    assert [p.hierarchy for p in places] == [("Idlib", "Syria"), ("Syria",), ("Binnish", "Idlib", "Syria")]
    assert [(p.country, p.admin1) for p in places] == [("Syria", "Idlib"), ("Syria", None), ("Syria", "Idlib")]
    assert places[2].latitude == pytest.approx(35.96, abs=0.05)


def test_seed_russian_resort_of_sochi_and_an_unknown_sea():
    text = seed("001")
    locations = spans_of(text, "Idlib", "Syria", "Binnish", "Sochi", "Black Sea")
    sochi, sea = resolve_places([first(locations, "Sochi"), first(locations, "Black Sea")], text, locations)
    assert (sochi.hierarchy, sochi.country) == (("Sochi", "Russia"), "Russia")
    assert (sea.hierarchy, sea.country, sea.admin1, sea.latitude) == (("Black Sea",), None, None, None)


def test_seed_near_the_northern_syrian_city_of_idlib():
    text = seed("003")
    locations = spans_of(text, "Idlib", "Syria", "Aleppo", "training camp", "farms")
    idlib = first(locations, "Idlib")
    assert text[idlib.start - 28:idlib.start] == "near the northern Syrian city of "[-28:]
    camp, farms = first(locations, "training camp"), first(locations, "farms")
    places = resolve_places([idlib, camp, farms], text, locations)
    assert [p.hierarchy for p in places] == [("Idlib", "Syria"), ("training camp", "Idlib", "Syria"),
                                             ("farms", "Idlib", "Syria")]


def test_seed_camp_in_the_northern_province_of_aleppo():
    text = seed("003")
    locations = spans_of(text, "Idlib", "Syria", "Aleppo", "training camp", "farms")
    camp = first(locations, "training camp", after=text.index("In early July"))
    aleppo = first(locations, "Aleppo")
    camp_place, aleppo_place = resolve_places([camp, aleppo], text, locations)
    assert camp_place.hierarchy == ("training camp", "Aleppo", "Syria")
    assert (aleppo_place.hierarchy, aleppo_place.country, aleppo_place.admin1) == (("Aleppo", "Syria"), "Syria",
                                                                                   "Aleppo")


# Fictional names, so that only the article's words can build the hierarchy (the gazetteer knows none of them).
@pytest.mark.parametrize("text, place, parents", [
    ("Rockets hit Kafr Zed, southeast of Bazvale, on Monday.", "Kafr Zed", ["Bazvale"]),
    ("Shelling hit the town of Kafr Zed in Bazvale province.", "Kafr Zed", ["Bazvale"]),
    ("A drone struck the Zed region in northwestern Bazvale.", "Zed", ["Bazvale"]),
    ("Clashes erupted in Kafr Zed in the northern province of Bazvale.", "Kafr Zed", ["Bazvale"]),
    ("Smoke rose from farms north of the city of Bazvale.", "farms", ["Bazvale"]),
    ('They hit "their camp" near the city of Bazvale.', "camp", ["Bazvale"]),
    ("Kafr Zed was hit from near Bazvale.", "Kafr Zed", []),  # other words between: no link
    ("Kafr Zed, 10 km west of Bazvale in Quxland, was hit.", "Kafr Zed", ["Bazvale", "Quxland"]),
    ("Kafr Zed, Bazvale and Quxland were hit.", "Kafr Zed", []),  # a list, not a hierarchy
    ("Kafr Zed was hit. Later, Bazvale in Quxland was hit.", "Kafr Zed", []),
])
def test_hierarchy_from_the_article_words(text, place, parents):
    names = [place] + parents + [n for n in ("Bazvale", "Quxland") if n in text and n not in parents]
    locations = spans_of(text, *dict.fromkeys(names))
    target = spans_of(text, place)[0]
    result = resolved(text, target, locations)
    assert result.hierarchy == (place, *parents)
    assert (result.country, result.latitude) == (None, None)


def test_parent_named_at_another_mention_climbs_further():
    text = "Rockets hit Kafr Zed, southeast of Bazvale. Bazvale, in Quxland province, was quiet."
    locations = spans_of(text, "Kafr Zed", "Bazvale", "Quxland")
    place = resolved(text, locations[0], locations)
    assert place.hierarchy == ("Kafr Zed", "Bazvale", "Quxland")
    assert place.admin1 == "Quxland"


def test_comma_country_and_nationality_adjective():
    text = "Shelling hit Kafr Zed, Syria. Later the Iraqi border town of Qux Hamlet was hit."
    locations = spans_of(text, "Kafr Zed", "Syria", "Qux Hamlet")
    zed, qux = resolve_places([locations[0], locations[2]], text, locations)
    assert (zed.hierarchy, zed.country) == (("Kafr Zed", "Syria"), "Syria")
    assert (qux.hierarchy, qux.country) == (("Qux Hamlet", "Iraq"), "Iraq")


def test_ambiguous_name_prefers_a_country_the_article_names():
    text = "Clashes in Tripoli. Lebanon's army said the fighting in Tripoli ended."
    locations = spans_of(text, "Tripoli", "Lebanon")
    assert resolved(text, locations[0], locations).country == "Lebanon"
    alone = "Clashes in Tripoli."
    assert resolved(alone, spans_of(alone, "Tripoli")[0], spans_of(alone, "Tripoli")).country == "Libya"


def test_country_named_in_the_chain_rules_out_namesakes_elsewhere():
    text = "A car bomb hit Tripoli, Lebanon."
    locations = spans_of(text, "Tripoli", "Lebanon")
    place = resolved(text, locations[0], locations)
    assert (place.hierarchy, place.country) == (("Tripoli", "Lebanon"), "Lebanon")
    assert place.latitude == pytest.approx(34.43, abs=0.05)


def test_alternate_name_namesake_in_a_country_the_article_never_names_is_not_taken():
    text = "Gunmen abducted farmers near Damasak in Borno, Nigeria."
    locations = spans_of(text, "Damasak", "Borno", "Nigeria")
    place = resolved(text, locations[1], locations)
    assert place.country == "Nigeria"  # not Borna, Germany, which has "Borno" as an alternate name
    assert place.latitude is None
    assert gazetteer.lookup("Borno", kind="city") is None  # a Nigerian state's name, whatever the article names
    assert gazetteer.lookup("Borno", kind="city", prefer_countries=("Nigeria",)) is None
    assert gazetteer.lookup("Beirut", kind="city", prefer_countries=("Syria",)).country == "Lebanon"  # its own name


def test_resolve_places_empty_and_span_variants():
    assert resolve_places([], "text", []) == []
    text = "Fighting in Idlib province went on."
    (place,) = resolve_places(spans_of(text, "Idlib province"), text, spans_of(text, "Idlib province"))
    assert (place.hierarchy, place.admin1, place.country) == (("Idlib", "Syria"), "Idlib", "Syria")


@pytest.mark.parametrize("text, name", [
    ("the town of Kafr Jallis", "Kafr Jallis"),
    ("Idlib province", "Idlib"),
    ("northwestern Syria", "Syria"),
    ("the northern province of Aleppo", "Aleppo"),
    ("South Sudan", "South Sudan"),
    ("Northern Ireland", "Northern Ireland"),
    ("Mexico City", "Mexico City"),
])
def test_place_name(text, name):
    assert place_name(text) == name


# --------------------------------------------------------------------------------------------------- gazetteer

@pytest.fixture(scope="module")
def offline_gazetteer():
    """The gazetteer loaded from scratch with every network connection refused."""
    def refuse(*args, **kwargs):
        raise AssertionError("the gazetteer tried to use the network")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        for cached in (gazetteer._countries, gazetteer._city_index, gazetteer._admin1_names,
                       gazetteer._country_index, gazetteer._cities_by_id, gazetteer._city_entry,
                       gazetteer.country_for_adjective):
            cached.cache_clear()
        assert gazetteer.lookup("Idlib") is not None
    return gazetteer


@pytest.mark.parametrize("name, country, admin1", [
    ("Idlib", "Syria", "Idlib"),
    ("Idleb", "Syria", "Idlib"),  # an alternate spelling
    ("Binnish", "Syria", "Idlib"),
    ("Aleppo", "Syria", "Aleppo"),  # ISO 3166-2 calls the region "Ḩalab"
    ("Homs", "Syria", "Homs"),
    ("Mosul", "Iraq", None),  # Nineveh is not named after a city: unnamed, not guessed
    ("Syria", "Syria", None),
    ("Syrian Arab Republic", "Syria", None),
])
def test_gazetteer_lookup(offline_gazetteer, name, country, admin1):
    entry = offline_gazetteer.lookup(name)
    assert (entry.country, entry.admin1) == (country, admin1)


def test_gazetteer_unknown_names_and_speed(offline_gazetteer):
    assert offline_gazetteer.lookup("Kafr Jallis") is None
    assert offline_gazetteer.lookup("") is None
    started = time.perf_counter()
    for _ in range(200):
        offline_gazetteer.lookup("Aleppo")
        offline_gazetteer.lookup("Tripoli", prefer_countries=("Lebanon",))
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("adjective, country", [
    ("Syrian", "Syria"), ("Iraqi", "Iraq"), ("Iranian", "Iran"), ("Afghan", "Afghanistan"), ("Somali", "Somalia"),
    ("Nigerian", "Nigeria"), ("Russian", "Russia"), ("Yemeni", "Yemen"), ("Malian", "Mali"),
    ("Turkish", None), ("American", None), ("Arab", None),
])
def test_country_for_adjective(offline_gazetteer, adjective, country):
    assert offline_gazetteer.country_for_adjective(adjective) == country
