"""Writing results for people and other tools: JSON lines, a readable incident table, ACLED-style CSV rows.

Article text and file names reach every output. JSON lines are data for programs and stay raw. The CSV is read by
spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return as a formula
(OWASP "CSV Injection"): such text cells get a leading single quote unless ``raw=True``; numbers the program
produced (coordinates, counts, offsets, confidence) stay numbers. The table is read in a terminal: line breaks
and tabs in a value become spaces and other control characters (terminal escapes, bidirectional overrides) are
shown as ``\\xNN`` / ``\\uNNNN``, so a value never forges a line or repaints the screen.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

from ..records import ArticleResult, Incident
from ..schema import INCIDENT_FIELDS

ACLED_COLUMNS = (
    "source_file", "event_date", "event_type", "sub_event_type", "civilian_targeting", "actor1", "actor2",
    "location", "admin1",
    "country", "latitude", "longitude", "fatalities", "source", "notes",
    "trigger_start", "trigger_end", "location_start", "location_end", "fatalities_start", "fatalities_end",
    "confidence",
)


def _texts(spans) -> str:
    return "; ".join(dict.fromkeys(span.text for span in spans))


def _best_place(incident: Incident):
    return max(incident.places, key=lambda p: len(p.hierarchy)) if incident.places else None


_PRECISION_RANK = {"day": 3, "month": 2, "year": 1}
_NAMES_A_DATE = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)


def best_date(incident: Incident):
    """The incident's most precise date: resolved before unresolved, day before month before year, and among
    unresolved ones a span that names a date ("September 20") before a vague one ("a few days ago")."""
    if not incident.dates:
        return None
    return max(incident.dates, key=lambda d: (d.iso is not None, _PRECISION_RANK.get(d.precision, 0),
                                              bool(_NAMES_A_DATE.search(d.span.text)), -d.span.start))


def acled_row(name: str, incident: Incident) -> dict:
    """One ACLED-style row for an incident, with our character offsets so every value can be checked."""
    place = _best_place(incident)
    date = best_date(incident)
    fatality = max(incident.fatalities, key=lambda c: c.minimum or 0) if incident.fatalities else None
    trigger = incident.triggers[0]
    return {
        "source_file": name,
        "event_date": (date.iso or date.span.text) if date else "",
        "event_type": incident.event_type,
        "sub_event_type": incident.sub_event_type,
        "civilian_targeting": "Civilian targeting" if incident.civilian_targeting else "",
        "actor1": _texts(incident.attackers),
        "actor2": _texts(incident.targets + incident.victims),
        "location": place.span.text if place else "",
        "admin1": (place.admin1 or "") if place else "",
        "country": (place.country or "") if place else "",
        "latitude": "" if place is None or place.latitude is None else place.latitude,
        "longitude": "" if place is None or place.longitude is None else place.longitude,
        "fatalities": "" if fatality is None or fatality.minimum is None else fatality.minimum,
        "source": _texts(incident.sources),
        "notes": incident.evidence[0].text if incident.evidence else trigger.text,
        "trigger_start": trigger.start,
        "trigger_end": trigger.end,
        "location_start": place.span.start if place else "",
        "location_end": place.span.end if place else "",
        "fatalities_start": fatality.span.start if fatality else "",
        "fatalities_end": fatality.span.end if fatality else "",
        "confidence": incident.confidence,
    }


# One row per incident, the flat record the collection and Ray paths write (Parquet or JSON lines): the article
# id, the incident's index in its article, ACLED coding, the most precise date and place (``best_date``,
# ``_best_place``), the role fillers as lists of span texts, casualty ranges of the highest count, and the character
# offsets that let every value be checked against the article. Column -> Arrow type; ``incident_rows`` makes them.
INCIDENT_ROW_COLUMNS: dict[str, str] = {
    "article_id": "string", "incident": "int64", "publication_date": "string", "type": "string",
    "event_type": "string",
    "sub_event_type": "string", "civilian_targeting": "bool",
    "date_iso": "string", "date_text": "string", "date_precision": "string",
    "place": "string", "place_hierarchy": "list<string>", "admin1": "string", "country": "string",
    "latitude": "float64", "longitude": "float64",
    "attackers": "list<string>", "targets": "list<string>", "victims": "list<string>",
    "instruments": "list<string>", "sources": "list<string>",
    "fatalities_min": "int64", "fatalities_max": "int64", "fatalities_text": "string",
    "injuries_min": "int64", "injuries_max": "int64", "injuries_text": "string",
    "confidence": "float64", "notes": "string",
    "trigger_text": "string", "trigger_start": "int64", "trigger_end": "int64",
    "place_start": "int64", "place_end": "int64", "date_start": "int64", "date_end": "int64",
    "fatalities_start": "int64", "fatalities_end": "int64",
}

# One row per entity, trigger, role filler and relation of an article (the optional details file): a span is
# (start, end, text); a relation is its head span and its tail span (tail_*).
DETAIL_ROW_COLUMNS: dict[str, str] = {
    "article_id": "string", "kind": "string", "label": "string", "start": "int64", "end": "int64",
    "text": "string", "score": "float64", "tail_start": "int64", "tail_end": "int64", "tail_text": "string",
}


def _highest_count(counts):
    return max(counts, key=lambda c: c.minimum or 0) if counts else None


def _span_list(spans) -> list[str]:
    return list(dict.fromkeys(span.text for span in spans))


def incident_rows(article_id: str, result: ArticleResult, publication_date=None) -> list[dict]:
    """The flat rows (``INCIDENT_ROW_COLUMNS``) of one article's incidents, in the result's order. The one
    flattening every path uses: in-process, the sharded collection run and the Ray engine. The article's
    ``publication_date`` (ISO string or date) is kept on each row, so a later step (``conflict-ie link``) can
    place an undated incident in the days before publication."""
    if publication_date is not None and not isinstance(publication_date, str):
        publication_date = publication_date.isoformat()
    rows = []
    for index, incident in enumerate(result.incidents):
        place, date = _best_place(incident), best_date(incident)
        fatality, injury = _highest_count(incident.fatalities), _highest_count(incident.injuries)
        trigger = incident.triggers[0]
        rows.append({
            "article_id": article_id, "incident": index, "publication_date": publication_date,
            "type": incident.type,
            "event_type": incident.event_type, "sub_event_type": incident.sub_event_type,
            "civilian_targeting": bool(incident.civilian_targeting),
            "date_iso": date.iso if date else None, "date_text": date.span.text if date else None,
            "date_precision": date.precision if date else None,
            "place": place.span.text if place else None,
            "place_hierarchy": list(place.hierarchy) if place else [],
            "admin1": place.admin1 if place else None, "country": place.country if place else None,
            "latitude": place.latitude if place else None, "longitude": place.longitude if place else None,
            "attackers": _span_list(incident.attackers), "targets": _span_list(incident.targets),
            "victims": _span_list(incident.victims), "instruments": _span_list(incident.instruments),
            "sources": _span_list(incident.sources),
            "fatalities_min": fatality.minimum if fatality else None,
            "fatalities_max": fatality.maximum if fatality else None,
            "fatalities_text": fatality.span.text if fatality else None,
            "injuries_min": injury.minimum if injury else None,
            "injuries_max": injury.maximum if injury else None,
            "injuries_text": injury.span.text if injury else None,
            "confidence": float(incident.confidence),
            "notes": incident.evidence[0].text if incident.evidence else trigger.text,
            "trigger_text": trigger.text, "trigger_start": trigger.start, "trigger_end": trigger.end,
            "place_start": place.span.start if place else None, "place_end": place.span.end if place else None,
            "date_start": date.span.start if date else None, "date_end": date.span.end if date else None,
            "fatalities_start": fatality.span.start if fatality else None,
            "fatalities_end": fatality.span.end if fatality else None,
        })
    return rows


def detail_rows(article_id: str, result: ArticleResult) -> list[dict]:
    """The rows (``DETAIL_ROW_COLUMNS``) of an article's entities, triggers, role fillers and relations."""
    rows = []
    for kind, spans in (("entity", result.entities), ("trigger", result.triggers),
                        ("role_filler", result.role_fillers)):
        for span in spans:
            rows.append({"article_id": article_id, "kind": kind, "label": span.label, "start": span.start,
                         "end": span.end, "text": span.text, "score": float(span.score), "tail_start": None,
                         "tail_end": None, "tail_text": None})
    for relation in result.relations:
        rows.append({"article_id": article_id, "kind": "relation", "label": relation.label,
                     "start": relation.head.start, "end": relation.head.end, "text": relation.head.text,
                     "score": float(relation.score), "tail_start": relation.tail.start,
                     "tail_end": relation.tail.end, "tail_text": relation.tail.text})
    return rows


