"""The command line, every command in one place: ``conflict-ie COMMAND`` (or ``python -m conflict_ie COMMAND``).

    train            train a model from a YAML config (key=value overrides)
    evaluate         score a model on a split or an export; write metrics.json, report.md, report.html
    predict          incident records for articles (files, folders or standard input; JSON lines, Parquet or
                     CSV collections in resumable shards, or on Ray with --engine ray)
    incidents-csv    the ACLED-style CSV of a collection run's incident rows
    link             link a collection run's incident rows into events (one per happening, many reports)
    export-datasets  the configured corpora's splits as a datasets.DatasetDict
    validate         check annotation files (Label Studio JSON, CoNLL BIO)
    markup           compile hand-written annotation markup into a Label Studio export
    gold-incidents   write the gold incident records of annotation exports
    labeling-config  print the Label Studio labeling config generated from the schema
    re3d             what the re3d loader reads and skips, with reasons
    muc4             what the MUC-4 loader reads and skips, with reasons
    model-card       render a model card from a metrics.json
    studio           the Label Studio round trip: create a project, push articles, pull annotations
    serve            an HTTP service answering predictions, also a Label Studio ML backend (extra: service)

Each handler parses nothing and decides nothing: it calls the library and prints what it returns.

Exit codes, the same for every command:

    0  done
    1  input error: an input (article, annotation file, config, model folder, Label Studio server) is missing or
       wrong; the message names it. ``validate`` exits 1 when it finds errors, and ``predict`` when some inputs
       failed (each is listed; the results of the others are written).
    2  usage error: the command line itself is wrong (unknown option, a date that is not ISO, an --out folder that
       does not exist); checked before any model loads.
    3  internal error: a bug in conflict-ie (the traceback is printed; please report it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import traceback
from pathlib import Path

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    """The command line asks for something impossible (exit code 2)."""


def _train(args) -> int:
    from ..config import load_config
    from ..training import train

    train(load_config(args.config, args.overrides))
    return 0


def _evaluate(args) -> int:
    from ..evaluation.evaluate import run_evaluation

    run_evaluation(model_dir=args.model, config_path=args.config, split=args.split, data_file=args.data,
                   out_dir=args.out, peer=args.peer, model_card=args.model_card,
                   cross_validation=args.cross_validation, cross_fit=args.cross_fit, allow_dropped=args.allow_dropped,
                   events_dir=args.events)
    return 0


def _read_inputs(args):
    """The articles to predict: (name, text) pairs and the ArticleFiles report (None for standard input)."""
    from .inputs import decode_article, read_articles

    if not args.inputs or args.inputs == ["-"]:
        return [("<stdin>", decode_article(sys.stdin.buffer.read(), "standard input"))], None
    if "-" in args.inputs:
        raise UsageError("'-' (standard input) cannot be mixed with files or folders")
    files = read_articles(args.inputs, strict=args.strict)
    for note in files.notes():
        print(note, file=sys.stderr)
    if not files.texts:
        raise ValueError("no article could be read (see the lines above)")
    return files.texts, files


def _predict(args) -> int:
    if args.input_format not in (None, "files") or args.engine == "ray":
        return _predict_collection(args)
    if args.format == "parquet":
        raise UsageError("--format parquet is for collections (--input-format jsonl|parquet|csv or --engine ray)")
    for flag in ("resume", "details", "streaming"):
        if getattr(args, flag):
            raise UsageError(f"--{flag} is for collections (--input-format jsonl|parquet|csv or --engine ray)")
    if args.publication_date and args.publication_dates:
        raise UsageError("give --publication-date (one date for every article) or --publication-dates FILE, not both")
    dates_by_name = _read_publication_dates(args.publication_dates) if args.publication_dates else None
    if args.out:
        try:
            _output_file(args.out)
        except argparse.ArgumentTypeError as error:
            raise UsageError(str(error)) from None
    from .outputs import to_csv, to_jsonl, to_table
    from .predictor import Predictor

    inputs, files = _read_inputs(args)  # read (and refuse) the inputs before loading the model
    try:
        predictor = Predictor.load(args.model, backend=args.backend)
    except ImportError as error:  # the onnx extra is not installed: say so, as for any input that cannot be used
        raise ValueError(str(error)) from error
    texts = [text for _, text in inputs]
    dates = [args.publication_date] * len(inputs) if args.publication_date else None
    if dates_by_name is not None:
        dates = [_publication_date_of(name, dates_by_name) for name, _ in inputs]
    results = predictor.predict(texts, publication_dates=dates, progress=args.progress)
    named = list(zip((name for name, _ in inputs), results))
    if args.link:
        output = _linked_output(args, named, dates)
    elif args.format == "csv":
        output = to_csv(named, raw=args.csv_raw)
    elif args.format == "jsonl":
        output = to_jsonl(named, texts)
    else:
        output = to_table(named)
    if args.out:
        Path(args.out).write_text(output, encoding="utf-8", newline="")
    else:
        sys.stdout.write(output)
    if files is not None and files.failed:
        print(f"{len(files.failed)} input(s) FAILED (listed above); the results of the other {len(inputs)} were "
              f"written", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def _predict_collection(args) -> int:
    """predict over a collection (JSON lines, Parquet, CSV): a folder of incident, error (and detail) part files,
    in shards in this process (resumable), or on Ray with --engine ray."""
    where = "with --input-format jsonl|parquet|csv or --engine ray"
    if args.input_format == "files":
        raise UsageError("--engine ray reads a collection (jsonl, parquet or csv), not article files")
    if len(args.inputs) != 1 or args.inputs == ["-"]:
        raise UsageError(f"{where}, name one input: a file or a folder of files")
    if not args.out:
        raise UsageError(f"{where}, --out names the folder to write (incidents/, errors/, manifest.json)")
    if args.format not in (None, "parquet", "jsonl"):
        raise UsageError(f"{where}, --format is parquet or jsonl; for an ACLED CSV, run `conflict-ie incidents-csv "
                         f"{args.out} --out FILE.csv` afterwards")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; {where} it names a folder")
    for flag, value in (("--publication-date", args.publication_date), ("--strict", args.strict),
                        ("--csv-raw", args.csv_raw), ("--publication-dates", args.publication_dates)):
        if value:
            raise UsageError(f"{flag} is for article files; a collection gives each row's publication_date")
    output_format = args.format or "parquet"
    input_format = args.input_format
    if args.engine == "ray":
        if args.resume or args.streaming:
            raise UsageError("--resume and --streaming are for the local engine; a Ray run writes a new folder")
        from .ray_engine import predict_with_ray

        summary = predict_with_ray(args.inputs[0], args.out, args.model, input_format=input_format,
                                   output_format=output_format, concurrency=args.concurrency,
                                   num_gpus=args.num_gpus, details=args.details, max_chars=args.max_chars,
                                   log=lambda message: print(message, file=sys.stderr), backend=args.backend)
    else:
        from .collections import predict_collection

        summary = predict_collection(args.inputs[0], args.out, model=args.model, input_format=input_format,
                                     output_format=output_format, shard_size=args.shard_size, resume=args.resume,
                                     details=args.details, max_chars=args.max_chars, streaming=args.streaming,
                                     progress=args.progress, log=lambda message: print(message, file=sys.stderr),
                                     backend=args.backend)
    for line in summary.lines():
        print(line, file=sys.stderr)
    if args.link:
        _link_run(Path(args.out), Path(args.out) / "events.jsonl", Path(args.out) / "events.csv", raw=False)
    return EXIT_INPUT if summary.errors else EXIT_OK


def _read_publication_dates(path: str) -> dict[str, str]:
    """--publication-dates FILE: article file name -> ISO date, from a JSON object or a CSV with the columns
    ``file`` and ``publication_date``; checked before any model loads (a bad date is a usage error)."""
    import csv
    import json

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--publication-dates {path}: no such file")
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".json":
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(f"--publication-dates {path}: not JSON ({error})") from None
        if not isinstance(mapping, dict):
            raise UsageError(f'--publication-dates {path}: expected an object {{"FILE": "YYYY-MM-DD", ...}}')
    else:
        reader = csv.DictReader(text.splitlines())
        if not {"file", "publication_date"} <= set(reader.fieldnames or ()):
            raise UsageError(f"--publication-dates {path}: a CSV needs the columns file and publication_date")
        mapping = {row["file"]: row["publication_date"] for row in reader}
    for name, value in mapping.items():
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            raise UsageError(f"--publication-dates {path}: {name}: {value!r} is not an ISO date (YYYY-MM-DD)") \
                from None
    return {str(name): str(value) for name, value in mapping.items()}


def _publication_date_of(name: str, dates: dict[str, str]) -> str | None:
    """An article's date from --publication-dates: by its name as given, else by its file name."""
    return dates.get(name) or dates.get(Path(name).name)


