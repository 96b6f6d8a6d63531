"""The model card: Hugging Face front matter and sections, every figure from the metrics dict."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conflict_ie.evaluation.model_card import render_model_card, write_model_card

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metrics_example.json"
HEADINGS = ("## Model description", "## Intended use", "## Out-of-scope use", "## Training data", "## Evaluation",
            "## Training procedure", "## Limitations", "## How to reproduce")


@pytest.fixture
def metrics() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def split_front_matter(card: str) -> tuple[dict, str]:
    assert card.startswith("---\n")
    head, body = card[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def test_front_matter_and_model_index(metrics):
    meta, body = split_front_matter(render_model_card(metrics))
    assert meta["language"] == "en"
    assert meta["license"] == "apache-2.0"
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "token-classification"
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["tags"]
    (entry,) = meta["model-index"]
    (result,) = entry["results"]
    assert result["task"]["type"] == "token-classification"
    assert result["dataset"]["name"] == metrics["data"]["split"]
    values = {m["name"]: m["value"] for m in result["metrics"]}
    assert values == {
        "Entity micro F1": metrics["entities"]["micro"]["f1"],
        "Entity macro F1": metrics["entities"]["macro"]["f1"],
        "Trigger micro F1": metrics["triggers"]["micro"]["f1"],
        "Relation micro F1": metrics["relations"]["micro"]["f1"],
        "Incident role micro F1": metrics["incidents"]["micro"]["f1"],
    }
    assert all(m["type"] == "f1" for m in result["metrics"])


def test_base_model_follows_the_runs_encoder(metrics):
    metrics["model"]["encoder"] = "/models/roberta-base-local"
    meta, body = split_front_matter(render_model_card(metrics))
    assert meta["base_model"] == "/models/roberta-base-local"
    assert "base model `/models/roberta-base-local`" in body


def test_sections_and_figures(metrics):
    card = render_model_card(metrics)
    for heading in HEADINGS:
        assert heading in card
    assert "| Location | 0.900 | 0.850 | 0.874 | 20 |" in card
    assert "**dev** split: 4 documents" in card
    assert "| seed-1 |" in card and "spaCy en_core_web_sm" in card
    assert metrics["model"]["command"] in card and "make main" in card
    assert "| seeds | annotations/seeds.json | abc123 |" in card
    assert "Aleph Insights" in card and "CC BY 4.0" in card and "Open Government Licence v3" in card
    assert "| peak rss mb | 2048.000 |" in card


def test_card_without_peer_and_cross_validation(tmp_path, metrics):
    del metrics["peer"], metrics["cross_validation"]
    path = write_model_card(metrics, tmp_path / "cards" / "card.md")
    card = path.read_text(encoding="utf-8")
    split_front_matter(card)
    for heading in HEADINGS:
        assert heading in card
    assert "A peer comparison is not in this run's metrics" in card
    assert "Seed cross-validation is not in this run's metrics" in card


def test_card_shows_a_cross_fitted_real_text_figure_when_the_run_has_one(metrics):
    assert "A cross-fitted real-text figure is not in this run's metrics" in render_model_card(metrics)
    metrics["cross_fit"] = {
        "corpus": "re3d", "documents": 48, "command": "python training/cross_fit.py configs/default.yaml --corpus re3d",
        "triggers": {"precision": 0.411, "recall": 0.536, "f1": 0.465},
        "trigger_detection": {"precision": 0.521, "recall": 0.679, "f1": 0.589},
        "incidents": {"f1": 0.243}, "no_incident_documents": {"documents": 32, "with_a_trigger": 1},
        "folds": {"1": {"documents": 24, "triggers": {"precision": 0.476, "recall": 0.385, "f1": 0.426},
                        "training_command": "training/train.py configs/default.yaml train.num_threads=1"},
                  "2": {"documents": 24, "triggers": {"precision": 0.385, "recall": 0.667, "f1": 0.488}}}}
    card = render_model_card(metrics)
    section = card.split("### Real text, cross-fitted")[1].split("###")[0]
    assert "Each of the 48 training documents of re3d" in section and "--corpus re3d" in section
    assert "Fold 1 was trained by `training/train.py configs/default.yaml train.num_threads=1`" in section
    # a summary written before the any-type figure existed shows dashes there, not zeros
    assert "| fold 1 (held-out half 1) | 24 | 0.476 | 0.385 | 0.426 | – | – |  |  |" in section
    assert "| both | 48 | 0.411 | 0.536 | 0.465 | 0.521 | 0.679 | 0.243 | 32 (1) |" in section


def test_card_from_nearly_empty_metrics():
    meta, body = split_front_matter(render_model_card({"entities": {"micro": {"f1": 0.5}}}))
    assert meta["model-index"][0]["results"][0]["metrics"] == [{"type": "f1", "value": 0.5, "name": "Entity micro F1"}]
    assert "Trigger scoring is not in this run's metrics" in body
    assert "Training information is not in this run's metrics" in body


def test_card_escapes_values_from_data_and_file_names(metrics):
    from .test_report import EVIL_NAME, _poisoned, assert_escaped

    metrics = _poisoned(metrics)
    metrics["model"]["path"] = f"runs/{EVIL_NAME}`/model"
    metrics["model"]["encoder"] = f"/models/{EVIL_NAME}"
    metrics["model"]["command"] = "train ```\n<img src=x onerror=alert(2)>"
    meta, body = split_front_matter(render_model_card(metrics))
    assert meta["model-index"][0]["name"] == EVIL_NAME  # YAML quotes it; the Markdown body escapes it
    prose = body.split("## How to reproduce")[0]
    # inline code shows a value verbatim (Markdown interprets nothing there): check the rest
    assert_escaped(re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", prose))
    assert "# &lt;img src=x onerror=alert(1)&gt;" in body
    assert "**file &lt;img" in body
    # inline code shows the path verbatim and cannot be closed early by a backtick in it
    assert f"``runs/{EVIL_NAME.replace(chr(10), ' ')}`/model``" in body
    # the command's code block has a longer fence than the backticks inside it
    assert "````\ntrain ```\n<img src=x onerror=alert(2)>\n````" in body


def test_card_marks_layers_no_document_annotates(metrics):
    from .test_report import entity_corpus_metrics

    meta, body = split_front_matter(render_model_card(entity_corpus_metrics(metrics)))
    names = {m["name"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert names == {"Entity micro F1", "Entity macro F1", "Relation micro F1"}  # no 0.0 for unannotated layers
    triggers = body.split("### Incident triggers\n", 1)[1].split("\n### ", 1)[0]
    incidents = body.split("### Incidents\n", 1)[1].split("\n### ", 1)[0]
    assert "_Not annotated: none of the 4 evaluated documents annotates incident triggers" in triggers
    assert "_Not annotated: none of the 4 evaluated documents annotates incidents" in incidents
    assert "0.000" not in triggers + incidents
    relations = body.split("### Relations\n", 1)[1].split("\n### ", 1)[0]
    assert "holds no gold relations" in relations and "| **micro** | 0.000 |" in relations
    assert "| seed-1 | 0.646 | not annotated |" in body