def acled_row_from_incident_row(row: dict) -> dict:
    """The ACLED-style row (``ACLED_COLUMNS``) of a flat incident row: what ``acled_row`` gives for the incident,
    with the article id as ``source_file``, so a Parquet of incident rows turns into the ACLED CSV."""
    def value(key):
        return "" if row.get(key) is None else row[key]

    return {
        "source_file": row["article_id"],
        "event_date": row.get("date_iso") or value("date_text"),
        "event_type": row["event_type"], "sub_event_type": row["sub_event_type"],
        "civilian_targeting": "Civilian targeting" if row.get("civilian_targeting") else "",
        "actor1": "; ".join(row.get("attackers") or []),
        "actor2": "; ".join(dict.fromkeys(list(row.get("targets") or []) + list(row.get("victims") or []))),
        "location": value("place"), "admin1": value("admin1"), "country": value("country"),
        "latitude": value("latitude"), "longitude": value("longitude"),
        "fatalities": value("fatalities_min"),
        "source": "; ".join(row.get("sources") or []), "notes": value("notes"),
        "trigger_start": row["trigger_start"], "trigger_end": row["trigger_end"],
        "location_start": value("place_start"), "location_end": value("place_end"),
        "fatalities_start": value("fatalities_start"), "fatalities_end": value("fatalities_end"),
        "confidence": row["confidence"],
    }


