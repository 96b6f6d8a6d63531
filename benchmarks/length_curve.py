"""Time and memory of predict() against the length of one article, from 1 thousand to 3 million characters,
and against the number of articles in one call.

    python benchmarks/length_curve.py [--model DIR] [--backend torch|torch-bf16|onnx|onnx-int8] [--lengths 1000,10000,...]
                                      [--counts 1,10,100,...] [--threads 2] [--out FILE.md]

Each length runs in a fresh process (so its peak resident memory is its own): the model loads, then one article
of that many characters is predicted. The article is real news text (the seed articles and the authored corpus,
in order, repeated until long enough, cut at a line break), so the entity, trigger and relation density is that
of news. A short article is predicted first, so one-time loading (the gazetteer) is not counted. Printed:
seconds of predict(), characters per second, seconds per 100k characters (flat when time is
linear in length), peak RSS of the process and its growth over the RSS after the model loaded. With
``--counts``, each count runs the same way on that many articles (the seed and authored texts in turn, each a
separate article) in one predict() call: seconds per article is flat when time is linear in their number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LENGTHS = (1_000, 10_000, 100_000, 300_000, 1_000_000, 3_000_000)


def article_of_length(length: int) -> str:
    """Real news text of exactly ``length`` characters or a little less (cut at a line break)."""
    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))]
    texts += [task["data"]["text"] for task in
              json.loads((ROOT / "annotations" / "authored.json").read_text(encoding="utf-8"))]
    pool = "\n\n".join(texts)
    text = (pool + "\n\n") * (length // (len(pool) + 2) + 1)
    cut = text.rfind("\n", 0, length)
    return text[:cut if cut > length // 2 else length]


def articles(count: int) -> list[str]:
    """``count`` real news articles: the seed and authored texts in turn."""
    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))]
    texts += [task["data"]["text"] for task in
              json.loads((ROOT / "annotations" / "authored.json").read_text(encoding="utf-8"))]
    return [texts[i % len(texts)] for i in range(count)]


def measure(model: str | None, length: int, threads: int, backend: str = "torch", count: int | None = None) -> dict:
    """One run in this process: load the model, predict one article of ``length`` characters (or ``count``
    articles in one call)."""
    import torch

    from conflict_ie.api.predictor import Predictor

    torch.set_num_threads(threads)
    predictor = Predictor.load(model, backend=backend, num_threads=threads)
    predictor.predict(["A drone strike killed two fighters in Marib, in Yemen."])  # one-time loads (gazetteer)
    texts = articles(count) if count is not None else [article_of_length(length)]
    loaded_kib = _rss_kib()
    started = time.perf_counter()
    results = predictor.predict(texts)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"articles": len(texts), "characters": sum(map(len, texts)),
            "words": sum(len(text.split()) for text in texts), "seconds": round(seconds, 2),
            "entities": sum(len(r.entities) for r in results), "triggers": sum(len(r.triggers) for r in results),
            "relations": sum(len(r.relations) for r in results), "incidents": sum(len(r.incidents) for r in results),
            "rss_after_load_mib": round(loaded_kib / 1024), "peak_rss_mib": round(peak_kib / 1024)}


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def table(rows: list[dict], by_count: bool = False) -> str:
    lines = [("| articles " if by_count else "") + "| characters | words | predict s | chars/s | "
             + ("s per article" if by_count else "s per 100k chars") + " | entities | triggers | relations | "
             "incidents | RSS after load MiB | peak RSS MiB | growth MiB |",
             ("|---:" if by_count else "") + "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        per_100k = (row["seconds"] / row["articles"] if by_count
                    else row["seconds"] / row["characters"] * 100_000)
        lines.append((f"| {row['articles']:,} " if by_count else "")
                     + f"| {row['characters']:,} | {row['words']:,} | {row['seconds']:.2f} | "
                     f"{row['characters'] / max(row['seconds'], 1e-9):,.0f} | {per_100k:.2f} | {row['entities']:,} | "
                     f"{row['triggers']:,} | {row['relations']:,} | {row['incidents']:,} | "
                     f"{row['rss_after_load_mib']:,} | {row['peak_rss_mib']:,} | "
                     f"{row['peak_rss_mib'] - row['rss_after_load_mib']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the default model)")
    parser.add_argument("--lengths", default=",".join(map(str, DEFAULT_LENGTHS)))
    parser.add_argument("--counts", default="", help="numbers of articles per call, comma-separated ('' for none)")
    parser.add_argument("--backend", default="torch", help="torch, torch-bf16, onnx or onnx-int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write the table (markdown) here")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a child process's length
    parser.add_argument("--count", type=int, default=None, help=argparse.SUPPRESS)  # a child's number of articles
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.model, args.one, args.threads, args.backend, args.count)))
        return 0
    runs = [(int(value), None) for value in args.lengths.split(",") if value]
    runs += [(0, int(value)) for value in args.counts.split(",") if value]
    rows = []
    for length, count in runs:
        command = [sys.executable, __file__, "--one", str(length), "--threads", str(args.threads),
                   "--backend", args.backend] + (["--count", str(count)] if count is not None else [])
        if args.model:
            command += ["--model", args.model]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        rows.append({**json.loads(done.stdout.strip().splitlines()[-1]), "by_count": count is not None})
        print(json.dumps(rows[-1]), flush=True)
    command = "python benchmarks/length_curve.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load = os.getloadavg()
    output = (f"Measured with `{command.strip()}` on {os.cpu_count()} CPU cores, backend {args.backend}, "
              f"{args.threads} threads; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.\n\n"
              + table([row for row in rows if not row["by_count"]]) + "\n")
    if any(row["by_count"] for row in rows):
        output += "\n" + table([row for row in rows if row["by_count"]], by_count=True) + "\n"
    print(output)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(output, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
