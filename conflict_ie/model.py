"""One encoder with three heads: entity tags, incident-trigger tags, and relations between span pairs.

Design: a pipeline on a shared encoder. Entities and triggers are two independent BIO taggers (so a corpus that
annotates only entities trains only the entity tagger); relations are scored for pairs of spans (gold spans in
training, predicted spans at inference) from the encoder states at the spans' first and last tokens plus an
embedding of each span's label and of their distance. Relation types the schema forbids for a pair of span labels
(say, a "killed_count" from a trigger to a Person) are masked out of the softmax, so the head never spends
capacity on them. The encoder is uncased, so a small word-shape embedding read from the original text is added
to its output before every head.

A saved model is a folder: ``model.safetensors`` (all weights), the encoder's ``config.json`` and tokenizer files,
and ``conflict_ie.json`` (format version, schema, resolved config, data hashes, seed, library versions, training
curves). Loading builds the encoder from its config and reads safetensors: no pickled code is ever executed and no
``auto_map`` code is imported (``trust_remote_code=False``). It checks the folder before any prediction: every file
there and readable, the tokenizer's vocabulary the size the encoder embeds, every weight present with the shape the
config builds, the recorded labels those of this schema; a folder that fails is a ModelFolderError naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer

from .config import ConfigError, ModelConfig, check_device, model_config_from_dict, resolve_encoder
from .encoding import (ENTITY_TAGS, IGNORE_INDEX, NO_RELATION, RELATION_CLASSES, ROLE_FILLER_TAGS, SHAPE_COUNT,
                       SPAN_LABELS, TRIGGER_TAGS, Batch, PairBatch)
from .schema import ENTITY_LABELS, LAYERS, RELATION_LABELS, ROLE_FILLER_LABELS, TRIGGER_LABELS, relation_problem

METADATA_FILE = "conflict_ie.json"
WEIGHTS_FILE = "model.safetensors"
ENCODER_CONFIG_FILE = "config.json"
# The version of the folder layout and metadata, recorded as "format_version" in conflict_ie.json. Folders written
# before it was recorded are version 1, the layout this code writes and reads.
FORMAT_VERSION = 1
# A tokenizer reads its vocabulary from one of these; without any it silently falls back to its special tokens.
TOKENIZER_VOCABULARY_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                              "tokenizer.model")
# Relation pairs scored at a time at inference: their [pairs, hidden] rows fit in a core's cache.
PAIR_CHUNK = 4096
DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


@dataclass
class Logits:
    """Training outputs: tag logits per batch position, relation logits per candidate pair (None without pairs)."""

    entity: torch.Tensor  # [windows, positions, len(ENTITY_TAGS)]
    trigger: torch.Tensor  # [windows, positions, len(TRIGGER_TAGS)]
    role: torch.Tensor  # [windows, positions, len(ROLE_FILLER_TAGS)]
    relation: torch.Tensor | None  # [pairs, len(RELATION_CLASSES)]


@dataclass
class TagProbabilities:
    """Inference outputs of the tag pass, in float32. ``features`` are the per-position states the relation pass
    scores pairs from, so relations need no second encoder pass."""

    features: torch.Tensor  # [windows, positions, features]
    entity: torch.Tensor  # [windows, positions, len(ENTITY_TAGS)]
    trigger: torch.Tensor  # [windows, positions, len(TRIGGER_TAGS)]
    role: torch.Tensor  # [windows, positions, len(ROLE_FILLER_TAGS)]


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
        self.role_head = nn.Linear(features, len(ROLE_FILLER_TAGS))
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
                      role=self.role_head(features),
                      relation=self.relation_logits(features, batch.pairs) if len(batch.pairs) else None)

    def tag_probabilities(self, batch: Batch) -> TagProbabilities:
        """Inference, first pass: entity, trigger and role-filler tag probabilities of every position, and the
        features."""
        features = self.features(batch)
        return TagProbabilities(features=features, entity=self.entity_head(features).softmax(-1).float(),
                                trigger=self.trigger_head(features).softmax(-1).float(),
                                role=self.role_head(features).softmax(-1).float())

    def relation_probabilities(self, features: torch.Tensor, pairs: PairBatch) -> torch.Tensor:
        """Inference, second pass: [pairs, len(RELATION_CLASSES)] probabilities from the tag pass's features."""
        return self.relation_logits(features, pairs).softmax(-1).float()

    def span_vectors(self, first: torch.Tensor, last: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Inference: [spans, span features] from the feature rows of each span's first and last token and its
        label id, the vectors ``relation_logits`` builds for each end of a pair."""
        return torch.cat([first, last, self.label_embedding(labels)], dim=-1)

    def pair_probabilities(self, spans: torch.Tensor, labels: torch.Tensor, head: torch.Tensor, tail: torch.Tensor,
                           distance: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Inference: [pairs, len(RELATION_CLASSES)] probabilities for pairs (``head``, ``tail``: row indices into
        ``spans``, from ``span_vectors``), as ``relation_probabilities`` gives them up to float rounding. The
        first layer is linear in the concatenated [head; tail; distance] input, so its three parts are applied
        once per span and once per distance bucket and summed per pair: a pair costs an addition instead of a
        product with the whole input (pairs grow with the square of the spans in a window). The per-pair part
        runs ``PAIR_CHUNK`` pairs at a time, so its [pairs, hidden] rows stay in the CPU's cache from the sums to
        the output layer (twice as fast on the dev set as one pass over all pairs, with the same result). With
        ``dtype`` (torch.bfloat16, for the torch-bf16 backend) the per-pair part runs in that type."""
        first, last = self.relation_head[0], self.relation_head[3]
        width = spans.shape[-1]
        dtype = dtype or spans.dtype
        as_head = (spans @ first.weight[:, :width].T).to(dtype)
        as_tail = (spans @ first.weight[:, width:2 * width].T).to(dtype)
        by_bucket = (self.distance_embedding.weight @ first.weight[:, 2 * width:].T + first.bias).to(dtype)
        bucket = torch.bucketize(distance.contiguous(), self.distance_edges)
        out_weight, out_bias = last.weight.to(dtype), last.bias.to(dtype)
        allowed = self.allowed_relations[labels[head], labels[tail]]
        probs = torch.empty((len(head), len(RELATION_CLASSES)), device=spans.device)
        for start in range(0, len(head), PAIR_CHUNK):
            end = start + PAIR_CHUNK
            hidden = as_head.index_select(0, head[start:end])  # index_select and in-place sums: no extra copies
            hidden += as_tail.index_select(0, tail[start:end])
            hidden += by_bucket.index_select(0, bucket[start:end])
            logits = nn.functional.linear(self.relation_head[1](hidden), out_weight, out_bias).float()
            probs[start:end] = logits.masked_fill(~allowed[start:end], torch.finfo(torch.float32).min).softmax(-1)
        return probs

    def losses(self, batch: Batch, weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
               ) -> dict[str, torch.Tensor]:
        """Per-layer losses. Positions and pairs a document does not annotate carry IGNORE_INDEX, so a layer
        missing from every document of the batch contributes exactly zero (and no gradient)."""
        logits = self(batch)
        losses = {
            "entity": _masked_cross_entropy(logits.entity, batch.entity_tags),
            "trigger": _masked_cross_entropy(logits.trigger, batch.trigger_tags),
            "role": _masked_cross_entropy(logits.role, batch.role_tags),
            "relation": (_masked_cross_entropy(logits.relation, batch.pairs.targets)
                         if logits.relation is not None else logits.entity.sum() * 0.0),
        }
        losses["total"] = (weights[0] * losses["entity"] + weights[1] * losses["trigger"]
                           + weights[2] * losses["relation"] + weights[3] * losses["role"])
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
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, local_files_only=True)
    # .float(): a checkpoint stored in half precision would otherwise be fine-tuned in half precision
    encoder = AutoModel.from_pretrained(source, add_pooling_layer=False, trust_remote_code=False,
                                        local_files_only=True).float()
    return ExtractionModel(encoder, config), tokenizer


