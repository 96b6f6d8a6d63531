"""Reading annotations of every format (the configured corpora, or one file or folder named on the command line)
and the committed document-level split file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, CorpusConfig, portable_path, resolve_path
from .document import Document, LoadReport

SPLITS = ("train", "dev", "test")
KINDS = ("label_studio", "re3d", "conll", "muc4")
FORMATS = ("a Label Studio export (.json), a re3d folder (source folders each holding documents.json), a MUC-4 "
           "folder (holding processed/train.json) or a CoNLL/BIO file (.conll, .bio, .tsv, .txt)")


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
    if corpus.kind not in KINDS:
        raise ValueError(f"corpus {corpus.name!r}: unknown kind {corpus.kind!r} ({', '.join(KINDS)})")
    if corpus.incidents and corpus.kind != "re3d":
        raise ValueError(f"corpus {corpus.name!r}: 'incidents' joins incident layers onto re3d documents only, "
                         f"not onto kind {corpus.kind!r}")
    documents, files = load_documents(corpus.kind, path, report)
    if corpus.incidents:
        from .re3d_incidents import join_incident_layers

        folder = resolve_path(config, corpus.incidents)
        documents = join_incident_layers(documents, folder)
        joined = sum(1 for d in documents if "incident_layers" in d.meta)
        report.notes.append(f"{joined} of {len(documents)} documents carry incident layers from {folder}")
        files += sorted(folder.glob("*.json"))
    return Corpus(corpus, documents, report, {portable_path(config, f): sha256_of(f) for f in files})


def load_documents(kind: str, path: Path, report: LoadReport, *,
                   strict: bool = True) -> tuple[list[Document], list[Path]]:
    """The documents of one annotation file or folder of a known kind, and the files read (for hashes).
    ``strict=False`` lets a CoNLL file's bad sentences be left out and recorded in ``report.errors`` instead of
    raising (a Label Studio loader always leaves bad items out and records them there)."""
    if kind == "label_studio":
        from .label_studio_export import load_label_studio

        return load_label_studio(path, report), [path]
    if kind == "re3d":
        from .re3d import load_re3d

        return load_re3d(path, report), sorted(path.glob("*/*.json"))
    if kind == "conll":
        from .conll import load_conll

        return load_conll(path, report, strict), [path]
    if kind == "muc4":
        from .muc4 import load_muc4, muc4_files

        return load_muc4(path, report), muc4_files(path)
    raise ValueError(f"{path}: unknown kind {kind!r} ({', '.join(KINDS)})")


def annotation_kind(path: str | Path) -> str:
    """The format of an annotation path, from the path: a folder of re3d source folders, a MUC-4 folder (holding
    processed/train.json), a .json Label Studio export or a CoNLL/BIO file. Anything else raises, naming the path
    and the formats read."""
    from .conll import SUFFIXES

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder; expected {FORMATS}")
    if path.is_dir():
        if (path / "processed" / "train.json").is_file():
            return "muc4"
        if any(folder.is_dir() and (folder / "documents.json").is_file() for folder in path.iterdir()):
            return "re3d"
        raise ValueError(f"{path}: a folder without re3d source folders (each holding documents.json) or "
                         f"processed/train.json (MUC-4); expected {FORMATS}")
    if path.suffix.lower() == ".json":
        return "label_studio"
    if path.suffix.lower() in SUFFIXES:
        return "conll"
    raise ValueError(f"{path}: unknown annotation format {path.suffix or '(no suffix)'!r}; expected {FORMATS}")


def load_annotations(path: str | Path) -> tuple[list[Document], LoadReport, list[Path]]:
    """Documents of any annotation file or folder the loaders read (format from the path), the load report
    (with ``errors``: what was left out for annotation errors) and the files read."""
    path = Path(path)
    kind = annotation_kind(path)
    report = LoadReport(source=str(path))
    documents, files = load_documents(kind, path, report, strict=False)
    return documents, report, files


def dropped_items(reports: list[LoadReport], *, allow_dropped: bool, flag: str = "--allow-dropped",
                  what: str = "scoring") -> dict:
    """What the loaders left out for annotation errors, as a ``dropped`` entry for metrics: {"count", "files",
    "problems" (the first 20)}. Raises ValueError naming each file, its count and its first problems unless
    ``allow_dropped``; when allowed and something was dropped, says so loudly on standard error."""
    import sys

    bad = [r for r in reports if r.errors]
    count = sum(len(r.errors) for r in bad)
    entry = {"count": count, "files": {r.source: len(r.errors) for r in bad},
             "problems": [e for r in bad for e in r.errors][:20]}
    if not count:
        return entry
    lines = []
    for r in bad:
        lines.append(f"{r.source}: {len(r.errors)} annotation error{'s' if len(r.errors) != 1 else ''}, each "
                     "leaving out what it names; the first:")
        lines += [f"  {e}" for e in r.errors[:5]]
    if not allow_dropped:
        raise ValueError("\n".join(lines) + f"\nrefusing {what} without them: fix the file (conflict-ie validate "
                         f"lists every problem) or pass {flag} to go on without those items")
    print("\n".join([f"WARNING: {count} annotated item{'s' if count != 1 else ''} DROPPED for annotation errors "
                     f"({flag}); {what} goes on without them:"] + lines), file=sys.stderr)
    return entry


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
    """Documents per split. A document the split file does not list goes to the split its corpus gives it
    (``meta["split"]``: MUC-4 comes split), else to train, and is reported."""
    result: dict[str, list[tuple[Corpus, Document]]] = {name: [] for name in SPLITS}
    for corpus in corpora:
        for document in corpus.documents:
            name = next((s for s in SPLITS if document.id in splits[s]), document.meta.get("split"))
            if name not in SPLITS:
                corpus.report.notes.append(f"{document.id} is not in the split file: used for training")
                name = "train"
            result[name].append((corpus, document))
    return result
