"""The training loop, written out: read corpora -> encode -> train with dev evaluation -> save the best model.

Each document trains only the layers it annotates (see ExtractionModel.losses). Corpus weights decide how often
a corpus's windows are seen per epoch. The loop evaluates on the dev split every ``eval_every`` steps and at each
epoch end, keeps the best model, stops early after ``patience`` evaluations without improvement, and writes a
resumable checkpoint at every evaluation (``checkpoint``). Training length is counted in steps and epochs, never
in time, and every random draw is seeded and checkpointed (``reproducibility``), so the same command gives the
same model on a slow, busy or interrupted machine.
"""

from __future__ import annotations

import json
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..config import Config, resolve_path
from ..data.document import Document
from ..encoding import Batch, EncodedDocument, collate, encode_documents
from ..evaluation.evaluate import score_documents, to_documents
from ..evaluation.metrics import headline
from ..inference import InferenceRunner
from ..model import ExtractionModel, allowed_label_pairs, build_model, resolve_device
from ..schema import ENTITY_LABELS, LAYERS, RELATION_LABELS, ROLE_FILLER_LABELS, TRIGGER_LABELS
from . import checkpoint, reproducibility
from .checkpoint import RunFolders
from .data import TrainingData, epoch_batches, load_training_data, total_steps
from ..memory import peak_rss_mb, release_freed_memory
from .state import TrainState


def library_versions() -> dict[str, str]:
    import safetensors
    import tokenizers
    import transformers

    from .. import __version__

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__, "conflict_ie": __version__}


@dataclass
class Setup:
    """Everything the loop works with, built once per run."""

    model: ExtractionModel
    tokenizer: object
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    encoded: list[EncodedDocument]  # the training documents, tokenized and aligned
    weights: list[float]  # corpus weight of each training document
    dev_documents: list[Document]
    dev_layers: tuple[str, ...]  # the layers the dev score averages: those dev annotates and training learns
    total_steps: int
    metadata: dict  # what every saved model folder records
    runner: InferenceRunner  # dev evaluation goes through the same inference code as predict()
    device: torch.device


@dataclass
class Progress:
    """Loss and speed since the last evaluation: what the progress bar and the log show."""

    losses: list[dict[str, float]] = field(default_factory=list)
    windows: int = 0
    since: float = field(default_factory=time.perf_counter)

    def record(self, losses: dict[str, torch.Tensor], windows: int) -> None:
        self.losses.append({k: v.item() for k, v in losses.items()})
        self.windows += windows

    def mean(self) -> dict[str, float]:
        return {k: sum(r[k] for r in self.losses) / len(self.losses) for k in self.losses[0]}

    def speed(self) -> float:
        return self.windows / (time.perf_counter() - self.since)


def train(config: Config, log=print) -> Path:
    """Train a model as configured; returns the saved model folder."""
    train_cfg = config.train
    folders = RunFolders(resolve_path(config, train_cfg.output_dir))
    data = load_training_data(config)
    finished = checkpoint.finished_model(folders, config.to_dict(), data.hashes, log)
    if finished is not None:
        return finished
    checkpoint.remove_stale_temporaries(folders, log)
    started = time.perf_counter()
    device = resolve_device(train_cfg.device)
    determinism = reproducibility.configure(train_cfg, device)
    setup = build_setup(config, data, device, determinism, log)
    state = TrainState(config=config.to_dict(), data_hashes=data.hashes)
    pair_rng = random.Random(train_cfg.seed)  # samples unrelated span pairs per window
    if folders.has_checkpoint():
        state, rng = checkpoint.resume(folders, setup.model, setup.optimizer, setup.scheduler, setup.device)
        reproducibility.restore_rng_states(rng, pair_rng)
        log(f"resumed from {folders.checkpoint} at step {state.step} of {setup.total_steps}")
    elapsed_before = state.elapsed_s

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    from tqdm.auto import tqdm

    bar = tqdm(total=setup.total_steps, initial=state.step, desc="train", unit="step",
               disable=None if sys.stderr.isatty() else True)
    allowed_pairs = allowed_label_pairs()
    progress = Progress()
    # a checkpoint written at the last step (killed before the final save) has nothing left to train
    stop = state.step >= setup.total_steps or bool(state.truncated)
    while state.epoch < train_cfg.epochs and not stop:
        for batch_windows in epoch_batches(setup.encoded, setup.weights, config, state.epoch)[state.batch_in_epoch:]:
            # one optimizer step on one batch of windows
            batch = collate(setup.encoded, batch_windows, setup.tokenizer,
                            max_distance=config.model.max_relation_distance, allowed_pairs=allowed_pairs,
                            rng=pair_rng, negatives_per_positive=train_cfg.relation_negatives_per_positive)
            losses = train_step(setup, batch.to(setup.device), config)
            state.step += 1
            state.batch_in_epoch += 1
            progress.record(losses, len(batch_windows))
            bar.update(1)
            if state.step % train_cfg.log_every == 0:
                _show(progress, bar, state, setup.total_steps, log)
            # the run ends on its step budget; only an explicit train.max_minutes ends it on the clock
            out_of_steps = state.step >= setup.total_steps
            if not out_of_steps and train_cfg.max_minutes and elapsed() > train_cfg.max_minutes * 60:
                state.truncated = (f"stopped by train.max_minutes={train_cfg.max_minutes:g} after {state.step} of "
                                   f"{setup.total_steps} steps; the learning-rate schedule did not finish")
                log("WARNING: " + state.truncated)
            if state.step % train_cfg.eval_every == 0 or out_of_steps or state.truncated:
                stop = evaluate(setup, state, progress, folders, config, elapsed(), pair_rng, log)
                progress = Progress()  # loss and speed restart, so the speed shown is training speed alone
            if stop or out_of_steps or state.truncated:
                stop = True
                break
        if not stop:  # the epoch ran to its end: evaluate unless the last step just did
            state.epoch += 1
            state.batch_in_epoch = 0
            if state.step % train_cfg.eval_every != 0:
                stop = evaluate(setup, state, progress, folders, config, elapsed(), pair_rng, log)
                progress = Progress()
    bar.close()
    return finish(setup, state, folders, elapsed(), log)


