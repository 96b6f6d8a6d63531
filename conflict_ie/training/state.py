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
    curves: list[dict] = field(default_factory=list)  # one point per evaluation
    elapsed_s: float = 0.0  # training time before this process (resumed runs)
    finished: bool = False  # the final model is saved: a re-run returns it
    config: dict = field(default_factory=dict)  # the resolved config of the run

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "TrainState":
        return cls(**json.loads(path.read_text(encoding="utf-8")))
