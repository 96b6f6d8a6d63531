"""`evaluate --data` and `gold-incidents` on annotations with errors and in every format the loaders read.

Annotation errors are refused (naming the file, the count and the first problems) unless dropping is allowed; then
the count is printed and recorded as metrics["dropped"]. `--data` takes a Label Studio export, a re3d folder or a
CoNLL/BIO file, and a layer no document annotates is marked "not annotated" rather than scored as zeros.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conflict_ie.data.conll import load_conll
from conflict_ie.data.corpora import annotation_kind, load_annotations
from conflict_ie.evaluation.evaluate import run_evaluation, score_documents
from conflict_ie.evaluation.metrics import NOT_ANNOTATED, headline, layer_status
from conflict_ie.evaluation.gold import gold_incident_lines, write_gold_incidents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BAD = FIXTURES / "label_studio" / "bad.json"
GOOD = FIXTURES / "label_studio" / "good.json"


def test_evaluate_refuses_an_export_with_errors_before_loading_a_model(tmp_path):
    with pytest.raises(ValueError) as raised:
        run_evaluation(model_dir=tmp_path / "no-model", data_file=BAD, out_dir=tmp_path / "out")
    message = str(raised.value)
    assert message.startswith(f"{BAD}: 8 annotation errors, each leaving out what it names; the first:")
    assert f"{BAD}: task 11, char 37: error: span" in message  # the first problems, in the validator's format
    assert "--allow-dropped" in message and "conflict-ie validate" in message
    assert not (tmp_path / "out").exists()


def test_evaluate_with_allow_dropped_says_so_and_records_the_count(tiny_model_dir, tmp_path, capsys):
    metrics = run_evaluation(model_dir=tiny_model_dir, data_file=BAD, out_dir=tmp_path / "out",
                             allow_dropped=True)
    assert "WARNING: 8 annotated items DROPPED for annotation errors (--allow-dropped)" in capsys.readouterr().err
    written = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert written["dropped"]["count"] == metrics["dropped"]["count"] == 8
    assert written["dropped"]["files"] == {str(BAD): 8}
    assert written["dropped"]["problems"][0].startswith(f"{BAD}: task 11, char 37: error:")


def test_evaluate_on_a_clean_export_records_nothing_dropped(tiny_model_dir, tmp_path):
    metrics = run_evaluation(model_dir=tiny_model_dir, data_file=GOOD, out_dir=tmp_path / "out")
    assert metrics["dropped"] == {"count": 0, "files": {}, "problems": []}


@pytest.mark.parametrize("data, kind", [
    (FIXTURES / "re3d", "re3d"),
    (FIXTURES / "conll" / "two_docs.conll", "conll"),
    (FIXTURES / "conll" / "conll2003_style.txt", "conll"),
    (FIXTURES / "conll" / "no_docstart.bio", "conll"),
    (GOOD, "label_studio"),
])
def test_data_format_follows_the_path(data, kind):
    assert annotation_kind(data) == kind
    documents, report, files = load_annotations(data)
    assert documents and report.errors == [] and all(Path(f).is_file() for f in files)


def test_evaluate_scores_a_re3d_folder_and_a_conll_file(tiny_model_dir, tmp_path):
    re3d = run_evaluation(model_dir=tiny_model_dir, data_file=FIXTURES / "re3d", out_dir=tmp_path / "re3d")
    assert layer_status(re3d["entities"]) is None and layer_status(re3d["relations"]) is None
    assert layer_status(re3d["triggers"]) == NOT_ANNOTATED  # re3d annotates no triggers
    assert all(path.endswith(".json") for path in re3d["data"]["files"])
    conll = run_evaluation(model_dir=tiny_model_dir, data_file=FIXTURES / "conll" / "conll2003_style.txt",
                           out_dir=tmp_path / "conll")
    assert layer_status(conll["entities"]) is None
    assert layer_status(conll["triggers"]) == layer_status(conll["relations"]) == NOT_ANNOTATED
    assert "not annotated" in (tmp_path / "conll" / "report.md").read_text(encoding="utf-8").lower()
    assert conll["data"]["documents"] == 1


def test_evaluate_refuses_a_conll_file_with_errors_naming_file_and_line(tmp_path):
    path = FIXTURES / "conll" / "unknown_label.conll"
    with pytest.raises(ValueError, match=r"unknown_label\.conll: 1 annotation error, each leaving out what it "
                                         r"names; the first:\n  .*unknown_label\.conll:5: unknown label 'Vehicle'"):
        run_evaluation(model_dir=tmp_path / "no-model", data_file=path, out_dir=tmp_path / "out")


@pytest.mark.parametrize("name, content, message", [
    ("notes.md", "hello", "unknown annotation format '.md'; expected a Label Studio export (.json), a re3d folder"),
    ("folder", None, "a folder without re3d source folders"),
])
def test_evaluate_data_of_another_format_names_path_and_formats(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        run_evaluation(model_dir=tmp_path / "no-model", data_file=path, out_dir=tmp_path / "out")
    assert str(path) in str(raised.value) and "CoNLL/BIO file" in str(raised.value)
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        annotation_kind(tmp_path / "absent.json")


def test_unannotated_layers_are_marked_not_annotated_not_scored_as_zeros():
    (document,) = load_conll(FIXTURES / "conll" / "conll2003_style.txt")  # entities only
    scores = score_documents([document], [document])
    assert scores["entities"]["micro"]["f1"] == 1.0 and layer_status(scores["entities"]) is None
    assert layer_status(scores["triggers"]) == NOT_ANNOTATED
    assert layer_status(scores["relations"]) == NOT_ANNOTATED
    assert headline(scores).trigger_f1 is None and headline(scores).relation_f1 is None


def test_gold_incidents_refuse_an_export_with_errors_unless_allowed(tmp_path, capsys):
    with pytest.raises(ValueError, match=rf"(?s){re.escape(str(BAD))}: 8 annotation errors.*--allow-dropped"):
        write_gold_incidents([BAD], tmp_path / "gold.jsonl")
    assert not (tmp_path / "gold.jsonl").exists()
    write_gold_incidents([BAD], tmp_path / "gold.jsonl", allow_dropped=True)
    assert "WARNING: 8 annotated items DROPPED" in capsys.readouterr().err
    assert gold_incident_lines([GOOD]) == gold_incident_lines([GOOD], allow_dropped=True)  # clean: no change


def test_evaluate_on_a_muc4_folder_scores_role_fillers_and_templates(tiny_model_dir, tmp_path):
    from tests.data.test_muc4 import write_corpus

    root = write_corpus(tmp_path / "muc4")
    assert annotation_kind(root) == "muc4"
    metrics = run_evaluation(model_dir=tiny_model_dir, data_file=root, out_dir=tmp_path / "out")
    # MUC-4 annotates role fillers only: the other layers are "not annotated", not zeros
    for layer in ("entities", "triggers", "relations", "incidents"):
        assert layer_status(metrics[layer]) == NOT_ANNOTATED
    assert metrics["role_fillers"]["documents"] == 4 and metrics["role_fillers"]["micro"]["support"] > 0
    muc = metrics["muc4"]
    assert muc["documents"] == 4 and muc["templates"]["gold"] == 4
    assert muc["conversion"] == "one template per type"
    assert set(muc["per_slot"]) == {"incident_type", "PerpInd", "PerpOrg", "Target", "Victim", "Weapon"}
    assert headline(metrics).muc4_f1 == muc["micro"]["f1"]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## MUC-4 templates" in report and "GTT 50.2" in report
