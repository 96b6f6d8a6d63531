"""Articles per second of the Ray engine with 1 and 2 actors, and of the in-process sharded run, on one machine.

    python benchmarks/ray_throughput.py [--model DIR] [--articles 50] [--num-cpus 2]

The articles are real news text: the three seed articles and the authored corpus (annotations/authored.json), with
their ids and publication dates, repeated to reach --articles. Without --model: runs/default/model when it exists,
else a tiny random BERT model trained for 2 steps (the test fixture's, built here in a temporary folder), which
measures the engine's overhead more than the model: say which one a figure is for. Ray starts once (its start-up
is printed, not counted); each run is timed from the first read to the last row written, model loading in every
actor included, as a user would see it. Printed: one line per configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def articles(count: int, chars: int | None = None) -> list[dict]:
    rows = [{"id": p.stem, "text": p.read_text(encoding="utf-8"), "publication_date": None}
            for p in sorted((ROOT / "seeds").glob("*.txt"))]
    for task in json.loads((ROOT / "annotations" / "authored.json").read_text(encoding="utf-8")):
        rows.append({"id": task["data"]["doc_id"], "text": task["data"]["text"],
                     "publication_date": task["data"].get("publication_date")})
    rows = [{**row, "text": row["text"][:chars]} for row in rows] if chars else rows
    return [{**rows[i % len(rows)], "id": f"{rows[i % len(rows)]['id']}#{i // len(rows)}"} for i in range(count)]


def tiny_model(folder: Path) -> Path:
    """The test suite's tiny model: a random BERT (hidden 32, 2 layers) trained 2 steps on one article."""
    from tests.conftest import make_tiny_encoder, train_tiny_model

    return train_tiny_model(folder, make_tiny_encoder(folder / "encoder"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: runs/default/model, else tiny)")
    parser.add_argument("--articles", type=int, default=50)
    parser.add_argument("--chars", type=int, default=None,
                        help="cut each article to its first N characters (the tiny model, which tags nearly every "
                             "token, takes seconds per whole article)")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--batch-size", type=int, default=8, help="articles per map_batches call")
    args = parser.parse_args()

    import ray

    from conflict_ie.api.collections import predict_collection
    from conflict_ie.api.ray_engine import connect, predict_with_ray

    work = Path(tempfile.mkdtemp(prefix="ray-throughput-"))
    model = Path(args.model) if args.model else ROOT / "runs" / "default" / "model"
    which = str(model)
    if not model.is_dir():
        model, which = tiny_model(work / "tiny"), "the tiny test model (runs/default/model absent)"
    feed = work / "feed.jsonl"
    rows = articles(args.articles, args.chars)
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    characters = sum(len(r["text"]) for r in rows)
    print(f"model: {which}\n{len(rows)} articles, {characters:,} characters; machine: {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the start")

    started = time.perf_counter()
    connect(num_cpus=args.num_cpus)
    print(f"ray {ray.__version__}: import + ray.init(num_cpus={args.num_cpus}) {time.perf_counter() - started:.1f} s")
    configurations = [(1, 1), (2, 1)]  # (actors, cores each)
    for actors, cores in configurations:
        started = time.perf_counter()
        summary = predict_with_ray(feed, work / f"ray-{actors}x{cores}", model, concurrency=actors,
                                   num_cpus=cores, batch_size=args.batch_size)
        seconds = time.perf_counter() - started
        print(f"ray, {actors} actor(s) x {cores} core(s): {summary.articles} articles, {summary.incidents} incidents, "
              f"{summary.errors} errors in {seconds:.1f} s = {summary.articles / seconds:.2f} articles/s "
              f"({summary.articles_per_second:.2f} articles/s on predict_with_ray's own clock)")
    ray.shutdown()

    import torch

    torch.set_num_threads(args.num_cpus)
    started = time.perf_counter()
    summary = predict_collection(feed, work / "local", model=model, shard_size=25, cache_dir=work / "cache")
    seconds = time.perf_counter() - started
    print(f"local sharded run ({args.num_cpus} torch threads): {summary.articles} articles in {seconds:.1f} s = "
          f"{summary.articles / seconds:.2f} articles/s (model loading included)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
