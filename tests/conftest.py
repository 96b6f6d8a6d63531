"""Shared fixtures: a tiny randomly initialised BERT (hidden 32, 2 layers) so the fast tier needs no weights."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((REPO_ROOT / "seeds").glob("*.txt"))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: needs the real encoder or minutes of CPU; run with -m slow")


def make_tiny_encoder(folder: Path) -> Path:
    """A tiny random BERT (hidden 32, 2 layers, seed 0) and the packaged uncased WordPiece tokenizer in ``folder``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from conflict_ie.config import DEFAULT_ENCODER, resolve_encoder

    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder(DEFAULT_ENCODER))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A folder with a tiny random BERT and the packaged uncased WordPiece tokenizer."""
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def seed_texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in SEEDS]


TINY_ARTICLE = """id: tiny-1
---
A [drone strike]{AirStrike t1} killed [two]{Quantity e1} [fighters]{Person e2} of [al-Shabaab]{Organisation e5} \
in [Marib]{Location e3} on [Saturday]{Temporal e6}, [local officials]{Person e4} said. \
[The attack]{Attack t2} was the third this month.
---
t1 killed_count e1
t1 victim e2
t1 place e3
t1 time e6
t1 reported_by e4
e2 BelongsTo e5
t2 same_incident t1
"""


def train_tiny_model(folder: Path, encoder: Path) -> Path:
    """A model folder trained for 2 steps on ``encoder`` from TINY_ARTICLE, under ``folder``."""
    import json

    from conflict_ie.config import load_config
    from conflict_ie.data.label_studio_export import write_export
    from conflict_ie.data.markup import parse_markup
    from conflict_ie.training.trainer import train

    write_export([parse_markup(TINY_ARTICLE, "tiny.txt")], folder / "train.json")
    (folder / "splits.json").write_text(json.dumps({"train": ["tiny-1"], "dev": [], "test": []}))
    config = load_config(None, [
        f"data.corpora=[{{name: tiny, kind: label_studio, path: {folder / 'train.json'}}}]",
        f"data.splits_file={folder / 'splits.json'}", f"model.encoder={encoder}",
        "model.max_length=32", "model.stride=8", "train.max_steps=2", "train.batch_size=2",
        f"train.output_dir={folder / 'run'}",
    ])
    return train(config, log=lambda message: None)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_encoder) -> Path:
    """A model folder trained for 2 steps on the tiny encoder: the contract every model path must meet."""
    return train_tiny_model(tmp_path_factory.mktemp("tiny-run"), tiny_encoder)
