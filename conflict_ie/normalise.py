"""Normalisation of incident values: casualty counts, dates and places. Pure functions, no model.

- ``parse_count``: "at least 40" -> minimum 40; "more than forty" -> minimum 41; "dozens" -> minimum 24 (vague).
- ``resolve_date``: "Saturday" with a publication date -> the ISO day; "February 2018" -> 2018-02 (month).
- ``resolve_places``: a place hierarchy from the article ("Kafr Jallis, southeast of Idlib", "Idlib province",
  "northwestern Syria") and country/admin1/coordinates from the offline gazetteer where the name is known.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from .records import Count, DateValue, Place, SpanPrediction

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORD_NUMBERS = {word: value for value, word in enumerate(_UNITS)} | {
    word: 10 * value for value, word in enumerate(_TENS) if word}
WORD_NUMBERS |= {"a": 1, "an": 1, "single": 1, "no": 0, "none": 0}
SCALES = {"dozen": 12, "hundred": 100, "thousand": 1000, "million": 1_000_000}
# Vague quantities: (minimum, maximum). "dozens" means at least two dozen.
VAGUE = {"dozens": (24, None), "scores": (40, None), "hundreds": (200, None), "thousands": (2000, None),
         "several": (3, None), "a number of": (2, None), "a few": (2, None), "few": (2, None),
         "many": (2, None), "some": (2, None), "a handful": (2, None), "numerous": (2, None)}
# Qualifier phrases before the number -> (qualifier, how the bound moves).
QUALIFIERS = [
    (("at least", "no fewer than", "no less than", "a minimum of"), "at least"),
    (("more than", "over", "upwards of", "in excess of"), "more than"),
    (("at most", "up to", "no more than", "a maximum of"), "at most"),
    (("fewer than", "less than", "under"), "fewer than"),
    (("about", "around", "approximately", "roughly", "nearly", "almost", "some", "an estimated", "close to"), "about"),
]


def _number_from_words(words: list[str]) -> int | None:
    """'forty two', 'twenty-three', 'one hundred', '1,800', '3 million' -> int; None when not a number."""
    total, current, seen = 0, 0, False
    for word in words:
        word = word.strip(",.").lower()
        if not word or word == "and":
            continue
        digits = word.replace(",", "")
        if digits.isdigit():
            current += int(digits)
        elif "-" in word and all(part in WORD_NUMBERS for part in word.split("-")):
            current += sum(WORD_NUMBERS[part] for part in word.split("-"))
        elif word in WORD_NUMBERS:
            current += WORD_NUMBERS[word]
        elif word in SCALES:
            current = max(current, 1) * SCALES[word]
            if SCALES[word] >= 1000:
                total, current = total + current, 0
        else:
            break
        seen = True
    return total + current if seen else None


def parse_count(span: SpanPrediction) -> Count:
    """A casualty figure with its qualifier. Unparseable text gives qualifier "unparsed" (never an exception)."""
    text = re.sub(r"\s+", " ", span.text.strip().lower())
    for phrase, (minimum, maximum) in sorted(VAGUE.items(), key=lambda item: -len(item[0])):
        if text == phrase or text.startswith(phrase + " "):
            if _number_from_words(text[len(phrase):].split()) is None:
                return Count(span, minimum, maximum, "vague")
    qualifier = "exact"
    for phrases, name in QUALIFIERS:
        match = next((p for p in phrases if text.startswith(p + " ")), None)
        if match:
            qualifier, text = name, text[len(match) + 1:]
            break
    range_match = re.match(r"([\w,\-]+)\s*(?:to|-|–|and)\s*([\w,\-]+)", text)
    if range_match and qualifier == "exact":
        low, high = _number_from_words([range_match.group(1)]), _number_from_words([range_match.group(2)])
        if low is not None and high is not None and low < high:
            return Count(span, low, high, "range")
    value = _number_from_words(text.split())
    if value is None:
        return Count(span, None, None, "unparsed")
    bounds = {
        "exact": (value, value),
        "at least": (value, None),
        "more than": (value + 1, None),
        "at most": (None, value),
        "fewer than": (None, value - 1),
        "about": (value, value),  # "about 40" keeps 40 as its best value; the qualifier says it is approximate
    }[qualifier]
    return Count(span, bounds[0], bounds[1], qualifier)


_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {name.lower(): number for number, name in enumerate(calendar.day_name)}
_RELATIVE_DAYS = {"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
                  "yesterday": 1, "last night": 1, "the past 24 hours": 0, "the previous day": 1}


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def resolve_date(span: SpanPrediction, publication_date: dt.date | None) -> DateValue:
    """ISO value and precision where the text (and the publication date) fix it; otherwise iso None."""
    text = re.sub(r"\s+", " ", span.text.strip().lower()).strip(",.")
    text = re.sub(r"^(on|in|at|since|by|during|from) ", "", text)

    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        day = _safe_date(*map(int, iso.groups()))
        return DateValue(span, day.isoformat() if day else None, "day" if day else None)
    words = re.findall(r"[a-z]+|\d+", text)
    numbers = [int(w) for w in words if w.isdigit()]
    years = [n for n in numbers if 1900 <= n <= 2100]
    days = [n for n in numbers if 1 <= n <= 31]
    month = next((_MONTHS[w] for w in words if w in _MONTHS and (len(w) > 3 or w in ("may",))), None)

    if month and days and not (years and days == years):
        year = years[0] if years else None
        if year is None and publication_date is not None:
            year = publication_date.year
            candidate = _safe_date(year, month, days[0])
            if candidate and candidate > publication_date:  # "September 20" in an October story: this year
                year -= 1
        if year is not None:
            day = _safe_date(year, month, days[0])
            if day:
                return DateValue(span, day.isoformat(), "day")
    if month and (years or publication_date is not None):
        year = years[0] if years else publication_date.year
        if not years and publication_date is not None and month > publication_date.month:
            year -= 1
        return DateValue(span, f"{year:04d}-{month:02d}", "month")
    if years and not month and len(words) <= 2:
        return DateValue(span, f"{years[0]:04d}", "year")
    if publication_date is None:
        return DateValue(span, None, None)
    for phrase, back in _RELATIVE_DAYS.items():
        if text == phrase or text.startswith(phrase + " "):
            return DateValue(span, (publication_date - dt.timedelta(days=back)).isoformat(), "day")
    weekday = next((w for w in words if w in _WEEKDAYS), None)
    if weekday is not None:
        # a weekday named in a story means the most recent such day, the publication day itself included;
        # "last Wednesday" means the same (news style), never a week earlier still
        back = (publication_date.weekday() - _WEEKDAYS[weekday]) % 7
        return DateValue(span, (publication_date - dt.timedelta(days=back)).isoformat(), "day")
    return DateValue(span, None, None)


_DIRECTION = r"(?:(?:north|south|east|west|north-?east|north-?west|south-?east|south-?west)(?:ern)?|near|outside)"
_ADMIN_WORDS = r"(?:province|governorate|region|state|district|county|oblast|department|city|town|village)"


def _parent_in_text(text: str, place: SpanPrediction, locations: list[SpanPrediction]) -> SpanPrediction | None:
    """The Location the article puts ``place`` in: "X, southeast of Y", "X in Y province", "X, Y"."""
    after = [loc for loc in locations if loc.start >= place.end and loc.start - place.end <= 60]
    for candidate in sorted(after, key=lambda loc: loc.start):
        between = text[place.end:candidate.start].lower()
        if re.fullmatch(rf"\s*,?\s*(?:\d+\s*(?:km|kilometres|kilometers|miles)\s+)?{_DIRECTION}\s+of\s+(?:the\s+)?"
                        rf"(?:{_ADMIN_WORDS}\s+of\s+)?", between):
            return candidate
        if re.fullmatch(rf"\s*(?:,\s*)?(?:in|of|,)\s+(?:the\s+)?(?:{_DIRECTION}\s+)?(?:\w+\s+)?"
                        rf"(?:{_ADMIN_WORDS}\s+of\s+)?", between):
            return candidate
        break
    return None


def resolve_places(places: list[SpanPrediction], text: str, locations: list[SpanPrediction]) -> list[Place]:
    """One Place per place span, with the hierarchy the article states and what the gazetteer knows."""
    from .gazetteer import lookup

    countries_in_text = [loc.text for loc in locations if lookup(loc.text, kind="country")]
    resolved = []
    for place in places:
        chain = [place.text]
        current = place
        for _ in range(4):
            parent = _parent_in_text(text, current, locations)
            if parent is None or parent.text in chain:
                break
            chain.append(parent.text)
            current = parent
        entry = None
        for name in chain:
            entry = lookup(name, prefer_countries=countries_in_text)
            if entry:
                break
        admin1 = next((name for name in chain if _named_as_admin1(text, name)), None)
        country = latitude = longitude = None
        if entry:
            country = entry.country
            if entry.name.lower() == place.text.lower() or entry.kind == "city" and entry is lookup(place.text):
                latitude, longitude = entry.latitude, entry.longitude
            if all(country.lower() != name.lower() for name in chain):
                chain.append(country)
        resolved.append(Place(place, tuple(chain), country, admin1, latitude, longitude))
    return resolved


_ADMIN1_WORDS = r"(?:province|governorate|region|state|oblast)"


def _named_as_admin1(text: str, name: str) -> bool:
    """Does the article call ``name`` a first-level region ("Idlib province", "the province of Aleppo")?"""
    escaped = re.escape(name)
    return bool(re.search(rf"\b{escaped}\s+{_ADMIN1_WORDS}\b|\b{_ADMIN1_WORDS}\s+of\s+{escaped}\b", text,
                          re.IGNORECASE))


def place_hierarchy_string(place: Place) -> str:
    return " > ".join(place.hierarchy)
