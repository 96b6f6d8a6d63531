"""Cross-fitting one corpus's training documents: real-text figures from text the model did not train on.

    python training/cross_fit.py configs/default.yaml --corpus re3d [--out runs/crossfit_re3d] [--fold 1|2]
        [key=value ...]

A real corpus's dev and test splits are small (re3d: 6 documents each), too few for a firm figure, while its
training documents are many. So: split them in two halves (sorted ids, taken alternately), train the config once
without each half (the half is listed as test, which training never reads; a document the split file left out
would be trained on), and predict each half with the model that did not read it. The two halves together give
every layer's figures on all of the corpus's training documents. A fold model trains on everything the config
does except its held-out half, so it is a little weaker than the full model: the figures are a slightly
pessimistic estimate of the full model on unseen text of that corpus.

--fold trains one fold only, so that the two can run at once (each with train.num_threads=1 on a 2-core
machine). A fold whose model folder exists is not trained again; it is checked never to have read its held-out
half. Once both fold models exist the script scores them and writes OUT/cross_fit.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conflict_ie.config import load_config, resolve_path  # noqa: E402
from conflict_ie.data.corpora import load_corpus, load_splits  # noqa: E402

FOLDS = (1, 2)


def halves(document_ids: list[str]) -> dict[int, list[str]]:
    """The held-out half of each fold: the sorted ids taken alternately, so the halves mix the corpus's sources."""
    ordered = sorted(document_ids)
    return {1: ordered[0::2], 2: ordered[1::2]}


def fold_splits(splits: dict[str, list[str]], held_out: list[str]) -> dict[str, list[str]]:
    """The split file of a fold: ``held_out`` moved from train to test, the other splits as they are."""
    held = set(held_out)
    moved = {name: sorted(set(ids) - held) for name, ids in splits.items()}
    moved["test"] = sorted(set(moved.get("test", ())) | held)
    return moved


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--corpus", required=True, help="name of the corpus (in the config) to cross-fit")
    parser.add_argument("--out", help="folder for the fold runs and cross_fit.json (default runs/crossfit_CORPUS)")
    parser.add_argument("--fold", type=int, choices=FOLDS, help="train and check this fold only")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args(argv)
    base = load_config(args.config, args.overrides)
    corpus_config = next((c for c in base.data.corpora if c.name == args.corpus), None)
    if corpus_config is None:
        raise SystemExit(f"{args.config} has no corpus {args.corpus!r}: "
                         f"{', '.join(c.name for c in base.data.corpora)}")
    out = args.out or f"runs/crossfit_{args.corpus}"
    out_root = resolve_path(base, out)
    splits = load_splits(base)
    documents = {d.id: d for d in load_corpus(base, corpus_config).documents}
    held_out = halves([i for i in splits["train"] if i in documents])
    if not all(held_out.values()):
        raise SystemExit(f"{args.corpus} has fewer than two training documents to cross-fit")

    model_dirs = {}
    for fold in (args.fold,) if args.fold else FOLDS:
        model_dirs[fold] = _trained_fold(args, out, out_root, fold, splits, held_out[fold])
    if args.fold:
        return 0
    summary = _score(model_dirs, held_out, documents)
    summary.update(corpus=args.corpus, command="python training/cross_fit.py " + " ".join(argv),
                   held_out={str(fold): ids for fold, ids in held_out.items()})
    (out_root / "cross_fit.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps({k: summary[k] for k in ("documents", "triggers", "incidents", "no_incident_documents")},
                     indent=2))
    return 0


def _trained_fold(args, out: str, out_root: Path, fold: int, splits, held_out: list[str]) -> Path:
    """The model folder of a fold, trained unless it exists; refused if it read any held-out document."""
    from conflict_ie.training.trainer import train

    fold_dir = out_root / f"fold{fold}"
    model_dir = fold_dir / "model"
    if not (model_dir / "conflict_ie.json").exists():
        fold_dir.mkdir(parents=True, exist_ok=True)
        (fold_dir / "splits.json").write_text(json.dumps(fold_splits(splits, held_out), indent=1), encoding="utf-8")
        # the fold's paths as given (relative to the working directory, as every config path is)
        recorded = Path(out) / f"fold{fold}"
        config = load_config(args.config, args.overrides + [f"data.splits_file={recorded / 'splits.json'}",
                                                            f"train.output_dir={recorded}"])
        print(f"== fold {fold}: {len(held_out)} {args.corpus} documents held out")
        model_dir = train(config)
    read = json.loads((Path(model_dir) / "conflict_ie.json").read_text(encoding="utf-8"))["documents"]
    seen = set(read["train"]) | set(read["dev"])
    if seen & set(held_out):
        raise SystemExit(f"fold {fold}'s model ({model_dir}) read {len(seen & set(held_out))} of the documents "
                         f"it must be scored on, e.g. {sorted(seen & set(held_out))[0]}")
    return Path(model_dir)


def _score(model_dirs: dict[int, Path], held_out: dict[int, list[str]], documents) -> dict:
    """Every held-out document predicted by its fold's model, scored together (as evaluate's per-corpus row
    scores a corpus) and, for the triggers (typed, and found whatever their type), per fold."""
    from conflict_ie.api.predictor import Predictor
    from conflict_ie.evaluation.evaluate import per_corpus_scores, predicted_documents, score_documents
    from conflict_ie.evaluation.gold import gold_incidents

    gold, predicted, gold_records, predicted_records, per_fold = [], [], {}, {}, {}
    for fold, model_dir in model_dirs.items():
        members = [documents[i] for i in held_out[fold]]
        predictor = Predictor.load(model_dir)
        fold_predicted, results, _ = predicted_documents(predictor, members)
        fold_scores = score_documents(members, fold_predicted)
        per_fold[str(fold)] = {"documents": len(members), "triggers": fold_scores["triggers"]["micro"],
                               "trigger_detection": fold_scores["trigger_detection"]["micro"],
                               "model": str(model_dir), "training_command": predictor.metadata.get("command")}
        gold += members
        predicted += fold_predicted
        for document, result in zip(members, results):
            if {"triggers", "relations"} <= document.layers:
                gold_records[document.id] = list(gold_incidents(document))
                predicted_records[document.id] = list(result.incidents)
    rows = per_corpus_scores(gold, predicted, gold_records, predicted_records)
    if len(rows) != 1:
        raise SystemExit(f"the corpus's documents come from several sources ({', '.join(rows)}); "
                         f"cross-fit a corpus of one source")
    (row,) = rows.values()
    return {
        "documents": len(gold),
        **{layer: row[layer] for layer in ("entities", "triggers", "trigger_detection", "relations", "incidents")},
        "no_incident_documents": {"documents": row["negative_documents"],
                                  "with_a_trigger": row["false_alarm_documents"]},
        "folds": per_fold,
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