def save_model(model: ExtractionModel, tokenizer, folder: Path, metadata: dict) -> None:
    """Write a complete model folder (callers make it atomic by writing to a temporary folder first)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    model.encoder.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    metadata = {"format_version": FORMAT_VERSION, **metadata, "tokenizer_size": len(tokenizer)}
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class ModelFolderError(ValueError):
    """A model folder that cannot be used as it is: a file missing, unreadable, or not matching the others. The
    message names the folder and the file; ``folder`` and ``file`` hold them."""

    def __init__(self, folder: Path, file: str, problem: str):
        self.folder, self.file = Path(folder), file
        super().__init__(f"model folder {folder}: {file} {problem}")


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> tuple[ExtractionModel, object, dict]:
    """Load a saved model folder: (model in eval mode, tokenizer, metadata). A folder that is not complete and
    consistent is refused with a ModelFolderError naming the file, before anything predicts with it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no model folder at {folder}")
    for name in (METADATA_FILE, WEIGHTS_FILE, ENCODER_CONFIG_FILE):
        if not (folder / name).is_file():
            raise ModelFolderError(folder, name, "is missing: this is not a complete conflict_ie model folder")
    metadata = read_metadata(folder)
    model_config = check_metadata(folder, metadata)
    encoder_config = _load_part(folder, ENCODER_CONFIG_FILE, lambda: AutoConfig.from_pretrained(
        folder, trust_remote_code=False, local_files_only=True))
    tokenizer = load_tokenizer(folder, encoder_config, metadata)
    encoder = _load_part(folder, ENCODER_CONFIG_FILE, lambda: AutoModel.from_config(
        encoder_config, add_pooling_layer=False, trust_remote_code=False))
    model = ExtractionModel(encoder, model_config)
    # a model from before the role-filler layer has no role head: it loads, and that layer stays untrained
    untrained_role_head = "role_fillers" not in metadata.get("layers", LAYERS)
    load_weights(model, folder, optional=("role_head.",) if untrained_role_head else ())
    return model.to(device).eval(), tokenizer, metadata


