"""How incident assembly should use the role-filler layer: seven rules compared on the dev split.

    python benchmarks/role_filler_rules.py [--model runs/default/model] [--config configs/default.yaml] [--out FILE.md]

The dev documents of every configured corpus (our own dev split, and MUC-4's dev documents when the config has
MUC-4) are decoded once; each rule then re-assembles the incidents from the same decoded spans. Printed per rule:
incident role P/R/F1 against the gold incident records of our dev documents, and MUC-4 template micro P/R/F1 on
MUC-4 dev. The rule ``assembly.py`` ships is the one chosen on these dev figures; the seeds and the test split play
no part in the choice.

The rules differ in three choices: which incident a filler may join (the nearest trigger in its sentence only, or
in the article when its sentence has none), whether it may join a role the relations already filled, and whether
low-confidence fillers are kept.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conflict_ie.api.predictor import Predictor  # noqa: E402
from conflict_ie.config import load_config  # noqa: E402
from conflict_ie.data.corpora import load_corpus, load_splits, split_documents  # noqa: E402
from conflict_ie.evaluation.gold import gold_incidents  # noqa: E402
from conflict_ie.evaluation.markdown import table  # noqa: E402
from conflict_ie.evaluation.metrics import incident_scores  # noqa: E402
from conflict_ie.evaluation.muc4 import score_articles  # noqa: E402
from conflict_ie.incidents import assembly  # noqa: E402

SHIPPED = assembly._attach_role_fillers


def rule(*, empty_roles_only: bool, same_sentence_only: bool, min_score: float):
    """``assembly._attach_role_fillers`` with these choices (its defaults are the shipped rule)."""
    return functools.partial(SHIPPED, empty_roles_only=empty_roles_only, same_sentence_only=same_sentence_only,
                             min_score=min_score)


RULES = {
    "no role fillers": None,
    "any role, nearest trigger in the sentence, else in the article": rule(
        empty_roles_only=False, same_sentence_only=False, min_score=0.0),
    "empty roles only, sentence else article": rule(empty_roles_only=True, same_sentence_only=False, min_score=0.0),
    "any role, same sentence only": rule(empty_roles_only=False, same_sentence_only=True, min_score=0.0),
    "empty roles only, same sentence only (shipped)": rule(empty_roles_only=True, same_sentence_only=True,
                                                          min_score=0.0),
    "any role, sentence else article, score >= 0.8": rule(empty_roles_only=False, same_sentence_only=False,
                                                          min_score=0.8),
    "empty roles only, sentence else article, score >= 0.8": rule(empty_roles_only=True, same_sentence_only=False,
                                                                  min_score=0.8),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/default/model")
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    corpora = [load_corpus(config, c) for c in config.data.corpora]
    dev = [document for _, document in split_documents(corpora, load_splits(config))["dev"]]
    ours = [d for d in dev if {"triggers", "relations"} <= d.layers]
    muc = [d for d in dev if "muc4_templates" in d.meta]
    decoded = Predictor.load(args.model).runner.run([d.text for d in dev])
    gold = {d.id: list(gold_incidents(d)) for d in ours}
    rows = []
    try:
        for name, attach in RULES.items():
            assembly._attach_role_fillers = attach or SHIPPED
            incidents = {d.id: list(assembly.assemble(d.text, r.entities, r.triggers, r.relations, d.publication_date,
                                                      role_fillers=r.role_fillers if attach else ()))
                         for d, r in zip(dev, decoded)}
            roles = incident_scores(gold, {d.id: incidents[d.id] for d in ours})["micro"]
            row = [name] + [f"{roles[k]:.3f}" for k in ("precision", "recall", "f1")]
            if muc:
                scores = score_articles({d.id: d.meta["muc4_templates"] for d in muc}, {d.id: incidents[d.id] for d in muc})
                row += [f"{scores['micro'][k]:.3f}" for k in ("precision", "recall", "f1")]
            rows.append(row)
    finally:
        assembly._attach_role_fillers = SHIPPED
    header = ["Rule", "Incident role P", "R", "F1"] + (["MUC-4 P", "R", "F1"] if muc else [])
    text = (f"Role-filler rules on the dev split ({len(ours)} documents with gold incidents, {len(muc)} MUC-4 "
            f"documents), `python benchmarks/role_filler_rules.py {' '.join(argv)}`:\n\n" + table(header, rows) + "\n")
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