def build_setup(config: Config, data: TrainingData, device: torch.device, determinism: dict, log) -> Setup:
    """Model, encoding, optimizer and schedule, in this order (the order the seeded RNG is drawn in)."""
    for corpus in data.corpora:
        log(corpus.report.summary())
    if not data.train_documents:
        raise ValueError("no training documents: check data.corpora and the split file")
    log(f"documents: train {len(data.train_documents)}, dev {len(data.dev_documents)}, test "
        f"{len(data.splits['test'])} (test is never read here)")
    learnt = trained_layers(data.train_documents)
    untrained = [layer for layer in LAYERS if layer not in learnt]
    if untrained:
        log(f"the training documents annotate no {' or '.join(untrained)}: the model will not predict "
            f"{'that layer' if len(untrained) == 1 else 'those layers'}")
    dev_layers = tuple(layer for layer in learnt if any(layer in d.layers for d in data.dev_documents))
    model, tokenizer = build_model(config.model)
    model.to(device)
    encoded = encode_documents(tokenizer, data.train_documents)
    weights = data.train_weights
    steps = total_steps(encoded, weights, config)
    optimizer, scheduler = build_optimizer(model, config, steps)
    metadata = {
        "schema": {"entities": list(ENTITY_LABELS), "triggers": list(TRIGGER_LABELS),
                   "relations": list(RELATION_LABELS), "role_fillers": list(ROLE_FILLER_LABELS)},
        "layers": list(learnt),
        "config": config.to_dict(),
        "data_hashes": data.hashes,
        "documents": {name: [doc.id for _, doc in items] for name, items in data.splits.items()},
        "seed": config.train.seed,
        "determinism": determinism,
        "library_versions": library_versions(),
        "device": str(device),
        "command": " ".join(sys.argv),
    }
    runner = InferenceRunner(model, tokenizer, batch_size=max(config.train.batch_size, 8), layers=learnt)
    return Setup(model, tokenizer, optimizer, scheduler, encoded, weights, data.dev_documents, dev_layers, steps,
                 metadata, runner, device)


def trained_layers(documents: list[Document]) -> tuple[str, ...]:
    """The layers some training document annotates, in schema order: the only layers the model learns."""
    return tuple(layer for layer in LAYERS if any(layer in d.layers for d in documents))


def build_optimizer(model: ExtractionModel, config: Config, steps: int):
    """AdamW with one learning rate for the encoder and one for the heads; linear warm-up, then linear decay."""
    train_cfg = config.train
    encoder_params = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimizer = torch.optim.AdamW([
        {"params": encoder_params, "lr": train_cfg.learning_rate},
        {"params": head_params, "lr": train_cfg.head_learning_rate},
    ], weight_decay=train_cfg.weight_decay)
    warmup = max(1, int(steps * train_cfg.warmup_ratio))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def train_step(setup: Setup, batch: Batch, config: Config) -> dict[str, torch.Tensor]:
    """Forward, backward, clip, step: the per-layer losses of this batch (detached)."""
    setup.model.train()
    train_cfg = config.train
    with torch.autocast(setup.device.type, dtype=torch.bfloat16, enabled=train_cfg.precision == "bf16"):
        losses = setup.model.losses(batch, (train_cfg.entity_loss_weight, train_cfg.trigger_loss_weight,
                                            train_cfg.relation_loss_weight, train_cfg.role_loss_weight))
    setup.optimizer.zero_grad(set_to_none=True)
    losses["total"].backward()
    torch.nn.utils.clip_grad_norm_(setup.model.parameters(), train_cfg.grad_clip)
    setup.optimizer.step()
    setup.scheduler.step()
    losses = {name: value.detach() for name, value in losses.items()}
    release_freed_memory()
    return losses