def read_metadata(folder: Path) -> dict:
    """conflict_ie.json as a dict, or a ModelFolderError saying what is wrong with the file."""
    path = folder / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ModelFolderError(folder, METADATA_FILE, f"is not UTF-8 text (byte {error.start})") from error
    except json.JSONDecodeError as error:
        raise ModelFolderError(folder, METADATA_FILE, f"is not valid JSON (line {error.lineno}, column "
                                                      f"{error.colno}: {error.msg}); the file is damaged") from error
    if not isinstance(metadata, dict):
        raise ModelFolderError(folder, METADATA_FILE, f"must hold a JSON object, not {type(metadata).__name__}")
    return metadata


def check_metadata(folder: Path, metadata: dict) -> ModelConfig:
    """Check the metadata's format version, recorded labels and layers against this code; the model config."""
    version = metadata.get("format_version", 1)  # folders from before the version was recorded are version 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFolderError(folder, METADATA_FILE, f"has format_version {version!r}; expected an integer from 1")
    if version > FORMAT_VERSION:
        raise ModelFolderError(folder, METADATA_FILE, f"has format_version {version}, written by a newer "
                               f"conflict_ie (this one reads up to {FORMAT_VERSION}); upgrade conflict_ie")
    schema = metadata.get("schema")  # absent in hand-made folders: the head shapes are still checked
    if schema is not None:
        if not isinstance(schema, Mapping):
            raise ModelFolderError(folder, METADATA_FILE, f"has schema {schema!r}; expected an object of label lists")
        for key, labels in (("entities", ENTITY_LABELS), ("triggers", TRIGGER_LABELS),
                            ("relations", RELATION_LABELS), ("role_fillers", ROLE_FILLER_LABELS)):
            recorded = schema.get(key)
            if recorded is not None and list(recorded) != list(labels):
                unknown = [label for label in recorded if label not in labels]
                lacking = [label for label in labels if label not in recorded]
                detail = "; ".join(([f"labels unknown here: {unknown}"] if unknown else [])
                                   + ([f"labels it lacks: {lacking}"] if lacking else [])) or "labels in another order"
                raise ModelFolderError(folder, METADATA_FILE, f"records schema.{key} other than this conflict_ie's "
                                       f"({detail}): the model's outputs would be read as the wrong labels; "
                                       "retrain it with this version")
    layers = metadata.get("layers", list(LAYERS))
    if not isinstance(layers, list) or any(layer not in LAYERS for layer in layers):
        raise ModelFolderError(folder, METADATA_FILE, f"has layers {layers!r}; expected a list of {list(LAYERS)}")
    section = metadata.get("config")
    if not isinstance(section, Mapping) or "model" not in section:
        raise ModelFolderError(folder, METADATA_FILE, "has no config.model section (the model settings)")
    try:
        return model_config_from_dict(section["model"], "config.model")
    except ConfigError as error:
        raise ModelFolderError(folder, METADATA_FILE, f"{error}") from error