def _linked_output(args, named, dates) -> str:
    """predict --link: the events the articles' incidents form, in the --format asked for."""
    from ..incidents.linking import link_incidents
    from .outputs import events_to_csv, events_to_jsonl, events_to_table

    events = link_incidents([result for _, result in named], dates, [name for name, _ in named])
    incidents = sum(len(result.incidents) for _, result in named)
    print(f"linked {incidents} incident(s) of {len(named)} article(s) into {len(events)} event(s) "
          f"({sum(1 for e in events if len(e.articles) > 1)} reported by more than one article)", file=sys.stderr)
    if args.format == "csv":
        return events_to_csv(events, raw=args.csv_raw)
    if args.format == "jsonl":
        return events_to_jsonl(events)
    return events_to_table(events)


def _link_run(run_dir: Path, events_path: Path, csv_path: Path | None, raw: bool) -> None:
    """Link the incident rows of a collection run (sharded or Ray) and write the events."""
    import time

    from ..incidents.linking import link_records, record_from_row
    from .collections import read_rows
    from .outputs import events_to_csv, events_to_jsonl

    folder = run_dir / "incidents" if (run_dir / "incidents").is_dir() else run_dir
    if not folder.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such folder (the --out folder of a collection predict run)")
    started = time.perf_counter()
    records = [record_from_row(row) for row in read_rows(folder)]
    events = link_records(records)
    seconds = time.perf_counter() - started
    events_path.write_text(events_to_jsonl(events), encoding="utf-8")
    written = [str(events_path)]
    if csv_path is not None:
        csv_path.write_text(events_to_csv(events, raw=raw), encoding="utf-8", newline="")
        written.append(str(csv_path))
    undated = sum(1 for r in records if not r.date_iso and not r.publication_date)
    print(f"linked {len(records)} incident(s) into {len(events)} event(s) "
          f"({sum(1 for e in events if len(e.articles) > 1)} reported by more than one article) in {seconds:.1f} s; "
          f"wrote {' and '.join(written)}", file=sys.stderr)
    if undated:
        print(f"{undated} incident(s) had neither a resolved date nor a publication date: each was compared with "
              f"every incident of its country", file=sys.stderr)


