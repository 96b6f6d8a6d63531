"""Article collections through ``datasets``: the sharded run gives what in-process predict() gives, resumes
without redoing finished shards, records bad articles as errors, and the CLI and the corpora export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conflict_ie.api.cli import main
from conflict_ie.api.collections import (ERROR_ROW_COLUMNS, InputError, predict_collection, read_collection,
                                         read_rows, rows_table)
from conflict_ie.api.outputs import INCIDENT_ROW_COLUMNS, incident_rows, rows_to_csv, to_csv
from conflict_ie.api.predictor import Predictor

from .articles import article_rows, assert_same_rows, reference_rows, sort_rows, write_jsonl


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return Predictor.load(tiny_model_dir)


@pytest.fixture(scope="module")
def articles():
    return article_rows(12)


@pytest.fixture(scope="module")
def expected(predictor, articles):
    return reference_rows(predictor, articles)


class Counting:
    """A predictor that counts the texts it is asked for and can be told to fail (a kill, or one bad text)."""

    def __init__(self, predictor, interrupt_after: int | None = None, fail_on: str | None = None):
        self.predictor, self.interrupt_after, self.fail_on = predictor, interrupt_after, fail_on
        self.calls, self.texts = 0, 0
        self.model_version, self.backend = predictor.model_version, predictor.backend

    def predict(self, texts, publication_dates=None):
        if self.interrupt_after is not None and self.calls >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls += 1
        if self.fail_on is not None and any(self.fail_on in text for text in texts):
            raise RuntimeError("the model broke on this text")
        self.texts += len(texts)
        return self.predictor.predict(texts, publication_dates=publication_dates)


def test_sharded_run_gives_the_in_process_rows(predictor, articles, expected, tmp_path):
    write_jsonl(tmp_path / "feed.jsonl", articles)
    summary = predict_collection(tmp_path / "feed.jsonl", tmp_path / "out", predictor=predictor, shard_size=4,
                                 cache_dir=tmp_path / "cache")
    assert (summary.articles, summary.errors, summary.shards_done) == (12, 0, 3)
    assert summary.incidents == len(expected) > 0
    assert_same_rows(sort_rows(read_rows(tmp_path / "out" / "incidents")), expected)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert sorted(manifest["shards"]) == ["0", "1", "2"]
    assert [manifest["shards"][k]["first_row"] for k in "012"] == [0, 4, 8]


@pytest.mark.parametrize("input_format", ["parquet", "csv", "stream", "dataset"])
def test_every_input_kind_gives_the_same_rows(predictor, articles, expected, tmp_path, input_format):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    options = {}
    if input_format == "parquet":
        source = tmp_path / "feed.parquet"
        pq.write_table(pa.Table.from_pylist(articles), source)
    elif input_format == "csv":
        source = tmp_path / "feed.csv"
        with open(source, "w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=["id", "text", "publication_date"])
            writer.writeheader()
            writer.writerows({**a, "publication_date": a["publication_date"] or ""} for a in articles)
    elif input_format == "stream":
        source = tmp_path / "feed.jsonl"
        write_jsonl(source, articles)
        options["streaming"] = True
    else:
        source = datasets.Dataset.from_list(articles)
    summary = predict_collection(source, tmp_path / "out", predictor=predictor, shard_size=8,
                                 output_format="jsonl", cache_dir=tmp_path / "cache", **options)
    assert (summary.articles, summary.errors) == (12, 0)
    assert_same_rows(sort_rows(read_rows(tmp_path / "out" / "incidents")), expected)


def test_an_interrupted_run_resumes_without_redoing_finished_shards(predictor, articles, expected, tmp_path):
    write_jsonl(tmp_path / "feed.jsonl", articles)
    options = {"shard_size": 3, "cache_dir": tmp_path / "cache"}
    with pytest.raises(KeyboardInterrupt):
        predict_collection(tmp_path / "feed.jsonl", tmp_path / "out", predictor=Counting(predictor, 2), **options)
    assert sorted(json.loads((tmp_path / "out" / "manifest.json").read_text())["shards"]) == ["0", "1"]
    assert not list((tmp_path / "out").rglob("*.tmp"))  # only whole part files

    with pytest.raises(InputError, match="--resume"):  # a second run never writes over the first unasked
        predict_collection(tmp_path / "feed.jsonl", tmp_path / "out", predictor=predictor, **options)
    with pytest.raises(InputError, match="shard_size: 3 then, 4 now"):
        predict_collection(tmp_path / "feed.jsonl", tmp_path / "out", predictor=predictor, resume=True,
                           **{**options, "shard_size": 4})

    counting = Counting(predictor)
    summary = predict_collection(tmp_path / "feed.jsonl", tmp_path / "out", predictor=counting, resume=True,
                                 **options)
    assert (summary.shards_skipped, summary.shards_done, counting.texts) == (2, 2, 6)
    assert_same_rows(sort_rows(read_rows(tmp_path / "out" / "incidents")), expected)


def test_bad_articles_are_error_rows_and_the_others_are_predicted(predictor, articles, tmp_path):
    good = articles[:4]
    bad = [
        {"id": "no-text", "text": None, "publication_date": None},
        {"id": "bad-date", "text": "A car bomb exploded.", "publication_date": "yesterday"},
        {"id": "too-long", "text": "x" * 5000, "publication_date": None},
        {"id": None, "text": "No id here.", "publication_date": None},
        {"id": "breaks-model", "text": "BREAK this article", "publication_date": None},
    ]
    rows = good[:2] + bad + good[2:]
    write_jsonl(tmp_path / "feed.jsonl", rows)
    summary = predict_collection(tmp_path / "feed.jsonl", tmp_path / "out", predictor=Counting(predictor,
                                 fail_on="BREAK"), shard_size=4, max_chars=4000, cache_dir=tmp_path / "cache")
    assert (summary.articles, summary.errors) == (9, 5)
    errors = {e["row"]: e for e in read_rows(tmp_path / "out" / "errors")}
    assert sorted(errors) == [2, 3, 4, 5, 6]
    assert errors[2]["article_id"] == "no-text" and "row 2 (id 'no-text'): no text" in errors[2]["error"]
    assert "'yesterday' is not an ISO date" in errors[3]["error"]
    assert "5,000 characters, over the limit of 4,000" in errors[4]["error"]
    assert errors[5]["article_id"] is None and errors[5]["error"].endswith("row 5: no id")
    assert errors[6]["stage"] == "predict" and "RuntimeError: the model broke" in errors[6]["error"]
    assert all(str(tmp_path / "feed.jsonl") in e["error"] for e in errors.values())
    assert_same_rows(sort_rows(read_rows(tmp_path / "out" / "incidents")), reference_rows(predictor, good))


def test_text_bytes_that_are_not_utf8_fail_alone(predictor, articles, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": ["good", "latin1"], "text": [articles[0]["text"].encode(), "Bombe à Kaboul".encode(
        "latin-1")]})
    pq.write_table(table, tmp_path / "feed.parquet")
    summary = predict_collection(tmp_path / "feed.parquet", tmp_path / "out", predictor=predictor,
                                 cache_dir=tmp_path / "cache")
    [error] = read_rows(tmp_path / "out" / "errors")
    assert (summary.articles, summary.errors, error["article_id"]) == (2, 1, "latin1")
    assert "not UTF-8 text: invalid byte 0xe0 at byte offset 6" in error["error"]


def test_unreadable_inputs_name_the_file(tmp_path):
    (tmp_path / "feed.jsonl").write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": \n')
    with pytest.raises(InputError, match="feed.jsonl cannot be read as jsonl"):
        read_collection(tmp_path / "feed.jsonl", cache_dir=tmp_path / "cache")
    (tmp_path / "no_text.jsonl").write_text('{"id": "a", "body": "fine"}\n')
    with pytest.raises(InputError, match="no 'text' column .*columns: id, body"):
        read_collection(tmp_path / "no_text.jsonl", cache_dir=tmp_path / "cache")
    (tmp_path / "feed.txt").write_text("x")
    with pytest.raises(InputError, match="cannot tell the input format from the suffix"):
        read_collection(tmp_path / "feed.txt")


def test_rows_make_the_acled_csv_that_to_csv_makes(predictor, articles):
    results = predictor.predict([a["text"] for a in articles], [a["publication_date"] for a in articles])
    named = [(a["id"], r) for a, r in zip(articles, results)]
    rows = [row for name, result in named for row in incident_rows(name, result)]
    assert rows and rows_to_csv(rows) == to_csv(named)
    assert rows_to_csv(rows, raw=True) == to_csv(named, raw=True)
    # rows keep their types through Parquet
    table = rows_table(rows, INCIDENT_ROW_COLUMNS)
    assert table.to_pylist() == rows and rows_table([], ERROR_ROW_COLUMNS).num_rows == 0


def test_cli_predicts_a_collection_and_resumes(tiny_model_dir, articles, tmp_path, capsys):
    write_jsonl(tmp_path / "feed.jsonl", articles[:6] + [{"id": "empty", "text": None}])
    command = ["predict", "--input-format", "jsonl", str(tmp_path / "feed.jsonl"), "--out", str(tmp_path / "out"),
               "--model", str(tiny_model_dir), "--shard-size", "3"]
    assert main(command) == 1  # one article failed: listed, the others written
    err = capsys.readouterr().err
    assert "7 article(s) in 3 shard(s)" in err and "1 FAILED" in err and "(id 'empty'): no text" in err
    assert "holds 7 article(s)" in err
    assert main(command) == 1 and "pass --resume" in capsys.readouterr().err
    assert main(command + ["--resume"]) == 1
    err = capsys.readouterr().err
    assert "3 shard(s) finished by an earlier run were skipped" in err and "0 article(s) in 0 shard(s)" in err
    assert "holds 7 article(s)" in err and "(id 'empty'): no text" in err
    # a run's backend is part of its identity: resuming it on another would mix two models' numbers
    assert main(command + ["--resume", "--backend", "torch-bf16"]) == 1
    assert "backend: 'torch' then, 'torch-bf16' now" in capsys.readouterr().err
    assert main(["predict", "--input-format", "jsonl", str(tmp_path / "feed.jsonl"), "--format", "table"]) == 2
    assert "--out" in capsys.readouterr().err


def test_cli_files_input_is_unchanged(tiny_model_dir, articles, tmp_path, capsys):
    (tmp_path / "a.txt").write_text(articles[0]["text"], encoding="utf-8")
    assert main(["predict", str(tmp_path / "a.txt"), "--model", str(tiny_model_dir), "--format", "csv"]) == 0
    assert next(csv.reader(io.StringIO(capsys.readouterr().out)))[0] == "source_file"


def test_export_datasets_writes_the_corpora_as_a_dataset_dict(tiny_model_dir, tmp_path):
    import datasets

    from conflict_ie.data.corpora import load_annotations

    root = tiny_model_dir.parent.parent  # the tiny corpus the tiny model was trained on (tests/conftest.py)
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text("data:\n  corpora:\n    - {name: tiny, kind: label_studio, path: " + str(root / "train.json")
                           + "}\n  splits_file: " + str(root / "splits.json") + "\n")
    assert main(["export-datasets", "--config", str(config_file), "--out", str(tmp_path / "corpora")]) == 0
    loaded = datasets.load_from_disk(str(tmp_path / "corpora"))
    assert {name: len(split) for name, split in loaded.items()} == {"train": 1, "dev": 0, "test": 0}
    [document], _, _ = load_annotations(root / "train.json")
    row = loaded["train"][0]
    assert (row["id"], row["corpus"], row["text"]) == (document.id, "tiny", document.text)
    assert [(s["start"], s["end"], s["label"]) for s in row["spans"]] == [(s.start, s.end, s.label)
                                                                          for s in document.spans]
    assert all(row["text"][s["start"]:s["end"]] == s["text"] for s in row["spans"])
    assert len(row["relations"]) == len(document.relations) and row["layers"] == sorted(document.layers)
