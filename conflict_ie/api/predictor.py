"""The Python API: load a trained model folder once, then turn articles into incident records.

    from conflict_ie import Predictor
    predictor = Predictor.load()                    # the default model, or Predictor.load("path/to/model")
    results = predictor.predict([article_1, article_2], publication_dates=["2019-06-30", None])
    results[0].incidents[0].fatalities[0].minimum   # 40

One result per input text, in input order; every span is a character offset into the caller's string.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from ..inference import InferenceRunner
from ..incidents.assembly import assemble, joined_abutting_triggers, typed_by_incident
from ..model import load_model, resolve_device
from ..records import ArticleResult
from ..schema import LAYERS

MODEL_ENV = "CONFLICT_IE_MODEL"
WORKING_DIR_MODEL = Path("runs") / "default" / "model"  # what `make main` writes, under the working directory
TRAIN_COMMAND = "make main   (or: python training/train.py configs/default.yaml)"


def user_model_dir() -> Path:
    """The default model's place in the user's data folder: $XDG_DATA_HOME/conflict-ie/models/default."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "conflict-ie" / "models" / "default"


def default_model_dir() -> Path:
    """The default model folder: $CONFLICT_IE_MODEL when set; else runs/default/model under the working directory
    (what `make main` writes) when it exists; else the user data folder (``user_model_dir``). Never a place
    relative to the installed package. FileNotFoundError, naming every place looked, when there is none."""
    configured = os.environ.get(MODEL_ENV)
    if configured:
        if not Path(configured).is_dir():
            raise FileNotFoundError(f"no model folder at {configured} (set by ${MODEL_ENV}); point ${MODEL_ENV} "
                                    "at a trained model folder, or unset it to use the default model")
        return Path(configured)
    places = [Path.cwd() / WORKING_DIR_MODEL, user_model_dir()]
    for place in places:
        if place.is_dir():
            return place
    raise FileNotFoundError(
        "no default model: looked at $" + MODEL_ENV + " (not set), " + " and ".join(map(str, places))
        + f". Train it from the repository folder with {TRAIN_COMMAND} and run from there, or point at a model "
        f"folder: Predictor.load(PATH), --model PATH, or ${MODEL_ENV}=PATH (copying a model to {places[-1]} "
        "makes it the default everywhere)")