def _link(args) -> int:
    run_dir = Path(args.run_dir)
    events_path = Path(args.out) if args.out else run_dir / "events.jsonl"
    csv_path = Path(args.csv) if args.csv else (None if args.out else run_dir / "events.csv")
    _link_run(run_dir, events_path, csv_path, raw=args.csv_raw)
    return EXIT_OK


def _export_onnx(args) -> int:
    from ..backends import export_onnx

    if not Path(args.model).is_dir():
        raise FileNotFoundError(f"no model folder at {args.model}")
    try:
        written = export_onnx(args.model, quantize=not args.no_int8)
    except ImportError as error:
        raise ValueError(str(error)) from error
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _incidents_csv(args) -> int:
    from .collections import read_rows
    from .outputs import rows_to_csv

    folder = Path(args.run_dir) / "incidents" if (Path(args.run_dir) / "incidents").is_dir() else Path(args.run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{args.run_dir}: no such folder (the --out folder of a collection predict run)")
    output = rows_to_csv(read_rows(folder), raw=args.csv_raw)
    if args.out:
        Path(args.out).write_text(output, encoding="utf-8", newline="")
    else:
        sys.stdout.write(output)
    return EXIT_OK


def _export_datasets(args) -> int:
    from ..config import load_config
    from .collections import export_corpora

    dataset_dict = export_corpora(load_config(args.config, args.overrides), args.out)
    sizes = ", ".join(f"{name} {len(split)}" for name, split in dataset_dict.items())
    print(f"wrote {args.out} (datasets.DatasetDict: {sizes} documents); read it with "
          f"datasets.load_from_disk({str(args.out)!r})")
    return EXIT_OK


def _validate(args) -> int:
    from ..data.validate import check_file

    failed = False
    for file in args.files:
        check = check_file(file)
        for problem in check.problems:
            print(problem)
        print(check.summary())
        failed = failed or check.count("error") > 0
    return 1 if failed else 0


def _markup(args) -> int:
    import json

    from ..data.markup import MarkupError, compile_files

    try:
        tasks, problems = compile_files(sorted(Path(f) for f in args.files), args.root)
    except MarkupError as error:
        print(error, file=sys.stderr)
        return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    failed = any(p.severity == "error" for p in problems)
    words = sum(len(task["data"]["text"].split()) for task in tasks)
    print(f"{len(tasks)} documents, {words} words, {len(problems)} problems")
    if args.out and not failed:
        args.out.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 1 if failed else 0


def _gold_incidents(args) -> int:
    from ..evaluation.gold import write_gold_incidents

    write_gold_incidents([Path(p) for p in args.exports], Path(args.out), allow_dropped=args.allow_dropped)
    return 0


def _labeling_config(args) -> int:
    from ..schema import render_labeling_config

    print(render_labeling_config(), end="")
    return 0


def _re3d(args) -> int:
    from ..data.re3d import default_root, load_re3d, overlap_summary

    return _corpus_report("re3d", args.root or default_root(), load_re3d, overlap_summary,
                          "overlaps, value mismatches, relations lost", args.notes)


def _muc4(args) -> int:
    from ..data.muc4 import default_root, load_muc4, template_summary

    return _corpus_report("MUC-4", args.root or default_root(), load_muc4, template_summary,
                          "mentions not found, overlaps, template matches, dates", args.notes)


def _corpus_report(name: str, root, load, summary, noted: str, list_notes: bool) -> int:
    """What a public corpus's loader reads and skips: the load report, the corpus's own summary, and its notes
    (listed with --notes, else counted with what they are about)."""
    from ..data.document import LoadReport

    report = LoadReport(source=f"{name} ({root})")
    try:
        documents = load(root, report)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}")
        return 1
    print(report.summary())
    print(summary(documents, report))
    if list_notes:
        print("\n".join("  " + note for note in report.notes))
    else:
        print(f"  notes: {len(report.notes)} ({noted}; --notes lists them)")
    return 0


