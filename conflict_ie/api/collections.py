"""Article collections: JSON lines, Parquet or CSV files (or a ``datasets.Dataset`` already in hand) of articles,
read through Hugging Face ``datasets`` and predicted in shards that a later run can resume.

    from conflict_ie.api.collections import predict_collection
    summary = predict_collection("feed.jsonl", "out/", model="runs/default/model", shard_size=1000)

An article is a row with ``text`` (required), ``id`` (without an ``id`` column, the row number is the id) and an
optional ``publication_date`` (ISO, a date or a timestamp). The input is memory-mapped (``datasets`` writes an
Arrow copy once, in its cache) or, with ``streaming=True``, read as a stream, so a feed larger than memory works.

What a run writes in its output folder, a shard (``shard_size`` articles, in input order) at a time:

    incidents/part-00000.parquet   one row per incident (``outputs.INCIDENT_ROW_COLUMNS``)
    errors/part-00000.parquet      one row per article that failed: its id, row, file and the reason
    details/part-00000.parquet     entities, triggers, role fillers, relations (``details=True`` only)
    manifest.json                  what was run (input, model, shard size, formats) and every finished shard

Each part file is written beside its target and renamed into place, then the shard is added to the manifest, so a
killed run leaves only whole files. ``resume=True`` skips the shards the manifest lists (a memory-mapped input
is not even read for them) and refuses when the input, model or settings differ from the manifest's.

A bad article (no text, undecodable bytes, a lone surrogate, longer than ``max_chars``, a publication date that is
not ISO, or a text the model fails on) is an error row for that article alone; the others are predicted. Nothing
is dropped silently: the summary counts articles, incidents and errors, and the errors file names each one.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_file, write_text_atomic
from .inputs import InputError, decode_article
from .outputs import DETAIL_ROW_COLUMNS, INCIDENT_ROW_COLUMNS, detail_rows, incident_rows

INPUT_FORMATS = ("jsonl", "parquet", "csv")
OUTPUT_FORMATS = ("parquet", "jsonl")
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".csv": "csv"}
DATASETS_BUILDER = {"jsonl": "json", "parquet": "parquet", "csv": "csv"}
# Longer articles are refused as errors, not predicted: one 50 MB text would hold a worker for an hour. The README's
# length curve gives the time per character; raise the limit (--max-chars) to predict longer ones.
DEFAULT_MAX_CHARS = 1_000_000
DEFAULT_SHARD_SIZE = 1000
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
ERROR_ROW_COLUMNS: dict[str, str] = {"article_id": "string", "row": "int64", "source": "string",
                                     "stage": "string", "error": "string"}
# the settings a resumed run must share with the run it continues
IDENTITY_KEYS = ("input", "input_format", "shard_size", "output_format", "details", "max_chars", "model",
                 "model_version", "backend")


class ArticleError(ValueError):
    """One article that cannot be predicted; the message names its row, file and id."""


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    publication_date: dt.date | None
    row: int | None = None
    source: str = ""


# ------------------------------------------------------------------------------------------------ reading articles

def format_of(path: str | Path) -> str:
    """The input format of a file, or of a folder's files, from their suffixes."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES) if path.is_dir() else [path]
    kinds = {SUFFIXES.get(p.suffix.lower()) for p in files}
    if len(kinds) != 1 or None in kinds:
        found = ", ".join(sorted({p.suffix or "(no suffix)" for p in files})) or "no files"
        raise InputError(f"{path}: cannot tell the input format from the suffix ({found}); name it with "
                         f"--input-format {{{','.join(INPUT_FORMATS)}}}")
    return kinds.pop()


def data_files(source: str | Path, input_format: str) -> list[str]:
    """The files of an input: the file itself, or a folder's files of the format's suffixes, in name order
    (hidden files left out)."""
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if not path.is_dir():
        return [str(path)]
    suffixes = {suffix for suffix, kind in SUFFIXES.items() if kind == input_format}
    files = sorted(str(p) for p in path.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes)
    if not files:
        raise InputError(f"{path}: folder holds no {input_format} files ({', '.join(sorted(suffixes))})")
    return files


