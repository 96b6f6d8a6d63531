"""How the linking thresholds score on the dev event groups: the table the defaults of ``LinkSettings`` were
chosen from.

    python benchmarks/linking_rules.py --model runs/default/model

Reads the annotation exports (annotations/seeds.json, annotations/authored.json), the split file and the gold event
files (annotations/events/), predicts the dev documents the events name once, then links their gold and their
predicted incidents under each setting and prints pairwise and B-cubed F1 (``evaluation.linking``). Dev only, by
design: the test groups are for reporting, never for choosing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the default model)")
    parser.add_argument("--thresholds", default="3,4,5")
    parser.add_argument("--casualty-ratios", default="3,5")
    parser.add_argument("--tolerances", default="0,1", help="date tolerances in days")
    args = parser.parse_args()

    from conflict_ie.api.predictor import Predictor
    from conflict_ie.data.document import LoadReport
    from conflict_ie.data.label_studio_export import load_label_studio
    from conflict_ie.evaluation.gold import gold_incidents
    from conflict_ie.evaluation.linking import (event_files, load_gold_events, score_gold_linking,
                                                score_predicted_linking)
    from conflict_ie.incidents.linking import LinkSettings

    annotations = ROOT / "annotations"
    documents = {d.id: d for name in ("seeds.json", "authored.json")
                 for d in load_label_studio(annotations / name, LoadReport(name))}
    splits = {doc: split for split, ids in json.loads((annotations / "splits.json").read_text()).items()
              for doc in ids}
    events = load_gold_events(event_files(annotations / "events"), documents, splits=splits)
    dev = sorted({doc for event in events for doc, _ in event.incidents if splits.get(doc) == "dev"})
    dev_events = [e for e in events if any(doc in dev for doc, _ in e.incidents)]
    predictor = Predictor.load(args.model)
    results = predictor.predict([documents[d].text for d in dev],
                                publication_dates=[documents[d].publication_date for d in dev])
    gold = {d: list(gold_incidents(documents[d])) for d in dev}
    predicted = {d: list(r.incidents) for d, r in zip(dev, results)}
    dates = {d: documents[d].publication_date for d in dev}
    print(f"dev: {len(dev)} documents, {len(dev_events)} events; model {predictor.model_version}")
    print("threshold | casualty ratio | tolerance | gold pairwise F1 | gold B-cubed F1 | predicted pairwise F1 | "
          "predicted B-cubed F1")
    numbers = lambda text, kind: [kind(x) for x in text.split(",")]  # noqa: E731
    for threshold, ratio, tolerance in itertools.product(numbers(args.thresholds, int),
                                                         numbers(args.casualty_ratios, float),
                                                         numbers(args.tolerances, int)):
        settings = LinkSettings(link_threshold=threshold, casualty_ratio=ratio, date_tolerance_days=tolerance)
        on_gold = score_gold_linking(dev_events, gold, dev, dates, settings)
        on_predicted = score_predicted_linking(dev_events, gold, predicted, dev, dates, settings)
        print(f"{threshold} | {ratio} | {tolerance} | {on_gold['pairwise']['f1']:.3f} | {on_gold['bcubed']['f1']:.3f} "
              f"| {on_predicted['pairwise']['f1']:.3f} | {on_predicted['bcubed']['f1']:.3f}")


if __name__ == "__main__":
    main()
