"""Writing results for people and other tools: JSON lines, a readable incident table, ACLED-style CSV rows."""

from __future__ import annotations

import csv
import io
import json

from ..records import ArticleResult, Incident
from ..schema import INCIDENT_FIELDS

ACLED_COLUMNS = (
    "source_file", "event_date", "event_type", "sub_event_type", "actor1", "actor2", "location", "admin1",
    "country", "latitude", "longitude", "fatalities", "source", "notes",
    "trigger_start", "trigger_end", "location_start", "location_end", "fatalities_start", "fatalities_end",
    "confidence",
)


def _texts(spans) -> str:
    return "; ".join(dict.fromkeys(span.text for span in spans))


def _best_place(incident: Incident):
    return max(incident.places, key=lambda p: len(p.hierarchy)) if incident.places else None


def acled_row(name: str, incident: Incident) -> dict:
    """One ACLED-style row for an incident, with our character offsets so every value can be checked."""
    place = _best_place(incident)
    date = next((d for d in incident.dates if d.iso), incident.dates[0] if incident.dates else None)
    fatality = max(incident.fatalities, key=lambda c: c.minimum or 0) if incident.fatalities else None
    trigger = incident.triggers[0]
    return {
        "source_file": name,
        "event_date": (date.iso or date.span.text) if date else "",
        "event_type": incident.event_type,
        "sub_event_type": incident.sub_event_type,
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


def to_csv(named_results: list[tuple[str, ArticleResult]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ACLED_COLUMNS)
    writer.writeheader()
    for name, result in named_results:
        for incident in result.incidents:
            writer.writerow(acled_row(name, incident))
    return buffer.getvalue()


def to_jsonl(named_results: list[tuple[str, ArticleResult]]) -> str:
    return "".join(json.dumps({"source": name, **result.to_dict()}, ensure_ascii=False) + "\n"
                   for name, result in named_results)


# How the table names a field, where it differs from the record's field name.
TABLE_LABELS = {"dates": "date", "places": "place", "instruments": "weapons", "fatalities": "killed",
                "injuries": "injured"}


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
        lines.append(f"== {name}: {len(result.incidents)} incident(s), {len(result.entities)} entities")
        for number, incident in enumerate(result.incidents, start=1):
            row = acled_row(name, incident)
            lines.append(f"  [{number}] {incident.type} ({incident.event_type} / {incident.sub_event_type}), "
                         f"confidence {incident.confidence:.2f}")
            lines.append(f"      triggers:   {_texts(incident.triggers)}")
            for field in INCIDENT_FIELDS:
                value = _table_value(incident, field, row)
                if value:
                    lines.append(f"      {TABLE_LABELS.get(field, field) + ':':11} {value}")
    return "\n".join(lines) + "\n"