def _model_card(args) -> int:
    import json

    from ..evaluation.model_card import write_model_card

    try:
        metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{args.metrics} is not a metrics.json written by `conflict-ie evaluate`: {error}") from None
    write_model_card(metrics, Path(args.out))
    print(f"wrote model card {args.out}")
    return 0


def _iso_date(value: str) -> str:
    """argparse type: an ISO date (YYYY-MM-DD), checked before anything runs."""
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
    return value


def _output_file(value: str) -> str:
    """argparse type: a file to write, whose folder exists and which is not itself a folder."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; name a file to write")
    if not path.absolute().parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder of {value} ({path.absolute().parent}) does not exist")
    return value


def _positive(value: str) -> int:
    """argparse type: a whole number of 1 or more."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more")
    return number


def _version() -> str:
    from .. import __version__

    return f"conflict-ie {__version__} (Python {sys.version.split()[0]})"


# the names conflict_ie.backends.BACKENDS runs (written out here: importing it would load torch for every --help)
BACKEND_CHOICES = ("torch", "torch-bf16", "onnx", "onnx-int8")
BACKEND_HELP = ("torch (default, float32); torch-bf16: bfloat16 matrix products, about twice as fast on CPUs with AMX "
                "or AVX512-BF16 (slower on others); onnx: the float32 ONNX graph, the same figures on the CPU; "
                "onnx-int8: its int8 quantisation, faster, less accurate. The onnx backends need `conflict-ie "
                "export-onnx MODEL` first and the onnx extra")
