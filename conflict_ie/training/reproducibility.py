"""What makes two runs of one config the same run: seeds, the thread count, deterministic kernels, and every random
generator's state saved with a checkpoint and put back on resume.

Measured here: with two CPU threads, torch's default kernels already give weights that differ between two runs of
the same command (the backward of indexed reads accumulates in thread order); with deterministic kernels they are
identical, however busy the machine is. A different thread count splits sums differently, so the thread count is
part of the config (``train.num_threads``), not the machine's.
"""

from __future__ import annotations

import os
import random

import torch

from ..config import TrainConfig


def configure(train: TrainConfig, device: torch.device) -> dict:
    """Seed every generator, fix the thread count and ask for deterministic kernels; what was set, for the model
    metadata."""
    if device.type == "cuda":
        # cuBLAS is deterministic only with a fixed workspace; must be set before the first CUDA matmul
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if train.num_threads:
        torch.set_num_threads(train.num_threads)
    # warn_only on CUDA: a few CUDA kernels have no deterministic version; on the CPU every one used here does
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    random.seed(train.seed)
    torch.manual_seed(train.seed)
    return {"seed": train.seed, "num_threads": torch.get_num_threads(), "deterministic_algorithms": True,
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def rng_states(pair_rng: random.Random) -> dict:
    """Every generator a training step draws from: torch (dropout), CUDA, Python's, and the pair sampler."""
    states = {"torch": torch.get_rng_state(), "python": random.getstate(), "pairs": pair_rng.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict, pair_rng: random.Random) -> None:
    torch.set_rng_state(states["torch"].cpu())
    random.setstate(_as_tuple(states["python"]))
    pair_rng.setstate(_as_tuple(states["pairs"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]])


def _as_tuple(value):
    """random's state is nested tuples; a round trip through torch.save may give lists."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value
