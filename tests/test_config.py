"""Every config value is checked when the config loads, with the key and the file named."""

from __future__ import annotations

import pytest

from conflict_ie.config import ConfigError, load_config


@pytest.mark.parametrize("override, key", [
    ("train.batch_size=0", "train.batch_size"),
    ("train.eval_every=0", "train.eval_every"),
    ("train.epochs=-1", "train.epochs"),
    ("train.device=tpu", "train.device"),
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
    from conflict_ie.config import REPO_ROOT

    for name in ("default", "debug"):
        config = load_config(REPO_ROOT / "configs" / f"{name}.yaml")
        assert config.train.max_minutes == 0 and config.train.num_threads == 2
