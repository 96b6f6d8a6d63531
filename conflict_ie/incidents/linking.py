"""Cross-article incident linking: incident records from many articles -> events, one per happening.

Two reports describe the same happening when nothing they say contradicts and they agree on when or where it
was. Each rule below is one function comparing two ``LinkRecord``s; it answers with a verdict:

- a **veto** (the reports cannot be one event),
- **points** of agreement (0 when it cannot tell), and
- whether the agreement is an **anchor**: a same day (or the same unresolved date words, "Saturday" and
  "Saturday afternoon"), or the same specific place (a town, not only its province or country).

The rules:

``articles_rule``    two incidents of one article are never one event (the article's own assembly kept them apart).
``types_rule``       incident types must be compatible: equal, or both armed violence (AirStrike, Shelling,
                     Explosion, ArmedClash: outlets call one strike "rocket attack" and "air strike", and one
                     assault "clashes" and "an explosion"), or one of them the catch-all Attack (not against an
                     Abduction).
``dates_rule``       days (resolved against the publication date) must match within ``date_tolerance_days``;
                     month-precision or publication-window dates must overlap; unresolved words must not name
                     two different weekdays or days of a month.
``places_rule``      places must match or nest (Kafr Jallis > Idlib > Syria nests in Idlib): the same specific
                     place is an anchor (2 points), agreement only at region level 1 point, two different places
                     of one region (sibling towns), two first-level regions (admin1) or two countries a veto,
                     unless one report names the other's region among its places (``regions_contradict``: "the
                     Sinjar region", a region by the article's word, nests in "Khanasor, Sinjar, Nineveh").
``roles_rule``       attackers of each report that are the targets or victims of the other, without a shared
                     attacker, mark a retaliation strike (a veto; one direction suffices unless one report is an
                     armed clash, where both sides attack); a shared attacker gives 1 point, a shared target or
                     victim 1 point (generic words such as "civilians" or "leaders" alone do not count).
``casualties_rule``  killed figures (lowest to highest reported) within ``close_casualty_ratio`` of each other
                     give 1 point; figures too far apart to be two counts of one toll (more than
                     ``casualty_ratio`` times and more than ``casualty_slack`` apart: 3 against 40) are a veto.

Before the rules, a dateline ("BEIRUT, Sept 18 –": where and when the story was filed) is left out of a record's
places and dates (``is_dateline_place``, ``is_dateline_date``). A place one report names alone takes the parents
another report of the batch gives the same name (``with_parents_from_others``: "Thiban" nests in Deir ez-Zor once
one report says so, though the gazetteer does not know the village).

Two records **link** when no rule vetoes, at least one rule gives an anchor, and the points reach
``link_threshold``. Linked pairs are merged best-first (highest points first) into clusters, and two clusters
merge only if no pair across them is vetoed, so one link cannot chain two contradicting reports together.

Scale: records are **blocked** by country and by day before any comparison: each record goes into the day
buckets its date window covers (widened by the tolerance) in each of its countries, and inside a bucket into
groups by first-level region, type family and town (``group_keys``: an unknown part meets every value, so the
groups never keep apart what the rules could link); only records that meet are compared. A record without a
known country is compared with every record of its days; a record without any date (no resolvable date, no
publication date) with every record of its country. ``benchmarks/link_scale.py`` times tens of thousands of rows.

The merged record of an event (``LinkedEvent``): the type most reports give (a specific type before Attack),
the best-supported date (the resolved day most reports agree on, then the most precise), the most specific
place (the longest hierarchy), the union of attackers, targets, victims and instruments, the fatality range
across reports (lowest and highest figure; ACLED's own column takes the lowest), and every source incident with
its article (``members``; ``LinkRecord.incident`` keeps the full record with its spans where there is one).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

from .gazetteer import name_key
from .places import place_name
from ..records import Incident

REMOTE_VIOLENCE = frozenset({"AirStrike", "Shelling", "Explosion"})
# Types one happening is reported as by different outlets: remote violence and armed clashes (an assault on a
# checkpoint with explosives is "an explosion" to one and "clashes" to another; a raid with air support "an air
# strike"). On the dev groups, vetoing these pairs kept 4 reports of 2 events apart and stopped no near miss.
ARMED_VIOLENCE = REMOTE_VIOLENCE | {"ArmedClash"}
CATCH_ALL_TYPE = "Attack"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_WEEKDAY = re.compile(rf"\b({'|'.join(_WEEKDAYS)})\b", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b({'|'.join(m[:3] for m in _MONTHS)})[a-z]*\.?\s+(\d{{1,2}})\b"
                        rf"|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({'|'.join(m[:3] for m in _MONTHS)})[a-z]*\b",
                        re.IGNORECASE)
# Words that name a kind of actor, not one actor: sharing only these says nothing about two reports.
GENERIC_ACTOR_WORDS = frozenset("""
    a an the of and in on at to for from by with its their his her who were was
    forces force troops soldiers soldier army military militants militant fighters fighter gunmen gunman men
    members member leaders leader people person persons civilians civilian residents resident children child women
    villagers group groups faction factions elements officials official police security personnel unit units
    commander commanders local government state several some other unknown armed suspected alleged
    """.split())


@dataclass(frozen=True)
class LinkSettings:
    """The thresholds of the rules (module docstring). ``link_threshold`` and ``casualty_ratio`` were chosen on
    the dev event groups' predicted incidents (B-cubed F1 0.859 against 0.842 with a ratio of 3 and 0.853 with a
    threshold of 4; gold incidents link perfectly with thresholds 3 and 4: ``benchmarks/linking_rules.py``); the
    tolerance and the window changed nothing there and keep their a-priori values."""

    date_tolerance_days: int = 0
    publication_window_days: int = 7  # an undated report is about something in the week before publication
    link_threshold: int = 3
    casualty_ratio: float = 5.0
    casualty_slack: int = 5
    close_casualty_ratio: float = 1.5  # figures this close (or within the slack) agree: 1 point


@dataclass(frozen=True)
class LinkRecord:
    """One incident as the linker sees it: normalised values, and where it comes from."""

    article_id: str
    index: int  # the incident's position in its article's result
    type: str
    event_type: str = ""
    sub_event_type: str = ""
    date_iso: str | None = None
    date_precision: str | None = None
    date_text: str | None = None
    publication_date: str | None = None
    places: tuple[tuple[str, ...], ...] = ()  # hierarchies, most specific first: ("Kafr Jallis", "Idlib", "Syria")
    country: str | None = None  # the country most of its places are in
    countries: tuple[str, ...] = ()  # every country its places are in (a gazetteer may put one name elsewhere)
    admin1: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    attackers: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    victims: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    fatalities: tuple[int | None, int | None] = (None, None)  # lowest and highest figure the report gives
    injuries: tuple[int | None, int | None] = (None, None)
    confidence: float = 0.0
    civilian_targeting: bool = False
    notes: str = ""  # the evidence sentence
    # the full record where the linker got one (predict --link): its spans index the article's text
    incident: Incident | dict | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.article_id, self.index)


class Verdict(NamedTuple):
    """What one rule says about a pair."""

    rule: str
    points: int = 0
    anchor: bool = False
    veto: bool = False
    reason: str = ""


class Comparison(NamedTuple):
    linked: bool
    points: int
    verdicts: tuple[Verdict, ...]

    @property
    def vetoed(self) -> bool:
        return any(v.veto for v in self.verdicts)


# ------------------------------------------------------------------------------------------ building records

def _count_range(counts) -> tuple[int | None, int | None]:
    """(lowest, highest) figure of a report's counts: "more than forty" and "At least 40" -> (40, 41)."""
    values = [v for c in counts for v in (c.minimum, c.maximum) if v is not None]
    return (min(values), max(values)) if values else (None, None)