MODEL_HELP = ("model folder (default: $CONFLICT_IE_MODEL, else runs/default/model in the working directory, else "
              "~/.local/share/conflict-ie/models/default)")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conflict-ie", description="Entities, incident triggers, relations and incident records from English "
                                        "armed-conflict news. `conflict-ie COMMAND --help` tells more.",
        epilog="Exit codes: 0 done, 1 input error (an input is missing or wrong; predict: some inputs failed), "
               "2 usage error (the command line is wrong), 3 internal error (a bug: please report it).")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model from a YAML config")
    train.add_argument("config")
    train.add_argument("overrides", nargs="*", help="key=value, e.g. train.epochs=3")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="score a model on a split or an annotation file; write reports")
    evaluate.add_argument("--model", default=None, help=MODEL_HELP)
    evaluate.add_argument("--config", default="configs/default.yaml", help="config naming the corpora and splits")
    evaluate.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    evaluate.add_argument("--data", default=None, help="score on this Label Studio export, re3d folder or CoNLL/BIO "
                                                       "file instead of a split")
    evaluate.add_argument("--out", default=None, help="report folder (default: <model>/../reports/<split>)")
    evaluate.add_argument("--peer", action="store_true", help="also score spaCy en_core_web_sm side by side")
    evaluate.add_argument("--model-card", default=None, type=_output_file,
                          help="also render a model card to this path")
    evaluate.add_argument("--allow-dropped", action="store_true",
                          help="score even if the annotations have errors: leave out what they name, print the count "
                               "and record it as 'dropped' in metrics.json")
    evaluate.add_argument("--cross-validation", default=None,
                          help="folder of leave-one-seed-out runs (from training/cross_validate.py) to include")
    evaluate.add_argument("--cross-fit", default=None,
                          help="folder of a corpus's cross-fitted runs (from training/cross_fit.py) to include")
    evaluate.add_argument("--events", default=None,
                          help="folder of gold event files for cross-article linking (default annotations/events; "
                               "scored when it holds any)")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser(
        "predict", help="incident records for articles (files, folders or stdin)",
        description="Incident records for articles. A folder gives its *.txt files (any case), not hidden files, "
                    "not subfolders; every entry skipped is listed. Text is UTF-8 (a byte order mark is dropped, line "
                    "endings are kept), so offsets index the file's own characters. A file that cannot be read fails "
                    "alone (listed; exit code 1) unless --strict.")
    predict.add_argument("inputs", nargs="*", help="text files or folders of .txt files; '-' or nothing: stdin")
    predict.add_argument("--model", default=None, help=MODEL_HELP)
    predict.add_argument("--format", choices=["jsonl", "table", "csv", "parquet"], default=None,
                         help="article files: table (default), jsonl or csv; collections: parquet (default) or jsonl")
    predict.add_argument("--publication-date", default=None, type=_iso_date,
                         help="ISO date (YYYY-MM-DD) the articles were published")
    predict.add_argument("--publication-dates", default=None, metavar="FILE",
                         help="each article's publication date: a JSON object {\"FILE\": \"YYYY-MM-DD\"} or a CSV "
                              "with the columns file and publication_date (by the name given or the file name); "
                              "articles it does not list have none")
    predict.add_argument("--link", action="store_true",
                         help="link the incidents of all articles into events (one per happening, with every "
                              "report): the table, jsonl (one event a line, with its reports and their spans) or "
                              "csv (one ACLED-style row per event) of events; for a collection, also writes "
                              "OUT/events.jsonl and OUT/events.csv after the run")
    predict.add_argument("--out", default=None,
                         help="write here instead of standard output; for a collection, the folder to write")
    predict.add_argument("--strict", action="store_true",
                         help="stop at the first input that cannot be read, before loading the model")
    predict.add_argument("--csv-raw", action="store_true",
                         help="with --format csv: write cells as they are, without the leading quote that stops "
                              "spreadsheets running =, +, -, @ cells as formulas (for programs reading the CSV)")
    predict.add_argument("--progress", action="store_true")
    predict.add_argument("--backend", choices=BACKEND_CHOICES, default="torch", help=BACKEND_HELP)
    collection = predict.add_argument_group(
        "collections", "JSON lines, Parquet or CSV rows with text, id and publication_date (a file or a folder of "
                       "files), read through datasets; --out is a folder: incidents/ (one row per incident), errors/ "
                       "(one row per failed article), details/ (--details) and manifest.json")
    collection.add_argument("--input-format", choices=["files", "jsonl", "parquet", "csv"], default=None,
                            help="files: text files and folders of .txt files (the default); jsonl, parquet, csv: "
                                 "a collection (with --engine ray, the default is the input's suffix)")
    collection.add_argument("--engine", choices=["local", "ray"], default="local",
                            help="local: in this process, in shards (resumable); ray: Ray Data map_batches over "
                                 "--concurrency actors (a local Ray, or the cluster at $RAY_ADDRESS)")
    collection.add_argument("--shard-size", type=_positive, default=1000,
                            help="articles per shard and part file (local engine; default 1000)")
    collection.add_argument("--resume", action="store_true",
                            help="continue the run in --out: skip the shards its manifest lists as finished")
    collection.add_argument("--streaming", action="store_true",
                            help="read the input as a stream (no Arrow copy in the datasets cache)")
    collection.add_argument("--concurrency", type=_positive, default=1,
                            help="Ray actors, each loading the model once (default 1)")
    collection.add_argument("--num-gpus", type=float, default=None,
                            help="GPUs per Ray actor (default: 1 when the cluster has a GPU, else 0)")
    collection.add_argument("--details", action="store_true",
                            help="also write details/: every entity, trigger, role filler and relation")
    collection.add_argument("--max-chars", type=_positive, default=1_000_000,
                            help="longer articles are errors, not predicted (default 1,000,000 characters)")
    predict.set_defaults(run=_predict)

    incidents_csv = commands.add_parser(
        "incidents-csv", help="ACLED-style CSV from the incident rows of a collection run",
        description="The ACLED-style CSV (the columns of predict --format csv, source_file = article id) of the "
                    "incident rows a collection run wrote (its --out folder, or its incidents/ folder).")
    incidents_csv.add_argument("run_dir", metavar="RUN", help="the --out folder of predict --input-format ... or --engine ray")
    incidents_csv.add_argument("--out", default=None, type=_output_file, help="write here instead of stdout")
    incidents_csv.add_argument("--csv-raw", action="store_true",
                               help="write cells as they are (no leading quote against spreadsheet formulas)")
    incidents_csv.set_defaults(run=_incidents_csv)

    link = commands.add_parser(
        "link", help="link the incident rows of a collection run into events (after the sharded or Ray job)",
        description="Group the incident rows a collection run wrote (predict --input-format ... or --engine ray) "
                    "into events, one per happening reported by one or more articles (rules: README, 'Linking "
                    "incidents across articles'). Writes RUN/events.jsonl (one event a line, its reports with their "
                    "article ids and offsets) and RUN/events.csv (one ACLED-style row per event).")
    link.add_argument("run_dir", metavar="RUN", help="the --out folder of a collection run, or its incidents/ folder")
    link.add_argument("--out", default=None, type=_output_file,
                      help="write the events JSON lines here (default RUN/events.jsonl; then no CSV unless --csv)")
    link.add_argument("--csv", default=None, type=_output_file,
                      help="write the ACLED-style CSV here (default RUN/events.csv when --out is not given)")
    link.add_argument("--csv-raw", action="store_true",
                      help="write CSV cells as they are (no leading quote against spreadsheet formulas)")
    link.set_defaults(run=_link)

    onnx = commands.add_parser(
        "export-onnx", help="write a model's tag pass as ONNX graphs (float32 and int8) into its folder",
        description="Export the encoder and tag heads of a model folder to model.onnx (float32) and model.int8.onnx "
                    "(int8 dynamic quantisation) in that folder, with onnx.json, for predict --backend onnx | "
                    "onnx-int8. Offline; needs the onnx extra (pip install 'conflict-ie[onnx]').")
    onnx.add_argument("model", metavar="MODEL", help="the model folder (written into)")
    onnx.add_argument("--no-int8", action="store_true", help="write only the float32 graph")
    onnx.set_defaults(run=_export_onnx)

    export = commands.add_parser(
        "export-datasets", help="write the configured corpora's splits as a datasets.DatasetDict",
        description="The train/dev/test splits of a config's corpora as a Hugging Face datasets.DatasetDict "
                    "(save_to_disk): one row per document with id, corpus, text, spans, relations, layers, source, "
                    "licence and publication_date. Read it with datasets.load_from_disk(OUT).")
    export.add_argument("--config", default="configs/default.yaml", help="config naming the corpora and splits")
    export.add_argument("--out", required=True, type=Path, help="the folder to write (replaced if it exists)")
    export.add_argument("overrides", nargs="*", help="key=value, e.g. data.data_root=/data")
    export.set_defaults(run=_export_datasets)

    validate = commands.add_parser("validate", help="check annotation files (Label Studio JSON or CoNLL)",
                                   description="Each problem prints as 'file: task N, char K: error: message', then "
                                               "a summary line per file; exit code 1 if any file has an error.")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(run=_validate)

    markup = commands.add_parser("markup", help="compile annotation markup files into a Label Studio export")
    markup.add_argument("files", nargs="+")
    markup.add_argument("--out", type=lambda value: Path(_output_file(value)),
                        help="write the export here; without it, only check")
    markup.add_argument("--root", type=Path, default=None, help="folder that text_file paths are relative to")
    markup.set_defaults(run=_markup)

    gold = commands.add_parser("gold-incidents", help="write the gold incident records of annotation exports")
    gold.add_argument("exports", nargs="+")
    gold.add_argument("--out", required=True, type=_output_file)
    gold.add_argument("--allow-dropped", action="store_true",
                      help="write gold incidents even if an export has errors, leaving out what they name (the "
                           "count is printed)")
    gold.set_defaults(run=_gold_incidents)

    labeling = commands.add_parser("labeling-config", help="print the Label Studio labeling config of the schema")
    labeling.set_defaults(run=_labeling_config)

    re3d = commands.add_parser("re3d", help="load re3d and report what is read and what is skipped")
    re3d.add_argument("--root", type=Path, default=None,
                      help="the re3d folder (default: $CONFLICT_IE_DATA/re3d, else ../shared/data/re3d from the "
                           "working directory)")
    re3d.add_argument("--notes", action="store_true", help="also list every overlap and every value note")
    re3d.set_defaults(run=_re3d)

    muc4 = commands.add_parser("muc4", help="load MUC-4 and report what is read and what is skipped")
    muc4.add_argument("--root", type=Path, default=None,
                      help="the MUC-4 folder (default: $CONFLICT_IE_DATA/muc4, else ../shared/data/muc4 from the "
                           "working directory)")
    muc4.add_argument("--notes", action="store_true",
                      help="also list every mention not found, overlap, unmatched template and unread date")
    muc4.set_defaults(run=_muc4)

    card = commands.add_parser("model-card", help="render a model card from a metrics.json")
    card.add_argument("metrics")
    card.add_argument("out", type=_output_file)
    card.set_defaults(run=_model_card)

    _add_studio(commands)
    _add_serve(commands)
    return parser