def rows_to_csv(incident_rows_: list[dict], raw: bool = False) -> str:
    """ACLED-style CSV from flat incident rows (``incident_rows``, or a Parquet / JSON lines file of them), the
    same cells ``to_csv`` writes for the same incidents."""
    return csv_text(ACLED_COLUMNS, (acled_row_from_incident_row(row) for row in incident_rows_), raw)


# A cell starting with one of these is run as a formula by common spreadsheet programs (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting with a formula character gets a leading single
    quote. Numbers (int or float, as ``acled_row`` gives coordinates, counts, offsets and confidence) and other
    strings are returned unchanged, so a negative longitude stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(columns: list[str], rows, raw: bool = False) -> str:
    """CSV of ``rows`` (dicts) under ``columns``. Text cells that a spreadsheet would run as a formula are
    neutralised (see ``spreadsheet_cell``); ``raw=True`` writes every value as it is, for programs."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(row if raw else {key: spreadsheet_cell(value) for key, value in row.items()})
    return buffer.getvalue()


def to_csv(named_results: list[tuple[str, ArticleResult]], raw: bool = False) -> str:
    """ACLED-style CSV, one row per incident (``csv_text``)."""
    return csv_text(ACLED_COLUMNS, (acled_row(name, incident) for name, result in named_results
                                    for incident in result.incidents), raw)


def text_identity(text: str) -> dict:
    """Which text a result's offsets index: its length in characters (code points) and the SHA-256 of its UTF-8
    bytes, so a program can check that it holds the same text before slicing it."""
    return {"characters": len(text), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def to_jsonl(named_results: list[tuple[str, ArticleResult]], texts: list[str] | None = None) -> str:
    """One JSON object per article: ``source`` (its name), ``text`` (``text_identity`` of the text the offsets
    index, when ``texts`` are given) and the result's ``to_dict()``."""
    lines = []
    for index, (name, result) in enumerate(named_results):
        record = {"source": name}
        if texts is not None:
            record["text"] = text_identity(texts[index])
        lines.append(json.dumps({**record, **result.to_dict()}, ensure_ascii=False) + "\n")
    return "".join(lines)


# How the table names a field, where it differs from the record's field name.
TABLE_LABELS = {"dates": "date", "places": "place", "instruments": "weapons", "fatalities": "killed",
                "injuries": "injured"}


_LINE_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
# C0/C1 controls (terminal escapes among them) and bidirectional embeddings, overrides and isolates
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(text) -> str:
    """A value for one line of the table: line breaks and tabs become one space, other control characters are
    shown escaped (``\\x1b``, ``\\u202e``)."""
    text = _LINE_BREAKS.sub(" ", str(text))
    return _INVISIBLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _table_value(incident: Incident, field: str, row: dict) -> str:
    if field == "dates":
        return row["event_date"]
    if field == "places":
        place = _best_place(incident)
        return " > ".join(place.hierarchy) if place else ""
    if field in ("fatalities", "injuries"):
        return "; ".join(f"{c.span.text} (min {c.minimum})" for c in getattr(incident, field))
    return _texts(getattr(incident, field))


