"""The Ray engine on a real local Ray (2 CPUs, the tiny model): exactly the rows in-process predict() gives, and a
bad row is an error row, never a failed job. Ray starts once for the module (about 10 s)."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")

from conflict_ie.api.cli import main  # noqa: E402
from conflict_ie.api.collections import read_rows  # noqa: E402
from conflict_ie.api.predictor import Predictor  # noqa: E402
from conflict_ie.api.ray_engine import connect, predict_with_ray  # noqa: E402

from .articles import article_rows, assert_same_rows, reference_rows, sort_rows, write_jsonl  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    started = connect(num_cpus=2)  # a local Ray with 2 CPUs (or the one already running)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return Predictor.load(tiny_model_dir)


BAD_ROWS = [
    {"id": "no-text", "text": None, "publication_date": None},
    {"id": "huge", "text": "x" * 200_000, "publication_date": None},  # stands for a 50 MB text: over --max-chars
    {"id": "bad-date", "text": "Gunmen attacked a village.", "publication_date": "last week"},
]


def test_ray_gives_the_in_process_rows_and_reports_bad_rows(local_ray, predictor, tiny_model_dir, tmp_path):
    articles = article_rows(50)
    rows = articles[:10] + BAD_ROWS + articles[10:]
    write_jsonl(tmp_path / "feed.jsonl", rows)
    summary = predict_with_ray(tmp_path / "feed.jsonl", tmp_path / "out", tiny_model_dir, concurrency=2,
                               batch_size=8, max_chars=100_000, details=True)
    assert (summary.articles, summary.errors) == (53, 3)
    assert_same_rows(sort_rows(read_rows(tmp_path / "out" / "incidents")), reference_rows(predictor, articles))
    errors = {e["article_id"]: e for e in read_rows(tmp_path / "out" / "errors")}
    assert sorted(errors) == ["bad-date", "huge", "no-text"]
    assert errors["no-text"]["error"] == f"{tmp_path / 'feed.jsonl'} (id 'no-text'): no text"
    assert "200,000 characters, over the limit of 100,000" in errors["huge"]["error"]
    assert "'last week' is not an ISO date" in errors["bad-date"]["error"]
    details = read_rows(tmp_path / "out" / "details")
    assert {d["kind"] for d in details} >= {"entity", "trigger"}
    assert {d["article_id"] for d in details} <= {a["id"] for a in articles}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert (manifest["engine"], manifest["articles"], manifest["concurrency"]) == ("ray", 53, 2)


def test_cli_engine_ray_parquet_in_jsonl_out(local_ray, predictor, tiny_model_dir, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    articles = article_rows(8)
    table = pa.table({"id": [a["id"] for a in articles] + ["latin1"],
                      "text": [a["text"].encode() for a in articles] + ["Bombe à Kaboul".encode("latin-1")],
                      "publication_date": [a["publication_date"] for a in articles] + [None]})
    pq.write_table(table, tmp_path / "feed.parquet")
    assert main(["predict", "--engine", "ray", str(tmp_path / "feed.parquet"), "--out", str(tmp_path / "out"),
                 "--model", str(tiny_model_dir), "--format", "jsonl"]) == 1  # one article failed: listed
    err = capsys.readouterr().err
    assert "9 article(s)" in err and "1 FAILED" in err and "(id 'latin1')" in err
    assert "not UTF-8 text: invalid byte 0xe0 at byte offset 6" in err
    assert_same_rows(sort_rows(read_rows(tmp_path / "out" / "incidents")), reference_rows(predictor, articles))
    assert main(["incidents-csv", str(tmp_path / "out"), "--out", str(tmp_path / "events.csv")]) == 0
    assert (tmp_path / "events.csv").read_text().startswith("source_file,event_date,event_type")
