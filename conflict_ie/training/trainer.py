"""The training loop, written out: read corpora -> encode -> train with dev evaluation -> save the best model.

Each document trains only the layers it annotates (see ExtractionModel.losses). Corpus weights decide how often
a corpus's windows are seen per epoch. The loop evaluates on the dev split every ``eval_every`` steps and at each
epoch end, keeps the best model, stops early after ``patience`` evaluations without improvement, and writes a
resumable checkpoint at every evaluation. Every folder is written next to its target and renamed into place, so a
crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import resource
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from ..config import Config, portable_path, resolve_path
from ..data.corpora import Corpus, load_corpus, load_splits, sha256_of, split_documents
from ..inference import InferenceRunner
from ..data.document import Document
from ..encoding import EncodedDocument, Window, collate, encode_documents, make_windows
from ..evaluation.evaluate import score_documents, to_documents
from ..model import ExtractionModel, allowed_label_pairs, build_model, save_model
from ..schema import ENTITY_LABELS, RELATION_LABELS, TRIGGER_LABELS

CHECKPOINT_STATE = "trainer_state.json"
OPTIMIZER_STATE = "optimizer.pt"


def library_versions() -> dict[str, str]:
    import safetensors
    import tokenizers
    import transformers

    from .. import __version__

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__, "conflict_ie": __version__}


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@contextmanager
def atomic_directory(target: Path):
    """Yield a temporary sibling folder; on success it replaces ``target`` in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        yield temporary
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    temporary.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def epoch_windows(encoded: list[EncodedDocument], weights: list[float], config: Config, epoch: int) -> list[Window]:
    """This epoch's training windows in order: each document's windows repeated by its corpus weight
    (a fractional weight keeps that fraction, drawn with the epoch's seed), then shuffled."""
    rng = random.Random(config.train.seed * 1000 + epoch)
    windows = make_windows([len(d) for d in encoded], config.model.max_length, config.model.stride)
    chosen = []
    for window in windows:
        weight = weights[window.doc_index]
        copies = int(weight) + (1 if rng.random() < weight - int(weight) else 0)
        chosen.extend([window] * copies)
    rng.shuffle(chosen)
    return chosen


def load_training_data(config: Config) -> tuple[list[Corpus], dict[str, list[tuple[Corpus, Document]]], dict]:
    corpora = [load_corpus(config, c) for c in config.data.corpora]
    if not corpora:
        raise ValueError("the config names no corpora (data.corpora)")
    splits_path = resolve_path(config, config.data.splits_file)
    splits = split_documents(corpora, load_splits(config))
    hashes = {"splits_file": {portable_path(config, splits_path): sha256_of(splits_path)}}
    for corpus in corpora:
        hashes[corpus.config.name] = corpus.files
    return corpora, splits, hashes


