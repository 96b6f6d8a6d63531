"""Dates: "Saturday" against a publication date -> that ISO day; "February 2018" -> 2018-02 (month precision).

A pure function of the span text and the optional publication date; what cannot be resolved stays None.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from ..records import DateValue, SpanPrediction

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
