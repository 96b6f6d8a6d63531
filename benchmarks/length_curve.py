"""Time and memory of predict() against the length of one article, from 1 thousand to 3 million characters.

    python benchmarks/length_curve.py [--model DIR] [--lengths 1000,10000,...] [--threads 2] [--out FILE.md]

Each length runs in a fresh process (so its peak resident memory is its own): the model loads, then one article
of that many characters is predicted. The article is real news text (the seed articles and the authored corpus,
in order, repeated until long enough, cut at a line break), so the entity, trigger and relation density is that
of news. A short article is predicted first, so one-time loading (the gazetteer) is not counted. Printed:
seconds of predict(), characters per second, seconds per 100k characters (flat when time is
linear in length), peak RSS of the process and its growth over the RSS after the model loaded.
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


def measure(model: str | None, length: int, threads: int) -> dict:
    """One run in this process: load the model, predict one article of ``length`` characters."""
    import torch

    from conflict_ie.api.predictor import Predictor

    torch.set_num_threads(threads)
    predictor = Predictor.load(model)
    predictor.predict(["A drone strike killed two fighters in Marib, in Yemen."])  # one-time loads (gazetteer)
    text = article_of_length(length)
    loaded_kib = _rss_kib()
    started = time.perf_counter()
    (result,) = predictor.predict([text])
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"characters": len(text), "words": len(text.split()), "seconds": round(seconds, 2),
            "entities": len(result.entities), "triggers": len(result.triggers),
            "relations": len(result.relations), "incidents": len(result.incidents),
            "rss_after_load_mib": round(loaded_kib / 1024), "peak_rss_mib": round(peak_kib / 1024)}


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def table(rows: list[dict]) -> str:
    lines = ["| characters | words | predict s | chars/s | s per 100k chars | entities | triggers | relations | "
             "incidents | RSS after load MiB | peak RSS MiB | growth MiB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        per_100k = row["seconds"] / row["characters"] * 100_000
        lines.append(f"| {row['characters']:,} | {row['words']:,} | {row['seconds']:.2f} | "
                     f"{row['characters'] / max(row['seconds'], 1e-9):,.0f} | {per_100k:.2f} | {row['entities']:,} | "
                     f"{row['triggers']:,} | {row['relations']:,} | {row['incidents']:,} | "
                     f"{row['rss_after_load_mib']:,} | {row['peak_rss_mib']:,} | "
                     f"{row['peak_rss_mib'] - row['rss_after_load_mib']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the default model)")
    parser.add_argument("--lengths", default=",".join(map(str, DEFAULT_LENGTHS)))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write the table (markdown) here")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a child process's length
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.model, args.one, args.threads)))
        return 0
    rows = []
    for length in (int(value) for value in args.lengths.split(",")):
        command = [sys.executable, __file__, "--one", str(length), "--threads", str(args.threads)]
        if args.model:
            command += ["--model", args.model]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    command = "python benchmarks/length_curve.py " + " ".join(argv if argv is not None else sys.argv[1:])
    output = (f"Measured with `{command.strip()}` on {os.cpu_count()} CPU cores, torch threads {args.threads}.\n\n"
              + table(rows) + "\n")
    print(output)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(output, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