class Trainer:
    def __init__(self, config: Config, log=print):
        self.config = config
        self.log = log
        self.output_dir = resolve_path(config, config.train.output_dir)
        self.checkpoint_dir = self.output_dir / "checkpoints" / "last"  # written at every evaluation
        self.device = pick_device(config.train.device)

    def run(self) -> Path:
        config, train_cfg = self.config, self.config.train
        finished = self._finished_run()
        if finished is not None:
            return finished
        started = time.perf_counter()
        set_seed(train_cfg.seed)
        if train_cfg.num_threads:
            torch.set_num_threads(train_cfg.num_threads)
        corpora, splits, data_hashes = load_training_data(config)
        for corpus in corpora:
            self.log(corpus.report.summary())
        train_docs = [doc for _, doc in splits["train"]]
        dev_docs = [doc for _, doc in splits["dev"]]
        if not train_docs:
            raise ValueError("no training documents: check data.corpora and the split file")
        self.log(f"documents: train {len(train_docs)}, dev {len(dev_docs)}, test {len(splits['test'])} "
                 f"(test is never read here)")

        model, tokenizer = build_model(config.model)
        model.to(self.device)
        encoded = encode_documents(tokenizer, train_docs)
        weights = [corpus.config.weight for corpus, _ in splits["train"]]
        # counted per epoch: a fractional corpus weight makes epochs differ in length, and the schedule must end
        # with the last step
        total_steps = sum(math.ceil(len(epoch_windows(encoded, weights, config, epoch)) / train_cfg.batch_size)
                          for epoch in range(train_cfg.epochs))
        if train_cfg.max_steps:
            total_steps = min(total_steps, train_cfg.max_steps)
        optimizer, scheduler = self._optimizer(model, total_steps)

        state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best_score": -1.0, "best_step": 0,
                 "evaluations_without_improvement": 0, "curves": [], "elapsed_s": 0.0, "finished": False,
                 "config": config.to_dict()}
        if (self.checkpoint_dir / CHECKPOINT_STATE).is_file():
            state = self._resume(self.checkpoint_dir, model, optimizer, scheduler)
            self.log(f"resumed from {self.checkpoint_dir} at step {state['step']}")
        elapsed_before = state["elapsed_s"]

        metadata = {
            "schema": {"entities": list(ENTITY_LABELS), "triggers": list(TRIGGER_LABELS),
                       "relations": list(RELATION_LABELS)},
            "config": config.to_dict(),
            "data_hashes": data_hashes,
            "documents": {name: [doc.id for _, doc in items] for name, items in splits.items()},
            "seed": train_cfg.seed,
            "library_versions": library_versions(),
            "device": str(self.device),
            "command": " ".join(sys.argv),
        }
        decoder = InferenceRunner(model, tokenizer, batch_size=max(train_cfg.batch_size, 8))
        allowed_pairs = allowed_label_pairs()
        weights_triplet = (train_cfg.entity_loss_weight, train_cfg.trigger_loss_weight,
                           train_cfg.relation_loss_weight)

        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=state["step"], desc="train", unit="step",
                   disable=None if sys.stderr.isatty() else True)
        stop, recent_losses, window_count, timer = False, [], 0, time.perf_counter()

        def evaluate() -> bool:
            """Score dev and checkpoint; True means stop early. Loss and speed restart after it, so the speed
            shown is training speed alone."""
            nonlocal recent_losses, window_count, timer
            stop_now = self._evaluate(model, tokenizer, decoder, dev_docs, state, recent_losses, metadata,
                                      optimizer, scheduler, elapsed_before + time.perf_counter() - started)
            recent_losses, window_count, timer = [], 0, time.perf_counter()
            return stop_now

        pair_rng = random.Random(train_cfg.seed + state["step"])  # samples unrelated span pairs per window
        while state["epoch"] < train_cfg.epochs and not stop:
            windows = epoch_windows(encoded, weights, config, state["epoch"])
            batches = [windows[i:i + train_cfg.batch_size] for i in range(0, len(windows), train_cfg.batch_size)]
            for batch_windows in batches[state["batch_in_epoch"]:]:
                model.train()
                batch = collate(encoded, batch_windows, tokenizer, max_distance=config.model.max_relation_distance,
                                allowed_pairs=allowed_pairs, rng=pair_rng,
                                negatives_per_positive=train_cfg.relation_negatives_per_positive).to(self.device)
                losses = model.losses(batch, weights_triplet)
                optimizer.zero_grad(set_to_none=True)
                losses["total"].backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
                optimizer.step()
                scheduler.step()
                state["step"] += 1
                state["batch_in_epoch"] += 1
                window_count += len(batch_windows)
                recent_losses.append({k: v.item() for k, v in losses.items()})
                bar.update(1)
                if state["step"] % train_cfg.log_every == 0:
                    speed = window_count / (time.perf_counter() - timer)
                    mean = {k: sum(r[k] for r in recent_losses) / len(recent_losses) for k in recent_losses[0]}
                    bar.set_postfix(loss=f"{mean['total']:.3f}", win_s=f"{speed:.1f}")
                    if bar.disable:
                        self.log(f"step {state['step']}/{total_steps} epoch {state['epoch']} loss {mean['total']:.4f} "
                                 f"(entity {mean['entity']:.3f} trigger {mean['trigger']:.3f} "
                                 f"relation {mean['relation']:.3f}) {speed:.1f} windows/s")
                out_of_time = (train_cfg.max_minutes and
                               elapsed_before + time.perf_counter() - started > train_cfg.max_minutes * 60)
                out_of_steps = state["step"] >= total_steps
                if state["step"] % train_cfg.eval_every == 0 or out_of_time or out_of_steps:
                    stop = evaluate()
                if stop or out_of_time or out_of_steps:
                    stop = True
                    break
            else:
                state["epoch"] += 1
                state["batch_in_epoch"] = 0
                if state["step"] % train_cfg.eval_every != 0:  # end of epoch: evaluate unless we just did
                    stop = evaluate()
        bar.close()
        best = self.output_dir / "best"
        final = self.output_dir / "model"
        wall = elapsed_before + time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if not best.is_dir():  # no evaluation ran (no dev documents): the last weights are the model
            self._save(best, model, tokenizer, metadata, state)
        with atomic_directory(final) as folder:
            for item in best.iterdir():
                shutil.copy2(item, folder / item.name)
            meta = json.loads((folder / "conflict_ie.json").read_text(encoding="utf-8"))
            meta["training"] = {"wall_time_s": round(wall, 1), "peak_rss_mb": round(peak_mb, 1),
                                "steps": state["step"], "best_step": state["best_step"],
                                "best_dev_score": state["best_score"], "curves": state["curves"],
                                "device": str(self.device)}
            (folder / "conflict_ie.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                                     encoding="utf-8")
        state["finished"] = True  # a later run of the same command returns this model instead of resuming
        (self.checkpoint_dir / CHECKPOINT_STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        self.log(f"saved {final} (best dev score {state['best_score']:.4f} at step {state['best_step']}; "
                 f"{state['step']} steps, {wall:.0f} s, peak RSS {peak_mb:.0f} MB)")
        return final

    def _finished_run(self) -> Path | None:
        """The saved model when output_dir holds a finished run of this same config; None when there is nothing
        to resume or an interrupted run to go on with. A run of another config there is an error, not a resume."""
        state_file = self.checkpoint_dir / CHECKPOINT_STATE
        if not state_file.is_file():
            return None
        state = json.loads(state_file.read_text(encoding="utf-8"))
        differences = _config_differences(state["config"], self.config.to_dict()) if "config" in state else []
        if differences:
            raise ValueError(f"{self.output_dir} holds a run of another config (differs in: "
                             f"{', '.join(differences[:8])}); delete that folder or set train.output_dir")
        final = self.output_dir / "model"
        if state.get("finished") and (final / "conflict_ie.json").is_file():
            self.log(f"{final} is already trained with this config; delete {self.output_dir} to train again")
            return final
        return None

    def _optimizer(self, model: ExtractionModel, total_steps: int):
        train_cfg = self.config.train
        encoder_params = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
        head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
        optimizer = torch.optim.AdamW([
            {"params": encoder_params, "lr": train_cfg.learning_rate},
            {"params": head_params, "lr": train_cfg.head_learning_rate},
        ], weight_decay=train_cfg.weight_decay)
        warmup = max(1, int(total_steps * train_cfg.warmup_ratio))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def _evaluate(self, model, tokenizer, decoder, dev_docs, state, recent_losses, metadata, optimizer, scheduler,
                  elapsed: float) -> bool:
        """Score the dev split, keep the best model, write a resumable checkpoint; True means stop early."""
        train_loss = (sum(r["total"] for r in recent_losses) / len(recent_losses)) if recent_losses else None
        point = {"step": state["step"], "epoch": state["epoch"], "train_loss": train_loss,
                 "elapsed_s": round(elapsed, 1)}
        if dev_docs:
            predicted = to_documents(dev_docs, decoder.run([d.text for d in dev_docs]))
            scores = score_documents(dev_docs, predicted)
            point.update({"dev_entity_f1": scores["entities"]["micro"]["f1"],
                          "dev_trigger_f1": scores["triggers"]["micro"]["f1"],
                          "dev_relation_f1": scores["relations"]["micro"]["f1"]})
            score = (point["dev_entity_f1"] + point["dev_trigger_f1"] + point["dev_relation_f1"]) / 3
        else:
            score = -(train_loss or 0.0)  # no dev split: the lowest training loss wins
        point["dev_score"] = round(score, 4)
        state["curves"].append(point)
        self.log("eval " + json.dumps(point))
        improved = score > state["best_score"]
        if improved:
            state["best_score"], state["best_step"] = score, state["step"]
            state["evaluations_without_improvement"] = 0
            self._save(self.output_dir / "best", model, tokenizer, metadata, state)
        else:
            state["evaluations_without_improvement"] += 1
        state["elapsed_s"] = elapsed
        with atomic_directory(self.checkpoint_dir) as folder:
            save_model(model, tokenizer, folder, {**metadata, "step": state["step"]})
            torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "torch_rng": torch.get_rng_state()}, folder / OPTIMIZER_STATE)
            (folder / CHECKPOINT_STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        # early stopping needs a dev split: without one the score is the training loss, too noisy to stop on
        patience = self.config.train.patience if dev_docs else 0
        return bool(patience) and state["evaluations_without_improvement"] >= patience

    def _save(self, target: Path, model, tokenizer, metadata, state) -> None:
        with atomic_directory(target) as folder:
            save_model(model, tokenizer, folder, {**metadata, "step": state["step"]})

    def _resume(self, checkpoint: Path, model, optimizer, scheduler) -> dict:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(checkpoint / "model.safetensors")))
        # weights_only=True: tensors and plain containers only, never arbitrary pickled code
        extra = torch.load(checkpoint / OPTIMIZER_STATE, map_location=self.device, weights_only=True)
        optimizer.load_state_dict(extra["optimizer"])
        scheduler.load_state_dict(extra["scheduler"])
        torch.set_rng_state(extra["torch_rng"].cpu())
        return json.loads((checkpoint / CHECKPOINT_STATE).read_text(encoding="utf-8"))


def _config_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    keys = sorted(set(old) | set(new))
    differences = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            differences += _config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            differences.append(prefix + key)
    return differences


def train(config: Config, log=print) -> Path:
    """Train a model as configured; returns the saved model folder."""
    return Trainer(config, log).run()
