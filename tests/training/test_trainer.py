"""The training loop's promises on the tiny encoder: an interrupted run resumes to the same weights, a run stops at
its step budget, a clock limit marks the model truncated, stale temporary folders go, changed data is refused, and
a model never decodes a layer it was not trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conflict_ie.config import load_config
from conflict_ie.data.label_studio_export import write_export
from conflict_ie.data.markup import parse_markup
from conflict_ie.training import trainer
from conflict_ie.training.trainer import train

from ..conftest import TINY_ARTICLE

QUIET = {"log": lambda message: None}


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    documents = [parse_markup(TINY_ARTICLE.replace("id: tiny-1", f"id: tiny-{i}"), f"{i}.txt") for i in range(1, 4)]
    write_export(documents, tmp_path / "train.json")
    (tmp_path / "splits.json").write_text(json.dumps({"train": ["tiny-1", "tiny-2"], "dev": ["tiny-3"], "test": []}))
    return tmp_path


def tiny_config(corpus: Path, tiny_encoder: Path, output_dir: Path, *overrides: str):
    return load_config(None, [
        f"data.corpora=[{{name: tiny, kind: label_studio, path: {corpus / 'train.json'}}}]",
        f"data.splits_file={corpus / 'splits.json'}", f"model.encoder={tiny_encoder}",
        "model.max_length=24", "model.stride=8", "train.batch_size=2", "train.epochs=3", "train.eval_every=2",
        "train.patience=0", "train.num_threads=2",
        # few negatives per positive, so the pair sampler draws and its state matters to the result
        "train.relation_negatives_per_positive=1", f"train.output_dir={output_dir}", *overrides])


def weights_of(folder: Path) -> bytes:
    return (folder / "model.safetensors").read_bytes()


def test_an_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(tiny_corpus, tiny_encoder, tmp_path,
                                                                             monkeypatch):
    whole = train(tiny_config(tiny_corpus, tiny_encoder, tmp_path / "whole"), **QUIET)
    planned = json.loads((whole / "conflict_ie.json").read_text())["training"]["planned_steps"]
    assert planned > 5

    calls = {"n": 0}
    real_step = trainer.train_step

    def killed_after_five_steps(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:  # the checkpoint of step 4 is on disk; step 5 is lost, as with SIGKILL
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    config = tiny_config(tiny_corpus, tiny_encoder, tmp_path / "resumed")
    monkeypatch.setattr(trainer, "train_step", killed_after_five_steps)
    with pytest.raises(KeyboardInterrupt):
        train(config, **QUIET)
    monkeypatch.setattr(trainer, "train_step", real_step)
    messages = []
    resumed = train(config, log=messages.append)

    assert any("resumed from" in m and "at step 4" in m for m in messages)
    assert weights_of(resumed) == weights_of(whole)
    assert weights_of(tmp_path / "resumed" / "checkpoints" / "last") == weights_of(tmp_path / "whole" / "checkpoints"
                                                                                   / "last")
    whole_record = json.loads((whole / "conflict_ie.json").read_text())["training"]
    resumed_record = json.loads((resumed / "conflict_ie.json").read_text())["training"]
    assert resumed_record["steps"] == whole_record["steps"] == planned  # never past the budget
    assert resumed_record["curves"] == whole_record["curves"]


@pytest.mark.skipif(not torch.ops.mkldnn._is_mkldnn_bf16_supported(), reason="this CPU has no bfloat16 units")
def test_bf16_training_is_deterministic_and_differs_from_fp32(tiny_corpus, tiny_encoder, tmp_path):
    bf16 = [train(tiny_config(tiny_corpus, tiny_encoder, tmp_path / name, "train.precision=bf16"), **QUIET)
            for name in ("a", "b")]
    fp32 = train(tiny_config(tiny_corpus, tiny_encoder, tmp_path / "fp32"), **QUIET)
    assert weights_of(bf16[0]) == weights_of(bf16[1]) != weights_of(fp32)
    assert json.loads((bf16[0] / "conflict_ie.json").read_text())["config"]["train"]["precision"] == "bf16"


def test_a_checkpoint_at_the_last_step_resumes_without_training_past_the_budget(tiny_corpus, tiny_encoder, tmp_path,
                                                                                 monkeypatch):
    config = tiny_config(tiny_corpus, tiny_encoder, tmp_path / "run", "train.max_steps=4")
    monkeypatch.setattr(trainer, "finish", lambda *args, **kwargs: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):  # killed after the last checkpoint, before the final save
        train(config, **QUIET)
    monkeypatch.undo()
    model = train(config, **QUIET)
    record = json.loads((model / "conflict_ie.json").read_text())["training"]
    assert record["steps"] == 4 and record["planned_steps"] == 4 and record["truncated"] is None


def test_a_clock_limit_marks_the_model_truncated(tiny_corpus, tiny_encoder, tmp_path):
    messages = []
    model = train(tiny_config(tiny_corpus, tiny_encoder, tmp_path / "run", "train.max_minutes=1e-9"),
                  log=messages.append)
    record = json.loads((model / "conflict_ie.json").read_text())["training"]
    assert record["steps"] == 1 < record["planned_steps"]
    assert "max_minutes" in record["truncated"]
    assert any(m.startswith("WARNING: this model is TRUNCATED") for m in messages)


def test_stale_temporary_folders_of_a_killed_save_are_removed(tiny_corpus, tiny_encoder, tmp_path):
    output = tmp_path / "run"
    stale = [output / ".model.tmp-999999999", output / "checkpoints" / ".last.tmp-999999999"]
    for folder in stale:
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"half written")
    train(tiny_config(tiny_corpus, tiny_encoder, output, "train.max_steps=2"), **QUIET)
    assert not any(folder.exists() for folder in stale)


def test_a_finished_run_on_changed_data_is_refused_naming_the_file(tiny_corpus, tiny_encoder, tmp_path):
    config = tiny_config(tiny_corpus, tiny_encoder, tmp_path / "run", "train.max_steps=2")
    first = train(config, **QUIET)
    assert train(config, **QUIET) == first  # same config, same data: the trained model
    export = tiny_corpus / "train.json"
    export.write_text(export.read_text().replace("local officials", "local sources"))
    with pytest.raises(ValueError, match=r"trained on other data: .*train\.json has changed"):
        train(config, **QUIET)


def test_a_model_trained_on_entities_only_predicts_no_triggers_or_relations(tiny_encoder, tmp_path):
    from conflict_ie.api.predictor import Predictor

    sentences = ["Local officials said al-Shabaab fighters attacked Marib on Saturday .",
                 "The Houthi movement fired missiles at Aden ."]
    tags = [["B-Person", "I-Person", "O", "B-Organisation", "B-Person", "O", "B-Location", "O", "B-Temporal", "O"],
            ["B-Organisation", "I-Organisation", "I-Organisation", "O", "B-Weapon", "O", "B-Location", "O"]]
    rows = []
    for sentence, sentence_tags in zip(sentences * 4, tags * 4):
        rows += [f"{token}\t{tag}" for token, tag in zip(sentence.split(), sentence_tags)] + [""]
    (tmp_path / "entities.conll").write_text("\n".join(rows))
    (tmp_path / "splits.json").write_text(json.dumps({"train": ["entities-1"], "dev": [], "test": []}))
    config = load_config(None, [
        f"data.corpora=[{{name: conll, kind: conll, path: {tmp_path / 'entities.conll'}}}]",
        f"data.splits_file={tmp_path / 'splits.json'}", f"model.encoder={tiny_encoder}", "model.max_length=32",
        "model.stride=8", "train.max_steps=3", "train.batch_size=2", f"train.output_dir={tmp_path / 'run'}"])
    messages = []
    model = train(config, log=messages.append)
    assert any("annotate no triggers or relations" in m for m in messages)
    predictor = Predictor.load(model)
    assert predictor.metadata["layers"] == ["entities"]
    text = " ".join(sentences * 20)  # long enough that an untrained trigger head would fire somewhere
    result = predictor.predict_article(text)
    assert result.triggers == () and result.relations == () and result.incidents == ()
    assert result.untrained_layers == ("triggers", "relations", "role_fillers")
    assert json.loads(result.to_json())["untrained_layers"] == ["triggers", "relations", "role_fillers"]