class Predictor:
    def __init__(self, model, tokenizer, metadata: dict, batch_size: int = 16, tagger=None, backend: str = "torch"):
        self.model = model
        self.tokenizer = tokenizer
        self.metadata = metadata
        self.backend = backend
        # models from before layers were recorded learnt all three
        self.layers = tuple(layer for layer in LAYERS if layer in metadata.get("layers", LAYERS))
        self.untrained_layers = tuple(layer for layer in LAYERS if layer not in self.layers)
        self.runner = InferenceRunner(model, tokenizer, batch_size=batch_size, layers=self.layers, tagger=tagger)

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "auto", batch_size: int = 16, *,
             backend: str = "torch", num_threads: int | None = None) -> "Predictor":
        """Load a model folder, checked before use (``load_model``). Without a path, the default model:
        $CONFLICT_IE_MODEL, else runs/default/model under the working directory, else the user data folder.

        ``backend``: "torch" (default, float32), "torch-bf16" (the same weights with bfloat16 matrix products: about
        twice as fast on CPUs with AMX or AVX512-BF16, within 0.01 dev F1 of torch), "onnx" (the float32 graph) or
        "onnx-int8" (its int8 quantisation), both written by ``conflict-ie export-onnx``; the ONNX backends run on
        the CPU. ``num_threads``: intra-op threads of the tag pass (default: torch's current setting; for the torch
        backends it sets ``torch.set_num_threads``)."""
        from ..backends import BACKENDS, load_tagger

        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
        folder = Path(path) if path is not None else default_model_dir()
        if not folder.is_dir():
            raise FileNotFoundError(f"no trained model at {folder}. Train the default model first: {TRAIN_COMMAND}; "
                                    f"or give the path of a trained model folder")
        on_torch = backend.startswith("torch")
        if num_threads and on_torch:
            torch.set_num_threads(num_threads)
        model, tokenizer, metadata = load_model(folder, resolve_device(device) if on_torch else "cpu")
        tagger = load_tagger(backend, model, folder, num_threads or torch.get_num_threads())
        if not on_torch:
            model.encoder = None  # the graph holds the encoder; relation scoring needs only the heads
        return cls(model, tokenizer, metadata, batch_size, tagger, backend)

    @property
    def model_version(self) -> str:
        training = self.metadata.get("training", {})
        return f"conflict_ie-{self.metadata.get('library_versions', {}).get('conflict_ie', '?')}-step{training.get('best_step', self.metadata.get('step', 0))}"

    def predict(self, texts: Sequence[str], publication_dates: Sequence[str | dt.date | None] | None = None,
                progress: bool = False) -> list[ArticleResult]:
        """One ArticleResult per text, in order. ``publication_dates`` (ISO strings or dates, one per text)
        let relative dates ("on Saturday") resolve to ISO values."""
        texts = _check_texts(texts)
        dates = _check_dates(publication_dates, len(texts))
        decoded = self.runner.run(list(texts), progress=progress)
        results = []
        for text, result, date in zip(texts, decoded, dates):
            triggers, relations = joined_abutting_triggers(text, result.triggers, result.relations)
            incidents = assemble(text, result.entities, triggers, relations, date, role_fillers=result.role_fillers)
            triggers, relations = typed_by_incident(triggers, relations, incidents)
            results.append(ArticleResult(result.entities, triggers, relations, incidents,
                                         self.untrained_layers, result.role_fillers))
        return results

    def predict_article(self, text: str, publication_date: str | dt.date | None = None) -> ArticleResult:
        """The result for one article."""
        return self.predict([text], [publication_date])[0]


def _check_texts(texts) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("predict() takes a list of texts; for one article use predict_article(text)")
    if not isinstance(texts, Sequence):
        raise TypeError(f"predict() takes a list of texts, got {type(texts).__name__}")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {index} is {type(text).__name__}, expected str")
        surrogate = _LONE_SURROGATE.search(text)
        if surrogate:
            raise ValueError(f"text {index} holds a lone surrogate U+{ord(surrogate.group()):04X} at character "
                             f"offset {surrogate.start()}: it is not valid Unicode (bytes decoded with "
                             f"errors='surrogateescape' or broken UTF-16); decode it with errors='replace' first")
    return list(texts)


# Half of a UTF-16 surrogate pair on its own: no Unicode character, and no tokenizer can encode it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_dates(dates, count: int) -> list[dt.date | None]:
    if dates is None:
        return [None] * count
    if isinstance(dates, (str, dt.date)) or len(dates) != count:
        raise TypeError(f"publication_dates must be a list with one entry per text ({count})")
    parsed = []
    for index, value in enumerate(dates):
        if value is None or isinstance(value, dt.date):
            parsed.append(value)
        elif isinstance(value, str):
            try:
                parsed.append(dt.date.fromisoformat(value[:10]))
            except ValueError as error:
                raise ValueError(f"publication date {index} {value!r} is not an ISO date (YYYY-MM-DD)") from error
        else:
            raise TypeError(f"publication date {index} is {type(value).__name__}, expected str, date or None")
    return parsed


_DEFAULT: dict[str, Predictor] = {}


def predict(texts: Sequence[str], model: str | Path | None = None, **options) -> list[ArticleResult]:
    """Convenience: ``predict([text, ...])`` with a model folder loaded once and cached per path."""
    key = str(Path(model) if model is not None else default_model_dir())
    if key not in _DEFAULT:
        _DEFAULT[key] = Predictor.load(key)
    return _DEFAULT[key].predict(texts, **options)