def to_table(named_results: list[tuple[str, ArticleResult]]) -> str:
    """A plain-text summary a person can read: one block per incident."""
    lines = []
    for name, result in named_results:
        lines.append(f"== {plain(name)}: {len(result.incidents)} incident(s), {len(result.entities)} entities")
        for number, incident in enumerate(result.incidents, start=1):
            row = acled_row(name, incident)
            lines.append(f"  [{number}] {plain(incident.type)} ({plain(incident.event_type)} / "
                         f"{plain(incident.sub_event_type)}), confidence {incident.confidence:.2f}")
            lines.append(f"      triggers:   {plain(_texts(incident.triggers))}")
            for field in INCIDENT_FIELDS:
                value = _table_value(incident, field, row)
                if value:
                    lines.append(f"      {TABLE_LABELS.get(field, field) + ':':11} {plain(value)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- linked events

# One ACLED-style row per linked event (``incidents.linking.LinkedEvent``): the merged record, with ``source`` the
# reports' sources joined with "; " as ACLED joins them, ``fatalities`` the lowest figure any report gives
# (ACLED's conservative count) and ``fatalities_max`` the highest, ``source_files`` the articles and ``reports`` how
# many incident records were merged. Offsets live in each report (the events JSON), not in this row.
EVENT_COLUMNS = (
    "event_id", "event_date", "event_type", "sub_event_type", "civilian_targeting", "actor1", "actor2",
    "location", "admin1", "country", "latitude", "longitude", "fatalities", "fatalities_max", "source",
    "source_files", "reports", "notes",
)


def event_row(event) -> dict:
    """The ACLED-style row (``EVENT_COLUMNS``) of one linked event."""
    def value(number):
        return "" if number is None else number

    return {
        "event_id": event.id,
        "event_date": event.date_iso or event.date_text or "",
        "event_type": event.event_type, "sub_event_type": event.sub_event_type,
        "civilian_targeting": "Civilian targeting" if event.civilian_targeting else "",
        "actor1": "; ".join(event.attackers),
        "actor2": "; ".join(dict.fromkeys(event.targets + event.victims)),
        "location": event.place[0] if event.place else "", "admin1": event.admin1 or "",
        "country": event.country or "", "latitude": value(event.latitude), "longitude": value(event.longitude),
        "fatalities": value(event.fatalities_min), "fatalities_max": value(event.fatalities_max),
        "source": "; ".join(event.sources), "source_files": "; ".join(event.articles),
        "reports": len(event.members), "notes": event.notes,
    }


def events_to_csv(events, raw: bool = False) -> str:
    """ACLED-style CSV, one row per linked event; text cells neutralised against spreadsheet formulas unless
    ``raw`` (``spreadsheet_cell``)."""
    return csv_text(EVENT_COLUMNS, (event_row(event) for event in events), raw)


def events_to_jsonl(events) -> str:
    """One JSON object per event: the merged record and ``reports``, every source incident with its article,
    publication date and full record (spans with character offsets into its article)."""
    return "".join(json.dumps(event.to_dict(), ensure_ascii=False) + "\n" for event in events)


def events_to_table(events) -> str:
    """A plain-text summary of linked events: the merged record, then one line per report."""
    lines = []
    for event in events:
        killed = ("" if event.fatalities_min is None else str(event.fatalities_min) if
                  event.fatalities_max in (None, event.fatalities_min) else
                  f"{event.fatalities_min}-{event.fatalities_max}")
        lines.append(f"== {plain(event.id)}: {plain(event.type)} ({plain(event.event_type)} / "
                     f"{plain(event.sub_event_type)}), {len(event.members)} report(s) in {len(event.articles)} "
                     f"article(s)")
        for label, value in (("date", event.date_iso or event.date_text or ""), ("place", " > ".join(event.place)),
                             ("attackers", "; ".join(event.attackers)),
                             ("targets", "; ".join(event.targets)), ("victims", "; ".join(event.victims)),
                             ("killed", killed), ("sources", "; ".join(event.sources))):
            if value:
                lines.append(f"      {label + ':':11} {plain(value)}")
        for member in event.members:
            lines.append(f"      report:     {plain(member.article_id)} incident {member.index + 1} "
                         f"({plain(member.type)}; {plain(member.date_text or member.date_iso or 'no date')}; "
                         f"{plain(' > '.join(member.places[0]) if member.places else 'no place')})")
    return "\n".join(lines) + "\n"