def read_collection(source, input_format: str | None = None, *, streaming: bool = False,
                    cache_dir: str | Path | None = None):
    """A ``datasets.Dataset`` (memory-mapped) or, with ``streaming``, a ``datasets.IterableDataset`` of the
    articles of a JSON lines, Parquet or CSV file or folder. A ``Dataset`` or ``IterableDataset`` passes through.
    CSV cells are read as text (an id "007" stays "007"; an empty cell is an empty string)."""
    import datasets

    if isinstance(source, (datasets.Dataset, datasets.IterableDataset)):
        return source
    input_format = input_format or format_of(source)
    if input_format not in INPUT_FORMATS:
        raise InputError(f"unknown input format {input_format!r}; expected one of {', '.join(INPUT_FORMATS)}")
    files = data_files(source, input_format)
    options: dict = {}
    if input_format == "csv":
        options = {"features": _csv_features(files), "keep_default_na": False}
    try:
        dataset = datasets.load_dataset(DATASETS_BUILDER[input_format], data_files=files, split="train",
                                        streaming=streaming, cache_dir=None if cache_dir is None else str(cache_dir),
                                        **options)
    except Exception as error:  # noqa: BLE001 - any parser failure: name the files and the format
        named = files[0] if len(files) == 1 else f"{source} ({len(files)} files)"
        raise InputError(f"{named} cannot be read as {input_format}: {type(error).__name__}: {error}") from None
    columns = dataset.column_names
    if columns is not None and "text" not in columns:
        raise InputError(f"{source}: no 'text' column (columns: {', '.join(columns)}); an article row needs text, "
                         f"and may have id and publication_date")
    return dataset


def _csv_features(files: list[str]):
    """Every column of the CSV files as text (their header lines must agree)."""
    import datasets

    headers = {}
    for file in files:
        with open(file, encoding="utf-8", newline="") as stream:
            headers[file] = tuple(next(csv.reader(stream), ()))
    if len(set(headers.values())) != 1:
        raise InputError("the CSV files have different header lines: "
                         + "; ".join(f"{f}: {','.join(h)}" for f, h in headers.items()))
    return datasets.Features({name: datasets.Value("string") for name in next(iter(headers.values()))})


