"""A run's folders on disk: the resumable checkpoint, the best model, the final model, and the check that a
finished run of the same config is returned instead of trained again.

    <output_dir>/checkpoints/last/   weights, optimizer + scheduler + every RNG, trainer_state.json (every evaluation)
    <output_dir>/best/               the best model so far
    <output_dir>/model/              the final model: best weights, metadata with the training record

Every folder is written beside its target and renamed into place (``atomic_directory``), so a crash never leaves
a half-written model; a process killed inside such a write leaves a ``.name.tmp-PID`` folder, removed by the next
run (``remove_stale_temporaries``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch

from ..atomic import atomic_directory
from ..model import METADATA_FILE, ExtractionModel, ModelFolderError, load_weights, save_model
from .state import TrainState

STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"


class RunFolders:
    def __init__(self, output_dir: Path):
        self.output_dir = output_dir
        self.checkpoint = output_dir / "checkpoints" / "last"
        self.best = output_dir / "best"
        self.final = output_dir / "model"

    def has_checkpoint(self) -> bool:
        return (self.checkpoint / STATE_FILE).is_file()


def finished_model(folders: RunFolders, config: dict, data_hashes: dict, log) -> Path | None:
    """The saved model when the folder holds a finished run of this same config on the same data; None when there
    is nothing to resume or an interrupted run to go on with. A run of another config, or of the same config on
    files that have changed since, is an error naming what differs, never a stale model or a mixed resume."""
    if not folders.has_checkpoint():
        return None
    state = read_state(folders)
    differences = config_differences(state.config, config) if state.config else []
    if differences:
        raise ValueError(f"{folders.output_dir} holds a run of another config (differs in: "
                         f"{', '.join(differences[:8])}); delete that folder or set train.output_dir")
    changed = changed_files(state.data_hashes, data_hashes)
    if changed:
        raise ValueError(f"{folders.output_dir} holds a run trained on other data: {'; '.join(changed[:8])}. "
                         f"Delete {folders.output_dir} to train on the data as it is now, or set train.output_dir")
    if state.finished and (folders.final / METADATA_FILE).is_file():
        log(f"{folders.final} is already trained with this config and data; delete {folders.output_dir} to train "
            "again")
        return folders.final
    return None


def changed_files(old: dict, new: dict) -> list[str]:
    """What differs between two data_hashes records ({corpus: {file: sha256}}), one phrase per file."""
    changes = []
    for corpus in sorted(set(old) | set(new)):
        before, after = old.get(corpus) or {}, new.get(corpus) or {}
        for path in sorted(set(before) | set(after)):
            if path not in before:
                changes.append(f"{path} is new in {corpus}")
            elif path not in after:
                changes.append(f"{path} is no longer in {corpus}")
            elif before[path] != after[path]:
                changes.append(f"{path} has changed (sha256 {before[path][:12]}... then, {after[path][:12]}... now)")
    return changes


_TEMPORARY = re.compile(r"^\..+\.(tmp|old)-(\d+)$")


def remove_stale_temporaries(folders: RunFolders, log) -> None:
    """Delete the ``.name.tmp-PID`` / ``.name.old-PID`` folders of atomic writes whose process is gone (killed
    in the middle of a save)."""
    for parent in (folders.output_dir, folders.checkpoint.parent):
        if not parent.is_dir():
            continue
        for item in parent.iterdir():
            match = _TEMPORARY.match(item.name)
            if match and item.is_dir() and not _process_alive(int(match.group(2))):
                shutil.rmtree(item, ignore_errors=True)
                log(f"removed {item}, left by a save that was interrupted")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier process that had this pid; this process is not saving now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def config_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    differences = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            differences += config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            differences.append(prefix + key)
    return differences


def save_model_folder(target: Path, model: ExtractionModel, tokenizer, metadata: dict, step: int) -> None:
    with atomic_directory(target) as folder:
        save_model(model, tokenizer, folder, {**metadata, "step": step})


def save_checkpoint(folders: RunFolders, model: ExtractionModel, tokenizer, metadata: dict, state: TrainState,
                    optimizer, scheduler, rng_states: dict) -> None:
    """Everything a resumed run needs to continue exactly: weights, optimizer, schedule, every RNG's state and
    the trainer state."""
    with atomic_directory(folders.checkpoint) as folder:
        save_model(model, tokenizer, folder, {**metadata, "step": state.step})
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_states},
                   folder / OPTIMIZER_FILE)
        state.write(folder / STATE_FILE)


def resume(folders: RunFolders, model: ExtractionModel, optimizer, scheduler, device) -> tuple[TrainState, dict]:
    """Load the checkpoint into the model, optimizer and schedule; the saved state and RNG states."""
    load_weights(model, folders.checkpoint)
    # weights_only=True: tensors and plain containers only, never arbitrary pickled code
    try:
        extra = torch.load(folders.checkpoint / OPTIMIZER_FILE, map_location=device, weights_only=True)
    except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError... for a damaged file
        raise ModelFolderError(folders.checkpoint, OPTIMIZER_FILE, f"cannot be read ({type(error).__name__}: "
                               f"{str(error).strip().splitlines()[0] if str(error).strip() else 'damaged'}); "
                               f"delete {folders.output_dir} to train again") from error
    if "rng" not in extra:
        raise ValueError(f"{folders.checkpoint} was written by an older version that did not save every random "
                         f"state, so it cannot resume exactly; delete {folders.output_dir} and train again")
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    return read_state(folders), extra["rng"]


def read_state(folders: RunFolders) -> TrainState:
    """The checkpoint's trainer_state.json, or a ModelFolderError naming the file and what is wrong with it."""
    path = folders.checkpoint / STATE_FILE
    advice = f"delete {folders.output_dir} to train again"
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ModelFolderError(folders.checkpoint, STATE_FILE, f"is not UTF-8 text (byte {error.start}); "
                               + advice) from error
    except json.JSONDecodeError as error:
        raise ModelFolderError(folders.checkpoint, STATE_FILE, f"is not valid JSON (line {error.lineno}, column "
                               f"{error.colno}: {error.msg}); the file is damaged: " + advice) from error
    if not isinstance(values, dict):
        raise ModelFolderError(folders.checkpoint, STATE_FILE, "must hold a JSON object; " + advice)
    known = set(TrainState.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ModelFolderError(folders.checkpoint, STATE_FILE, f"has unknown keys {unknown} (written by another "
                               "version?); " + advice)
    return TrainState(**values)


def publish_final(folders: RunFolders, training_record: dict) -> Path:
    """Copy the best model to the final folder with the training record added to its metadata."""
    with atomic_directory(folders.final) as folder:
        for item in folders.best.iterdir():
            shutil.copy2(item, folder / item.name)
        meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        meta["training"] = training_record
        (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folders.final


def mark_finished(folders: RunFolders, state: TrainState) -> None:
    """Record that the run is done: a later run of the same command returns the final model."""
    state.finished = True
    state.write(folders.checkpoint / STATE_FILE)