# ---------------------------------------------------------------------------------------------------- Label Studio

def _studio(args) -> int:
    """Run a studio subcommand; its errors print without the API token and exit 1 (input error)."""
    from ..label_studio.client import TOKEN_ENV, StudioError, redact

    try:
        return args.studio_run(args)
    except (StudioError, ValueError, FileNotFoundError) as error:
        message = redact(str(error), args.token or os.environ.get(TOKEN_ENV) or None)
        print(f"error: {message}", file=sys.stderr)
        return EXIT_INPUT


def _studio_create(args) -> int:
    from ..label_studio import connect, create_project
    from ..label_studio.client import url_of

    client = connect(args.url, args.token)
    project_id = create_project(client, args.title, args.description)
    if args.quiet:
        print(project_id)
    else:
        print(f"created project {project_id}: {url_of(client)}/projects/{project_id}")
        print(f"next: conflict-ie studio push --project {project_id} [--model DIR] ARTICLES...")
    return 0


def _studio_push(args) -> int:
    from ..label_studio import check_project_config, connect, push, read_articles

    skipped: list[str] = []
    articles = read_articles(args.articles, skipped)
    for note in skipped:
        print(note, file=sys.stderr)
    client = connect(args.url, args.token)
    check_project_config(client, args.project)  # before loading a model: a wrong project fails fast
    predictor = None
    if args.model:
        from .predictor import Predictor  # imported here: torch loads only when a model is asked for

        predictor = Predictor.load(args.model)
    report = push(client, args.project, articles, predictor, skip_existing=not args.again, source=args.source)
    print(report.summary())
    return 0


