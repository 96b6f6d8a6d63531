"""Throughput of predict() beside its own floor and spaCy's en_core_web_sm, with the dev F1 of each backend.

    python benchmarks/speed.py [--model DIR] [--backends torch,onnx] [--threads 2] [--repeats 2]
                               [--long-chars 100000] [--out FILE.md]

One run, the same texts for every system: the seed articles, the dev documents of configs/default.yaml (read
from the data root, never written out: only figures are printed) and one long article of real news text
(``length_curve.article_of_length``). Each system runs in its own fresh process with the same thread count, so
its peak resident memory is its own; each is timed ``--repeats`` times and the fastest run counts (the machine is
shared: the slower runs measure the neighbours); predict() runs once alone (its peak memory is read then), then
its encoder floor and predict() are timed in turn, so their ratio compares moments of the same load. Printed per system: words/s and documents/s, each as a ratio to
spaCy's full pipeline; for our backends also the bare encoder pass over the same windows in the same batches
(the floor of our own cost) and predict's ratio to it, the peak RSS while predicting, and the dev F1 of every
layer from the timed predictions, so a faster backend can never hide a loss. The load average is printed
before and after: figures from a busy machine are ratios, not speeds.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from length_curve import article_of_length  # noqa: E402

SETS = ("seeds", "dev", "long")
F1_FIELDS = ("entity_micro_f1", "trigger_f1", "relation_f1", "incident_role_f1", "role_filler_f1")


def load_texts(config_path: str, long_chars: int, dev_limit: int | None = None) -> dict:
    """The benchmark's texts: {"seeds": [...], "dev": [...], "long": [...]} and the dev gold Documents."""
    from conflict_ie.config import load_config
    from conflict_ie.data.corpora import load_corpus, load_splits, split_documents

    config = load_config(config_path)
    corpora = [load_corpus(config, corpus) for corpus in config.data.corpora]
    dev = [document for _, document in split_documents(corpora, load_splits(config))["dev"]][:dev_limit]
    seeds = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))]
    return {"texts": {"seeds": seeds, "dev": [d.text for d in dev], "long": [article_of_length(long_chars)]},
            "dev_documents": dev}


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _best_seconds(run, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure_backend(model: str | None, backend: str, data: dict, threads: int, repeats: int) -> dict:
    """One of our backends in this process: predict() on every set, the bare encoder pass, dev F1, memory."""
    import torch

    from conflict_ie.api.predictor import Predictor

    torch.set_num_threads(threads)
    predictor = Predictor.load(model, device="cpu", backend=backend, num_threads=threads)
    row: dict = {"system": f"conflict-ie predict() [{backend}]", "backend": backend, "sets": {}}
    row["window"] = [predictor.runner.max_length, predictor.runner.stride]
    predictor.predict(["A drone strike killed two fighters in Marib, in Yemen."])  # one-time loads (gazetteer)
    loaded_kib = _rss_kib()
    results = {}
    for name in SETS:  # predict() alone first: the peak memory is predict's own
        texts = data["texts"][name]
        row["sets"][name] = {"seconds": _best_seconds(lambda: results.__setitem__(name, predictor.predict(texts)), 1)}
    row["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    row["rss_after_load_mib"] = round(loaded_kib / 1024)
    for name in SETS:
        texts = data["texts"][name]
        batches = predictor.runner.encoder_batches(texts)
        encode = lambda: [predictor.runner.tagger.encode(batch) for batch in batches]  # noqa: E731
        # then the floor and predict() in turn, so that both see the same moments of a shared machine
        row["sets"][name]["encoder_seconds"] = _best_seconds(encode, 1)
        for _ in range(repeats - 1):
            row["sets"][name]["seconds"] += _best_seconds(lambda: predictor.predict(texts), 1)
            row["sets"][name]["encoder_seconds"] += _best_seconds(encode, 1)
    row["dev_f1"] = dev_f1(data["dev_documents"], results["dev"])
    row["threads"] = threads
    return row


def measure_window(model: str | None, window: str, data: dict, threads: int) -> dict:
    """The torch backend with other windows (MAX_LENGTH/STRIDE tokens): dev F1 and predict() time on dev."""
    import torch

    from conflict_ie.api.predictor import Predictor

    torch.set_num_threads(threads)
    predictor = Predictor.load(model, device="cpu", num_threads=threads)
    predictor.runner.max_length, predictor.runner.stride = map(int, window.split("/"))
    predictor.predict(["A drone strike killed two fighters in Marib, in Yemen."])
    texts = data["texts"]["dev"]
    started = time.perf_counter()
    results = predictor.predict(texts)
    seconds = time.perf_counter() - started
    return {"window": window, "seconds": seconds, "words_per_second": sum(len(t.split()) for t in texts) / seconds,
            "dev_f1": dev_f1(data["dev_documents"], results)}


def dev_f1(documents, results) -> dict:
    """The headline F1 of each layer on the dev documents, from predict()'s results (as `evaluate` scores)."""
    from conflict_ie.evaluation.evaluate import score_documents, to_documents
    from conflict_ie.evaluation.gold import gold_incidents
    from conflict_ie.evaluation.metrics import headline, incident_scores

    metrics = score_documents(documents, to_documents(documents, results))
    with_incidents = [i for i, d in enumerate(documents) if {"triggers", "relations"} <= d.layers]
    metrics["incidents"] = incident_scores({documents[i].id: list(gold_incidents(documents[i])) for i in with_incidents},
                                           {documents[i].id: list(results[i].incidents) for i in with_incidents})
    figures = headline(metrics)
    return {field: getattr(figures, field) for field in F1_FIELDS}


def measure_spacy(pipeline: str, data: dict, repeats: int) -> dict:
    """spaCy's en_core_web_sm in this process: the full pipeline, or its NER alone (as the peer report runs it)."""
    import spacy

    from conflict_ie.evaluation.peer import PIPELINE, SpacyPeer

    nlp = spacy.load(PIPELINE) if pipeline == "full" else SpacyPeer().nlp
    nlp.max_length = max(nlp.max_length, *(len(text) + 1 for text in data["texts"]["long"]))
    list(nlp.pipe(["A drone strike killed two fighters in Marib, in Yemen."]))
    loaded_kib = _rss_kib()
    row: dict = {"system": f"spaCy en_core_web_sm, {'full pipeline' if pipeline == 'full' else 'NER only'}",
                 "backend": f"spacy-{pipeline}", "sets": {}, "components": list(nlp.pipe_names)}
    for name in SETS:
        texts = data["texts"][name]
        row["sets"][name] = {"seconds": _best_seconds(lambda: list(nlp.pipe(texts)), repeats)}
    row["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    row["rss_after_load_mib"] = round(loaded_kib / 1024)
    return row


def run_child(args, system: str, data_file: Path) -> dict:
    command = [sys.executable, __file__, "--child", system, "--data-file", str(data_file), "--threads",
               str(args.threads), "--repeats", str(args.repeats)]
    if args.model:
        command += ["--model", args.model]
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                               "OMP_NUM_THREADS": str(args.threads)})
    if done.returncode != 0:
        raise RuntimeError(f"{system} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(all_rows: list[dict], data: dict, args, command: str, loads: tuple) -> str:
    rows = [row for row in all_rows if "system" in row]  # the others are window rows
    words = {name: sum(len(text.split()) for text in data["texts"][name]) for name in SETS}
    documents = {name: len(data["texts"][name]) for name in SETS}
    characters = {name: sum(len(text) for text in data["texts"][name]) for name in SETS}
    total_words, total_documents = sum(words.values()), sum(documents.values())

    def rate(row, key="seconds"):
        seconds = sum(min(row["sets"][name][key]) for name in SETS)
        return total_words / seconds, total_documents / seconds

    spacy = next(row for row in rows if row["backend"] == "spacy-full")
    spacy_words, spacy_documents = rate(spacy)
    lines = [f"Command: `{command}`", "",
             f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
             f"{args.threads} threads for every system (torch and ONNX Runtime intra-op threads; spaCy runs on one "
             f"thread by design), best of {args.repeats} runs each, every system in its own process. Load average "
             f"(1, 5, 15 min) before: {loads[0][0]:.2f} {loads[0][1]:.2f} {loads[0][2]:.2f}; after: "
             f"{loads[1][0]:.2f} {loads[1][1]:.2f} {loads[1][2]:.2f}.", "",
             "Texts: " + "; ".join(f"{name} {documents[name]} documents, {words[name]:,} words, "
                                   f"{characters[name]:,} characters" for name in SETS)
             + f"; {total_words:,} words in all.", "",
             "| system | words/s | documents/s | vs spaCy full (words/s, documents/s) | encoder floor words/s | predict vs floor "
             "(time) | peak RSS MiB | RSS after load MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        words_per_second, documents_per_second = rate(row)
        floor = ""
        if "encoder_seconds" in row["sets"]["seeds"]:
            floor_words, _ = rate(row, "encoder_seconds")
            floor = f"{floor_words:,.0f} | {floor_words / words_per_second:.2f}x"
        else:
            floor = " | "
        lines.append(f"| {row['system']} | {words_per_second:,.0f} | {documents_per_second:.2f} | "
                     f"{words_per_second / spacy_words:.2f}x, {documents_per_second / spacy_documents:.2f}x | {floor} | {row['peak_rss_mib']:,} | "
                     f"{row['rss_after_load_mib']:,} |")
    lines += ["", "Words/s per text set (fastest run; all runs in seconds in brackets):", "",
              "| system | " + " | ".join(SETS) + " |", "|---|" + "---:|" * len(SETS)]
    for row in rows:
        cells = [f"{words[name] / min(row['sets'][name]['seconds']):,.0f} "
                 f"({', '.join(f'{s:.2f}' for s in row['sets'][name]['seconds'])})" for name in SETS]
        lines.append(f"| {row['system']} | " + " | ".join(cells) + " |")
    ours = [row for row in rows if "dev_f1" in row]
    if ours:
        reference = ours[0]["dev_f1"]
        lines += ["", f"Dev F1 of each backend, from the timed predictions ({documents['dev']} dev documents); "
                  f"the difference to {ours[0]['backend']} in brackets:", "",
                  "| backend | " + " | ".join(F1_FIELDS) + " |", "|---|" + "---:|" * len(F1_FIELDS)]
        for row in ours:
            cells = []
            for field in F1_FIELDS:
                value, base = row["dev_f1"][field], reference[field]
                cells.append("n/a" if value is None else f"{value:.4f}" + (
                    f" ({value - base:+.4f})" if row is not ours[0] and base is not None else ""))
            lines.append(f"| {row['backend']} | " + " | ".join(cells) + " |")
    windows = [row for row in all_rows if "system" not in row]
    if windows:
        lines += ["", "Windows and stride (max_length/stride in tokens, the torch backend, one run each on the dev "
                  "documents only; the model was trained on 256/64):", "",
                  "| window | dev words/s | " + " | ".join(F1_FIELDS) + " |", "|---|---:|" + "---:|" * len(F1_FIELDS)]
        for row in windows:
            lines.append(f"| {row['window']} | {row['words_per_second']:,.0f} | " + " | ".join(
                "n/a" if row["dev_f1"][f] is None else f"{row['dev_f1'][f]:.4f}" for f in F1_FIELDS) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the default model)")
    parser.add_argument("--config", default="configs/default.yaml", help="whose dev split to read")
    parser.add_argument("--backends", default="torch,torch-bf16,onnx,onnx-int8", help="our backends to run, comma-separated")
    parser.add_argument("--windows", default="256/64,256/32,128/32,384/64,512/128",
                        help="MAX_LENGTH/STRIDE windows to score on dev with torch, comma-separated ('' for none)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--long-chars", type=int, default=100_000, help="characters of the long article")
    parser.add_argument("--out", default=None, help="also write the report (markdown) here")
    parser.add_argument("--dev-limit", type=int, default=None, help="only the first N dev documents (a quick run)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # a child process's system
    parser.add_argument("--data-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        data = pickle.loads(Path(args.data_file).read_bytes())
        if args.child.startswith("spacy-"):
            row = measure_spacy(args.child.split("-", 1)[1], data, args.repeats)
        elif args.child.startswith("window-"):
            row = measure_window(args.model, args.child.split("-", 1)[1], data, args.threads)
        else:
            row = measure_backend(args.model, args.child, data, args.threads, args.repeats)
        print(json.dumps(row))
        return 0
    loads_before = os.getloadavg()
    data = load_texts(args.config, args.long_chars, args.dev_limit)
    rows = []
    with tempfile.TemporaryDirectory() as folder:  # the dev texts go to a temporary file only
        data_file = Path(folder) / "texts.pickle"
        data_file.write_bytes(pickle.dumps(data))
        windows = [f"window-{window}" for window in args.windows.split(",") if window]
        for system in ["spacy-full", "spacy-ner"] + args.backends.split(",") + windows:
            rows.append(run_child(args, system, data_file))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "sets"}), flush=True)
    command = "python benchmarks/speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    output = "# predict() speed beside spaCy\n\n" + report(rows, data, args, command.strip(),
                                                           (loads_before, os.getloadavg()))
    print(output)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(output, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
