"""The evaluation report as data and as Markdown: sections of tables built from a run's metrics dict,
``report.md`` rendered from them, and ``write_report``, which writes ``metrics.json``, ``report.md`` and
``report.html`` (rendered by ``report_html``).

Every number shown comes from the metrics dict; sections the dict lacks are reported as absent. Every value from
data or file names is escaped by ``markdown`` (report.md, the model card) or ``html.escape`` (report.html); a cell
our code emphasises is a ``Strong``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .markdown import Strong, escape
from .markdown import table as markdown_table
from .metrics import CROSS_VALIDATION_FIGURES, HEADLINE_PATHS, NO_GOLD, NOT_ANNOTATED, headline, layer_status

if TYPE_CHECKING:
    from .evaluate import EvaluatedDocument

SCORE_SECTIONS = (("entities", "Entities"), ("triggers", "Incident triggers"), ("relations", "Relations"),
                  ("role_fillers", "Role fillers"))
# What each scored layer is called in a sentence, and what its gold items are.
LAYER_WORDS = {"entities": ("entities", "entity spans"), "triggers": ("incident triggers", "trigger spans"),
               "relations": ("relations", "relations"),
               "role_fillers": ("role fillers", "role-filler spans"),
               "incidents": ("incidents (triggers and relations together)", "incident role fillers")}


# ---------------------------------------------------------------------------------------------------- formatting

def fmt(value, digits: int = 3) -> str:
    """A number for a table cell; missing values show as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def ratio(a, b) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return "–"
    return f"{a / b:.2f}×"


def _prf_row(name: str, scores: dict | None) -> list[str]:
    scores = scores or {}
    return [name, fmt(scores.get("precision")), fmt(scores.get("recall")), fmt(scores.get("f1")),
            fmt(scores.get("support"))]


PRF_HEADER = ["", "Precision", "Recall", "F1", "Support"]


def score_table(section: dict) -> tuple[list[str], list[list[str]]]:
    """Per-type rows then micro and macro averages, for a span or relation score section."""
    rows = [_prf_row(label, scores) for label, scores in sorted((section.get("per_type") or {}).items())]
    for average in ("micro", "macro"):
        if average in section:
            rows.append(_prf_row(Strong(average), section[average]))
    return PRF_HEADER, rows


