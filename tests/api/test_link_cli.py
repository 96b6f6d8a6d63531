"""predict --link, --publication-dates and the link step after a collection run (conflict_ie/api/cli.py), and the
event outputs (conflict_ie/api/outputs.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from conflict_ie.api.cli import main
from conflict_ie.api.collections import rows_table
from conflict_ie.api.outputs import EVENT_COLUMNS, INCIDENT_ROW_COLUMNS, incident_rows
from conflict_ie.api.predictor import Predictor
from conflict_ie.incidents.dates import resolve_date
from conflict_ie.records import ArticleResult, Count, Incident, Place, SpanPrediction

from ..conftest import REPO_ROOT


def _span(text: str, label: str, start: int = 0) -> SpanPrediction:
    return SpanPrediction(start, start + len(text), text, label, 1.0)


def _incident(place: str, date: str, published: str, killed: int, source: str) -> Incident:
    return Incident(type="AirStrike", event_type="Explosions/Remote violence", sub_event_type="Air/drone strike",
                    triggers=(_span("air strike", "AirStrike"),),
                    dates=(resolve_date(_span(date, "Temporal"), dt.date.fromisoformat(published)),),
                    places=(Place(_span(place, "Location"), (place, "Idlib", "Syria"), "Syria", "Idlib"),),
                    attackers=(_span("Russian warplanes", "MilitaryPlatform"),),
                    fatalities=(Count(_span(str(killed), "Quantity"), killed, killed, "exact"),),
                    sources=(_span(source, "Organisation"),))


@pytest.fixture()
def articles(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in ("wire.txt", "monitor.txt", "local.txt"):
        (folder / name).write_text("An air strike hit Kansafra.", encoding="utf-8")
    return folder


FAKE = {"wire.txt": _incident("Kansafra", "on Friday", "2024-02-17", 9, "AFP"),
        "monitor.txt": _incident("Kansafra", "yesterday", "2024-02-17", 11, "Syrian Observatory for Human Rights"),
        "local.txt": _incident("Kansafra", "on Monday", "2024-02-20", 2, "Enab Baladi")}


def _fake_predict(seen_dates):
    def predict(self, texts, publication_dates=None, progress=False):
        seen_dates.extend(publication_dates or [None] * len(texts))
        return [ArticleResult(incidents=(FAKE[name],)) for name in sorted(FAKE)[:len(texts)]]
    return predict


def test_predict_link_writes_one_acled_row_per_event(articles, tmp_path, monkeypatch, capsys):
    # the reports in name order: local (Monday 02-19), monitor (Friday 02-16), wire (Friday 02-16)
    seen: list = []
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, path=None, **kw: object.__new__(cls)))
    monkeypatch.setattr(Predictor, "predict", _fake_predict(seen))
    dates = tmp_path / "dates.csv"
    dates.write_text("file,publication_date\nwire.txt,2024-02-17\nmonitor.txt,2024-02-17\nlocal.txt,2024-02-20\n",
                     encoding="utf-8")
    assert main(["predict", str(articles), "--link", "--format", "csv", "--publication-dates", str(dates)]) == 0
    out, err = capsys.readouterr()
    assert seen == ["2024-02-20", "2024-02-17", "2024-02-17"]  # each file's own date reached predict()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(next(csv.reader(io.StringIO(out)))) == EVENT_COLUMNS
    assert len(rows) == 2 and "into 2 event(s) (1 reported by more than one article)" in err
    merged = next(row for row in rows if row["reports"] == "2")
    assert merged["source"] == "Syrian Observatory for Human Rights; AFP"  # joined as ACLED joins sources
    assert merged["source_files"].count("; ") == 1
    assert (merged["fatalities"], merged["fatalities_max"], merged["event_date"]) == ("9", "11", "2024-02-16")
    assert main(["predict", str(articles), "--link", "--format", "jsonl", "--publication-dates", str(dates)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    reports = events[1]["reports"] if len(events[1]["reports"]) == 2 else events[0]["reports"]
    assert {r["article_id"].rsplit("/", 1)[-1] for r in reports} == {"wire.txt", "monitor.txt"}
    assert reports[0]["record"]["triggers"][0]["text"] == "air strike"  # the full record, spans included


@pytest.mark.parametrize("content, message", [
    ("file,date\nwire.txt,2024-02-17\n", "needs the columns file and publication_date"),
    ("file,publication_date\nwire.txt,17/02/2024\n", "wire.txt: '17/02/2024' is not an ISO date"),
])
def test_publication_dates_file_is_checked_before_the_model_loads(articles, tmp_path, capsys, content, message):
    dates = tmp_path / "dates.csv"
    dates.write_text(content, encoding="utf-8")
    assert main(["predict", str(articles), "--link", "--publication-dates", str(dates), "--model",
                 str(tmp_path / "no-model")]) == 2
    assert message in capsys.readouterr().err


def test_predict_link_on_the_tiny_model(tiny_model_dir, tmp_path, capsys):
    dates = tmp_path / "dates.json"
    dates.write_text(json.dumps({"000_7ab997b6469291c1.txt": "2019-08-31"}), encoding="utf-8")
    out_file = tmp_path / "events.jsonl"
    assert main(["predict", str(REPO_ROOT / "seeds"), "--model", str(tiny_model_dir), "--link", "--format", "jsonl",
                 "--publication-dates", str(dates), "--out", str(out_file)]) == 0
    err = capsys.readouterr().err
    assert "article(s) into" in err
    events = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert all(event["reports"] and event["id"].startswith("E") for event in events)


def test_link_step_reads_the_incident_rows_of_a_run(tmp_path, capsys):
    import pyarrow.parquet as pq

    run = tmp_path / "run"
    (run / "incidents").mkdir(parents=True)
    rows = [row for name in sorted(FAKE) for row in incident_rows(name, ArticleResult(incidents=(FAKE[name],)),
                                                                     "2024-02-17")]
    pq.write_table(rows_table(rows[:2], INCIDENT_ROW_COLUMNS), run / "incidents" / "part-00000.parquet")
    pq.write_table(rows_table(rows[2:], INCIDENT_ROW_COLUMNS), run / "incidents" / "part-00001.parquet")
    assert main(["link", str(run)]) == 0
    assert "linked 3 incident(s) into 2 event(s)" in capsys.readouterr().err
    events = [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(len(e["reports"]) for e in events) == [1, 2]
    assert all(r["record"]["publication_date"] == "2024-02-17" for e in events for r in e["reports"])
    table = list(csv.DictReader(io.StringIO((run / "events.csv").read_text(encoding="utf-8"))))
    assert len(table) == 2
    assert main(["link", str(tmp_path / "nothing")]) == 1


def test_a_collection_run_with_link_writes_its_events(tiny_model_dir, tmp_path, capsys):
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"a{i}", "text": "A drone strike killed two fighters in Marib.",
                                        "publication_date": "2024-02-17"}) + "\n" for i in range(3)),
                    encoding="utf-8")
    assert main(["predict", "--input-format", "jsonl", str(feed), "--out", str(tmp_path / "run"), "--model",
                 str(tiny_model_dir), "--link"]) == 0
    assert "linked" in capsys.readouterr().err
    assert (tmp_path / "run" / "events.jsonl").is_file()
    assert next(csv.reader(io.StringIO((tmp_path / "run" / "events.csv").read_text(encoding="utf-8")))) == \
        list(EVENT_COLUMNS)
