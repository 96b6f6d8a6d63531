"""Normalisation of incident values: casualty counts, dates and places. Pure functions, no model.

- ``parse_count``: "at least 40" -> minimum 40; "more than forty" -> minimum 41; "dozens" -> minimum 24 (vague).
- ``resolve_date``: "Saturday" against a publication date -> that ISO day; "February 2018" -> 2018-02 (month).
- ``resolve_places``: the hierarchy the article states ("Kafr Jallis, southeast of Idlib", "Idlib province",
  "northwestern Syria"), completed with country, admin1 and coordinates from the offline gazetteer.

None of them raises on odd text: what cannot be read stays None (and the span keeps the words).
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
import re

from . import gazetteer
from .records import Count, DateValue, Place, SpanPrediction

# ---------------------------------------------------------------------------------------------------- counts

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORD_NUMBERS = ({word: value for value, word in enumerate(_UNITS)}
                | {word: 10 * value for value, word in enumerate(_TENS, start=2)}
                | {"a": 1, "an": 1, "single": 1, "no": 0, "none": 0})
MULTIPLIERS = {"dozen": 12, "score": 20, "hundred": 100, "thousand": 1000, "million": 1_000_000}
# A plural unit means at least two of it: "dozens" -> 24, "scores" -> 40, "hundreds" -> 200.
PLURAL_UNITS = {word + "s": 2 * value for word, value in MULTIPLIERS.items()} | {"tens": 20}
# Plural words without a number mean at least two ("several hundred" -> at least two hundred, see parse_count).
VAGUE_WORDS = ("a number of", "a handful of", "a few", "few", "several", "many", "numerous", "multiple")
QUALIFIER_PHRASES = {
    "at least": ("at least", "no fewer than", "no less than", "not less than", "a minimum of"),
    "more than": ("more than", "over", "upwards of", "in excess of"),
    "at most": ("at most", "up to", "no more than", "a maximum of", "nearly", "almost"),
    "fewer than": ("fewer than", "less than", "under"),
    "about": ("about", "around", "approximately", "roughly", "some", "an estimated", "estimated", "close to"),
}
_QUALIFIER_PREFIX = re.compile("|".join(
    rf"(?P<{name.replace(' ', '_')}>{'|'.join(phrases)})\s+" for name, phrases in QUALIFIER_PHRASES.items()))
_VAGUE_PREFIX = re.compile(rf"(?:{'|'.join(VAGUE_WORDS)})\b\s*")
# "10 to 15", "10-15", "between 10 and 15", "two or three"; a hyphen only between digits ("twenty-three" is 23)
_RANGE = re.compile(r"(?:between\s+)?(?P<low>.+?)(?:\s+(?:to|and|or)\s+|\s*[-–]\s*(?=\d))(?P<high>.+)")
_NUMBER_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z]+(?:-[a-z]+)*")


def _leading_number(text: str) -> tuple[int | None, str]:
    """The number the text starts with and the rest: "1,800 fighters" -> (1800, "fighters"),
    "twenty-three" -> 23, "two dozen" -> 24, "3.5 million" -> 3500000, "one hundred and five" -> 105."""
    total, current, seen, rest = 0, 0.0, False, text
    for token in _NUMBER_TOKEN.finditer(text):
        word = token.group()
        if word[0].isdigit():
            current += float(word.replace(",", ""))
        elif all(part in WORD_NUMBERS for part in word.split("-")):
            current += sum(WORD_NUMBERS[part] for part in word.split("-"))
        elif word in MULTIPLIERS:
            current = max(current, 1) * MULTIPLIERS[word]
            if MULTIPLIERS[word] >= 1000:  # "two thousand five hundred": close the thousands
                total, current = total + current, 0
        elif word == "and" and seen:
            continue
        else:
            break
        seen, rest = True, text[token.end():]
    return (int(total + current) if seen else None), rest.strip()


def _bounds(qualifier: str, value: int) -> tuple[int | None, int | None]:
    """(minimum, maximum) a qualified figure states. "about 40" keeps 40 as both: the best single value, with
    the qualifier saying it is approximate. "nearly 30" is an upper bound (30), like "up to 30"."""
    return {
        "exact": (value, value),
        "about": (value, value),
        "at least": (value, None),
        "more than": (value + 1, None),
        "at most": (None, value),
        "fewer than": (None, value - 1),
    }[qualifier]


def parse_count(span: SpanPrediction) -> Count:
    """A casualty figure with its qualifier; never raises.

    qualifier is one of "exact", "about", "at least", "more than", "at most", "fewer than", "range", "vague" or
    "unparsed" (no number found: minimum and maximum None). Trailing nouns are ignored ("eight elements" -> 8).
    Vague quantities have a minimum and no maximum: "dozens" 24, "scores" 40, "hundreds" 200, "several hundred"
    200, and "several", "a number of", "a few", "many" 2.
    """
    text = " ".join(span.text.lower().replace("’", "'").split()).strip(" .,;:'\"“”()")
    qualifier = "exact"
    if match := _QUALIFIER_PREFIX.match(text):
        qualifier, text = match.lastgroup.replace("_", " "), text[match.end():]

    vague_minimum = _vague_minimum(text)
    if vague_minimum is not None:
        return Count(span, vague_minimum, None, "vague")
    if qualifier == "exact" and (match := _RANGE.fullmatch(text)):
        low, low_rest = _leading_number(match["low"])
        high, _ = _leading_number(match["high"])
        if low is not None and high is not None and not low_rest and low < high:
            return Count(span, low, high, "range")
    value, _ = _leading_number(text)
    if value is None:
        return Count(span, None, None, "unparsed")
    return Count(span, *_bounds(qualifier, value), qualifier)


def _vague_minimum(text: str) -> int | None:
    """The minimum of a vague quantity ("dozens of" -> 24, "several hundred" -> 200, "a number of" -> 2)."""
    first = text.split(" ", 1)[0]
    if first in PLURAL_UNITS:
        return PLURAL_UNITS[first]
    if match := _VAGUE_PREFIX.match(text):
        unit = text[match.end():].split(" ", 1)[0]
        return 2 * MULTIPLIERS.get(unit, 1)
    return None


# ----------------------------------------------------------------------------------------------------- dates

_MONTH_NUMBERS = ({name.lower(): number for number, name in enumerate(calendar.month_name) if name}
                  | {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
                  | {"sept": 9})
_WEEKDAY_NUMBERS = {name.lower(): number for number, name in enumerate(calendar.day_name)}
_DAYS_BEFORE_PUBLICATION = {"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
                            "the past 24 hours": 0, "the last 24 hours": 0, "yesterday": 1, "last night": 1}

_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_YEAR = re.compile(r"\b(1[89]\d\d|2[01]\d\d)\b")
_DAY_OF_MONTH = re.compile(r"\b(3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\b")
_MONTH_NAME = re.compile(rf"\b({'|'.join(sorted(_MONTH_NUMBERS, key=len, reverse=True))})\b")
_WEEKDAY = re.compile(rf"\b(last\s+)?({'|'.join(_WEEKDAY_NUMBERS)})\b")
_RELATIVE_DAY = re.compile(rf"\b({'|'.join(_DAYS_BEFORE_PUBLICATION)})\b")
_RELATIVE_PERIOD = re.compile(r"\b(last|this)\s+(year|month)\b")


def resolve_date(span: SpanPrediction, publication_date: dt.date | None) -> DateValue:
    """The ISO value and precision ("day", "month", "year") a date span states; iso None where it cannot be fixed.

    Absolute dates resolve alone ("20 September 2019", "2019-09-20", "February 2018", "2017"). A date without a
    year takes the most recent occurrence not after the publication date ("September 20" in a story of
    2019-09-27 -> 2019-09-20; "early July" -> that July). Relative dates need the publication date: a weekday
    ("Saturday", "Saturday afternoon", "Tuesday night") is the most recent such day on or before it, the
    publication day itself included (a story dated Saturday that says "Saturday" means that day); "last
    Wednesday" is the most recent Wednesday strictly before it; "yesterday" and "last night" are the day
    before; "today" and "the past 24 hours" the day itself; "last year" and "last month" the previous ones.
    Vague spans ("a few days ago", "last week") stay unresolved.
    """
    if isinstance(publication_date, dt.datetime):
        publication_date = publication_date.date()
    text = " ".join(span.text.lower().split())
    resolved = _absolute_date(text, publication_date)
    if resolved is None and publication_date is not None:
        resolved = _relative_date(text, publication_date)
    iso, precision = resolved or (None, None)
    return DateValue(span, iso, precision)


def _absolute_date(text: str, publication_date: dt.date | None) -> tuple[str, str] | None:
    """A date the text names by month, day or year; a missing year comes from the publication date."""
    if match := _ISO_DAY.search(text):
        day = _safe_date(*map(int, match.groups()))
        return (day.isoformat(), "day") if day else None
    year_match, month_match = _YEAR.search(text), _MONTH_NAME.search(text)
    year = int(year_match.group(1)) if year_match else None
    if month_match is None:
        return (f"{year:04d}", "year") if year else None
    month = _MONTH_NUMBERS[month_match.group(1)]
    without_year = _YEAR.sub(" ", text)
    day_match = _DAY_OF_MONTH.search(without_year)
    if year is None and publication_date is None:
        return None
    if day_match:
        day = int(day_match.group(1))
        year = year or _latest_year(publication_date, month, day)
        resolved = _safe_date(year, month, day)
        return (resolved.isoformat(), "day") if resolved else None
    year = year or _latest_year(publication_date, month, 1)
    return f"{year:04d}-{month:02d}", "month"


def _latest_year(publication_date: dt.date, month: int, day: int) -> int:
    """The year of the most recent (month, day) not after the publication date."""
    this_year = publication_date.year
    return this_year if (month, day) <= (publication_date.month, publication_date.day) else this_year - 1


def _relative_date(text: str, publication_date: dt.date) -> tuple[str, str] | None:
    """A date the text names relative to the publication date ("yesterday", "Saturday", "last year")."""
    if match := _RELATIVE_DAY.search(text):
        day = publication_date - dt.timedelta(days=_DAYS_BEFORE_PUBLICATION[match.group(1)])
        return day.isoformat(), "day"
    if match := _WEEKDAY.search(text):
        back = (publication_date.weekday() - _WEEKDAY_NUMBERS[match.group(2)]) % 7
        if match.group(1) and back == 0:  # "last Saturday" in a Saturday story is a week ago
            back = 7
        return (publication_date - dt.timedelta(days=back)).isoformat(), "day"
    if match := _RELATIVE_PERIOD.search(text):
        shift = 1 if match.group(1) == "last" else 0
        if match.group(2) == "year":
            return f"{publication_date.year - shift:04d}", "year"
        first_of_month = publication_date.replace(day=1) - dt.timedelta(days=shift)
        return f"{first_of_month.year:04d}-{first_of_month.month:02d}", "month"
    return None


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------- places

_COMPASS = r"(?:north|south)(?:[- ]?(?:east|west))?|east|west"
_COMPASS_ADJECTIVE = rf"(?:(?:{_COMPASS})(?:ern)?|central|rural)"
_ADMIN_WORD = (r"(?:province|governorate|region|state|district|county|oblast|department|municipality|city|town|"
               r"village|area|countryside|suburbs?|outskirts)")
_ADMIN1_WORD = r"(?:province|governorate|region|state|oblast)"
_MAX_GAP = 60  # characters between a place and the parent the same phrase names
_MAX_DEPTH = 4

# The words between a place and a location that contains it or that it lies by:
# "Kafr Jallis, southeast of Idlib", "farms north of the city of Idlib", '... camp" near the city of Idlib',
# "10 km west of Mosul", "on the outskirts of Aleppo"
_LIES_BY_PARENT = re.compile(
    rf"\s*{_ADMIN_WORD}?[\s,\"”’']*(?:(?:about|some|around)\s+)?(?:\d+\s*(?:km|kilometres|kilometers|miles)\s+)?"
    rf"(?:(?:{_COMPASS})\s+of|near|outside|close\s+to|(?:on|in)\s+the\s+outskirts\s+of)\s+"
    rf"(?:the\s+)?(?:{_COMPASS_ADJECTIVE}\s+)?(?:{_ADMIN_WORD}\s+of\s+)?", re.IGNORECASE)
# "Kafr Jallis in Idlib province", "the Idlib region in northwestern Syria", "a camp in the northern province of"
_INSIDE_PARENT = re.compile(
    rf"\s*{_ADMIN_WORD}?[\s,]*in\s+(?:the\s+)?(?:{_COMPASS_ADJECTIVE}\s+)?(?:{_ADMIN_WORD}\s+of\s+)?",
    re.IGNORECASE)
# "Idlib, Syria": a bare comma, trusted only when a country follows
_COMMA = re.compile(r"\s*,\s*")
# "the northern Syrian city of Idlib", "the Russian resort of Sochi", "the Syrian border town of"
_NATIONALITY_BEFORE = re.compile(rf"\b([A-Z][a-z]+)\s+(?:[a-z]+\s+)?(?:{_ADMIN_WORD}|capital|resort|port)\s+of\s+$")
# Lower-case words around a name that are not part of it: "the town of Kafr Jallis", "northwestern Syria",
# "Idlib province"; capitalised ones are ("Northern Ireland", "South Sudan", "Mexico City")
_NAME_PREFIX = re.compile(rf"^(?:[Tt]he\s+)?(?:(?:(?:{_COMPASS})ern|central|rural)\s+)?(?:{_ADMIN_WORD}\s+of\s+)?")
_NAME_SUFFIX = re.compile(rf"\s+{_ADMIN_WORD}$")


@functools.lru_cache(maxsize=65536)
def place_name(text: str) -> str:
    """A place span's name without article or admin word: "the town of Kafr Jallis" -> "Kafr Jallis",
    "Idlib province" -> "Idlib"."""
    name = _NAME_SUFFIX.sub("", _NAME_PREFIX.sub("", text.strip()))
    return name or text.strip()


def resolve_places(places: list[SpanPrediction], text: str, locations: list[SpanPrediction]) -> list[Place]:
    """One Place per place span, in input order: the hierarchy the article states, most specific first, then
    the first-level region and the country from the gazetteer where the article leaves them out.

    ``places`` are one incident's place spans, ``locations`` every Location span of the article, ``text`` the
    article. The article's chain comes first ("Kafr Jallis, southeast of Idlib" -> Kafr Jallis > Idlib; any
    mention of Idlib elsewhere can add its own parent). admin1 is a chain name the article calls a province,
    governorate, region, state or oblast, else the gazetteer's region. Latitude and longitude are given only when
    the gazetteer knows the place itself, never borrowed from a parent. Ambiguous names prefer a country the
    article names, then the most populous candidate.
    """
    article = _Article(text, locations)
    return [article.resolve(place) for place in places]


def place_hierarchy_string(place: Place) -> str:
    """The hierarchy for people to read: "Kafr Jallis > Idlib > Syria"."""
    return " > ".join(place.hierarchy)


class _Article:
    """One article's Location spans, indexed so that resolving many places stays linear in the article."""

    def __init__(self, text: str, locations: list[SpanPrediction]):
        self.text = text
        self.locations = sorted(locations, key=lambda loc: (loc.start, loc.end))
        self.starts = [loc.start for loc in self.locations]
        self.mentions: dict[str, list[SpanPrediction]] = {}
        for loc in self.locations:
            self.mentions.setdefault(_key(loc.text), []).append(loc)
        self.countries = tuple(dict.fromkeys(place_name(loc.text) for loc in self.locations
                                             if _is_country(place_name(loc.text))))
        self._parents: dict[tuple[int, int], str | None] = {}

    def resolve(self, place: SpanPrediction) -> Place:
        chain = self.chain(place)
        named_countries = [name for name in chain if _is_country(name)]
        regions = [name for name in chain if name not in named_countries]
        position, entry = _gazetteer_entry(regions, named_countries, self.countries)
        country = (gazetteer.lookup(named_countries[0], kind="country").name if named_countries
                   else entry.country if entry else None)
        admin1 = next((name for name in regions if _named_as_admin1(self.text, name)),
                      entry.admin1 if entry else None)
        hierarchy = regions + _missing([admin1], regions) + _missing([country], regions)
        latitude, longitude = (entry.latitude, entry.longitude) if entry and position == 0 else (None, None)
        return Place(place, tuple(hierarchy), country, admin1, latitude, longitude)

    def chain(self, place: SpanPrediction) -> list[str]:
        """The place and the parents the article gives it, most specific first: ["Kafr Jallis", "Idlib"].
        A parent found at any mention of a name counts ("Idlib, in northwestern Syria" further down)."""
        chain = [place_name(place.text)]
        mentions = [place]
        while len(chain) <= _MAX_DEPTH and not _is_country(chain[-1]):
            mentions += self.mentions.get(_key(chain[-1]), [])
            parents = (self.parent(mention) for mention in mentions)
            parent = next((p for p in parents if p and _key(p) not in {_key(name) for name in chain}), None)
            if parent is None:
                break
            chain.append(parent)
            mentions = []
        return chain

    def parent(self, span: SpanPrediction) -> str | None:
        """The location the words right around ``span`` put it in or by, if any (cached per span)."""
        if (span.start, span.end) not in self._parents:
            self._parents[(span.start, span.end)] = self._parent_uncached(span)
        return self._parents[(span.start, span.end)]

    def _parent_uncached(self, span: SpanPrediction) -> str | None:
        index = bisect.bisect_left(self.starts, span.end)
        following = self.locations[index] if index < len(self.locations) else None
        if following is not None and following.start - span.end <= _MAX_GAP:
            between = self.text[span.end:following.start]
            parent = place_name(following.text)
            if _LIES_BY_PARENT.fullmatch(between) or _INSIDE_PARENT.fullmatch(between):
                return parent
            if _COMMA.fullmatch(between) and _is_country(parent) and not _is_country(place_name(span.text)):
                return parent
        nationality = _NATIONALITY_BEFORE.search(self.text[max(0, span.start - _MAX_GAP):span.start])
        return gazetteer.country_for_adjective(nationality.group(1)) if nationality else None


