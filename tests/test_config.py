"""Every config value is checked when the config loads, with the key and the file named; relative paths are
relative to the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from conflict_ie.config import ConfigError, load_config


@pytest.mark.parametrize("override, key", [
    ("train.batch_size=0", "train.batch_size"),
    ("train.eval_every=0", "train.eval_every"),
    ("train.epochs=-1", "train.epochs"),
    ("train.device=tpu", "train.device"),
    ("train.precision=fp16", "train.precision"),
    ("train.learning_rate=0", "train.learning_rate"),
    ("train.warmup_ratio=1.5", "train.warmup_ratio"),
    ("train.max_minutes=-1", "train.max_minutes"),
    ("model.stride=300", "model.stride"),
    ("model.dropout=1", "model.dropout"),
    ("data.corpora=[{name: a, kind: csv, path: x}]", "data.corpora[0].kind"),
    ("data.corpora=[{name: a, path: x, weight: 0}]", "data.corpora[0].weight"),
])
def test_an_invalid_value_names_the_key_and_the_file(tmp_path, override, key):
    path = tmp_path / "config.yaml"
    path.write_text("train:\n  seed: 1\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, [override])
    assert str(error.value).startswith(str(path)) and key in str(error.value)


def test_cuda_asked_for_without_cuda_is_refused_at_load():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="train.device: 'cuda' asks for CUDA, but torch sees no CUDA device"):
        load_config(None, ["train.device=cuda"])


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("train:\n  seed: 1\n  epochs: [3\n  batch_size: 8\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: invalid YAML at line \d+, column \d+"):
        load_config(path)


def test_a_folder_given_as_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


def test_the_committed_cpu_configs_load():
    from .conftest import REPO_ROOT

    for name in ("default", "debug"):
        config = load_config(REPO_ROOT / "configs" / f"{name}.yaml")
        assert config.train.max_minutes == 0 and config.train.num_threads == 2


def test_relative_config_paths_resolve_against_the_working_directory(tmp_path, monkeypatch):
    """Not against the installed package: after `pip install .` the package lives in site-packages."""
    from conflict_ie.config import data_root, portable_path, resolve_path

    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("CONFLICT_IE_DATA", raising=False)
    config = load_config(None)
    assert resolve_path(config, config.data.splits_file) == work / "annotations" / "splits.json"
    assert resolve_path(config, config.train.output_dir) == work / "runs" / "default"
    assert data_root(config) == tmp_path / "shared" / "data"  # ../shared/data from the working directory
    assert resolve_path(config, "${data}/re3d") == tmp_path / "shared" / "data" / "re3d"
    assert portable_path(config, work / "annotations" / "seeds.json") == "annotations/seeds.json"
    assert portable_path(config, tmp_path / "shared" / "data" / "re3d" / "x.json") == "${data}/re3d/x.json"
    assert data_root(load_config(None, ["data.data_root=corpora"])) == work / "corpora"
    monkeypatch.setenv("CONFLICT_IE_DATA", "elsewhere")
    assert data_root(config) == work / "elsewhere"


def test_no_data_or_model_path_is_computed_from_the_package_location():
    """Only packaged resources (the bundled encoder, templates) may be found beside the code."""
    import conflict_ie

    package = Path(conflict_ie.__file__).parent
    offenders = [f"{path.relative_to(package)}:{number}" for path in sorted(package.rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "__file__" in line or "REPO_ROOT" in line or "PACKAGE_ROOT" in line]
    assert offenders == []


def test_bf16_training_is_refused_where_the_cpu_would_emulate_it(monkeypatch):
    import torch

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    with pytest.raises(ConfigError, match="train.precision: 'bf16' needs a CPU with bfloat16 units"):
        load_config(None, ["train.precision=bf16", "train.device=cpu"])
    assert load_config(None, ["train.precision=fp32", "train.device=cpu"]).train.precision == "fp32"
