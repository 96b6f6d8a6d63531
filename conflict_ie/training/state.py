"""The state of a training run: counters, the best dev score so far and the curves, saved with every checkpoint
(``trainer_state.json``) so an interrupted run resumes where it stopped."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0  # batches of the current epoch already trained
    best_score: float = -1.0
    best_step: int = 0
    evaluations_without_improvement: int = 0
    # one point per evaluation: step, epoch, losses and dev figures, nothing that depends on the machine's speed,
    # so two runs of one command give identical curves
    curves: list[dict] = field(default_factory=list)
    eval_elapsed_s: list[float] = field(default_factory=list)  # wall-clock seconds at each curve point
    elapsed_s: float = 0.0  # training time before this process (resumed runs)
    truncated: str = ""  # why the run stopped before its step budget (train.max_minutes), "" when it did not
    finished: bool = False  # the final model is saved: a re-run returns it
    config: dict = field(default_factory=dict)  # the resolved config of the run
    data_hashes: dict = field(default_factory=dict)  # the files it trains on, as in the model metadata

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "TrainState":
        return cls(**json.loads(path.read_text(encoding="utf-8")))
