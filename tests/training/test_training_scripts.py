"""The scripts in training/ end to end on the tiny encoder: the corpus ablation, the seed cross-validation and
the cross-fitting of a corpus."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import REPO_ROOT, TINY_ARTICLE


@pytest.fixture
def corpora_config(tmp_path, tiny_encoder) -> Path:
    from conflict_ie.data.label_studio_export import write_export
    from conflict_ie.data.markup import parse_markup

    def export(name: str, ids: list[str]) -> Path:
        documents = [parse_markup(TINY_ARTICLE.replace("id: tiny-1", f"id: {i}"), f"{i}.txt") for i in ids]
        path = tmp_path / f"{name}.json"
        write_export(documents, path)
        return path

    (tmp_path / "splits.json").write_text(json.dumps(
        {"train": ["a-1", "b-1", "seed-1"], "dev": ["a-2", "b-2", "seed-2"], "test": ["seed-3"]}))
    config = {
        "data": {"splits_file": str(tmp_path / "splits.json"), "corpora": [
            {"name": "alpha", "kind": "label_studio", "path": str(export("alpha", ["a-1", "a-2"]))},
            {"name": "beta", "kind": "label_studio", "path": str(export("beta", ["b-1", "b-2"]))},
            {"name": "seeds", "kind": "label_studio", "path": str(export("seeds", ["seed-1", "seed-2", "seed-3"]))},
        ]},
        "model": {"encoder": str(tiny_encoder), "max_length": 32, "stride": 8},
        "train": {"max_steps": 2, "batch_size": 2, "eval_every": 2, "output_dir": str(tmp_path / "full")},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_script(script: str, args: list[str]) -> None:
    saved = sys.argv
    sys.argv = [script, *args]
    try:
        with pytest.raises(SystemExit) as stopped:
            runpy.run_path(str(REPO_ROOT / script), run_name="__main__")
        assert stopped.value.code in (0, None)
    finally:
        sys.argv = saved


def test_ablation_scores_every_run_on_the_same_dev_documents(corpora_config, tmp_path):
    run_script("training/train.py", [str(corpora_config)])
    out = tmp_path / "ablation"
    run_script("training/ablation.py", [str(corpora_config), "--leave-out", "beta", "--out", str(out),
                                        "train.eval_every=1"])
    summary = json.loads((out / "ablation.json").read_text())
    assert list(summary["rows"]) == ["all corpora (alpha, beta, seeds)", "without beta"]
    assert summary["dev_documents"] == {"alpha": 1, "beta": 1, "seeds": 1}
    for row in summary["rows"].values():
        assert set(row["entity_micro_f1_by_corpus"]) == {"alpha", "beta", "seeds"}
        assert 0.0 <= row["entity_micro_f1"] <= 1.0
    trained_without = json.loads((out / "no_beta" / "model" / "conflict_ie.json").read_text())
    assert [c["name"] for c in trained_without["config"]["data"]["corpora"]] == ["alpha", "seeds"]
    assert trained_without["config"]["train"]["eval_every"] == 1  # overrides after the options reach the runs
    table = (out / "ablation.md").read_text()
    assert "| without beta |" in table and "Entity F1 on beta dev (1 docs)" in table


def test_ablation_rejects_an_unknown_corpus(corpora_config):
    saved, sys.argv = sys.argv, ["ablation.py", str(corpora_config), "--leave-out", "gamma"]
    try:
        with pytest.raises(SystemExit, match="does not have"):
            runpy.run_path(str(REPO_ROOT / "training/ablation.py"), run_name="__main__")
    finally:
        sys.argv = saved


def test_cross_validation_never_trains_on_the_held_out_seed(corpora_config, tmp_path):
    out = tmp_path / "crossval"
    run_script("training/cross_validate.py", [str(corpora_config), "--out", str(out)])
    summary = json.loads((out / "cross_validation.json").read_text())
    assert [fold["held_out"] for fold in summary["folds"]] == ["seed-1", "seed-2", "seed-3"]
    for fold in summary["folds"]:
        documents = json.loads((out / fold["held_out"] / "model" / "conflict_ie.json").read_text())["documents"]
        seen = {doc_id for split in ("train", "dev") for doc_id in documents[split]}
        assert fold["held_out"] not in seen
        assert {"seed-1", "seed-2", "seed-3"} - {fold["held_out"]} <= set(documents["train"])
        assert 0.0 <= fold["entities"]["micro"]["f1"] <= 1.0
    assert set(summary["mean"]) >= {"entities", "relations"}


def test_cross_fitting_scores_each_half_of_a_corpus_with_the_model_that_never_read_it(corpora_config, tmp_path):
    from conflict_ie.data.label_studio_export import write_export
    from conflict_ie.data.markup import parse_markup

    config = yaml.safe_load(corpora_config.read_text())
    gamma = [parse_markup(TINY_ARTICLE.replace("id: tiny-1", f"id: g-{i}"), f"g-{i}.txt") for i in range(1, 6)]
    write_export(gamma, tmp_path / "gamma.json")
    config["data"]["corpora"].append({"name": "gamma", "kind": "label_studio", "path": str(tmp_path / "gamma.json")})
    splits = json.loads((tmp_path / "splits.json").read_text())
    splits["train"] += ["g-1", "g-2", "g-3", "g-4"]
    splits["dev"] += ["g-5"]
    (tmp_path / "splits.json").write_text(json.dumps(splits))
    corpora_config.write_text(yaml.safe_dump(config))
    out = tmp_path / "crossfit"
    run_script("training/cross_fit.py", [str(corpora_config), "--corpus", "gamma", "--out", str(out)])
    summary = json.loads((out / "cross_fit.json").read_text())
    assert summary["held_out"] == {"1": ["g-1", "g-3"], "2": ["g-2", "g-4"]}  # the dev document stays dev
    assert summary["documents"] == 4 and 0.0 <= summary["triggers"]["f1"] <= summary["trigger_detection"]["f1"] <= 1.0
    for fold, held in summary["held_out"].items():
        read = json.loads((out / f"fold{fold}" / "model" / "conflict_ie.json").read_text())["documents"]
        assert not set(held) & (set(read["train"]) | set(read["dev"]))
        other = summary["held_out"]["2" if fold == "1" else "1"]
        assert set(other) <= set(read["train"]) and "g-5" in read["dev"]
        assert "training/cross_fit.py" in summary["folds"][fold]["training_command"]
    # a fold model that read its held-out half is refused, not scored
    meta_path = out / "fold1" / "model" / "conflict_ie.json"
    meta = json.loads(meta_path.read_text())
    meta["documents"]["train"].append("g-1")
    meta_path.write_text(json.dumps(meta))
    saved, sys.argv = sys.argv, ["cross_fit.py", str(corpora_config), "--corpus", "gamma", "--out", str(out)]
    try:
        with pytest.raises(SystemExit, match="read 1 of the documents"):
            runpy.run_path(str(REPO_ROOT / "training/cross_fit.py"), run_name="__main__")
    finally:
        sys.argv = saved
