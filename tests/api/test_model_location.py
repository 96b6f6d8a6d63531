"""Where the default model is looked for: $CONFLICT_IE_MODEL, else runs/default/model under the working directory,
else the user data folder; never beside the installed package."""

from __future__ import annotations

import shutil

import pytest

from conflict_ie.api.predictor import Predictor, default_model_dir


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory with no model, an empty user data folder and no $CONFLICT_IE_MODEL."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    monkeypatch.delenv("CONFLICT_IE_MODEL", raising=False)
    return tmp_path


def test_without_any_model_the_error_names_every_place_and_what_to_do(elsewhere):
    with pytest.raises(FileNotFoundError) as error:
        Predictor.load()
    message = str(error.value)
    for place in ("$CONFLICT_IE_MODEL", str(elsewhere / "work" / "runs" / "default" / "model"),
                  str(elsewhere / "data-home" / "conflict-ie" / "models" / "default"), "make main", "--model"):
        assert place in message, message


def test_the_model_make_main_writes_under_the_working_directory_is_the_default(elsewhere, tiny_model_dir):
    shutil.copytree(tiny_model_dir, elsewhere / "work" / "runs" / "default" / "model")
    user = elsewhere / "data-home" / "conflict-ie" / "models" / "default"
    shutil.copytree(tiny_model_dir, user)
    assert default_model_dir() == elsewhere / "work" / "runs" / "default" / "model"
    assert Predictor.load(device="cpu").predict(["Shelling hit Aleppo."])[0] is not None


def test_the_user_data_folder_is_the_default_outside_a_checkout(elsewhere, tiny_model_dir, monkeypatch):
    user = elsewhere / "data-home" / "conflict-ie" / "models" / "default"
    shutil.copytree(tiny_model_dir, user)
    assert default_model_dir() == user
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(elsewhere / "home"))
    with pytest.raises(FileNotFoundError, match=r"home/\.local/share/conflict-ie/models/default"):
        default_model_dir()


def test_conflict_ie_model_wins_and_a_wrong_one_is_not_ignored(elsewhere, tiny_model_dir, monkeypatch):
    shutil.copytree(tiny_model_dir, elsewhere / "work" / "runs" / "default" / "model")
    monkeypatch.setenv("CONFLICT_IE_MODEL", str(tiny_model_dir))
    assert default_model_dir() == tiny_model_dir
    monkeypatch.setenv("CONFLICT_IE_MODEL", str(elsewhere / "missing"))
    with pytest.raises(FileNotFoundError, match="CONFLICT_IE_MODEL") as error:
        default_model_dir()
    assert str(elsewhere / "missing") in str(error.value)
