"""predict(): types, order, empty and odd input, exact offsets, determinism, and the command line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conflict_ie.api.outputs import ACLED_COLUMNS
from conflict_ie.api.predictor import Predictor
from conflict_ie.records import ArticleResult

from ..conftest import REPO_ROOT


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return Predictor.load(tiny_model_dir)


def all_spans(result: ArticleResult):
    yield from result.entities
    yield from result.triggers
    for relation in result.relations:
        yield relation.head
        yield relation.tail
    for incident in result.incidents:
        yield from incident.triggers + incident.attackers + incident.targets + incident.victims
        yield from incident.instruments + incident.sources + incident.evidence
        yield from (item.span for item in incident.places + incident.dates + incident.fatalities + incident.injuries)


def test_one_result_per_text_in_order(predictor, seed_texts):
    texts = ["", seed_texts[0], "   ", seed_texts[1]]
    results = predictor.predict(texts)
    assert len(results) == 4
    assert results[0] == ArticleResult() and results[2] == ArticleResult()
    assert results[1] == predictor.predict([seed_texts[0]])[0]  # batching does not change a result
    assert predictor.predict([]) == []


def test_wrong_types_get_clear_errors(predictor):
    with pytest.raises(TypeError, match="predict_article"):
        predictor.predict("a single string")
    with pytest.raises(TypeError, match="text 1 is int"):
        predictor.predict(["fine", 3])
    with pytest.raises(TypeError, match="one entry per text"):
        predictor.predict(["a", "b"], publication_dates=["2020-01-01"])
    with pytest.raises(ValueError, match="not an ISO date"):
        predictor.predict(["a"], publication_dates=["yesterday"])


def test_missing_model_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="make main"):
        Predictor.load(tmp_path / "nowhere")


def test_deterministic_and_serialisable(predictor, seed_texts):
    first = predictor.predict(seed_texts)
    assert first == predictor.predict(seed_texts)
    for result in first:
        assert json.loads(result.to_json()) == json.loads(json.dumps(result.to_dict()))


def test_huge_unicode_crlf_and_entities(predictor, seed_texts):
    text = ("Raid near Kafr Jallis &amp; Idlib \u2014 \u201cat least 40\u201d killed.\r\n\u0625\u062f\u0644\u0628 "
            "\U0001F680 caf\u00e9 Hurras al-D\u012bn\r\n" + seed_texts[2]) * 12
    assert len(text) > 20_000
    (result,) = predictor.predict([text])
    for span in all_spans(result):
        assert text[span.start:span.end] == span.text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=3))
def test_every_span_points_into_the_callers_text(predictor, texts):
    for text, result in zip(texts, predictor.predict(texts)):
        for span in all_spans(result):
            assert text[span.start:span.end] == span.text


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "conflict_ie", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300)


def test_cli_outputs_parse_as_json_and_csv(tiny_model_dir, tmp_path):
    out = _cli("predict", "seeds/", "--model", str(tiny_model_dir), "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["source"].rsplit("/", 1)[-1] for line in lines] == sorted(
        p.name for p in (REPO_ROOT / "seeds").glob("*.txt"))
    out = _cli("predict", "-", "--model", str(tiny_model_dir), "--format", "csv",
               stdin="A drone strike killed two fighters in Marib on Saturday.")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert tuple(csv.reader(io.StringIO(out.stdout)).__next__()) == ACLED_COLUMNS
    assert all(set(row) == set(ACLED_COLUMNS) for row in rows)
    out = _cli("predict", str(tmp_path / "missing.txt"), "--model", str(tiny_model_dir))
    assert out.returncode != 0 and "missing.txt" in out.stderr
