"""The ONNX Runtime backends against torch on the tiny test model: the float32 graph gives torch's predictions
through the same decoder; the int8 graph runs; graphs missing or exported from other weights are refused."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install 'conflict-ie[onnx]')")
pytest.importorskip("onnx", reason="the onnx extra is not installed (pip install 'conflict-ie[onnx]')")

from conflict_ie.api import cli  # noqa: E402
from conflict_ie.api.predictor import Predictor  # noqa: E402
from conflict_ie.backends import ONNX_FILE, ONNX_INT8_FILE, ONNX_METADATA_FILE, export_onnx  # noqa: E402
from conflict_ie.model import ModelFolderError  # noqa: E402


@pytest.fixture(scope="module")
def exported(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx") / "model"
    shutil.copytree(tiny_model_dir, folder)
    assert cli.main(["export-onnx", str(folder)]) == cli.EXIT_OK
    return folder


def _texts(seed_texts):
    return [seed_texts[0][:1500], "", "A drone strike hit Marib on Saturday, killing two.", seed_texts[1][:600]]


def _spans(result):
    return ([(s.start, s.end, s.label) for s in result.entities], [(s.start, s.end, s.label) for s in result.triggers],
            [(r.head.start, r.tail.start, r.label) for r in result.relations],
            [(s.start, s.end, s.label) for s in result.role_fillers])


def test_export_writes_both_graphs(exported):
    assert (exported / ONNX_FILE).is_file() and (exported / ONNX_INT8_FILE).is_file()
    assert json.loads((exported / ONNX_METADATA_FILE).read_text())["files"] == [ONNX_FILE, ONNX_INT8_FILE]


def test_onnx_gives_torch_predictions(exported, seed_texts):
    texts = _texts(seed_texts)
    torch_results = Predictor.load(exported, device="cpu").predict(texts)
    onnx_results = Predictor.load(exported, backend="onnx", num_threads=1).predict(texts)
    assert sum(len(r.entities) + len(r.relations) for r in torch_results) > 10
    for ours, theirs in zip(onnx_results, torch_results):
        assert _spans(ours) == _spans(theirs)
        for a, b in zip(ours.entities + ours.triggers, theirs.entities + theirs.triggers):
            assert a.score == pytest.approx(b.score, abs=1e-3)
    tagger = Predictor.load(exported, backend="onnx", num_threads=1).runner.tagger
    runner = Predictor.load(exported, device="cpu").runner
    (batch, *_) = runner.encoder_batches(texts)
    import torch

    expected, got = runner.tagger(batch), tagger(batch)
    for name in ("features", "entity", "trigger", "role"):
        torch.testing.assert_close(getattr(got, name), getattr(expected, name), atol=1e-4, rtol=1e-4)


def test_int8_predicts_offsets_into_the_text(exported, seed_texts):
    texts = _texts(seed_texts)
    results = Predictor.load(exported, backend="onnx-int8", num_threads=1).predict(texts)
    assert len(results) == len(texts) and results[1].entities == ()
    for text, result in zip(texts, results):
        for span in result.entities + result.triggers:
            assert text[span.start:span.end] == span.text


def test_cli_backend_onnx(exported, seed_texts, tmp_path, capsys):
    article = tmp_path / "a.txt"
    article.write_text(seed_texts[0][:800], encoding="utf-8")
    outputs = {}
    for backend in ("torch", "onnx"):
        assert cli.main(["predict", str(article), "--model", str(exported), "--format", "jsonl",
                         "--backend", backend]) == cli.EXIT_OK
        record = json.loads(capsys.readouterr().out)
        outputs[backend] = [(e["start"], e["end"], e["label"]) for e in record["entities"]]
    assert outputs["onnx"] == outputs["torch"]


def test_missing_or_stale_graph_is_refused(exported, tiny_model_dir, tmp_path):
    with pytest.raises(ModelFolderError, match="export-onnx"):
        Predictor.load(tiny_model_dir, backend="onnx")
    stale = tmp_path / "stale"
    shutil.copytree(exported, stale)
    record = json.loads((stale / ONNX_METADATA_FILE).read_text())
    (stale / ONNX_METADATA_FILE).write_text(json.dumps({**record, "weights_sha256": "0" * 64}))
    with pytest.raises(ModelFolderError, match="other weights"):
        Predictor.load(stale, backend="onnx")
    with pytest.raises(ValueError, match="unknown backend"):
        Predictor.load(exported, backend="tensorrt")