def _texts(spans) -> tuple[str, ...]:
    return tuple(dict.fromkeys(span.text for span in spans))


# A dateline ("BEIRUT, Sept 18 –") says where and when a story was filed, not where and when its incident
# happened; a model may still read it as the incident's place or time. Within the first characters of an article, a
# place written in capitals and a month-and-day date equal to the publication date are taken for a dateline.
DATELINE_CHARS = 80


def is_dateline_place(text: str, start: int | None) -> bool:
    return start is not None and start < DATELINE_CHARS and text.isupper() and len(text) > 2


def is_dateline_date(text: str | None, start: int | None, iso: str | None, publication_date: str | None) -> bool:
    return (start is not None and start < DATELINE_CHARS and bool(text) and iso is not None
            and iso == publication_date and _MONTH_DAY.search(text) is not None)


def record_from_incident(article_id: str, index: int, incident: Incident,
                         publication_date: str | dt.date | None = None) -> LinkRecord:
    """The LinkRecord of one predicted (or gold) incident of an article; dateline places and dates
    (``is_dateline_place``, ``is_dateline_date``) left out."""
    from dataclasses import replace

    from ..api.outputs import best_date

    if isinstance(publication_date, dt.date):
        publication_date = publication_date.isoformat()
    kept_dates = tuple(d for d in incident.dates
                       if not is_dateline_date(d.span.text, d.span.start, d.iso, publication_date))
    date = best_date(replace(incident, dates=kept_dates))
    places = sorted((p for p in incident.places if not is_dateline_place(p.span.text, p.span.start)),
                    key=lambda p: -len(p.hierarchy))
    best = places[0] if places else None
    return LinkRecord(
        article_id=article_id, index=index, type=incident.type, event_type=incident.event_type,
        sub_event_type=incident.sub_event_type,
        date_iso=date.iso if date else None, date_precision=date.precision if date else None,
        date_text=date.span.text if date else None, publication_date=publication_date,
        places=tuple(dict.fromkeys(tuple(p.hierarchy) for p in places if p.hierarchy)),
        country=_most_common([p.country for p in places if p.country]),
        countries=tuple(dict.fromkeys(p.country for p in places if p.country)),
        admin1=next((p.admin1 for p in places if p.admin1), None),
        latitude=best.latitude if best else None, longitude=best.longitude if best else None,
        attackers=_texts(incident.attackers), targets=_texts(incident.targets), victims=_texts(incident.victims),
        instruments=_texts(incident.instruments), sources=_texts(incident.sources),
        fatalities=_count_range(incident.fatalities), injuries=_count_range(incident.injuries),
        confidence=float(incident.confidence), civilian_targeting=bool(incident.civilian_targeting),
        notes=incident.evidence[0].text if incident.evidence else incident.triggers[0].text, incident=incident)


