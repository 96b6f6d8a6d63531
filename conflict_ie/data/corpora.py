"""Reading the configured corpora and the committed document-level split file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, CorpusConfig, portable_path, resolve_path
from .document import Document, LoadReport

SPLITS = ("train", "dev", "test")


@dataclass
class Corpus:
    config: CorpusConfig
    documents: list[Document]
    report: LoadReport
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_corpus(config: Config, corpus: CorpusConfig) -> Corpus:
    path = resolve_path(config, corpus.path)
    report = LoadReport(source=f"{corpus.name} ({path})")
    if not path.exists():
        raise FileNotFoundError(
            f"corpus {corpus.name!r}: {path} does not exist. Public corpora are read from the data root "
            f"(data.data_root, $CONFLICT_IE_DATA or ../shared/data); see README 'Corpora'.")
    if corpus.kind == "label_studio":
        from .label_studio_export import load_label_studio

        documents = load_label_studio(path, report)
        files = [path]
    elif corpus.kind == "re3d":
        from .re3d import load_re3d

        documents = load_re3d(path, report)
        files = sorted(path.glob("*/*.json"))
    elif corpus.kind == "conll":
        from .conll import load_conll

        documents = load_conll(path, report)
        files = [path]
    else:
        raise ValueError(f"corpus {corpus.name!r}: unknown kind {corpus.kind!r} (label_studio, re3d, conll)")
    return Corpus(corpus, documents, report, {portable_path(config, f): sha256_of(f) for f in files})


def load_splits(config: Config) -> dict[str, set[str]]:
    path = resolve_path(config, config.data.splits_file)
    raw = json.loads(path.read_text(encoding="utf-8"))
    unknown = set(raw) - set(SPLITS)
    if unknown:
        raise ValueError(f"{path}: unknown split names {sorted(unknown)}; expected {SPLITS}")
    splits = {name: set(raw.get(name, [])) for name in SPLITS}
    for a in SPLITS:
        for b in SPLITS:
            if a < b and splits[a] & splits[b]:
                raise ValueError(f"{path}: documents in both {a} and {b}: {sorted(splits[a] & splits[b])[:5]}")
    return splits


def split_documents(corpora: list[Corpus], splits: dict[str, set[str]]) -> dict[str, list[tuple[Corpus, Document]]]:
    """Documents per split. A document the split file does not list goes to train and is reported."""
    result: dict[str, list[tuple[Corpus, Document]]] = {name: [] for name in SPLITS}
    for corpus in corpora:
        for document in corpus.documents:
            name = next((s for s in SPLITS if document.id in splits[s]), None)
            if name is None:
                corpus.report.notes.append(f"{document.id} is not in the split file: used for training")
                name = "train"
            result[name].append((corpus, document))
    return result
