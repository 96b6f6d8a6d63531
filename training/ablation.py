"""Corpus ablation: how the dev figures move when one training corpus is left out.

    python training/ablation.py configs/default.yaml [--leave-out re3d,authored,re3d:incidents] [key=value ...]

For each left-out corpus, trains the config without it (runs/ablation/no_<name>), then scores that model and the
already trained full model (train.output_dir of the config, i.e. runs/default) on the same documents: the whole
dev split of every corpus in the config, so the rows are comparable. Each row also gives entity micro F1 per
corpus, since leaving out a corpus mostly moves the figures on its own kind of text. Writes
runs/ablation/ablation.json and runs/ablation/ablation.md. The left-out runs keep the config's epochs, so a run on
less data simply does fewer steps. ``NAME:incidents`` keeps corpus NAME but without the incident layers a config
joins onto it (``incidents:``, re3d's): the row "without the NAME incident layers" (runs/ablation/no_NAME_incidents).
Each row also gives trigger precision and recall per corpus, where a corpus's dev documents annotate triggers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conflict_ie.config import load_config, resolve_path  # noqa: E402
from conflict_ie.data.corpora import load_corpus, load_splits, split_documents  # noqa: E402
from conflict_ie.evaluation.evaluate import evaluate_documents  # noqa: E402
from conflict_ie.evaluation.metrics import headline, span_scores  # noqa: E402
from conflict_ie.api.predictor import Predictor  # noqa: E402
from conflict_ie.evaluation.report import markdown_table  # noqa: E402
from conflict_ie.training.trainer import train  # noqa: E402

TRAINING_KEYS = ("device", "steps", "best_step", "wall_time_s", "peak_rss_mb")


def dev_documents(config) -> list[tuple[str, object]]:
    """(corpus name, document) for the dev split of every corpus the config names."""
    corpora = [load_corpus(config, c) for c in config.data.corpora]
    return [(corpus.config.name, doc) for corpus, doc in split_documents(corpora, load_splits(config))["dev"]]


def score(model_dir: Path, dev: list[tuple[str, object]]) -> dict:
    """Headline dev figures of one model, overall and entity micro F1 per corpus."""
    predictor = Predictor.load(model_dir)
    metrics, views = evaluate_documents(predictor, [doc for _, doc in dev])
    figures = headline(metrics)
    row = {
        "entity_micro_f1": figures.entity_micro_f1,
        "entity_macro_f1": figures.entity_macro_f1,
        "trigger_micro_f1": figures.trigger_f1,
        "relation_micro_f1": figures.relation_f1,
        "incident_role_micro_f1": figures.incident_role_f1,
        "role_filler_micro_f1": figures.role_filler_f1,
        "muc4_micro_f1": figures.muc4_f1,
        "entity_micro_f1_by_corpus": {},
        "trigger_by_corpus": {},
        "training": {k: predictor.metadata.get("training", {}).get(k) for k in TRAINING_KEYS},
    }
    for name in sorted({name for name, _ in dev}):  # the same predictions, scored per corpus
        subset = [view for (corpus, _), view in zip(dev, views) if corpus == name]
        scores = span_scores([v.gold for v in subset], [v.predicted for v in subset], "entities")
        row["entity_micro_f1_by_corpus"][name] = headline({"entities": scores}).entity_micro_f1
        triggers = span_scores([v.gold for v in subset], [v.predicted for v in subset], "triggers")
        if triggers["documents"]:
            row["trigger_by_corpus"][name] = {k: triggers["micro"][k] for k in ("precision", "recall")}
    return row


def write_table(summary: dict, path: Path) -> None:
    """The Markdown table of ``ablation.json``: dev figures per training mix, then how each model was trained."""
    rows, dev_counts = summary["rows"], summary["dev_documents"]
    corpora = sorted(dev_counts)
    trigger_corpora = sorted({name for row in rows.values() for name in row.get("trigger_by_corpus", {})})
    header = (["Training data", "Entity micro F1", "Entity macro F1", "Trigger F1", "Relation F1",
               "Incident role F1", "Role filler F1", "MUC-4 template F1"]
              + [f"Entity F1 on {name} dev ({dev_counts[name]} docs)" for name in corpora]
              + [f"Trigger {m} on {name} dev" for name in trigger_corpora for m in ("P", "R")])
    body = []
    for label, row in rows.items():
        cells = ([row["entity_micro_f1"], row["entity_macro_f1"], row["trigger_micro_f1"], row["relation_micro_f1"],
                  row["incident_role_micro_f1"], row.get("role_filler_micro_f1"), row.get("muc4_micro_f1")]
                 + [row["entity_micro_f1_by_corpus"].get(n) for n in corpora]
                 + [row.get("trigger_by_corpus", {}).get(n, {}).get(k) for n in trigger_corpora
                    for k in ("precision", "recall")])
        body.append([label] + ["n/a" if v is None else f"{v:.3f}" for v in cells])
    training = [[label] + [str(row["training"].get(k, "n/a")) for k in TRAINING_KEYS] for label, row in rows.items()]
    path.write_text(
        "# Corpus ablation on the dev split\n\n"
        f"Produced by `{summary['command']}`. Every model is scored on the same dev documents "
        "(strict IOB2 seqeval for spans; relations need exact head and tail spans and types).\n\n"
        + markdown_table(header, body) + "\n\nHow each model was trained:\n\n"
        + markdown_table(["Training data", *TRAINING_KEYS], training) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--leave-out", default="re3d,re3d:incidents,authored,muc4",
                        help="comma-separated corpus names, one run each")
    parser.add_argument("--out", default="runs/ablation", help="folder for the left-out runs and the table")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args(argv)
    full = load_config(args.config, args.overrides)
    out_root = resolve_path(full, args.out)
    names = [c.name for c in full.data.corpora]
    left_out_names = [n for n in args.leave_out.split(",") if n]
    unknown = sorted({n.removesuffix(":incidents") for n in left_out_names} - set(names))
    if unknown:
        raise SystemExit(f"--leave-out names corpora the config does not have: {unknown}; it has {names}")
    full_model = resolve_path(full, full.train.output_dir) / "model"
    if not full_model.exists():
        raise SystemExit(f"no full model at {full_model}: train it first (python training/train.py {args.config})")
    dev = dev_documents(full)
    dev_counts = {name: sum(1 for corpus, _ in dev if corpus == name) for name in names}
    rows = {"all corpora (" + ", ".join(names) + ")": score(full_model, dev)}
    for left_out in left_out_names:
        name, incidents_only = left_out.removesuffix(":incidents"), left_out.endswith(":incidents")
        folder = "no_" + name + ("_incidents" if incidents_only else "")
        config = load_config(args.config, args.overrides + [f"train.output_dir={out_root / folder}"])
        if incidents_only:
            corpus = next(c for c in config.data.corpora if c.name == name)
            if not corpus.incidents:
                raise SystemExit(f"--leave-out {left_out}: corpus {name!r} joins no incident layers in {args.config}")
            corpus.incidents = ""
            label = f"without the {name} incident layers"
        else:
            config.data.corpora = [c for c in config.data.corpora if c.name != name]
            label = f"without {name}"
        print(f"== training {label}")
        rows[label] = score(train(config), dev)
    out_root.mkdir(parents=True, exist_ok=True)
    summary = {"rows": rows, "dev_documents": dev_counts,
               "command": "python training/ablation.py " + " ".join(argv)}
    (out_root / "ablation.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    write_table(summary, out_root / "ablation.md")
    print((out_root / "ablation.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
