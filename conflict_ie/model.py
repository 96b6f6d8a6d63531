"""One encoder with three heads: entity tags, incident-trigger tags, and relations between span pairs.

Design: a pipeline on a shared encoder. Entities and triggers are two independent BIO taggers (so a corpus that
annotates only entities trains only the entity tagger); relations are scored for pairs of spans (gold spans in
training, predicted spans at inference) from the encoder states at the spans' first and last tokens plus an
embedding of each span's label and of their distance. Relation types the schema forbids for a pair of span labels
(say, a "killed_count" from a trigger to a Person) are masked out of the softmax, so the head never spends
capacity on them. The encoder is uncased, so a small word-shape embedding read from the original text is added
to its output before every head.

A saved model is a folder: ``model.safetensors`` (all weights), the encoder's ``config.json`` and tokenizer files,
and ``conflict_ie.json`` (schema, resolved config, data hashes, seed, library versions, training curves).
Loading builds the encoder from its config and reads safetensors: no pickled code is ever executed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer

from .config import ModelConfig, check_device, resolve_encoder
from .encoding import (ENTITY_TAGS, IGNORE_INDEX, NO_RELATION, RELATION_CLASSES, SHAPE_COUNT, SPAN_LABELS,
                       TRIGGER_TAGS, Batch, PairBatch)
from .schema import relation_problem

METADATA_FILE = "conflict_ie.json"
WEIGHTS_FILE = "model.safetensors"
DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


@dataclass
class Logits:
    """Training outputs: tag logits per batch position, relation logits per candidate pair (None without pairs)."""

    entity: torch.Tensor  # [windows, positions, len(ENTITY_TAGS)]
    trigger: torch.Tensor  # [windows, positions, len(TRIGGER_TAGS)]
    relation: torch.Tensor | None  # [pairs, len(RELATION_CLASSES)]


@dataclass
class TagProbabilities:
    """Inference outputs of the tag pass, in float32. ``features`` are the per-position states the relation pass
    scores pairs from, so relations need no second encoder pass."""

    features: torch.Tensor  # [windows, positions, features]
    entity: torch.Tensor  # [windows, positions, len(ENTITY_TAGS)]
    trigger: torch.Tensor  # [windows, positions, len(TRIGGER_TAGS)]


def resolve_device(name: str) -> torch.device:
    """A torch device from a config or API value: "auto" is CUDA where available, else CPU; an unknown or
    unavailable device is a ConfigError."""
    check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def allowed_relation_matrix() -> torch.Tensor:
    """[head label, tail label, relation class] -> True where the schema allows it ("none" always)."""
    allowed = torch.zeros((len(SPAN_LABELS), len(SPAN_LABELS), len(RELATION_CLASSES)), dtype=torch.bool)
    allowed[:, :, RELATION_CLASSES.index(NO_RELATION)] = True
    for h, head in enumerate(SPAN_LABELS):
        for t, tail in enumerate(SPAN_LABELS):
            for r, relation in enumerate(RELATION_CLASSES[1:], start=1):
                allowed[h, t, r] = relation_problem(relation, head, tail) is None
    return allowed


def allowed_label_pairs() -> set[tuple[str, str]]:
    """Span label pairs for which at least one relation type exists: the only pairs worth scoring."""
    matrix = allowed_relation_matrix()
    return {(SPAN_LABELS[h], SPAN_LABELS[t]) for h in range(len(SPAN_LABELS)) for t in range(len(SPAN_LABELS))
            if matrix[h, t, 1:].any()}


class ExtractionModel(nn.Module):
    def __init__(self, encoder: nn.Module, config: ModelConfig):
        super().__init__()
        self.encoder = encoder
        self.config = config
        hidden = encoder.config.hidden_size
        self.shape_embedding = nn.Embedding(SHAPE_COUNT, config.shape_dim)
        features = hidden + config.shape_dim
        self.dropout = nn.Dropout(config.dropout)
        self.entity_head = nn.Linear(features, len(ENTITY_TAGS))
        self.trigger_head = nn.Linear(features, len(TRIGGER_TAGS))
        self.label_embedding = nn.Embedding(len(SPAN_LABELS), config.label_dim)
        self.distance_embedding = nn.Embedding(len(DISTANCE_BUCKETS) + 1, config.label_dim)
        span_features = 2 * features + config.label_dim
        self.relation_head = nn.Sequential(
            nn.Linear(2 * span_features + config.label_dim, config.relation_hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.relation_hidden, len(RELATION_CLASSES)),
        )
        self.register_buffer("allowed_relations", allowed_relation_matrix(), persistent=False)
        self.register_buffer("distance_edges", torch.tensor(DISTANCE_BUCKETS), persistent=False)

    def features(self, batch: Batch) -> torch.Tensor:
        states = self.encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        return self.dropout(torch.cat([states, self.shape_embedding(batch.shapes)], dim=-1))

    def relation_logits(self, features: torch.Tensor, pairs: PairBatch) -> torch.Tensor:
        rows = pairs.batch_index

        def span_vector(bounds, labels):
            return torch.cat([features[rows, bounds[:, 0]], features[rows, bounds[:, 1]],
                              self.label_embedding(labels)], dim=-1)

        distance = self.distance_embedding(torch.bucketize(pairs.distance.contiguous(), self.distance_edges))
        pair = torch.cat([span_vector(pairs.head_bounds, pairs.head_labels),
                          span_vector(pairs.tail_bounds, pairs.tail_labels), distance], dim=-1)
        logits = self.relation_head(pair)
        allowed = self.allowed_relations[pairs.head_labels, pairs.tail_labels]
        return logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)

    def forward(self, batch: Batch) -> Logits:
        features = self.features(batch)
        return Logits(entity=self.entity_head(features), trigger=self.trigger_head(features),
                      relation=self.relation_logits(features, batch.pairs) if len(batch.pairs) else None)

    def tag_probabilities(self, batch: Batch) -> TagProbabilities:
        """Inference, first pass: entity and trigger tag probabilities of every position, and the features."""
        features = self.features(batch)
        return TagProbabilities(features=features, entity=self.entity_head(features).softmax(-1).float(),
                                trigger=self.trigger_head(features).softmax(-1).float())

    def relation_probabilities(self, features: torch.Tensor, pairs: PairBatch) -> torch.Tensor:
        """Inference, second pass: [pairs, len(RELATION_CLASSES)] probabilities from the tag pass's features."""
        return self.relation_logits(features, pairs).softmax(-1).float()

    def losses(self, batch: Batch, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> dict[str, torch.Tensor]:
        """Per-layer losses. Positions and pairs a document does not annotate carry IGNORE_INDEX, so a layer
        missing from every document of the batch contributes exactly zero (and no gradient)."""
        logits = self(batch)
        losses = {
            "entity": _masked_cross_entropy(logits.entity, batch.entity_tags),
            "trigger": _masked_cross_entropy(logits.trigger, batch.trigger_tags),
            "relation": (_masked_cross_entropy(logits.relation, batch.pairs.targets)
                         if logits.relation is not None else logits.entity.sum() * 0.0),
        }
        losses["total"] = (weights[0] * losses["entity"] + weights[1] * losses["trigger"]
                           + weights[2] * losses["relation"])
        return losses


def _masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = logits.reshape(-1, logits.shape[-1])
    targets = targets.reshape(-1)
    if not (targets != IGNORE_INDEX).any():
        return logits.sum() * 0.0  # keeps the graph; zero loss and zero gradient
    return nn.functional.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX)


def build_model(config: ModelConfig) -> tuple[ExtractionModel, object]:
    """A fresh model on the configured pretrained encoder, and its tokenizer (offline: local files only)."""
    source = resolve_encoder(config.encoder)
    tokenizer = AutoTokenizer.from_pretrained(source)
    # .float(): a checkpoint stored in half precision would otherwise be fine-tuned in half precision
    encoder = AutoModel.from_pretrained(source, add_pooling_layer=False).float()
    return ExtractionModel(encoder, config), tokenizer


def save_model(model: ExtractionModel, tokenizer, folder: Path, metadata: dict) -> None:
    """Write a complete model folder (callers make it atomic by writing to a temporary folder first)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    model.encoder.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> tuple[ExtractionModel, object, dict]:
    """Load a saved model folder: (model in eval mode, tokenizer, metadata)."""
    folder = Path(folder)
    metadata_path = folder / METADATA_FILE
    if not metadata_path.is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"{folder} is not a conflict_ie model folder (missing {METADATA_FILE} or {WEIGHTS_FILE})")
    metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    model_config = ModelConfig(**metadata["config"]["model"])
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder), add_pooling_layer=False)
    model = ExtractionModel(encoder, model_config)
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return model.to(device).eval(), tokenizer, metadata