def check_article(record: dict, row: int | None, source: str, *, has_id: bool = True,
                  max_chars: int = DEFAULT_MAX_CHARS) -> Article:
    """The article of one input row, or ArticleError naming the file, the row and the id."""
    article_id = record.get("id") if has_id else row
    where = f"{source}" + (f" row {row}" if row is not None else "")
    if article_id is None or article_id == "":
        raise ArticleError(f"{where}: no id")
    article_id = str(article_id)
    where += f" (id {article_id!r})"
    text = record.get("text")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = decode_article(bytes(text), f"{where}: the text")
        except InputError as error:
            raise ArticleError(str(error)) from None
    if text is None:
        raise ArticleError(f"{where}: no text")
    if not isinstance(text, str):
        raise ArticleError(f"{where}: the text is {type(text).__name__}, not a string")
    surrogate = next((i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff"), None)
    if surrogate is not None:
        raise ArticleError(f"{where}: a lone surrogate U+{ord(text[surrogate]):04X} at character offset "
                           f"{surrogate}: not valid Unicode")
    if len(text) > max_chars:
        raise ArticleError(f"{where}: {len(text):,} characters, over the limit of {max_chars:,} (--max-chars)")
    return Article(article_id, text, _publication_date(record.get("publication_date"), where), row, source)


def _publication_date(value, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ArticleError(f"{where}: publication_date {value!r} is not an ISO date (YYYY-MM-DD)")


# ------------------------------------------------------------------------------------------------ predicting rows

@dataclass
class RowsOutput:
    """What predicting some input rows gave: the flat incident, error and detail rows, and the article count."""

    articles: int = 0
    incidents: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)


def error_row(article_id, row, source: str, stage: str, message: str) -> dict:
    return {"article_id": None if article_id is None else str(article_id), "row": row, "source": source,
            "stage": stage, "error": message}


def predict_rows(predictor, records: Sequence[dict], rows: Sequence[int | None], sources: Sequence[str], *,
                 has_id: bool = True, max_chars: int = DEFAULT_MAX_CHARS, details: bool = False) -> RowsOutput:
    """Predict input rows (dicts with text, id, publication_date) in one batch: the shared step of the sharded run
    and of each Ray actor. A row that is no valid article, or that the model fails on, becomes an error row; the
    others are predicted as ``Predictor.predict`` predicts them and flattened by ``incident_rows``."""
    out = RowsOutput(articles=len(records))
    articles = []
    for record, row, source in zip(records, rows, sources):
        try:
            articles.append(check_article(record, row, source, has_id=has_id, max_chars=max_chars))
        except ArticleError as error:
            out.errors.append(error_row(record.get("id") if has_id else row, row, source, "input", str(error)))
    for article, result in zip(articles, _predict_guarded(predictor, articles, out.errors)):
        if result is None:
            continue
        out.incidents.extend(incident_rows(article.id, result, article.publication_date))
        if details:
            out.details.extend(detail_rows(article.id, result))
    return out


def _predict_guarded(predictor, articles: list[Article], errors: list[dict]) -> list:
    """Results for the articles in one batch; if the batch fails, article by article, so one article the model
    fails on is an error row (with the exception) and not a lost batch."""
    texts, dates = [a.text for a in articles], [a.publication_date for a in articles]
    try:
        return predictor.predict(texts, publication_dates=dates)
    except Exception:  # noqa: BLE001 - found out below, article by article
        pass
    results = []
    for article in articles:
        try:
            results.append(predictor.predict([article.text], publication_dates=[article.publication_date])[0])
        except Exception as error:  # noqa: BLE001 - recorded for this article, the job goes on
            where = f"{article.source}" + (f" row {article.row}" if article.row is not None else "")
            errors.append(error_row(article.id, article.row, article.source, "predict",
                                    f"{where} (id {article.id!r}): prediction failed: {type(error).__name__}: "
                                    f"{error}"))
            results.append(None)
    return results


# ------------------------------------------------------------------------------------------------ writing rows

def arrow_schema(columns: dict[str, str]):
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
             "list<string>": pa.list_(pa.string())}
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


def rows_table(rows: list[dict], columns: dict[str, str]):
    """A pyarrow Table of rows with the columns' fixed types (so every part file has the same schema)."""
    import pyarrow as pa

    schema = arrow_schema(columns)
    return pa.Table.from_pylist([{name: row.get(name) for name in columns} for row in rows], schema=schema)


def write_rows(path: Path, rows: list[dict], columns: dict[str, str], output_format: str) -> None:
    """One part file, written beside its place and renamed into it."""
    if output_format == "parquet":
        import pyarrow.parquet as pq

        with atomic_file(path) as temporary:
            pq.write_table(rows_table(rows, columns), temporary)
    else:
        write_text_atomic(path, "".join(json.dumps({name: row.get(name) for name in columns}, ensure_ascii=False)
                                        + "\n" for row in rows))


def read_rows(folder: str | Path) -> list[dict]:
    """Every row of a folder of part files (Parquet or JSON lines, in name order), e.g. ``OUT/incidents``."""
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for part in sorted(Path(folder).iterdir()):
        if part.name.startswith("."):
            continue
        if part.suffix == ".parquet":
            rows.extend(pq.read_table(part).to_pylist())
        elif part.suffix in (".jsonl", ".json"):
            with open(part, encoding="utf-8") as stream:
                rows.extend(json.loads(line) for line in stream if line.strip())
    return rows


# ------------------------------------------------------------------------------------------------ the sharded run

@dataclass
class RunSummary:
    """What a collection run holds (counts over every finished shard, an earlier run's included) and what this
    call did; ``lines()`` says it for standard error."""

    out_dir: Path
    articles: int = 0
    incidents: int = 0
    errors: int = 0
    shards_done: int = 0  # by this call
    shards_skipped: int = 0  # finished by an earlier run (resume)
    articles_now: int = 0  # predicted by this call
    seconds: float = 0.0
    first_errors: list[str] = field(default_factory=list)

    @property
    def articles_per_second(self) -> float:
        return self.articles_now / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        lines = [f"{self.articles_now} article(s) in {self.shards_done} shard(s) in {self.seconds:.1f} s "
                 f"({self.articles_per_second:.2f} articles/s)"]
        if self.shards_skipped:
            lines.append(f"{self.shards_skipped} shard(s) finished by an earlier run were skipped (--resume)")
        lines.append(f"{self.out_dir} holds {self.articles} article(s): {self.incidents} incident(s), {self.errors} "
                     f"FAILED article(s)")
        if self.errors:
            lines.append(f"the failed articles are listed in {self.out_dir / 'errors'}; the first:")
            lines += [f"  FAILED {message}" for message in self.first_errors]
        return lines


def input_identity(source) -> dict:
    """What names an input in a manifest: its files with sizes and modification times, or a Dataset's
    fingerprint."""
    import datasets

    if isinstance(source, datasets.Dataset):
        return {"dataset_fingerprint": source._fingerprint, "rows": len(source)}
    if isinstance(source, datasets.IterableDataset):
        return {"iterable_dataset": repr(source.info.description or "")}
    path = Path(source)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    return {"path": str(path.absolute()),
            "files": {p.name: [p.stat().st_size, int(p.stat().st_mtime)] for p in files}}


def open_run(out_dir: Path, identity: dict, resume: bool) -> dict:
    """The manifest of a run in ``out_dir``: a fresh one, or (``resume``) the earlier run's, which must have the
    same identity. Refuses to write into a folder holding another run or other files unless resuming."""
    manifest_path = out_dir / MANIFEST
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise InputError(f"{manifest_path} is not a run manifest: {error}") from None
        if not resume:
            raise InputError(f"{out_dir} holds a run ({MANIFEST}, {len(manifest.get('shards', {}))} shard(s) "
                             f"finished): pass --resume to continue it, or choose another folder")
        differing = [key for key in IDENTITY_KEYS if manifest.get(key) != identity.get(key)]
        if differing:
            raise InputError(f"{out_dir} holds a run with other settings, cannot resume it: "
                             + "; ".join(f"{key}: {manifest.get(key)!r} then, {identity.get(key)!r} now"
                                         for key in differing)
                             + ". Choose another folder, or run with the settings of the manifest")
        return manifest
    if out_dir.exists() and any(not p.name.startswith(".") for p in out_dir.iterdir()):
        raise InputError(f"{out_dir} is not empty and holds no run ({MANIFEST}): choose an empty or new folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"format_version": MANIFEST_VERSION, **identity, "shards": {}}
    write_text_atomic(manifest_path, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def _batches(dataset, shard_size: int, done: set[int]) -> Iterator[tuple[int, int, list[dict] | None]]:
    """(shard number, first row, rows) of the dataset; rows is None for a finished shard of a memory-mapped
    dataset, which is not read at all (a stream is read through)."""
    import datasets

    if isinstance(dataset, datasets.Dataset):
        for shard, start in enumerate(range(0, len(dataset), shard_size)):
            if shard in done:
                yield shard, start, None
                continue
            columns = dataset[start:start + shard_size]
            count = len(next(iter(columns.values()))) if columns else 0
            yield shard, start, [{name: values[i] for name, values in columns.items()} for i in range(count)]
        return
    start = 0
    for shard, columns in enumerate(dataset.iter(batch_size=shard_size)):
        count = len(next(iter(columns.values()))) if columns else 0
        yield shard, start, (None if shard in done else
                             [{name: values[i] for name, values in columns.items()} for i in range(count)])
        start += count


def predict_collection(source, out_dir: str | Path, *, model: str | Path | None = None, predictor=None,
                       input_format: str | None = None, output_format: str = "parquet",
                       shard_size: int = DEFAULT_SHARD_SIZE, resume: bool = False, details: bool = False,
                       max_chars: int = DEFAULT_MAX_CHARS, streaming: bool = False, cache_dir=None,
                       progress: bool = False, log: Callable[[str], None] | None = None,
                       backend: str = "torch") -> RunSummary:
    """Predict every article of a collection into ``out_dir``, a shard at a time (see the module's docstring).
    ``source``: a JSON lines, Parquet or CSV file or folder, or a ``datasets.Dataset``/``IterableDataset``.
    ``predictor``: a loaded ``Predictor`` (else ``model`` is loaded, or the default model, on ``backend``)."""
    from tqdm.auto import tqdm

    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {output_format!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    if shard_size < 1:
        raise ValueError(f"shard size must be 1 or more, got {shard_size}")
    out_dir = Path(out_dir)
    dataset = read_collection(source, input_format, streaming=streaming, cache_dir=cache_dir)
    source_name = str(source) if isinstance(source, (str, Path)) else "dataset"
    if predictor is None:
        from .predictor import Predictor, default_model_dir

        model = Path(model) if model is not None else default_model_dir()
        predictor = Predictor.load(model, backend=backend)
    identity = {"input": input_identity(source), "input_format": input_format or (
                    format_of(source) if isinstance(source, (str, Path)) else "dataset"),
                "shard_size": shard_size, "output_format": output_format, "details": details,
                "max_chars": max_chars, "model": str(Path(model).absolute()) if model is not None else None,
                "model_version": predictor.model_version, "backend": getattr(predictor, "backend", None)}
    manifest = open_run(out_dir, identity, resume)
    done = {int(number) for number in manifest["shards"]}
    columns = dataset.column_names
    has_id = columns is None or "id" in columns
    if not has_id and log:
        log(f"{source_name}: no 'id' column: the row number (from 0) is each article's id")

    summary = RunSummary(out_dir)
    total = len(dataset) if hasattr(dataset, "__len__") else None
    bar = tqdm(total=total, unit="article", disable=not progress, file=sys.stderr)
    started = time.perf_counter()
    suffix = ".parquet" if output_format == "parquet" else ".jsonl"
    for shard, first_row, records in _batches(dataset, shard_size, done):
        if records is None:
            summary.shards_skipped += 1
            bar.update(manifest["shards"][str(shard)]["articles"])
            continue
        rows = range(first_row, first_row + len(records))
        output = predict_rows(predictor, records, list(rows), [source_name] * len(records), has_id=has_id,
                              max_chars=max_chars, details=details)
        name = f"part-{shard:05d}{suffix}"
        write_rows(out_dir / "incidents" / name, output.incidents, INCIDENT_ROW_COLUMNS, output_format)
        write_rows(out_dir / "errors" / name, output.errors, ERROR_ROW_COLUMNS, output_format)
        if details:
            write_rows(out_dir / "details" / name, output.details, DETAIL_ROW_COLUMNS, output_format)
        manifest["shards"][str(shard)] = {"first_row": first_row, "articles": output.articles,
                                          "incidents": len(output.incidents), "errors": len(output.errors)}
        write_text_atomic(out_dir / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        summary.shards_done += 1
        summary.articles_now += output.articles
        bar.update(output.articles)
        if log and not progress:
            log(f"shard {shard}: rows {first_row}-{first_row + output.articles - 1}, {len(output.incidents)} "
                f"incident(s), {len(output.errors)} failed")
    bar.close()
    summary.seconds = time.perf_counter() - started
    for shard in manifest["shards"].values():
        summary.articles += shard["articles"]
        summary.incidents += shard["incidents"]
        summary.errors += shard["errors"]
    if summary.errors:
        summary.first_errors = [row["error"] for row in read_rows(out_dir / "errors")[:5]]
    return summary


# ------------------------------------------------------------------------------------------------ training corpora

def export_corpora(config, out_dir: str | Path):
    """The configured corpora's train/dev/test splits as a ``datasets.DatasetDict`` saved to ``out_dir``
    (``save_to_disk``, written beside it and renamed into place): one row per document with its id, corpus,
    text, spans (id, start, end, text, label, layer), relations (head, tail, label), the layers it annotates,
    source, licence and publication date. Returns the DatasetDict."""
    import datasets

    from ..atomic import atomic_directory
    from ..data.corpora import SPLITS, load_corpus, load_splits, split_documents

    corpora = [load_corpus(config, corpus) for corpus in config.data.corpora]
    splits = split_documents(corpora, load_splits(config))
    span = {"id": datasets.Value("string"), "start": datasets.Value("int64"), "end": datasets.Value("int64"),
            "text": datasets.Value("string"), "label": datasets.Value("string"), "layer": datasets.Value("string")}
    features = datasets.Features({
        "id": datasets.Value("string"), "corpus": datasets.Value("string"), "text": datasets.Value("string"),
        "spans": [span],
        "relations": [{"head": datasets.Value("string"), "tail": datasets.Value("string"),
                       "label": datasets.Value("string")}],
        "layers": [datasets.Value("string")], "source": datasets.Value("string"),
        "licence": datasets.Value("string"), "publication_date": datasets.Value("string"),
    })
    parts = {}
    for name in SPLITS:
        rows = [{"id": d.id, "corpus": corpus.config.name, "text": d.text,
                 "spans": [{"id": s.id, "start": s.start, "end": s.end, "text": s.text, "label": s.label,
                            "layer": s.layer} for s in d.spans],
                 "relations": [{"head": r.head, "tail": r.tail, "label": r.label} for r in d.relations],
                 "layers": sorted(d.layers), "source": d.source, "licence": d.licence,
                 "publication_date": d.publication_date.isoformat() if d.publication_date else None}
                for corpus, d in splits[name]]
        # an empty split keeps its columns (from_list of no rows would give none)
        parts[name] = (datasets.Dataset.from_list(rows, features=features) if rows else
                       datasets.Dataset.from_dict({column: [] for column in features}, features=features))
    dataset_dict = datasets.DatasetDict(parts)
    target = Path(out_dir)
    with atomic_directory(target) as temporary:
        # one shard each at least: datasets writes an empty split as no shard, which load_from_disk cannot read
        dataset_dict.save_to_disk(str(temporary), num_shards={name: 1 for name, split in parts.items()
                                                              if len(split) == 0} or None)
    return dataset_dict


def stderr(message: str) -> None:
    print(message, file=sys.stderr)


__all__ = ["read_collection", "predict_collection", "predict_rows", "check_article", "read_rows", "export_corpora",
           "RunSummary", "ArticleError", "INPUT_FORMATS", "OUTPUT_FORMATS", "ERROR_ROW_COLUMNS"]