def _most_common(values: list[str]) -> str | None:
    """The most frequent value, the first among equals; None for none."""
    if not values:
        return None
    counts = Counter(values)
    return max(values, key=lambda v: (counts[v], -values.index(v)))


def records_from_results(results: Sequence, publication_dates: Sequence[str | dt.date | None] | None = None,
                         article_ids: Sequence[str] | None = None) -> list[LinkRecord]:
    """LinkRecords of every incident of ``results`` (``ArticleResult``s, in article order)."""
    dates = list(publication_dates) if publication_dates is not None else [None] * len(results)
    ids = list(article_ids) if article_ids is not None else [str(i) for i in range(len(results))]
    if len(dates) != len(results) or len(ids) != len(results):
        raise ValueError(f"{len(results)} results need as many publication dates and article ids "
                         f"(got {len(dates)} and {len(ids)})")
    return [record_from_incident(ids[a], i, incident, dates[a])
            for a, result in enumerate(results) for i, incident in enumerate(result.incidents)]


def record_from_row(row: dict) -> LinkRecord:
    """The LinkRecord of a flat incident row (``outputs.INCIDENT_ROW_COLUMNS``: what the sharded and Ray runs
    write). A row carries only its incident's best place and highest counts."""
    def number(key):
        value = row.get(key)
        return None if value is None or value != value else int(value)  # NaN from pandas is no figure

    fatalities = [v for v in (number("fatalities_min"), number("fatalities_max")) if v is not None]
    injuries = [v for v in (number("injuries_min"), number("injuries_max")) if v is not None]
    original, publication = row, row.get("publication_date")
    publication = str(publication)[:10] if publication else None
    if is_dateline_place(row.get("place") or "", row.get("place_start")):
        row = {**row, "place_hierarchy": [], "admin1": None, "country": None, "latitude": None, "longitude": None}
    if is_dateline_date(row.get("date_text"), row.get("date_start"), row.get("date_iso"), publication):
        row = {**row, "date_iso": None, "date_text": None, "date_precision": None}
    return LinkRecord(
        article_id=str(row["article_id"]), index=int(row.get("incident") or 0), type=row.get("type") or "",
        event_type=row.get("event_type") or "", sub_event_type=row.get("sub_event_type") or "",
        date_iso=row.get("date_iso"), date_precision=row.get("date_precision"), date_text=row.get("date_text"),
        publication_date=publication,
        places=(tuple(row["place_hierarchy"]),) if row.get("place_hierarchy") else (),
        country=row.get("country"), countries=(row["country"],) if row.get("country") else (),
        admin1=row.get("admin1"),
        latitude=row.get("latitude"), longitude=row.get("longitude"),
        attackers=tuple(row.get("attackers") or ()), targets=tuple(row.get("targets") or ()),
        victims=tuple(row.get("victims") or ()), instruments=tuple(row.get("instruments") or ()),
        sources=tuple(row.get("sources") or ()),
        fatalities=(min(fatalities), max(fatalities)) if fatalities else (None, None),
        injuries=(min(injuries), max(injuries)) if injuries else (None, None),
        confidence=float(row.get("confidence") or 0.0), civilian_targeting=bool(row.get("civilian_targeting")),
        notes=row.get("notes") or "", incident=original)


# ------------------------------------------------------------------------------------------ dates as windows

