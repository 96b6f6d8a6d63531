"""Leave-one-seed-out cross-validation: for each seed article, train without it and score on it.

    python training/cross_validate.py configs/default.yaml [--out runs/crossval] [key=value ...]

The seeds are the user's own articles and the in-domain test, but there are only three, so each is held out in
turn: the fold trains on the default corpora with the other two seeds in training and this one listed only as
test (which training never reads; a document the split file leaves out would be trained on), then scores
entities, triggers, relations and incidents on the held-out seed. Folds train for fewer epochs than the config
(train.epochs=8 unless overridden: a step count, never a clock, so every machine trains the same folds) so the
three fit beside the default training on a laptop.
Writes runs/crossval/cross_validation.json, which `conflict-ie evaluate --cross-validation runs/crossval` adds
to the report and the model card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conflict_ie.config import load_config, resolve_path  # noqa: E402
from conflict_ie.data.corpora import load_corpus  # noqa: E402
from conflict_ie.evaluation.evaluate import evaluate_documents  # noqa: E402
from conflict_ie.evaluation.metrics import CROSS_VALIDATION_FIGURES, HEADLINE_PATHS, headline  # noqa: E402
from conflict_ie.api.predictor import Predictor  # noqa: E402
from conflict_ie.training.trainer import train  # noqa: E402

FOLD_DEFAULTS = ["train.epochs=8"]  # about 290 steps a fold, half the default training
# the metrics sections a fold keeps: those its headline figures are read from
FOLD_LAYERS = tuple(HEADLINE_PATHS[name][0] for name in CROSS_VALIDATION_FIGURES)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--out", default="runs/crossval", help="folder for the fold runs and the summary")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args(argv)
    config_path, overrides = args.config, args.overrides
    base = load_config(config_path, FOLD_DEFAULTS + overrides)
    out_root = resolve_path(base, args.out)
    out_root.mkdir(parents=True, exist_ok=True)
    seeds_corpus = next(c for c in base.data.corpora if c.name == "seeds")
    seeds = load_corpus(base, seeds_corpus).documents
    seed_ids = {d.id for d in seeds}
    splits = json.loads(resolve_path(base, base.data.splits_file).read_text(encoding="utf-8"))
    folds = []
    for held_out in seeds:
        fold_dir = out_root / held_out.id
        fold_splits = {name: [i for i in ids if i not in seed_ids] for name, ids in splits.items()}
        fold_splits["train"] += [d.id for d in seeds if d.id != held_out.id]
        # listed as test, which training never reads: a document missing from the split file would go to train
        fold_splits["test"] += [held_out.id]
        fold_dir.mkdir(parents=True, exist_ok=True)
        splits_file = fold_dir / "splits.json"
        splits_file.write_text(json.dumps(fold_splits, indent=1), encoding="utf-8")
        # the fold's paths as given (relative to the working directory, as every config path is), so a fold's
        # recorded config is the same in any checkout and a finished fold is reused wherever it is copied
        recorded_dir = Path(args.out) / held_out.id
        config = load_config(config_path, FOLD_DEFAULTS + overrides + [
            f"data.splits_file={recorded_dir / 'splits.json'}", f"train.output_dir={recorded_dir}"])
        print(f"== fold: {held_out.id} held out")
        model_dir = train(config)
        predictor = Predictor.load(model_dir)
        trained_on = predictor.metadata["documents"]
        if held_out.id in trained_on["train"] + trained_on["dev"]:
            raise RuntimeError(f"{held_out.id} was read by the training of its own fold ({model_dir})")
        metrics, _ = evaluate_documents(predictor, [held_out])
        record = predictor.metadata.get("training", {})
        folds.append({"held_out": held_out.id, **{k: metrics[k] for k in FOLD_LAYERS if k in metrics},
                      "training": {k: record.get(k) for k in ("steps", "planned_steps", "truncated", "best_step")}})
    mean = {}  # in the shape of a metrics dict ({layer: {average: {"f1": ...}}}), so headline() reads it too
    for name in CROSS_VALIDATION_FIGURES:
        values = [value for value in (getattr(headline(fold), name) for fold in folds) if value is not None]
        if values:
            layer, average = HEADLINE_PATHS[name]
            mean[layer] = {average: {"f1": round(sum(values) / len(values), 4)}}
    summary = {"folds": folds, "mean": mean, "fold_overrides": FOLD_DEFAULTS + overrides,
               "command": "python training/cross_validate.py " + " ".join(argv)}
    (out_root / "cross_validation.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(mean, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