def _studio_pull(args) -> int:
    from ..label_studio import connect, pull

    client = connect(args.url, args.token)
    report = pull(client, args.project, args.out)
    for warning in report.warnings[:20]:
        print(f"  {warning}", file=sys.stderr)
    print(report.summary())
    print(f"train on it: add {{name: ..., kind: label_studio, path: {report.path}}} to data.corpora of your config")
    return 0


def _add_studio(commands) -> None:
    from ..label_studio.client import TOKEN_ENV, URL_ENV

    studio = commands.add_parser(
        "studio", help="the Label Studio round trip: create a project, push articles, pull annotations",
        description="The Label Studio round trip: create a project from the schema, push articles with the model's "
                    "predictions as pre-annotations, pull the annotations back as a validated export that the "
                    "training loader reads. Errors exit with status 1 and never show the API token.")
    studio.set_defaults(run=_studio)
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--url", default=None, help=f"Label Studio server (default: ${URL_ENV})")
    server.add_argument("--token", default=None,
                        help=f"API token (default: ${TOKEN_ENV}; prefer the variable: flags show in `ps`)")
    steps = studio.add_subparsers(dest="studio_command", metavar="{create,push,pull}", required=True)

    create = steps.add_parser("create", parents=[server], help="create a project with the schema's config")
    create.add_argument("--title", required=True)
    create.add_argument("--description", default="")
    create.add_argument("--quiet", action="store_true", help="print only the project id")
    create.set_defaults(studio_run=_studio_create)

    push = steps.add_parser("push", parents=[server], help="import articles, optionally with pre-annotations")
    push.add_argument("articles", nargs="+", help=".txt files or folders of them (doc_id = file name)")
    push.add_argument("--project", type=int, required=True)
    push.add_argument("--model", default=None, help="model folder whose predictions become pre-annotations")
    push.add_argument("--source", default="label-studio", help="data.source of the tasks (default: label-studio)")
    push.add_argument("--again", action="store_true", help="import articles whose doc_id is already in the project")
    push.set_defaults(studio_run=_studio_push)

    pull = steps.add_parser("pull", parents=[server], help="export annotations, validated, as training data")
    pull.add_argument("--project", type=int, required=True)
    pull.add_argument("--out", required=True, type=_output_file, help="the JSON file to write")
    pull.set_defaults(studio_run=_studio_pull)


# ---------------------------------------------------------------------------------------------------- service