def evaluate(setup: Setup, state: TrainState, progress: Progress, folders: RunFolders, config: Config,
             elapsed: float, pair_rng: random.Random, log) -> bool:
    """Score the dev split, keep the best model, write a resumable checkpoint; True means stop early. The dev
    score is the mean micro F1 of the layers dev annotates and the model learns."""
    train_loss = (sum(r["total"] for r in progress.losses) / len(progress.losses)) if progress.losses else None
    point = {"step": state.step, "epoch": state.epoch, "train_loss": train_loss}
    dev = setup.dev_documents
    if dev and setup.dev_layers:
        scores = headline(score_documents(dev, to_documents(dev, setup.runner.run([d.text for d in dev]))))
        figures = {"entities": scores.entity_micro_f1, "triggers": scores.trigger_f1,
                   "relations": scores.relation_f1, "role_fillers": scores.role_filler_f1}
        for layer in setup.dev_layers:
            point[DEV_FIGURE[layer]] = figures[layer]
        score = sum(figures[layer] or 0.0 for layer in setup.dev_layers) / len(setup.dev_layers)
    else:
        score = -(train_loss or 0.0)  # nothing to score on dev: the lowest training loss wins
    point["dev_score"] = round(score, 4)
    state.curves.append(point)
    state.eval_elapsed_s.append(round(elapsed, 1))
    log("eval " + json.dumps(point))
    if score > state.best_score:
        state.best_score, state.best_step = score, state.step
        state.evaluations_without_improvement = 0
        checkpoint.save_model_folder(folders.best, setup.model, setup.tokenizer, setup.metadata, state.step)
    else:
        state.evaluations_without_improvement += 1
    state.elapsed_s = elapsed
    checkpoint.save_checkpoint(folders, setup.model, setup.tokenizer, setup.metadata, state, setup.optimizer,
                               setup.scheduler, reproducibility.rng_states(pair_rng))
    release_freed_memory()
    # early stopping needs a dev score: without one the score is the training loss, too noisy to stop on
    patience = config.train.patience if dev and setup.dev_layers else 0
    return bool(patience) and state.evaluations_without_improvement >= patience


DEV_FIGURE = {"entities": "dev_entity_f1", "triggers": "dev_trigger_f1", "relations": "dev_relation_f1",
              "role_fillers": "dev_role_filler_f1"}


def finish(setup: Setup, state: TrainState, folders: RunFolders, wall: float, log) -> Path:
    """Publish the best model as the run's model, with the training record, and mark the run finished."""
    peak_mb = peak_rss_mb()
    if not folders.best.is_dir():  # no evaluation ran (no dev documents): the last weights are the model
        checkpoint.save_model_folder(folders.best, setup.model, setup.tokenizer, setup.metadata, state.step)
    record = {
        "wall_time_s": round(wall, 1), "peak_rss_mb": round(peak_mb, 1), "steps": state.step,
        "planned_steps": setup.total_steps, "truncated": state.truncated or None,
        "best_step": state.best_step, "best_dev_score": state.best_score, "dev_layers": list(setup.dev_layers),
        "curves": state.curves, "eval_elapsed_s": state.eval_elapsed_s, "device": str(setup.device)}
    final = checkpoint.publish_final(folders, record)
    checkpoint.mark_finished(folders, state)
    log(f"saved {final} (best dev score {state.best_score:.4f} at step {state.best_step}; "
        f"{state.step} of {setup.total_steps} steps, {wall:.0f} s, peak RSS {peak_mb:.0f} MB)")
    if state.truncated:
        log("WARNING: this model is TRUNCATED: " + state.truncated)
    return final


def _show(progress: Progress, bar, state: TrainState, steps: int, log) -> None:
    speed, mean = progress.speed(), progress.mean()
    bar.set_postfix(loss=f"{mean['total']:.3f}", win_s=f"{speed:.1f}")
    if bar.disable:
        log(f"step {state.step}/{steps} epoch {state.epoch} loss {mean['total']:.4f} "
            f"(entity {mean['entity']:.3f} trigger {mean['trigger']:.3f} relation {mean['relation']:.3f} "
            f"role fillers {mean['role']:.3f}) "
            f"{speed:.1f} windows/s")