def incident_tables(section: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = []
    rows = [_prf_row(role, scores) for role, scores in sorted((section.get("per_role") or {}).items())]
    if "micro" in section:
        rows.append(_prf_row(Strong("micro"), section["micro"]))
    tables.append(("Incident roles", PRF_HEADER, rows))
    summary = [[key.replace("_", " "), fmt(section.get(key))]
               for key in ("type_accuracy", "count_accuracy", "count_mae", "gold_incidents", "predicted_incidents")
               if key in section]
    tables.append(("Incident summary", ["Measure", "Value"], summary))
    return tables


PER_CORPUS_HEADER = ["Corpus", "Docs", "Entity F1", "Trigger P", "Trigger R", "Trigger F1",
                     "Trigger found P (any type)", "Trigger found R (any type)", "Relation F1",
                     "Incident role P", "Incident role R", "Incident role F1", "Role filler F1",
                     "No-incident docs (fired on)"]


def per_corpus_table(section: dict) -> tuple[list[str], list[list[str]]]:
    """One row per corpus; a layer the corpus does not annotate shows as an en dash."""
    def value(row: dict, layer: str, key: str) -> str:
        scores = row.get(layer) or {}
        return fmt(scores.get(key)) if scores.get("documents") else "–"

    rows = []
    for name, row in section.items():
        negatives = (f"{row.get('negative_documents')} ({row.get('false_alarm_documents')})"
                     if row.get("negative_documents") else "–")
        rows.append([name, fmt(row.get("documents")), value(row, "entities", "f1"),
                     value(row, "triggers", "precision"), value(row, "triggers", "recall"),
                     value(row, "triggers", "f1"), value(row, "trigger_detection", "precision"),
                     value(row, "trigger_detection", "recall"), value(row, "relations", "f1"),
                     value(row, "incidents", "precision"), value(row, "incidents", "recall"),
                     value(row, "incidents", "f1"), value(row, "role_fillers", "f1"), negatives])
    return PER_CORPUS_HEADER, rows


PER_CORPUS_NOTE = ("Micro figures per corpus, so that real text (seeds, re3d, MUC-4) is never hidden in an average "
                   "with the authored articles. A dash: the corpus does not annotate that layer. No-incident docs: "
                   "documents that annotate triggers and report no incident (threats, policy, background), and in "
                   "brackets how many of them the model found a trigger in anyway. Trigger found (any type): "
                   "a trigger span counts as found whatever type it is given (AirStrike for a gold Attack), so it "
                   "measures telling an incident from talk about violence apart from naming its kind; the plain "
                   "trigger columns count a right span of the wrong type as one false and one missed trigger.")


MUC4_HEADER = ["", "Precision", "Recall", "F1", "Correct", "Predicted", "Gold"]
MUC4_SLOT_NAMES = {"incident_type": "incident type", "PerpInd": "PerpInd (individual perpetrator)",
                   "PerpOrg": "PerpOrg (perpetrator organisation)", "Target": "Target", "Victim": "Victim",
                   "Weapon": "Weapon", "date": "date", "location": "location (most specific place)",
                   "location_lenient": "location (any place on the path)", "killed": "killed", "injured": "injured"}
# Published micro F1 (x100) on MUC-4's test split (TST3+TST4), which the data folder withholds.
MUC4_REFERENCES = (("GTT", 50.2), ("IterX, BERT-base", 51.7), ("IterX, T5-large", 53.0))


def _muc4_row(name, scores: dict | None) -> list[str]:
    scores = scores or {}
    return [name] + [fmt(scores.get(k)) for k in ("precision", "recall", "f1", "tp", "predicted", "gold")]


def muc4_tables(section: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    slots = section.get("per_slot") or {}
    rows = [_muc4_row(MUC4_SLOT_NAMES.get(name, name), scores) for name, scores in slots.items()]
    rows.append(_muc4_row(Strong("micro"), section.get("micro")))
    extended = [_muc4_row(MUC4_SLOT_NAMES.get(name, name), scores)
                for name, scores in (section.get("extended") or {}).items()]
    return [("MUC-4 template metric", MUC4_HEADER, rows),
            ("Beyond the published metric (raw answer keys)", MUC4_HEADER, extended)]


def muc4_note(section: dict) -> str:
    micro = (section.get("micro") or {}).get("f1")
    templates = section.get("templates") or {}
    other = section.get("other_conversion") or {}
    references = ", ".join(f"{name} {value}" for name, value in MUC4_REFERENCES)
    return (f"Our incident records as MUC-4 templates ({section.get('conversion', 'conversion not recorded')}), "
            f"scored by the template metric of docs/muc4.md over {fmt(section.get('documents'))} documents: micro "
            f"F1 x100 = {fmt(micro * 100 if isinstance(micro, float) else None, 1)}. Templates: "
            f"{fmt(templates.get('gold'))} gold, {fmt(templates.get('predicted'))} predicted, "
            f"{fmt(templates.get('aligned'))} aligned. The other conversion ({other.get('conversion', '?')}) gives "
            f"micro F1 {fmt((other.get('micro') or {}).get('f1'))}. Published on MUC-4's test split (withheld here; "
            f"these figures are on the split evaluated): {references}.")


LINKING_HEADER = ["Row", "Incidents", "Documents", "Gold events", "Linked events", "Pairwise P", "Pairwise R",
                  "Pairwise F1", "B-cubed P", "B-cubed R", "B-cubed F1", "Missed / spurious"]
LINKING_NOTE = ("Incidents of different articles grouped into events (conflict_ie/incidents/linking.py), scored "
                "against the gold event files as a clustering: pairwise and B-cubed precision, recall and F1. "
                "'gold': the gold incident records linked (the rules alone); 'predicted': the model's incidents "
                "linked, each aligned to a gold incident of its document as in incident scoring; a missed gold "
                "incident stays a singleton (costs recall), a spurious predicted one is an event of its own in the "
                "gold clustering (linking it costs precision). Rows: the evaluated split's documents that an event "
                "file names; 'seeds': the seed articles' events over all three seeds, whatever their split (seed "
                "000 is training data).")


def linking_table(section: dict) -> tuple[list[str], list[list[str]]]:
    rows = []
    for name, row in (section.get("rows") or {}).items():
        for side in ("gold", "predicted"):
            scores = row.get(side) or {}
            pairwise, bcubed = scores.get("pairwise") or {}, scores.get("bcubed") or {}
            errors = (f"{fmt(scores.get('missed_gold'))} / {fmt(scores.get('spurious_predicted'))}"
                      if side == "predicted" else "–")
            rows.append([name, side, fmt(scores.get("documents")), fmt(scores.get("gold_events")),
                         fmt(scores.get("system_events")), fmt(pairwise.get("precision")),
                         fmt(pairwise.get("recall")), fmt(pairwise.get("f1")), fmt(bcubed.get("precision")),
                         fmt(bcubed.get("recall")), Strong(fmt(bcubed.get("f1"))), errors])
    return LINKING_HEADER, rows


def linking_note(section: dict) -> str:
    settings = ", ".join(f"{key} {value}" for key, value in (section.get("settings") or {}).items())
    files = ", ".join(section.get("event_files") or ())
    notes = " ".join(section.get("notes") or ())
    return f"{LINKING_NOTE} Event files: {files}. Settings: {settings}.{' ' + notes if notes else ''}"


def peer_table(peer: dict) -> tuple[list[str], list[list[str]]]:
    """Our F1 and the peer's on each shared type, then micro/macro and throughput, with ratios ours/peer."""
    theirs = peer.get("entities") or {}
    ours = peer.get("ours_on_shared_types") or {}
    header = ["Type", "Ours F1", "Peer F1", "Ours / peer", "Support"]
    rows = []
    types = sorted(set(peer.get("shared_types") or []) | set(theirs.get("per_type") or {})
                   | set(ours.get("per_type") or {}))
    for label in types:
        o = (ours.get("per_type") or {}).get(label, {})
        t = (theirs.get("per_type") or {}).get(label, {})
        rows.append([label, fmt(o.get("f1")), fmt(t.get("f1")), ratio(o.get("f1"), t.get("f1")),
                     fmt(o.get("support", t.get("support")))])
    for average in ("micro", "macro"):
        o, t = ours.get(average, {}), theirs.get(average, {})
        if o or t:
            rows.append([Strong(average), fmt(o.get("f1")), fmt(t.get("f1")), ratio(o.get("f1"), t.get("f1")),
                         fmt(o.get("support", t.get("support")))])
    ours_speed, peer_speed = peer.get("ours_docs_per_second"), peer.get("docs_per_second")
    rows.append([Strong("documents / second"), fmt(ours_speed, 2), fmt(peer_speed, 2), ratio(ours_speed, peer_speed),
                 ""])
    return header, rows


def cross_validation_table(cv: dict) -> tuple[list[str], list[list[str]]]:
    """One row per fold (the held-out article) then the mean, each with the micro F1 of every layer and the
    fold's training steps (a truncated fold is marked)."""
    header = ["Held out"] + [f"{HEADLINE_PATHS[name][0]} micro F1" for name in CROSS_VALIDATION_FIGURES]
    header.append("Training steps")

    def figures(scores: dict) -> list[str]:
        values = headline(scores)
        return [NOT_ANNOTATED if layer_status(scores.get(HEADLINE_PATHS[name][0])) == NOT_ANNOTATED
                else fmt(getattr(values, name)) for name in CROSS_VALIDATION_FIGURES]

    def steps(fold: dict) -> str:
        training = fold.get("training") or {}
        text = f"{fmt(training.get('steps'))} of {fmt(training.get('planned_steps'))}" if training else "–"
        return Strong(text + " TRUNCATED") if training.get("truncated") else text

    rows = [[str(fold.get("held_out", "?"))] + figures(fold) + [steps(fold)] for fold in cv.get("folds") or []]
    mean = cv.get("mean") or {}
    if mean:
        rows.append([Strong("mean")] + figures(mean) + [""])
    return header, rows


def training_rows(training: dict) -> list[list[str]]:
    rows = []
    if training.get("truncated"):
        rows.append([Strong("TRUNCATED"), str(training["truncated"])])
    keys = ("device", "steps", "planned_steps", "best_step", "best_dev_score", "wall_time_s", "peak_rss_mb")
    rows += [[key.replace("_", " "), fmt(training.get(key))] for key in keys if key in training]
    if "dev_layers" in training:
        rows.append(["dev score averages", ", ".join(training["dev_layers"]) or "none (training loss)"])
    curves = training.get("curves") or []
    if curves:
        rows.append(["curve points", str(len(curves))])
        last = curves[-1]
        for key in ("train_loss", "dev_entity_f1", "dev_trigger_f1", "dev_relation_f1", "dev_score"):
            if key in last:
                rows.append([f"final {key.replace('_', ' ')}", fmt(last.get(key))])
    return rows


def hash_rows(hashes: dict) -> list[list[str]]:
    """[corpus, file, SHA-256] rows from a model's data_hashes ({corpus: {file: digest}})."""
    rows = []
    for name, files in sorted((hashes or {}).items()):
        if isinstance(files, dict):
            rows += [[name, path, digest] for path, digest in sorted(files.items())]
        else:
            rows.append([name, "", str(files)])
    return rows


def identity_rows(metrics: dict) -> list[list[str]]:
    model = metrics.get("model") or {}
    data = metrics.get("data") or {}
    rows = [[f"model {key}", str(model[key])] for key in ("name", "path", "encoder", "seed", "command")
            if model.get(key) is not None]
    if model.get("layers") is not None:
        rows.append(["model layers learnt", ", ".join(model["layers"]) or "none"])
    rows += [[f"determinism {key}", str(value)] for key, value in sorted((model.get("determinism") or {}).items())]
    rows += [[f"library {name}", str(version)] for name, version in sorted((model.get("library_versions") or {}).items())]
    trained_on = hash_rows(model.get("data_hashes"))
    rows += [[f"training data ({name}) {path}", digest] for name, path, digest in trained_on]
    if "split" in data:
        rows.append(["evaluation split", str(data["split"])])
    if "documents" in data:
        rows.append(["evaluation documents", str(data["documents"])])
    known = {(path, digest) for _, path, digest in trained_on}
    rows += [[f"evaluated file {path}", str(digest)] for path, digest in sorted((data.get("files") or {}).items())
             if (path, digest) not in known]
    speed = metrics.get("speed") or {}
    if speed:
        rows.append(["throughput", f"{fmt(speed.get('docs_per_second'), 2)} documents/s "
                                   f"({fmt(speed.get('documents'))} documents in {fmt(speed.get('seconds'), 2)} s)"])
    return rows


def layer_note(metrics: dict, key: str) -> str | None:
    """A sentence for a scored layer whose figures mean nothing as they stand (see ``metrics.layer_status``):
    not annotated by any evaluated document, or annotated without any gold item; None otherwise."""
    section = metrics.get(key)
    status = layer_status(section)
    what, items = LAYER_WORDS[key]
    if status == NOT_ANNOTATED:
        documents = (metrics.get("data") or {}).get("documents")
        scope = {1: "the one evaluated document does not annotate"}.get(
            documents, f"none of the {documents} evaluated documents annotates" if isinstance(documents, int)
            else "none of the evaluated documents annotates")
        return f"Not annotated: {scope} {what}, so there is nothing to score."
    if status == NO_GOLD:
        documents = section["documents"]
        scope = "The one evaluated document that annotates" if documents == 1 else \
            f"The {documents} evaluated documents that annotate"
        return (f"{scope} {what} {'holds' if documents == 1 else 'hold'} no gold {items}: recall and F1 are 0 by "
                "convention, and any row below is a spurious prediction.")
    return None


Tables = list[tuple[str, list[str], list[list[str]]]]


def sections(metrics: dict) -> list[tuple[str, Tables | None, str | None]]:
    """The report as (heading, tables, note) triples. ``None`` tables with no note mean the metrics dict lacks
    that section; a note says why a layer's figures are left out (not annotated) or how to read them (no gold)."""
    out = []

    def layer(key: str, title: str, tables) -> None:
        note = layer_note(metrics, key)
        out.append((title, None if layer_status(metrics[key]) == NOT_ANNOTATED else tables(), note))

    for key, title in SCORE_SECTIONS:
        if key in metrics:
            layer(key, title, lambda key=key, title=title: [(title, *score_table(metrics[key]))])
        else:
            out.append((title, None, None))
    if "incidents" in metrics:
        layer("incidents", "Incidents", lambda: incident_tables(metrics["incidents"]))
    else:
        out.append(("Incidents", None, None))
    if metrics.get("per_corpus"):
        out.append(("Per corpus", [("Per corpus", *per_corpus_table(metrics["per_corpus"]))], PER_CORPUS_NOTE))
    if "muc4" in metrics:
        out.append(("MUC-4 templates", muc4_tables(metrics["muc4"]), muc4_note(metrics["muc4"])))
    if "linking" in metrics:
        out.append(("Cross-article linking", [("Cross-article linking", *linking_table(metrics["linking"]))],
                    linking_note(metrics["linking"])))
    if "peer" in metrics:
        peer = metrics["peer"]
        out.append((f"Peer comparison: {peer.get('name', 'peer')}", [("Shared types", *peer_table(peer))], None))
    else:
        out.append(("Peer comparison", None, None))
    if "cross_validation" in metrics:
        cv = metrics["cross_validation"]
        tables = [("Folds", *cross_validation_table(cv))]
        extra = [["command", str(cv["command"])]] if cv.get("command") else []
        extra += [["fold override", str(o)] for o in cv.get("fold_overrides") or []]
        if extra:
            tables.append(("Cross-validation setup", ["", "Value"], extra))
        out.append(("Cross-validation", tables, None))
    else:
        out.append(("Cross-validation", None, None))
    out.append(("Training", [("Training", ["Measure", "Value"], training_rows(metrics["training"]))]
                if "training" in metrics else None, None))
    rows = identity_rows(metrics)
    out.append(("Model and data", [("Identity", ["", "Value"], rows)] if rows else None, None))
    return out


# ---------------------------------------------------------------------------------------------------- markdown

def render_markdown(metrics: dict) -> str:
    data = metrics.get("data") or {}
    model = metrics.get("model") or {}
    lines = ["# Evaluation report", ""]
    lines.append(f"Model: {escape(model.get('name', 'not recorded'))}. "
                 f"Split: {escape(data.get('split', 'not recorded'))}, {escape(fmt(data.get('documents')))} documents.")
    for heading, tables, note in sections(metrics):
        lines += ([] if lines[-1] == "" else [""]) + [f"## {escape(heading)}", ""]
        if note:
            lines += [f"_{escape(note)}_", ""]
        if tables is None:
            lines += [] if note else ["_Not in this run's metrics._", ""]
            continue
        for title, header, rows in tables:
            if len(tables) > 1:
                lines += [f"### {escape(title)}", ""]
            lines += [markdown_table(header, rows) if rows else "_No rows._", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------------- entry point

def write_report(metrics: dict, out_dir: Path, views: list[EvaluatedDocument]) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md`` and ``report.html`` under ``out_dir``; returns their paths by name."""
    from .report_html import render_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": out / "metrics.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["metrics"].write_text(json.dumps(metrics, sort_keys=True, indent=2, ensure_ascii=False, default=str) + "\n",
                                encoding="utf-8")
    paths["markdown"].write_text(render_markdown(metrics), encoding="utf-8")
    paths["html"].write_text(render_html(metrics, list(views)), encoding="utf-8")
    return paths
