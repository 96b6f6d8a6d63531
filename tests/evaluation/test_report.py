"""The evaluation report: files written from a metrics dict, tables present, every article text and label escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conflict_ie.data.document import Document, Span
from conflict_ie.evaluation.evaluate import EvaluatedDocument, evaluate_documents
from conflict_ie.evaluation.metrics import headline
from conflict_ie.evaluation.report import render_markdown, write_report
from conflict_ie.records import ArticleResult, Incident, SpanPrediction

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metrics_example.json"


@pytest.fixture
def metrics() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _doc(doc_id: str, text: str, spans: list[tuple[int, int, str]]) -> Document:
    return Document(id=doc_id, text=text,
                    spans=tuple(Span(f"s{i}", start, end, text[start:end], label)
                                for i, (start, end, label) in enumerate(spans, 1)))


def _views() -> list[EvaluatedDocument]:
    text = "Russian aircraft struck Kafr Jallis on 29 June, killing 4 civilians."
    gold = _doc("doc-1", text, [(0, 7, "Nationality"), (17, 23, "AirStrike"), (24, 35, "Location"),
                                (39, 46, "Temporal"), (56, 57, "Quantity")])
    predicted = _doc("doc-1", text, [(17, 23, "AirStrike"), (24, 35, "Person")])
    trigger = SpanPrediction(17, 23, "struck", "AirStrike", 0.9)
    incident = Incident(type="AirStrike", event_type="Explosions/Remote violence", sub_event_type="Air/drone strike",
                        triggers=(trigger,))
    second_text = "Hurras al-Din fighters clashed with government forces."
    second = _doc("doc-2", second_text, [(0, 13, "Organisation"), (23, 30, "ArmedClash")])
    return [EvaluatedDocument(gold, predicted, [incident], [incident]),
            EvaluatedDocument(second, _doc("doc-2", second_text, []), [], [])]


def test_report_files_written(tmp_path, metrics):
    paths = write_report(metrics, tmp_path / "out", _views())
    assert set(paths) == {"metrics", "markdown", "html"}
    for path in paths.values():
        assert path.exists() and path.stat().st_size > 0
    assert json.loads(paths["metrics"].read_text(encoding="utf-8")) == metrics
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3  # F1 bars, confusion, learning curves
    assert "Kafr Jallis" in page and "<mark" in page and 'title="Location"' in page
    assert "Hurras al-Din" in page


def test_markdown_has_per_type_rows(metrics):
    markdown = render_markdown(metrics)
    assert "| Location | 0.900 | 0.850 | 0.874 | 20 |" in markdown
    assert "| AirStrike | 0.900 | 0.800 | 0.847 | 6 |" in markdown
    assert "| **micro** | 0.820 | 0.760 | 0.789 | 55 |" in markdown
    assert "| **macro** |" in markdown
    assert "| seed-1 |" in markdown  # cross-validation fold
    assert "documents / second" in markdown and "0.20×" in markdown  # peer throughput ratio 8 / 40
    assert "type accuracy" in markdown


def test_missing_sections_are_reported_absent(tmp_path):
    paths = write_report({"entities": {"micro": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}}},
                         tmp_path, [])
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "## Peer comparison\n\n_Not in this run's metrics._" in markdown
    assert "## Training\n\n_Not in this run's metrics._" in markdown


def test_html_escapes_article_text_and_labels(tmp_path, metrics):
    evil = "<script>alert(1)</script>"
    text = f"Before {evil} after."
    start = text.index(evil)
    gold = _doc(f"id{evil}", text, [(start, start + len(evil), f"Person{evil}")])
    predicted = _doc(f"id{evil}", text, [(0, 6, "Location")])
    trigger = SpanPrediction(start, start + len(evil), evil, evil, 1.0)
    incident = Incident(type=evil, event_type=evil, sub_event_type=evil, triggers=(trigger,))
    metrics["model"]["name"] = evil
    metrics["entities"]["per_type"][evil] = {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    paths = write_report(metrics, tmp_path, [EvaluatedDocument(gold, predicted, [incident], [incident])])
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_many_documents_render_with_progress(tmp_path, metrics):
    views = _views()[1:] * 51
    paths = write_report(metrics, tmp_path, views)
    assert paths["html"].read_text(encoding="utf-8").count("<details") == 51


EVIL_NAME = "<img src=x onerror=alert(1)>|[x](javascript:alert(1))\n| forged | row |"


def _poisoned(metrics: dict) -> dict:
    """The metrics of a run whose file names, model name, labels and fold ids carry HTML and Markdown."""
    metrics["model"]["name"] = EVIL_NAME
    metrics["data"]["split"] = f"file {EVIL_NAME}.json"
    metrics["data"]["files"] = {f"data/{EVIL_NAME}.json": "deadbeef"}
    metrics["entities"]["per_type"][EVIL_NAME] = {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    metrics["cross_validation"]["folds"][0]["held_out"] = EVIL_NAME
    metrics["peer"]["name"] = EVIL_NAME
    metrics["training"]["truncated"] = EVIL_NAME
    return metrics


def assert_escaped(markdown: str) -> None:
    """No raw HTML or link from a value, and every table row has as many cells as its header."""
    assert "<img" not in markdown and "[x](javascript" not in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown and "\\[x\\](javascript" in markdown
    assert "\n| forged" not in markdown  # a line break in a value never starts a table row
    cells = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            cells = None
            continue
        count = len(re.findall(r"(?<!\\)\|", line))
        cells = cells or count
        assert count == cells, line


def test_markdown_escapes_values_from_data_and_file_names(metrics):
    markdown = render_markdown(_poisoned(metrics))
    assert_escaped(markdown)
    assert "| &lt;img src=x onerror=alert(1)&gt;\\|\\[x\\](javascript:alert(1)) \\| forged \\| row \\| | 1.000 |" \
        in markdown
    assert "Model: &lt;img" in markdown and "## Peer comparison: &lt;img" in markdown
    assert "| **micro** | 0.820 | 0.760 | 0.789 | 55 |" in markdown  # our own emphasis is kept


def test_html_bolds_only_our_own_emphasis(tmp_path, metrics):
    metrics["entities"]["per_type"]["**Fake**"] = {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    page = write_report(_poisoned(metrics), tmp_path, [])["html"].read_text(encoding="utf-8")
    assert "<td><b>micro</b></td>" in page and "<td>**Fake**</td>" in page
    assert "<img src=x" not in page


class _NoPredictions:
    """A stand-in predictor that finds nothing: enough to run evaluate_documents without a model."""

    def predict(self, texts, publication_dates=None, progress=False):
        return [ArticleResult() for _ in texts]


def entity_corpus_metrics(metrics: dict) -> dict:
    """The example metrics with triggers, relations and incidents scored as evaluate does on re3d-like documents:
    entities and relations annotated (no relation in them), triggers not annotated, so no incidents either."""
    text = "Coalition forces met in Baghdad."
    document = Document(id="re3d-1", text=text, spans=(Span("s1", 24, 31, "Baghdad", "Location"),),
                        layers=frozenset({"entities", "relations"}))
    scored, _ = evaluate_documents(_NoPredictions(), [document])
    metrics.update({key: scored[key] for key in ("triggers", "relations", "incidents")})
    metrics["cross_validation"]["folds"][0]["triggers"] = scored["triggers"]
    return metrics


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_layers_no_document_annotates_are_marked_not_scored(tmp_path, metrics):
    metrics = entity_corpus_metrics(metrics)
    assert metrics["triggers"]["documents"] == 0 and metrics["incidents"]["documents"] == 0
    figures = headline(metrics)
    assert figures.trigger_f1 is None and figures.incident_role_f1 is None  # not 0.0
    assert figures.relation_f1 == 0.0 and figures.entity_micro_f1 == metrics["entities"]["micro"]["f1"]
    markdown = render_markdown(metrics)
    for heading, what in (("Incident triggers", "incident triggers"), ("Incidents", "incidents")):
        section = _section(markdown, heading)
        assert f"_Not annotated: none of the 4 evaluated documents annotates {what}" in section
        assert "0.000" not in section and "|" not in section
    relations = _section(markdown, "Relations")  # annotated, but without any gold relation
    assert "_The one evaluated document that annotates relations holds no gold relations" in relations
    assert "| **micro** | 0.000 | 0.000 | 0.000 | 0 |" in relations
    assert "| seed-1 | 0.646 | not annotated | 0.444 | 0.500 |" in _section(markdown, "Cross-validation")
    page = write_report(metrics, tmp_path, [])["html"].read_text(encoding="utf-8")
    assert page.count("Not annotated: none of the 4 evaluated documents") == 2
    assert "holds no gold relations" in page and "<td>not annotated</td>" in page