def _missing(names: list[str | None], present: list[str]) -> list[str]:
    keys = {_key(name) for name in present}
    return [name for name in names if name and _key(name) not in keys]


def _gazetteer_entry(regions: list[str], named_countries: list[str], article_countries: tuple[str, ...]
                     ) -> tuple[int, gazetteer.GazetteerEntry | None]:
    """The gazetteer's city for the most specific name of the chain it knows, and that name's position."""
    for position, name in enumerate(regions):
        if name[:1].isupper():  # "farms", "training camp": not names a gazetteer holds
            entry = gazetteer.lookup(name, kind="city", prefer_countries=article_countries,
                                     within_countries=named_countries)
            if entry:
                return position, entry
    return -1, None


@functools.lru_cache(maxsize=65536)
def _is_country(name: str) -> bool:
    return gazetteer.lookup(name, kind="country") is not None


@functools.lru_cache(maxsize=65536)
def _key(text: str) -> str:
    """Two spans name the same place when their names have one key ("Idlib province", "Idlib")."""
    return gazetteer.name_key(place_name(text))


def _named_as_admin1(text: str, name: str) -> bool:
    """Does the article call ``name`` a first-level region ("Idlib province", "the province of Aleppo")?"""
    escaped = re.escape(name)
    return bool(re.search(rf"\b{escaped}\s+{_ADMIN1_WORD}\b|\b{_ADMIN1_WORD}\s+of\s+{escaped}\b", text,
                          re.IGNORECASE))
