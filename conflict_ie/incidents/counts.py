"""Casualty counts: "at least 40" -> minimum 40; "more than forty" -> minimum 41; "dozens" -> minimum 24 (vague).

A pure function of the span text; what cannot be read stays None and the span keeps the words.
"""

from __future__ import annotations

import re

from ..records import Count, SpanPrediction

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
