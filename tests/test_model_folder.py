"""A model folder is checked when it loads: a missing, damaged or mismatched file is refused with a
ModelFolderError naming the folder and the file, never loaded into a model that predicts wrong things; pickles and
``auto_map`` code in a folder are never run."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from conflict_ie.api.cli import main as cli_main
from conflict_ie.model import FORMAT_VERSION, METADATA_FILE, WEIGHTS_FILE, ModelFolderError, load_model
from conflict_ie.training.checkpoint import STATE_FILE, RunFolders, finished_model, read_state

from .conftest import SEEDS


@pytest.fixture
def folder(tiny_model_dir, tmp_path) -> Path:
    """A copy of the tiny trained model, free to damage."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def refused(folder: Path, file: str) -> str:
    """The message of the ModelFolderError load_model raises; it must name the folder and the file."""
    with pytest.raises(ModelFolderError) as error:
        load_model(folder)
    message = str(error.value)
    assert str(folder) in message and file in message, message
    assert error.value.file == file
    return message


def edit_json(path: Path, change) -> None:
    values = json.loads(path.read_text(encoding="utf-8"))
    change(values)
    path.write_text(json.dumps(values), encoding="utf-8")


def test_the_intact_folder_loads(folder):
    model, tokenizer, metadata = load_model(folder)
    assert len(tokenizer) == model.encoder.config.vocab_size == metadata["tokenizer_size"]


def test_a_saved_folder_records_its_format_version_and_tokenizer_size(folder):
    metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata["format_version"] == FORMAT_VERSION == 1
    assert metadata["tokenizer_size"] == 30522


def test_a_folder_from_before_the_format_version_loads_as_version_1(folder):
    """Models trained before format_version and tokenizer_size were recorded (runs/default/model) still load."""
    edit_json(folder / METADATA_FILE, lambda m: [m.pop("format_version"), m.pop("tokenizer_size")])
    load_model(folder)


def test_without_tokenizer_json_the_folder_is_refused_not_run_on_five_tokens(folder, tmp_path, capsys):
    (folder / "tokenizer.json").unlink()
    assert "only its special tokens" in refused(folder, "tokenizer.json")
    article = tmp_path / "article.txt"
    article.write_text(SEEDS[0].read_text(encoding="utf-8"), encoding="utf-8")
    assert cli_main(["predict", "--model", str(folder), str(article)]) == 1
    assert "tokenizer.json" in capsys.readouterr().err


def test_a_tokenizer_of_another_vocabulary_is_refused(folder):
    def shrink(values):  # keep the first 200 tokens ([UNK], [CLS], [SEP] and [MASK] among them)
        vocab = values["model"]["vocab"]
        values["model"]["vocab"] = {token: i for token, i in vocab.items() if i < 200}

    edit_json(folder / "tokenizer.json", shrink)
    assert "200 tokens" in refused(folder, "tokenizer.json")
    edit_json(folder / METADATA_FILE, lambda m: m.pop("tokenizer_size"))  # an older folder: against config.json
    assert "vocab_size 30522" in refused(folder, "tokenizer.json")


def test_weights_that_do_not_fit_the_model_are_listed(folder):
    state = load_file(str(folder / WEIGHTS_FILE))
    del state["entity_head.bias"]
    state["stray.weight"] = state["trigger_head.weight"].clone()
    state["trigger_head.weight"] = state["trigger_head.weight"][:3].clone()
    save_file(state, str(folder / WEIGHTS_FILE))
    message = refused(folder, WEIGHTS_FILE)
    assert "missing (1): entity_head.bias" in message
    assert "unexpected (1): stray.weight" in message
    assert "wrong shape (1): trigger_head.weight (3, 48)" in message


def test_a_truncated_weights_file_is_refused(folder):
    data = (folder / WEIGHTS_FILE).read_bytes()
    (folder / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    assert "damaged or truncated" in refused(folder, WEIGHTS_FILE)


@pytest.mark.parametrize("content", ["", "{", "[1, 2]", "\udcff"])
def test_a_corrupt_metadata_file_is_named(folder, content):
    (folder / METADATA_FILE).write_bytes(content.encode("utf-8", "surrogateescape"))
    refused(folder, METADATA_FILE)


def test_an_unknown_metadata_config_key_is_named(folder):
    edit_json(folder / METADATA_FILE, lambda m: m["config"]["model"].update(colour="red"))
    message = refused(folder, METADATA_FILE)
    assert "config.model" in message and "colour" in message


def test_labels_recorded_other_than_the_schema_are_refused(folder):
    edit_json(folder / METADATA_FILE, lambda m: m["schema"]["entities"].__setitem__(0, "Human"))
    message = refused(folder, METADATA_FILE)
    assert "schema.entities" in message and "Human" in message and "Person" in message


def test_a_newer_format_version_is_refused(folder):
    edit_json(folder / METADATA_FILE, lambda m: m.update(format_version=FORMAT_VERSION + 1))
    assert "newer conflict_ie" in refused(folder, METADATA_FILE)


@pytest.mark.parametrize("name", ["config.json", METADATA_FILE, WEIGHTS_FILE])
def test_a_missing_file_is_named(folder, name):
    (folder / name).unlink()
    refused(folder, name)


@pytest.mark.parametrize("content, expected", [("", "Expecting value"), ('{"step": 1, "colour": 2}', "colour")])
def test_a_corrupt_trainer_state_is_named(tmp_path, content, expected):
    folders = RunFolders(tmp_path / "run")
    folders.checkpoint.mkdir(parents=True)
    (folders.checkpoint / STATE_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(ModelFolderError, match=expected) as error:
        finished_model(folders, {}, {}, log=print)
    assert str(folders.checkpoint) in str(error.value) and STATE_FILE in str(error.value)
    with pytest.raises(ModelFolderError):
        read_state(folders)


class _WritesMarker:
    """Unpickling this creates the marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_pickled_weights_are_never_loaded(folder, tmp_path):
    marker = tmp_path / "unpickled"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_WritesMarker(marker)))
    load_model(folder)  # model.safetensors is read, the pickle beside it is not
    (folder / WEIGHTS_FILE).unlink()
    refused(folder, WEIGHTS_FILE)  # no fallback to the pickle
    assert not marker.exists()


def test_auto_map_code_is_never_imported(folder, tmp_path):
    marker = tmp_path / "imported"
    (folder / "remote_code.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                           "class Thing:\n    pass\n", encoding="utf-8")
    auto_map = {"AutoConfig": "remote_code.Thing", "AutoModel": "remote_code.Thing"}
    edit_json(folder / "config.json", lambda c: c.update(auto_map=auto_map))
    edit_json(folder / "tokenizer_config.json", lambda c: c.update(auto_map={"AutoTokenizer": ["remote_code.Thing", None]}))
    load_model(folder)  # a known architecture loads from the library's own code
    assert not marker.exists()
    edit_json(folder / "config.json", lambda c: c.update(model_type="remote-only"))
    refused(folder, "config.json")  # one only the folder's code could build is refused, not imported
    assert not marker.exists()