def _iso_window(iso: str, precision: str | None) -> tuple[int, int] | None:
    try:
        if precision == "day" or len(iso) == 10:
            day = dt.date.fromisoformat(iso[:10]).toordinal()
            return day, day
        if precision == "month" or len(iso) == 7:
            year, month = int(iso[:4]), int(iso[5:7])
            first = dt.date(year, month, 1)
            following = dt.date(year + month // 12, month % 12 + 1, 1)
            return first.toordinal(), following.toordinal() - 1
        year = int(iso[:4])
        return dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
    except ValueError:
        return None


def date_window(record: LinkRecord, settings: LinkSettings = LinkSettings()) -> tuple[int, int] | None:
    """The days (as ordinals, first and last) the record's event can have happened on: its resolved date; else,
    with a publication date, the ``publication_window_days`` before publication; else None (unknown)."""
    return _date_window(record.date_iso, record.date_precision, record.publication_date,
                        settings.publication_window_days)


@functools.lru_cache(maxsize=65536)
def _date_window(date_iso, precision, publication_date, window_days: int) -> tuple[int, int] | None:
    if date_iso:
        window = _iso_window(date_iso, precision)
        if window:
            return window
    if publication_date:
        try:
            published = dt.date.fromisoformat(publication_date[:10]).toordinal()
        except ValueError:
            return None
        return published - window_days, published
    return None


def date_words(record: LinkRecord) -> tuple[str, ...] | None:
    """What an unresolved date span says without a calendar: ("weekday", "saturday") or ("month-day", "sep",
    "20"); None when it names neither."""
    if record.date_iso or not record.date_text:
        return None
    return _date_words(record.date_text)


@functools.lru_cache(maxsize=65536)
def _date_words(text: str) -> tuple[str, ...] | None:
    if match := _MONTH_DAY.search(text):
        month = (match.group(1) or match.group(4)).lower()[:3]
        return ("month-day", month, str(int(match.group(2) or match.group(3))))
    if match := _WEEKDAY.search(text):
        return ("weekday", match.group(1).lower())
    return None


# ------------------------------------------------------------------------------------------ the rules

def _country_keys(record: LinkRecord) -> frozenset[str]:
    return _keys_of_countries(record.countries or ((record.country,) if record.country else ()))


@functools.lru_cache(maxsize=4096)
def _keys_of_countries(countries: tuple[str, ...]) -> frozenset[str]:
    return frozenset(map(_country_key, countries))


def articles_rule(a: LinkRecord, b: LinkRecord, settings: LinkSettings) -> Verdict:
    if a.article_id == b.article_id:
        return Verdict("articles", veto=True, reason="incidents of one article (its assembly kept them apart)")
    return Verdict("articles")


def types_rule(a: LinkRecord, b: LinkRecord, settings: LinkSettings) -> Verdict:
    compatible = (a.type == b.type or (a.type in ARMED_VIOLENCE and b.type in ARMED_VIOLENCE)
                  or (CATCH_ALL_TYPE in (a.type, b.type) and "Abduction" not in (a.type, b.type)))
    if not compatible:
        return Verdict("types", veto=True, reason=f"{a.type} and {b.type} are different kinds of incident")
    return Verdict("types", reason=f"{a.type} and {b.type} are compatible")


def dates_rule(a: LinkRecord, b: LinkRecord, settings: LinkSettings) -> Verdict:
    window_a, window_b = date_window(a, settings), date_window(b, settings)
    tolerance = settings.date_tolerance_days
    exact = lambda r: bool(r.date_iso) and (r.date_precision == "day" or len(r.date_iso) == 10)  # noqa: E731
    if window_a and window_b:
        if window_a[0] > window_b[1] + tolerance or window_b[0] > window_a[1] + tolerance:
            return Verdict("dates", veto=True, reason="the dates do not overlap")
        if exact(a) and exact(b):
            if window_a[0] == window_b[0]:
                return Verdict("dates", points=2, anchor=True, reason=f"same day {a.date_iso}")
            return Verdict("dates", points=1, anchor=True, reason="days within the tolerance")
        return Verdict("dates", reason="the date windows overlap")
    words_a, words_b = date_words(a), date_words(b)
    if words_a and words_b:
        if words_a == words_b:
            return Verdict("dates", points=2, anchor=True, reason=f"same date words {' '.join(words_a[1:])}")
        if words_a[0] == words_b[0]:
            return Verdict("dates", veto=True, reason="the dates name different days")
    return Verdict("dates", reason="the dates cannot be compared")


@functools.lru_cache(maxsize=65536)
def _place_keys(hierarchy: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name_key(place_name(name)) for name in hierarchy)


@functools.lru_cache(maxsize=65536)
def _hierarchies(places: tuple[tuple[str, ...], ...]) -> tuple[tuple[tuple[str, ...], ...], frozenset[str]]:
    """A record's place hierarchies as name keys, and the keys that stand above another place (its parents)."""
    keys = tuple(_place_keys(h) for h in places)
    return keys, frozenset(key for h in keys for key in h[1:])


def places_rule(a: LinkRecord, b: LinkRecord, settings: LinkSettings) -> Verdict:
    countries_a, countries_b = _country_keys(a), _country_keys(b)
    if countries_a and countries_b and not countries_a & countries_b:
        return Verdict("places", veto=True, reason=f"{a.country} and {b.country}")
    if regions_contradict(a, b):
        return Verdict("places", veto=True, reason=f"regions {a.admin1} and {b.admin1}")
    (places_a, parents_a), (places_b, parents_b) = _hierarchies(a.places), _hierarchies(b.places)
    if not places_a or not places_b:
        return Verdict("places", reason="a report names no place")
    # names that stand above another place in either report, and the reports' regions and countries: agreeing
    # on them is weak
    regions = parents_a | parents_b | countries_a | countries_b | {_country_key(r.admin1) for r in (a, b) if r.admin1}
    best = None  # the strongest relation over all pairs of places
    for ha in places_a:
        for hb in places_b:
            if ha[0] == hb[0]:
                relation = "region" if ha[0] in regions else "same"
            elif ha[0] in hb or hb[0] in ha:
                relation = "nested"
            else:
                relation = "apart"
            rank = {"same": 3, "nested": 2, "region": 1, "apart": 0}[relation]
            if best is None or rank > best[0]:
                best = (rank, relation, ha[0], hb[0])
    _, relation, name_a, name_b = best
    if relation == "same":
        return Verdict("places", points=2, anchor=True, reason=f"same place {name_a}")
    if relation in ("nested", "region"):
        return Verdict("places", points=1, reason=f"{name_a} and {name_b} nest")
    return Verdict("places", veto=True, reason=f"{name_a} and {name_b} are different places")


def regions_contradict(a: LinkRecord, b: LinkRecord) -> bool:
    """Two known, different first-level regions, neither of which the other report names among its places: "the
    Sinjar region" (a region by the article's word) and "Khanasor, in Sinjar, Nineveh" nest, Nineveh and Duhok
    do not."""
    if not a.admin1 or not b.admin1 or _country_key(a.admin1) == _country_key(b.admin1):
        return False
    return not (_place_keys((a.admin1,))[0] in _names_of(b.places) or
                _place_keys((b.admin1,))[0] in _names_of(a.places))


@functools.lru_cache(maxsize=65536)
def _names_of(places: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    """Every name key of a record's place hierarchies."""
    return frozenset(key for hierarchy in places for key in _place_keys(hierarchy))


@functools.lru_cache(maxsize=65536)
def _country_key(country: str) -> str:
    return name_key(country)


@functools.lru_cache(maxsize=262144)
def _name_words(text: str) -> frozenset[str]:
    return frozenset(w for w in name_key(text).replace(".", " ").split() if w not in GENERIC_ACTOR_WORDS)


def names_overlap(names_a: Iterable[str], names_b: Iterable[str]) -> bool:
    """Do two lists of actor mentions share an actor? Two mentions match when the specific words (not
    ``GENERIC_ACTOR_WORDS``) of one are all words of the other: "Central Command" and "US Central Command",
    "al-Qaeda" and "Al Qaeda"; "civilians" and "civilians" do not count."""
    words_b = _word_sets(tuple(names_b))
    for words_a in _word_sets(tuple(names_a)):
        if any(words_a <= w or w <= words_a for w in words_b):
            return True
    return False


@functools.lru_cache(maxsize=65536)
def _word_sets(names: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """The specific words of each name that has any."""
    return tuple(words for words in map(_name_words, names) if words)


def roles_rule(a: LinkRecord, b: LinkRecord, settings: LinkSettings) -> Verdict:
    hit_a, hit_b = a.targets + a.victims, b.targets + b.victims
    same_attacker = names_overlap(a.attackers, b.attackers)
    a_hits_b, b_hits_a = names_overlap(a.attackers, hit_b), names_overlap(b.attackers, hit_a)
    # in an armed clash both sides attack: one direction alone is a retaliation only between one-sided attacks
    clash = "ArmedClash" in (a.type, b.type)
    if not same_attacker and (a_hits_b and b_hits_a or (a_hits_b or b_hits_a) and not clash):
        return Verdict("roles", veto=True, reason="the attacker of one is the target of the other (retaliation)")
    points = int(same_attacker) + int(names_overlap(hit_a, hit_b))
    return Verdict("roles", points=points, reason=f"{points} shared role(s)")


def casualties_rule(a: LinkRecord, b: LinkRecord, settings: LinkSettings) -> Verdict:
    (low_a, high_a), (low_b, high_b) = a.fatalities, b.fatalities
    if low_a is None or low_b is None:
        return Verdict("casualties", reason="a report gives no killed figure")

    def far(low: int, high: int | None, factor: float) -> bool:  # ``low`` too far above ``high`` for one toll
        return high is not None and low > high * factor and low - high > settings.casualty_slack

    if far(low_a, high_b, settings.casualty_ratio) or far(low_b, high_a, settings.casualty_ratio):
        return Verdict("casualties", veto=True, reason=f"{low_a}-{high_a} and {low_b}-{high_b} killed")
    ratio = settings.close_casualty_ratio
    if low_a <= (high_b if high_b is not None else low_a) * ratio and \
            low_b <= (high_a if high_a is not None else low_b) * ratio:
        return Verdict("casualties", points=1, reason="close killed figures")
    return Verdict("casualties", reason="killed figures compatible")


# in order of cost: the cheap vetoes first (a veto ends the comparison)
RULES = (articles_rule, types_rule, dates_rule, casualties_rule, places_rule, roles_rule)


def compare(a: LinkRecord, b: LinkRecord, settings: LinkSettings = LinkSettings()) -> Comparison:
    """Every rule's verdict on a pair, and whether it links (no veto, an anchor, points >= the threshold)."""
    verdicts = []
    for rule in RULES:
        verdict = rule(a, b, settings)
        verdicts.append(verdict)
        if verdict.veto:
            return Comparison(False, 0, tuple(verdicts))
    points = sum(v.points for v in verdicts)
    linked = any(v.anchor for v in verdicts) and points >= settings.link_threshold
    return Comparison(linked, points, tuple(verdicts))


# ------------------------------------------------------------------------------------------ blocking

def block_keys(record: LinkRecord, settings: LinkSettings = LinkSettings()) -> list[tuple[str | None, int | None]]:
    """The (country key, day) buckets a record goes into: every day of its date window, widened by the date
    tolerance; one bucket with day None when it has no window (compared with its whole country)."""
    countries = sorted(_country_keys(record)) or [None]
    window = date_window(record, settings)
    if window is None or window[1] - window[0] > 62:  # a year-precision date is as good as none for blocking
        return [(country, None) for country in countries]
    first, last = window[0] - settings.date_tolerance_days, window[1] + settings.date_tolerance_days
    return [(country, day) for country in countries for day in range(first, last + 1)]


def group_keys(record: LinkRecord) -> list[tuple[str | None, str | None, str | None]]:
    """The groups a record joins inside a country-day block: (first-level region, type family, locality). None
    in a part means unknown, and meets every value; two known values must be equal. The region is the record's
    admin1 (``places_rule`` vetoes two known, different ones, unless one report names the other's region among
    its places: so a record also joins, with any locality, the group of each other name of its places); the
    family groups the types ``types_rule``
    accepts together (armed violence: remote violence and armed clashes; abduction; the catch-all Attack has
    none); the localities are the place names the record's hierarchies give below its region ("Kafr Jallis"),
    one group each, or None when the region is unknown or some place of the record is only a region or a country
    (it may nest any town's report).
    So blocking never keeps apart two records the rules could link."""
    family = ("armed" if record.type in ARMED_VIOLENCE else None if record.type == CATCH_ALL_TYPE
              else record.type or None)
    region = _country_key(record.admin1) if record.admin1 else None
    countries = _country_keys(record)
    localities: set[str] = set()
    for hierarchy in record.places if region is not None else ():  # without a region any name may be one
        keys = _place_keys(hierarchy)
        cut = next((i for i, key in enumerate(keys) if key == region or key in countries), len(keys))
        if cut == 0:
            localities = set()
            break
        localities.update(keys[:cut])
    groups = [(region, family, locality) for locality in (sorted(localities) or [None])]
    if region is not None:  # it also meets, in any locality, a report whose region it names among its places
        named = (_names_of(record.places) | {_place_keys((record.admin1,))[0]}) - {region} - countries
        groups += [(name, family, None) for name in sorted(named)]
    return groups


def candidate_pairs(records: Sequence[LinkRecord], settings: LinkSettings = LinkSettings()) -> set[tuple[int, int]]:
    """Index pairs (i < j) that share a block: the only pairs ``link_records`` compares. A block is a country
    and a day, split into groups (``group_keys``). Records of two known countries, of days further apart than
    the tolerance, of two known regions or localities or of incompatible types never meet; a record without a
    known country meets every record of its days, one without any date window every record of its country."""
    # (country, day) -> region -> family -> locality -> indices; day None: no date window
    buckets: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    for index, record in enumerate(records):
        groups = group_keys(record)
        for key in block_keys(record, settings):
            for region, family, locality in groups:
                buckets[key][region][family][locality].append(index)
    days_of_country: dict[str | None, list[tuple]] = defaultdict(list)
    for key in buckets:
        days_of_country[key[0]].append(key)
    pairs: set[tuple[int, int]] = set()

    def add(members_a: Sequence[int], members_b: Sequence[int], same: bool) -> None:
        for position, i in enumerate(members_a):
            for j in (members_b[position + 1:] if same else members_b):
                if i != j:
                    pairs.add((i, j) if i < j else (j, i))

    def meet(a: dict | list, b: dict | list, same: bool, depth: int = 3) -> None:
        """Pairs across two groupings ``depth`` levels deep whose keys are equal or None on one side; ``same``
        when ``a`` is ``b`` (each pair of groups once, and each group with itself)."""
        if depth == 0:
            add(a, b, same)
            return
        for key_a, inner_a in a.items():
            partners = list(b) if key_a is None else [k for k in (key_a, None) if k in b]
            for key_b in partners:
                if same and key_a is not None and key_b is None:
                    continue  # met from the None side
                meet(inner_a, b[key_b], same and key_a == key_b, depth - 1)

    def everyone(groups: dict) -> list[int]:
        return list(dict.fromkeys(i for families in groups.values() for localities in families.values()
                                  for members in localities.values() for i in members))

    for key, groups in buckets.items():
        meet(groups, groups, same=True)
        if key[0] is not None and (None, key[1]) in buckets:  # a record of no known country meets every country
            add(everyone(groups), everyone(buckets[(None, key[1])]), same=False)
    for key, groups in buckets.items():  # records without a date window meet their whole country
        if key[1] is not None:
            continue
        for country in (list(days_of_country) if key[0] is None else [key[0], None]):
            for other in days_of_country.get(country, ()):
                if other == key:
                    continue
                if key[0] is not None and country is not None:
                    meet(groups, buckets[other], same=False)
                else:  # no known country on one side: its regions and places say nothing about the other's
                    add(everyone(groups), everyone(buckets[other]), same=False)
    return pairs


# ------------------------------------------------------------------------------------------ clustering

@dataclass(frozen=True)
class LinkedEvent:
    """One happening and every report of it: the merged record, then the source incidents (``members``)."""

    id: str
    type: str
    event_type: str
    sub_event_type: str
    civilian_targeting: bool
    date_iso: str | None
    date_precision: str | None
    date_text: str | None
    date_support: int  # how many reports give that date
    place: tuple[str, ...]  # the most specific hierarchy
    country: str | None
    admin1: str | None
    latitude: float | None
    longitude: float | None
    attackers: tuple[str, ...]
    targets: tuple[str, ...]
    victims: tuple[str, ...]
    instruments: tuple[str, ...]
    fatalities_min: int | None  # the lowest figure any report gives
    fatalities_max: int | None  # the highest
    injuries_min: int | None
    injuries_max: int | None
    sources: tuple[str, ...]  # who reported it, as the reports name them, else the article id
    articles: tuple[str, ...]
    notes: str  # the evidence sentence of the report whose type the event takes
    members: tuple[LinkRecord, ...]

    def to_dict(self) -> dict:
        """The event as JSON-ready data; each member with its article, incident index and full record."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "members"}
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
        data["reports"] = [_member_dict(m) for m in self.members]
        return data


def _member_dict(record: LinkRecord) -> dict:
    incident = record.incident
    if isinstance(incident, Incident):
        incident = asdict(incident)
    return {"article_id": record.article_id, "incident": record.index, "publication_date": record.publication_date,
            "record": incident}


class _Clusters:
    """Union-find whose merges keep the member lists, so a merge can be refused when a pair across is vetoed."""

    def __init__(self, size: int):
        self.parent = list(range(size))
        self.members = {i: [i] for i in range(size)}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members.pop(b))


def with_parents_from_others(records: Sequence[LinkRecord]) -> list[LinkRecord]:
    """The records, where a place a report names alone ("Thiban") gains the parents another report gives the same
    name ("Thiban, in Deir ez-Zor, Syria"): the gazetteer does not know every village, and a coder reading both
    reports would see that they nest. The longest hierarchy any report gives a name is taken."""
    parents: dict[str, tuple[str, ...]] = {}
    for record in records:
        for hierarchy in record.places:
            key = _place_keys(hierarchy)[0]
            if len(hierarchy) - 1 > len(parents.get(key, ())):
                parents[key] = hierarchy[1:]
    extended = []
    for record in records:
        places = tuple(hierarchy + parents.get(_place_keys(hierarchy)[0], ()) if len(hierarchy) == 1 else hierarchy
                       for hierarchy in record.places)
        extended.append(record if places == record.places else replace(record, places=places))
    return extended


def cluster(records: Sequence[LinkRecord], settings: LinkSettings = LinkSettings()) -> list[list[int]]:
    """Groups of record indices, one per event (singletons included), in order of their first record."""
    records = with_parents_from_others(records)
    comparisons = {}
    for i, j in candidate_pairs(records, settings):
        comparisons[(i, j)] = compare(records[i], records[j], settings)
    clusters = _Clusters(len(records))
    linked = sorted(((c.points, -i, -j) for (i, j), c in comparisons.items() if c.linked), reverse=True)

    def vetoed(i: int, j: int) -> bool:
        pair = (i, j) if i < j else (j, i)
        if pair not in comparisons:  # never compared (other blocks): compare now
            comparisons[pair] = compare(records[pair[0]], records[pair[1]], settings)
        return comparisons[pair].vetoed

    for _, minus_i, minus_j in linked:
        i, j = -minus_i, -minus_j
        root_i, root_j = clusters.find(i), clusters.find(j)
        if root_i == root_j:
            continue
        if any(vetoed(x, y) for x in clusters.members[root_i] for y in clusters.members[root_j]):
            continue
        clusters.union(i, j)
    groups = [sorted(members) for members in clusters.members.values()]
    return sorted(groups, key=lambda group: group[0])


def link_records(records: Sequence[LinkRecord], settings: LinkSettings = LinkSettings()) -> list[LinkedEvent]:
    """Events of LinkRecords (``record_from_incident`` / ``record_from_row``), one per happening, in order of
    their first report; events are numbered E1, E2, ..."""
    groups = cluster(records, settings)
    return [merge_event(f"E{number}", [records[i] for i in group]) for number, group in enumerate(groups, start=1)]


def link_incidents(results: Sequence, publication_dates: Sequence[str | dt.date | None] | None = None,
                   article_ids: Sequence[str] | None = None, settings: LinkSettings = LinkSettings()
                   ) -> list[LinkedEvent]:
    """Events from the incidents of many articles: ``results`` are ``predict()``'s ArticleResults (one per
    article), ``publication_dates`` one per article (ISO strings, dates or None), ``article_ids`` the names the
    events cite (default: the article's position)."""
    return link_records(records_from_results(results, publication_dates, article_ids), settings)


# ------------------------------------------------------------------------------------------ the merged record

_PRECISION_RANK = {"day": 3, "month": 2, "year": 1}


def _union(values: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Names of all reports, once each (compared by their specific words, the first spelling kept)."""
    kept: list[str] = []
    for names in values:
        for name in names:
            if not names_overlap([name], kept) and name not in kept:
                kept.append(name)
    return tuple(kept)


def _best_type(members: Sequence[LinkRecord]) -> LinkRecord:
    """The report whose type the event takes: the type most reports give, a specific type before Attack."""
    votes = Counter(m.type for m in members)
    best_type = max(votes, key=lambda t: (t != CATCH_ALL_TYPE, votes[t], -[m.type for m in members].index(t)))
    return next(m for m in members if m.type == best_type)


def _best_date(members: Sequence[LinkRecord]) -> tuple[LinkRecord | None, int]:
    """The report with the best-supported date: the resolved date most reports give, the most precise first."""
    dated = [m for m in members if m.date_iso]
    if not dated:
        worded = [m for m in members if m.date_text]
        return (worded[0], 1) if worded else (None, 0)
    votes = Counter(m.date_iso for m in dated)
    best = max(dated, key=lambda m: (votes[m.date_iso], _PRECISION_RANK.get(m.date_precision, 0)))
    return best, votes[best.date_iso]


def _range(ranges: Iterable[tuple[int | None, int | None]]) -> tuple[int | None, int | None]:
    values = [v for pair in ranges for v in pair if v is not None]
    return (min(values), max(values)) if values else (None, None)


def merge_event(event_id: str, members: Sequence[LinkRecord]) -> LinkedEvent:
    """The merged record of the reports of one event (module docstring)."""
    typed = _best_type(members)
    dated, support = _best_date(members)
    placed = max(members, key=lambda m: max((len(h) for h in m.places), default=0))
    place = max(placed.places, key=len) if placed.places else ()
    fatalities, injuries = _range(m.fatalities for m in members), _range(m.injuries for m in members)
    sources = _union(m.sources or (m.article_id,) for m in members)
    return LinkedEvent(
        id=event_id, type=typed.type, event_type=typed.event_type, sub_event_type=typed.sub_event_type,
        civilian_targeting=typed.civilian_targeting,
        date_iso=dated.date_iso if dated else None, date_precision=dated.date_precision if dated else None,
        date_text=dated.date_text if dated else None, date_support=support, place=place,
        country=next((m.country for m in members if m.country), None),
        admin1=placed.admin1 or next((m.admin1 for m in members if m.admin1), None),
        latitude=placed.latitude, longitude=placed.longitude,
        attackers=_union(m.attackers for m in members), targets=_union(m.targets for m in members),
        victims=_union(m.victims for m in members), instruments=_union(m.instruments for m in members),
        fatalities_min=fatalities[0], fatalities_max=fatalities[1], injuries_min=injuries[0],
        injuries_max=injuries[1], sources=sources, articles=tuple(dict.fromkeys(m.article_id for m in members)),
        notes=typed.notes, members=tuple(members))
