"""Places: the hierarchy an article states ("Kafr Jallis, southeast of Idlib", "Idlib province", "northwestern
Syria"), completed with country, admin1 and coordinates from the offline gazetteer.

Pure functions of the article text and its location spans; nothing raises on odd text.
"""

from __future__ import annotations

import bisect
import functools
import re

from . import gazetteer
from ..records import Place, SpanPrediction

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
    return PlaceIndex(text, locations).resolve_all(places)


def place_hierarchy_string(place: Place) -> str:
    """The hierarchy for people to read: "Kafr Jallis > Idlib > Syria"."""
    return " > ".join(place.hierarchy)


class PlaceIndex:
    """One article's Location spans and region phrases, indexed once so that resolving the places of every
    incident of a long article stays linear in its length."""

    def __init__(self, text: str, locations: list[SpanPrediction]):
        self.text = text
        self.admin1_names = _admin1_phrases(text)
        self.locations = sorted(locations, key=lambda loc: (loc.start, loc.end))
        self.starts = [loc.start for loc in self.locations]
        self.mentions: dict[str, list[SpanPrediction]] = {}
        for loc in self.locations:
            self.mentions.setdefault(_key(loc.text), []).append(loc)
        self.countries = tuple(dict.fromkeys(place_name(loc.text) for loc in self.locations
                                             if _is_country(place_name(loc.text))))
        self._parents: dict[tuple[int, int], str | None] = {}
        self._name_parents: dict[str, list[str]] = {}

    def resolve_all(self, places: list[SpanPrediction]) -> list[Place]:
        return [self.resolve(place) for place in places]

    def resolve(self, place: SpanPrediction) -> Place:
        chain = self.chain(place)
        named_countries = [name for name in chain if _is_country(name)]
        regions = [name for name in chain if name not in named_countries]
        position, entry = _gazetteer_entry(regions, named_countries, self.countries)
        country = (gazetteer.lookup(named_countries[0], kind="country").name if named_countries
                   else entry.country if entry else None)
        admin1 = next((name for name in regions if self.named_as_admin1(name)),
                      entry.admin1 if entry else None)
        hierarchy = regions + _missing([admin1], regions) + _missing([country], regions)
        latitude, longitude = (entry.latitude, entry.longitude) if entry and position == 0 else (None, None)
        return Place(place, tuple(hierarchy), country, admin1, latitude, longitude)

    def named_as_admin1(self, name: str) -> bool:
        """Does the article call ``name`` a first-level region ("Idlib province", "the province of Aleppo")?"""
        if len(name) > _MAX_GAP:  # longer than the phrases indexed: search the text itself
            escaped = re.escape(name)
            return bool(re.search(rf"\b{escaped}\s+{_ADMIN1_WORD}\b|\b{_ADMIN1_WORD}\s+of\s+{escaped}\b",
                                  self.text, re.IGNORECASE))
        return name.lower() in self.admin1_names

    def chain(self, place: SpanPrediction) -> list[str]:
        """The place and the parents the article gives it, most specific first: ["Kafr Jallis", "Idlib"].
        A parent found at any mention of a name counts ("Idlib, in northwestern Syria" further down)."""
        chain = [place_name(place.text)]
        candidates = [p for p in (self.parent(place),) if p] + self.name_parents(chain[0])
        while len(chain) <= _MAX_DEPTH and not _is_country(chain[-1]):
            named = {_key(name) for name in chain}
            parent = next((p for p in candidates if _key(p) not in named), None)
            if parent is None:
                break
            chain.append(parent)
            candidates = self.name_parents(parent)
        return chain

    def name_parents(self, name: str) -> list[str]:
        """The parents found at the mentions of ``name``, in text order (computed once per name)."""
        key = _key(name)
        if key not in self._name_parents:
            parents = (self.parent(mention) for mention in self.mentions.get(key, []))
            self._name_parents[key] = [p for p in parents if p]
        return self._name_parents[key]

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


def _admin1_phrases(text: str) -> set[str]:
    """Every lower-cased string that the text puts right before a first-level region word ("idlib" of "Idlib
    province") or right after "<word> of" ("aleppo" of "province of Aleppo"), up to ``_MAX_GAP`` characters,
    starting and ending at word boundaries: one pass over the text instead of one search per name."""
    names: set[str] = set()
    for match in _ADMIN1_BEFORE.finditer(text):
        start = max(0, match.start() - _MAX_GAP)
        names.update(text[m.start():match.start()].lower() for m in _WORD_START.finditer(text, start, match.start())
                     if m.start() > start or start == 0 or not text[start - 1].isalnum())
    for match in _ADMIN1_OF.finditer(text):
        end = min(len(text), match.end() + _MAX_GAP)
        names.update(text[match.end():m.end()].lower() for m in _WORD_END.finditer(text, match.end(), end)
                     if m.end() < end or end == len(text) or not text[end].isalnum())
    return names


_ADMIN1_BEFORE = re.compile(rf"(?<=\w)\s+{_ADMIN1_WORD}\b", re.IGNORECASE)  # "Idlib| province"
_ADMIN1_OF = re.compile(rf"\b{_ADMIN1_WORD}\s+of\s+(?=\w)", re.IGNORECASE)  # "province of |Aleppo"
_WORD_START = re.compile(r"\b(?=\w)")
_WORD_END = re.compile(r"(?<=\w)\b")
