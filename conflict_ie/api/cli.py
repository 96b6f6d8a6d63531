"""The command line: ``conflict-ie {train,evaluate,predict,validate,markup,gold-incidents,studio}``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .inputs import read_text_files


def _train(args) -> int:
    from ..config import load_config
    from ..training.trainer import train

    train(load_config(args.config, args.overrides))
    return 0


def _evaluate(args) -> int:
    from ..evaluation.evaluate import run_evaluation

    run_evaluation(model_dir=args.model, config_path=args.config, split=args.split, data_file=args.data,
                   out_dir=args.out, peer=args.peer, model_card=args.model_card,
                   cross_validation=args.cross_validation)
    return 0


def _read_inputs(paths: list[str]) -> list[tuple[str, str]]:
    """(name, text) for each file, each .txt file of a folder, or standard input ("-" or nothing)."""
    if not paths or paths == ["-"]:
        return [("<stdin>", sys.stdin.read())]
    try:
        return [(str(file), text) for file, text in read_text_files(paths)]
    except ValueError as error:
        raise SystemExit(f"error: {error}") from error


def _predict(args) -> int:
    from .outputs import to_csv, to_jsonl, to_table
    from .predictor import Predictor

    inputs = _read_inputs(args.inputs)
    predictor = Predictor.load(args.model)
    dates = [args.publication_date] * len(inputs) if args.publication_date else None
    results = predictor.predict([text for _, text in inputs], publication_dates=dates, progress=args.progress)
    named = list(zip((name for name, _ in inputs), results))
    render = {"jsonl": to_jsonl, "table": to_table, "csv": to_csv}[args.format]
    output = render(named)
    if args.out:
        Path(args.out).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    return 0


def _gold_incidents(args) -> int:
    from ..evaluation.gold import write_gold_incidents

    write_gold_incidents([Path(p) for p in args.exports], Path(args.out))
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    parser = argparse.ArgumentParser(prog="conflict-ie", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model from a YAML config")
    train.add_argument("config")
    train.add_argument("overrides", nargs="*", help="key=value, e.g. train.epochs=3")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="score a model on a split or an annotation file; write reports")
    evaluate.add_argument("--model", default=None, help="model folder (default: the default model)")
    evaluate.add_argument("--config", default="configs/default.yaml", help="config naming the corpora and splits")
    evaluate.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    evaluate.add_argument("--data", default=None, help="score on this Label Studio export instead of a split")
    evaluate.add_argument("--out", default=None, help="report folder (default: <model>/../reports/<split>)")
    evaluate.add_argument("--peer", action="store_true", help="also score spaCy en_core_web_sm side by side")
    evaluate.add_argument("--model-card", default=None, help="also render a model card to this path")
    evaluate.add_argument("--cross-validation", default=None,
                          help="folder of leave-one-seed-out runs (from training/cross_validate.py) to include")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser("predict", help="incident records for articles (files, folders or stdin)")
    predict.add_argument("inputs", nargs="*", help="text files or folders of .txt files; '-' or nothing: stdin")
    predict.add_argument("--model", default=None)
    predict.add_argument("--format", choices=["jsonl", "table", "csv"], default="table")
    predict.add_argument("--publication-date", default=None, help="ISO date the articles were published")
    predict.add_argument("--out", default=None, help="write here instead of standard output")
    predict.add_argument("--progress", action="store_true")
    predict.set_defaults(run=_predict)

    validate = commands.add_parser("validate", help="check annotation files (Label Studio JSON or CoNLL)")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(run=lambda a: __import__("conflict_ie.validate", fromlist=["main"]).main(a.files))

    gold = commands.add_parser("gold-incidents", help="write the gold incident records of annotation exports")
    gold.add_argument("exports", nargs="+")
    gold.add_argument("--out", required=True)
    gold.set_defaults(run=_gold_incidents)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
