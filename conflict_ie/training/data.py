"""What a training run reads: the configured corpora split into train/dev/test with their file hashes, and each
epoch's training windows in order."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ..config import Config, portable_path, resolve_path
from ..data.corpora import Corpus, load_corpus, load_splits, sha256_of, split_documents
from ..data.document import Document
from ..encoding import EncodedDocument, Window, make_windows


@dataclass
class TrainingData:
    corpora: list[Corpus]
    splits: dict[str, list[tuple[Corpus, Document]]]  # split name -> (corpus, document), split-file order
    hashes: dict[str, dict[str, str]]  # "splits_file" or corpus name -> {portable path: sha256}

    @property
    def train_documents(self) -> list[Document]:
        return [document for _, document in self.splits["train"]]

    @property
    def dev_documents(self) -> list[Document]:
        """The dev documents model selection scores: those of corpora with ``model_selection`` on."""
        return [document for corpus, document in self.splits["dev"] if corpus.config.model_selection]

    @property
    def train_weights(self) -> list[float]:
        """The corpus weight of each training document."""
        return [corpus.config.weight for corpus, _ in self.splits["train"]]


def load_training_data(config: Config) -> TrainingData:
    corpora = [load_corpus(config, c) for c in config.data.corpora]
    if not corpora:
        raise ValueError("the config names no corpora (data.corpora)")
    splits_path = resolve_path(config, config.data.splits_file)
    splits = split_documents(corpora, load_splits(config))
    hashes = {"splits_file": {portable_path(config, splits_path): sha256_of(splits_path)}}
    for corpus in corpora:
        hashes[corpus.config.name] = corpus.files
    return TrainingData(corpora, splits, hashes)


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


def epoch_batches(encoded: list[EncodedDocument], weights: list[float], config: Config, epoch: int
                  ) -> list[list[Window]]:
    windows = epoch_windows(encoded, weights, config, epoch)
    size = config.train.batch_size
    return [windows[i:i + size] for i in range(0, len(windows), size)]


def total_steps(encoded: list[EncodedDocument], weights: list[float], config: Config) -> int:
    """Optimizer steps of the whole run, counted per epoch (a fractional corpus weight makes epochs differ in
    length, and the schedule must end with the last step), capped by ``train.max_steps``."""
    steps = sum(math.ceil(len(epoch_windows(encoded, weights, config, epoch)) / config.train.batch_size)
                for epoch in range(config.train.epochs))
    return min(steps, config.train.max_steps) if config.train.max_steps else steps
