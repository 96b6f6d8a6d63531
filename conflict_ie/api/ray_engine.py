"""Batch inference on Ray Data: a laptop's local Ray or a cluster (``RAY_ADDRESS``), the same code.

    from conflict_ie.api.ray_engine import predict_with_ray
    summary = predict_with_ray("feed/", "out/", "runs/default/model", concurrency=4)

    conflict-ie predict --engine ray feed/ --out out/ --concurrency 4

Articles (JSON lines, Parquet or CSV rows with ``id``, ``text`` and an optional ``publication_date``, or a
``datasets.Dataset``) are read by Ray Data; ``map_batches`` runs ``ArticleBatchPredictor``, a callable class that
loads the model once per actor (``concurrency`` actors, ``num_cpus`` cores and, where the cluster has GPUs,
``num_gpus`` GPUs each). Each batch goes through ``collections.predict_rows``, the step the in-process sharded run
uses, so a row is flattened by the same ``outputs.incident_rows`` whichever engine ran it. An article that cannot
be predicted (no text, bytes that are no UTF-8, a text over ``max_chars``, a date that is not ISO, a model failure)
becomes an error row naming its file and id; the job and the other rows go on.

The output folder has the layout of the sharded run (``incidents/``, ``errors/``, ``details/`` with
``details=True``, ``manifest.json`` with the counts), its part files named by Ray. A Ray run does not resume: an
interrupted run is started again into a new folder (the sharded local run resumes).
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

from .collections import (DEFAULT_MAX_CHARS, ERROR_ROW_COLUMNS, INPUT_FORMATS, MANIFEST, OUTPUT_FORMATS, RunSummary,
                          data_files, format_of, input_identity, predict_rows, rows_table)
from .inputs import InputError
from .outputs import DETAIL_ROW_COLUMNS, INCIDENT_ROW_COLUMNS

# What each actor returns per article batch: one row per input row, the flat rows of each kind as JSON text.
BATCH_COLUMNS = {"incidents": "string", "errors": "string", "details": "string", "articles": "int64",
                 "n_incidents": "int64", "n_errors": "int64", "n_details": "int64"}


class ArticleBatchPredictor:
    """The ``map_batches`` callable: loads the model once per actor, predicts a pyarrow batch of article rows."""

    def __init__(self, model_dir: str, *, device: str = "cpu", num_threads: int | None = None,
                 max_chars: int = DEFAULT_MAX_CHARS, details: bool = False, has_id: bool = True,
                 batch_size: int = 16, backend: str = "torch"):
        if num_threads:
            import torch

            torch.set_num_threads(num_threads)
        from .predictor import Predictor

        self.predictor = Predictor.load(model_dir, device=device, batch_size=batch_size, backend=backend,
                                        num_threads=num_threads)
        self.max_chars, self.details, self.has_id = max_chars, details, has_id

    def __call__(self, batch):
        records = batch.to_pylist()
        sources = [str(record.pop("path", None) or "input") for record in records]
        output = predict_rows(self.predictor, records, [None] * len(records), sources, has_id=self.has_id,
                              max_chars=self.max_chars, details=self.details)
        # one row for the whole batch: the rows of each kind, as JSON text (exploded with fixed types below)
        return rows_table([{"incidents": json.dumps(output.incidents, ensure_ascii=False),
                            "errors": json.dumps(output.errors, ensure_ascii=False),
                            "details": json.dumps(output.details, ensure_ascii=False),
                            "articles": output.articles, "n_incidents": len(output.incidents),
                            "n_errors": len(output.errors), "n_details": len(output.details)}], BATCH_COLUMNS)


def _explode(kind: str, columns: dict[str, str]):
    def explode(batch):
        rows = [row for text in batch.column(kind).to_pylist() for row in json.loads(text)]
        return rows_table(rows, columns)

    return explode


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Start or join Ray unless it runs already: ``address`` (else ``$RAY_ADDRESS``) joins a cluster, nothing
    starts a local Ray (``num_cpus`` cores, default all). A local Ray's workers import this package from where
    this process does. True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if address is None:
        import conflict_ie  # the folder this process imports the package from, for the workers' imports

        package_parent = str(Path(conflict_ie.__path__[0]).resolve().parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    else:
        ray.init(address=address, runtime_env={"env_vars": env})
    return True


def read_articles(source, input_format: str | None = None):
    """A Ray Dataset of the articles: files read by Ray Data (each row keeps its file in ``path``), or a
    ``datasets.Dataset`` handed over as it is."""
    import ray.data

    if not isinstance(source, (str, Path)):
        import datasets

        if isinstance(source, datasets.Dataset):
            return ray.data.from_huggingface(source)
        if isinstance(source, ray.data.Dataset):
            return source
        raise TypeError(f"the input is {type(source).__name__}; expected a path, a datasets.Dataset or a Ray "
                        f"Dataset")
    input_format = input_format or format_of(source)
    if input_format not in INPUT_FORMATS:
        raise InputError(f"unknown input format {input_format!r}; expected one of {', '.join(INPUT_FORMATS)}")
    files = data_files(source, input_format)
    # reads take no CPU of their own: the actors hold every core of a small Ray (2 actors on 2 cores), and a read
    # task waiting for a free core would wait for ever
    reads = {"include_paths": True, "num_cpus": 0}
    if input_format == "parquet":
        return ray.data.read_parquet(files, **reads)
    if input_format == "csv":
        import pyarrow.csv as pacsv

        # every cell as text, as the sharded run reads it ("007" stays "007")
        with open(files[0], encoding="utf-8", newline="") as stream:
            header = next(csv.reader(stream), [])
        import pyarrow as pa

        convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                       strings_can_be_null=False)
        return ray.data.read_csv(files, convert_options=convert, **reads)
    return ray.data.read_json(files, lines=True, **reads)


def predict_with_ray(source, out_dir: str | Path, model_dir: str | Path | None = None, *,
                     input_format: str | None = None, output_format: str = "parquet", concurrency: int = 1,
                     num_cpus: float = 1, num_gpus: float | None = None, batch_size: int = 64,
                     details: bool = False, max_chars: int = DEFAULT_MAX_CHARS, address: str | None = None,
                     ray_num_cpus: int | None = None, log=None, backend: str = "torch") -> RunSummary:
    """Predict every article of ``source`` on Ray into ``out_dir`` (see the module's docstring). ``concurrency``
    actors, each with ``num_cpus`` cores (torch uses as many threads) and ``num_gpus`` GPUs (default: 1 when the
    cluster has a GPU, else 0); ``batch_size`` articles per ``map_batches`` call; ``backend`` as for
    ``Predictor.load``. Returns the counts."""
    import ray
    import ray.data

    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {output_format!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be 1 or more actors, got {concurrency}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(not p.name.startswith(".") for p in out_dir.iterdir()):
        raise InputError(f"{out_dir} is not empty: a Ray run writes into an empty or new folder")
    if model_dir is None:
        from .predictor import default_model_dir

        model_dir = default_model_dir()
    model_dir = Path(model_dir).absolute()
    if not model_dir.is_dir():
        raise FileNotFoundError(f"no trained model at {model_dir}: give the path of a trained model folder")
    if isinstance(source, (str, Path)):
        data_files(source, input_format or format_of(source))  # a missing input fails before Ray starts

    connect(address, ray_num_cpus)
    if num_gpus is None:
        num_gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    articles = read_articles(source, input_format)
    has_id = "id" in (articles.columns() or [])
    if not has_id and log:
        log(f"{source}: no 'id' column: each article's id is its file and row")
    started = time.perf_counter()
    predicted = articles.map_batches(
        ArticleBatchPredictor, batch_format="pyarrow", batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=concurrency), num_cpus=num_cpus, num_gpus=num_gpus,
        fn_constructor_kwargs={"model_dir": str(model_dir), "device": "cuda" if num_gpus else "cpu",
                               "num_threads": max(1, int(num_cpus)), "max_chars": max_chars, "details": details,
                               "has_id": has_id, "backend": backend},
    ).materialize()  # predicted once; the object store spills to disk when the results outgrow memory

    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = [("incidents", INCIDENT_ROW_COLUMNS), ("errors", ERROR_ROW_COLUMNS)]
    if details:
        kinds.append(("details", DETAIL_ROW_COLUMNS))
    totals = predicted.sum(["articles", "n_incidents", "n_errors", "n_details"])
    for kind, columns in kinds:
        rows = predicted.map_batches(_explode(kind, columns), batch_format="pyarrow")
        _write(rows, out_dir / kind, columns, output_format, int(totals[f"sum(n_{kind})"] or 0))
    articles_count = int(totals["sum(articles)"] or 0)
    seconds = time.perf_counter() - started  # reading, predicting and writing
    summary = RunSummary(out_dir, articles=articles_count, articles_now=articles_count,
                         incidents=int(totals["sum(n_incidents)"] or 0), errors=int(totals["sum(n_errors)"] or 0),
                         shards_done=predicted.num_blocks(), seconds=seconds)
    if summary.errors:
        from .collections import read_rows

        summary.first_errors = [row["error"] for row in read_rows(out_dir / "errors")[:5]]
    manifest = {"engine": "ray", "input": input_identity(source) if isinstance(source, (str, Path)) else "dataset",
                "model": str(model_dir), "output_format": output_format, "details": details,
                "max_chars": max_chars, "concurrency": concurrency, "num_cpus": num_cpus, "num_gpus": num_gpus,
                "batch_size": batch_size, "articles": summary.articles, "incidents": summary.incidents,
                "errors": summary.errors, "seconds": round(seconds, 3)}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def _write(rows, folder: Path, columns: dict[str, str], output_format: str, count: int) -> None:
    """Write a Ray Dataset of rows as part files; with no rows at all, one empty part (so the folder reads as an
    empty table of the right columns)."""
    from .collections import write_rows

    if count == 0:
        write_rows(folder / f"part-empty.{'parquet' if output_format == 'parquet' else 'jsonl'}", [], columns,
                   output_format)
    elif output_format == "parquet":
        rows.write_parquet(str(folder))
    else:
        rows.write_json(str(folder))