def _serve(args) -> int:
    try:
        from .service import (LABEL_STUDIO_PREFIX, ServiceLimits, bind, create_app, is_loopback, serve)
    except ImportError as error:
        raise ValueError(f"`conflict-ie serve` needs the service extra ({error.name or error} is not installed): "
                         "pip install 'conflict-ie[service]'") from None
    from .predictor import Predictor
    from .retrain import RetrainQueue, train_command

    from ..label_studio.client import TOKEN_ENV, URL_ENV

    limits = ServiceLimits(max_request_bytes=args.max_request_bytes, max_texts=args.max_texts)
    if args.train_config is not None and not Path(args.train_config).is_file():
        raise UsageError(f"--train-config {args.train_config}: no such file")
    if args.pull_to is not None:
        if args.train_config is None:
            raise UsageError("--pull-to pulls annotations for retraining: give --train-config too (a config whose "
                             f"data.corpora lists {args.pull_to})")
        missing = [name for name in (URL_ENV, TOKEN_ENV) if not os.environ.get(name)]
        if missing:
            raise UsageError(f"--pull-to pulls from Label Studio with ${URL_ENV} and ${TOKEN_ENV}: set "
                             f"{' and '.join('$' + name for name in missing)} in the service's environment")
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}, not only this machine: the service has no authentication, so "
              "anyone who can reach the port can use the model and queue retraining. Put it behind an "
              "authenticating proxy, or use --host 127.0.0.1 (the default).", file=sys.stderr)
    predictor = Predictor.load(args.model, backend=args.backend)  # once, before listening: a bad folder fails here
    jobs_dir = args.jobs_dir or ("runs/retrain" if args.train_config else None)
    retrain = None
    if jobs_dir is not None:
        command = train_command(args.train_config, pull_to=args.pull_to) if args.train_config else None
        retrain = RetrainQueue(jobs_dir, command)
    sock = bind(args.host, args.port)
    app = create_app(predictor, limits, retrain)
    if retrain is not None:
        what = "jobs are recorded, not run (no --train-config)"
        if args.train_config:
            what = ("each job runs: " + (f"conflict-ie studio pull --project P --out {args.pull_to}, then "
                                         if args.pull_to else "")
                    + f"conflict-ie train {args.train_config} train.output_dir=<job folder>")
        print(f"webhook events and retraining jobs: {retrain.folder}; {what}", file=sys.stderr)
    try:
        serve(app, sock, log_level=args.log_level, announce=lambda line: print(line, flush=True))
    finally:
        sock.close()
    return EXIT_OK


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return number


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535; 0 picks a free one)")
    return number


def _add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve", help="HTTP service: POST /predict, GET /health, GET /model; a Label Studio ML backend under "
                      "/label-studio (needs the service extra)",
        description="Load a model once and answer predictions over HTTP: POST /predict ({\"texts\": [...], "
                    "\"publication_dates\": [...]} -> {\"results\": [...]}, one ArticleResult.to_dict() per "
                    "text), GET /health, GET /model. Label Studio connects to http://HOST:PORT/label-studio as an "
                    "ML backend (pre-annotations as annotators open tasks; its webhook queues retraining). Listens on "
                    "127.0.0.1 unless --host says otherwise; there is no authentication.")
    serve.add_argument("--model", default=None, help=MODEL_HELP)
    serve.add_argument("--backend", choices=BACKEND_CHOICES, default="torch", help=BACKEND_HELP)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 opens it to "
                            "every network the machine is on)")
    serve.add_argument("--port", type=_port, default=9090, help="port (default 9090; 0 picks a free one)")
    serve.add_argument("--max-request-bytes", type=_positive_int, default=16 * 1024 * 1024,
                       help="larger request bodies are refused with 413 (default 16 MiB)")
    serve.add_argument("--max-texts", type=_positive_int, default=256,
                       help="more texts or Label Studio tasks in one request are refused with 422 (default 256)")
    serve.add_argument("--train-config", default=None,
                       help="retrain with this config when Label Studio's webhook reports new annotations "
                            "(one job at a time, in the background; see --jobs-dir)")
    serve.add_argument("--jobs-dir", default=None,
                       help="folder for webhook events, retraining jobs, their logs and models (default "
                            "runs/retrain with --train-config; without either, webhook events are answered and "
                            "not kept)")
    serve.add_argument("--pull-to", default=None, type=_output_file,
                       help="before each retraining, pull the project's annotations into this file (with "
                            "$LABEL_STUDIO_URL and $LABEL_STUDIO_API_KEY); list it in the --train-config's corpora")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                       help="uvicorn's log level (debug also logs each request)")
    serve.set_defaults(run=_serve)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    args = parser().parse_args(argv)  # a wrong command line exits 2 here, before any work
    try:
        return args.run(args)
    except UsageError as error:
        print(f"usage error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError) as error:  # InputError, ModelFolderError, FileNotFoundError, ... name the input
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - anything else is a bug: show it, and say so
        traceback.print_exc()
        print(f"internal error in {_version()}: this is a bug, please report it with the lines above",
              file=sys.stderr)
        return EXIT_INTERNAL