def load_tokenizer(folder: Path, encoder_config, metadata: dict):
    """The folder's tokenizer, refused unless its vocabulary file is there and its size is the one the encoder
    embeds (and the one recorded when the model was saved)."""
    if not any((folder / name).is_file() for name in TOKENIZER_VOCABULARY_FILES):
        raise ModelFolderError(folder, TOKENIZER_VOCABULARY_FILES[0], "is missing (and no other vocabulary file: "
                               f"{', '.join(TOKENIZER_VOCABULARY_FILES[1:])}): without it the tokenizer would "
                               "know only its special tokens")
    tokenizer = _load_part(folder, "tokenizer_config.json", lambda: AutoTokenizer.from_pretrained(
        folder, trust_remote_code=False, local_files_only=True))
    size, vocab_size = len(tokenizer), getattr(encoder_config, "vocab_size", None)
    recorded = metadata.get("tokenizer_size")
    vocabulary = next(name for name in TOKENIZER_VOCABULARY_FILES if (folder / name).is_file())
    if recorded is not None and size != recorded:
        raise ModelFolderError(folder, vocabulary, f"gives a tokenizer of {size} tokens; the model was trained with "
                               f"{recorded} ({METADATA_FILE} tokenizer_size): the tokenizer files were replaced")
    if vocab_size is not None and (size > vocab_size or (recorded is None and size != vocab_size)):
        raise ModelFolderError(folder, vocabulary, f"gives a tokenizer of {size} tokens but {ENCODER_CONFIG_FILE} "
                               f"has vocab_size {vocab_size}: the tokenizer does not belong to this encoder")
    return tokenizer


def load_weights(model: ExtractionModel, folder: Path, optional: tuple[str, ...] = ()) -> None:
    """Load model.safetensors into ``model`` (strict, except that weights whose names start with one of
    ``optional`` may be missing and keep their initial values), refusing a damaged file or one whose weights are
    not the ones this model has: missing, unexpected and mis-shaped keys are listed."""
    path = folder / WEIGHTS_FILE
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ModelFolderError(folder, WEIGHTS_FILE, f"cannot be read ({error}): the file is damaged or truncated; "
                               "copy or train the model again") from error
    expected = model.state_dict()
    missing = sorted(name for name in set(expected) - set(state) if not name.startswith(optional or ("\0",)))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [f"{name} {tuple(state[name].shape)} (expected {tuple(tensor.shape)})"
                 for name, tensor in expected.items() if name in state and state[name].shape != tensor.shape]
    problems = [f"{label} {_listing(items)}" for label, items in (("missing", missing), ("unexpected", unexpected),
                                                                   ("wrong shape", misshaped)) if items]
    if problems:
        raise ModelFolderError(folder, WEIGHTS_FILE, "does not fit the model that config.json and "
                               f"{METADATA_FILE} describe: " + "; ".join(problems))
    model.load_state_dict(state, strict=not optional)


def _listing(items: list[str], limit: int = 6) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"({len(items)}): " + ", ".join(items[:limit]) + more


def _load_part(folder: Path, file: str, load):
    """Run a transformers loader, turning its errors (a missing or unparsable file, code it refuses to import)
    into a ModelFolderError naming the file."""
    try:
        return load()
    except (OSError, ValueError, KeyError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFolderError(folder, file, f"cannot be loaded: {first_line}") from error
