"""Evaluation reports rendered from a run's metrics dict: ``metrics.json``, ``report.md`` and a self-contained
``report.html`` (tables, plots as inline PNG, each document with gold and predicted spans side by side).

Every number shown comes from the metrics dict; sections the dict lacks are reported as absent.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

from ..data.document import Document
from ..schema import PARTICIPANT_FIELDS

SCORE_SECTIONS = (("entities", "Entities"), ("triggers", "Incident triggers"), ("relations", "Relations"))
PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fbcfe8", "#c7d2fe", "#fed7aa", "#a7f3d0",
           "#e9d5ff", "#fef08a", "#99f6e4", "#fda4af", "#bae6fd", "#d9f99d", "#f5d0fe")


@dataclass(frozen=True)
class DocumentView:
    """One evaluated document: gold and predicted annotations, and the incidents assembled from each."""

    gold: Document
    predicted: Document
    gold_incidents: list
    predicted_incidents: list


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
            rows.append(_prf_row(f"**{average}**", section[average]))
    return PRF_HEADER, rows


def incident_tables(section: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = []
    rows = [_prf_row(role, scores) for role, scores in sorted((section.get("per_role") or {}).items())]
    if "micro" in section:
        rows.append(_prf_row("**micro**", section["micro"]))
    tables.append(("Incident roles", PRF_HEADER, rows))
    summary = [[key.replace("_", " "), fmt(section.get(key))]
               for key in ("type_accuracy", "count_accuracy", "count_mae", "gold_incidents", "predicted_incidents")
               if key in section]
    tables.append(("Incident summary", ["Measure", "Value"], summary))
    return tables


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
            rows.append([f"**{average}**", fmt(o.get("f1")), fmt(t.get("f1")), ratio(o.get("f1"), t.get("f1")),
                         fmt(o.get("support", t.get("support")))])
    ours_speed, peer_speed = peer.get("ours_docs_per_second"), peer.get("docs_per_second")
    rows.append(["**documents / second**", fmt(ours_speed, 2), fmt(peer_speed, 2), ratio(ours_speed, peer_speed), ""])
    return header, rows


def cross_validation_table(cv: dict) -> tuple[list[str], list[list[str]]]:
    layers = ("entities", "triggers", "relations", "incidents")
    header = ["Held out"] + [f"{layer} micro F1" for layer in layers]
    rows = []
    for fold in cv.get("folds") or []:
        rows.append([str(fold.get("held_out", "?"))] + [fmt(((fold.get(layer) or {}).get("micro") or {}).get("f1"))
                                                        for layer in layers])
    mean = cv.get("mean") or {}
    if mean:
        rows.append(["**mean**"] + [fmt(((mean.get(layer) or {}).get("micro") or {}).get("f1")) for layer in layers])
    return header, rows


def training_rows(training: dict) -> list[list[str]]:
    keys = ("device", "steps", "best_step", "best_dev_score", "wall_time_s", "peak_rss_mb")
    rows = [[key.replace("_", " "), fmt(training.get(key))] for key in keys if key in training]
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


def sections(metrics: dict) -> list[tuple[str, list[tuple[str, list[str], list[list[str]]]] | None]]:
    """The report as (heading, tables) pairs; ``None`` tables mean the metrics dict lacks that section."""
    out = []
    for key, title in SCORE_SECTIONS:
        out.append((title, [(title, *score_table(metrics[key]))] if key in metrics else None))
    out.append(("Incidents", incident_tables(metrics["incidents"]) if "incidents" in metrics else None))
    if "peer" in metrics:
        peer = metrics["peer"]
        out.append((f"Peer comparison: {peer.get('name', 'peer')}", [("Shared types", *peer_table(peer))]))
    else:
        out.append(("Peer comparison", None))
    if "cross_validation" in metrics:
        cv = metrics["cross_validation"]
        tables = [("Folds", *cross_validation_table(cv))]
        extra = [["command", str(cv["command"])]] if cv.get("command") else []
        extra += [["fold override", str(o)] for o in cv.get("fold_overrides") or []]
        if extra:
            tables.append(("Cross-validation setup", ["", "Value"], extra))
        out.append(("Cross-validation", tables))
    else:
        out.append(("Cross-validation", None))
    out.append(("Training", [("Training", ["Measure", "Value"], training_rows(metrics["training"]))]
                if "training" in metrics else None))
    rows = identity_rows(metrics)
    out.append(("Model and data", [("Identity", ["", "Value"], rows)] if rows else None))
    return out


# ---------------------------------------------------------------------------------------------------- markdown

def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(metrics: dict) -> str:
    data = metrics.get("data") or {}
    model = metrics.get("model") or {}
    lines = ["# Evaluation report", ""]
    lines.append(f"Model: {model.get('name', 'not recorded')}. Split: {data.get('split', 'not recorded')}, "
                 f"{fmt(data.get('documents'))} documents.")
    for heading, tables in sections(metrics):
        lines += ([] if lines[-1] == "" else [""]) + [f"## {heading}", ""]
        if tables is None:
            lines += ["_Not in this run's metrics._", ""]
            continue
        for title, header, rows in tables:
            if len(tables) > 1:
                lines += [f"### {title}", ""]
            lines += [markdown_table(header, rows) if rows else "_No rows._", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------------- plots

def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_f1_bars(metrics: dict) -> str | None:
    """Per-type entity F1: ours (all types), and ours vs the peer on shared types where a peer ran."""
    entities = (metrics.get("entities") or {}).get("per_type") or {}
    if not entities:
        return None
    plt = _pyplot()
    peer = (metrics.get("peer") or {}).get("entities", {}).get("per_type") or {}
    labels = sorted(entities)
    ours = [entities[label].get("f1") or 0.0 for label in labels]
    fig, ax = plt.subplots(figsize=(max(6, len(labels) * 0.8), 3.5))
    positions = range(len(labels))
    width = 0.4 if peer else 0.8
    ax.bar([p - (width / 2 if peer else 0) for p in positions], ours, width, label="ours")
    if peer:
        ax.bar([p + width / 2 for p in positions], [(peer.get(label) or {}).get("f1") or 0.0 for label in labels],
               width, label=(metrics.get("peer") or {}).get("name", "peer"))
    ax.set_xticks(list(positions))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title("Entity F1 per type")
    ax.legend(fontsize=8)
    return _png(fig)


def plot_confusion(metrics: dict) -> str | None:
    confusion = metrics.get("confusion") or {}
    if not confusion:
        return None
    plt = _pyplot()
    import numpy as np

    labels = sorted(set(confusion) | {p for row in confusion.values() for p in row}, key=lambda x: (x == "O", x))
    matrix = np.array([[confusion.get(g, {}).get(p, 0) for p in labels] for g in labels], dtype=float)
    fig, ax = plt.subplots(figsize=(max(4, len(labels) * 0.6), max(3.5, len(labels) * 0.55)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    peak = matrix.max() or 1
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > peak / 2 else "black")
    ax.set_title("Entity confusion (O = missed / spurious)")
    return _png(fig)


def plot_curves(metrics: dict) -> str | None:
    curves = (metrics.get("training") or {}).get("curves") or []
    if not curves:
        return None
    plt = _pyplot()
    steps = [point.get("step") for point in curves]
    fig, (loss_ax, dev_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    losses = [(s, p["train_loss"]) for s, p in zip(steps, curves) if p.get("train_loss") is not None]
    if losses:
        loss_ax.plot(*zip(*losses), marker=".")
    loss_ax.set_title("training loss")
    loss_ax.set_xlabel("step")
    for key in ("dev_entity_f1", "dev_trigger_f1", "dev_relation_f1", "dev_score"):
        points = [(s, p[key]) for s, p in zip(steps, curves) if p.get(key) is not None]
        if points:
            dev_ax.plot(*zip(*points), marker=".", label=key.replace("dev_", ""))
    dev_ax.set_ylim(0, 1)
    dev_ax.set_title("dev scores")
    dev_ax.set_xlabel("step")
    dev_ax.legend(fontsize=8)
    return _png(fig)


# ---------------------------------------------------------------------------------------------------- html

e = html.escape

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#111}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.absent{color:#777;font-style:italic}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
.text{white-space:pre-wrap;line-height:1.7;border:1px solid #ddd;padding:0.6em;font-size:0.92em}
mark{padding:1px 2px;border-radius:3px}
mark .lab{font-size:0.7em;color:#333;margin-left:2px;vertical-align:super}
.legend mark{margin-right:0.4em}
details{margin-bottom:1.5em}
img{max-width:100%}
"""


def html_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str, tag: str) -> str:
        text = str(text)
        if text.startswith("**") and text.endswith("**"):
            return f"<{tag}><b>{e(text[2:-2])}</b></{tag}>"
        return f"<{tag}>{e(text)}</{tag}>"

    head = "<tr>" + "".join(cell(h, "th") for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(cell(c, "td") for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def label_colours(views: list[DocumentView]) -> dict[str, str]:
    labels = sorted({s.label for v in views for d in (v.gold, v.predicted) for s in d.spans})
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _css_class(label: str) -> str:
    return "l-" + "".join(ch if ch.isalnum() else "_" for ch in label)


def highlight(document: Document, colours: dict[str, str]) -> str:
    """The document text with one <mark> per span; nested or overlapping spans are shown outermost first and
    an overlapping later span is listed after the text rather than dropped."""
    pieces, cursor, skipped = [], 0, []
    text = document.text
    for span in sorted(document.spans, key=lambda s: (s.start, -s.end)):
        if span.start < cursor or span.end > len(text) or span.start >= span.end:
            skipped.append(span)
            continue
        pieces.append(e(text[cursor:span.start]))
        pieces.append(f'<mark class="{e(_css_class(span.label))}" title="{e(span.label)}" '
                      f'style="background:{colours.get(span.label, "#eee")}">{e(text[span.start:span.end])}'
                      f'<span class="lab">{e(span.label)}</span></mark>')
        cursor = span.end
    pieces.append(e(text[cursor:]))
    out = f'<div class="text">{"".join(pieces)}</div>'
    if skipped:
        out += "<p>Overlapping spans: " + "; ".join(
            f"{e(s.label)} [{s.start}:{s.end}] “{e(s.text)}”" for s in skipped) + "</p>"
    return out


def _texts(items) -> str:
    out = []
    for item in items or ():
        span = getattr(item, "span", item)
        text = getattr(span, "text", None)
        if text is None:
            text = str(item)
        extra = ""
        if hasattr(item, "iso") and item.iso:
            extra = f" ({item.iso})"
        elif hasattr(item, "minimum") and (item.minimum is not None or item.maximum is not None):
            extra = f" ({item.qualifier} {item.minimum}–{item.maximum})" if item.maximum != item.minimum \
                else f" ({item.minimum})"
        out.append(f"{text}{extra}")
    return "; ".join(out)


def incident_list(incidents: list) -> str:
    if not incidents:
        return "<p class='absent'>No incidents.</p>"
    rows = []
    for incident in incidents:
        if is_dataclass(incident):
            fields_ = {f.name: getattr(incident, f.name) for f in fields(incident)}
        elif isinstance(incident, dict):
            fields_ = incident
        else:
            rows.append([str(incident), "", "", "", "", "", ""])
            continue
        kind = fields_.get("sub_event_type") or fields_.get("type") or ""
        rows.append([str(fields_.get("type", "")) + (f" / {kind}" if kind and kind != fields_.get("type") else ""),
                     _texts(fields_.get("triggers")), _texts(fields_.get("dates")), _texts(fields_.get("places")),
                     "; ".join(f"{name}: {_texts(fields_.get(name))}" for name in PARTICIPANT_FIELDS if fields_.get(name)),
                     _texts(fields_.get("fatalities")), _texts(fields_.get("injuries"))])
    return html_table(["Type", "Triggers", "Dates", "Places", "Participants", "Killed", "Injured"], rows)


def document_section(view: DocumentView, colours: dict[str, str]) -> str:
    gold, predicted = view.gold, view.predicted
    return (f'<details open><summary><b>{e(gold.id)}</b> — {len(gold.spans)} gold spans, '
            f'{len(predicted.spans)} predicted</summary>'
            f'<div class="pair"><div><h4>Gold</h4>{highlight(gold, colours)}'
            f'<h4>Gold incidents</h4>{incident_list(view.gold_incidents)}</div>'
            f'<div><h4>Predicted</h4>{highlight(predicted, colours)}'
            f'<h4>Predicted incidents</h4>{incident_list(view.predicted_incidents)}</div></div></details>')


def _progress(views: list[DocumentView]):
    if len(views) > 50:
        try:
            from tqdm import tqdm

            return tqdm(views, desc="report documents", unit="doc")
        except ImportError:
            pass
    return views


def render_html(metrics: dict, views: list[DocumentView]) -> str:
    data = metrics.get("data") or {}
    model = metrics.get("model") or {}
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>Evaluation report — {e(str(model.get('name', 'model')))}</title>",
             f"<style>{CSS}</style></head><body>",
             "<h1>Evaluation report</h1>",
             f"<p>Model: {e(str(model.get('name', 'not recorded')))}. Split: {e(str(data.get('split', 'not recorded')))}, "
             f"{e(fmt(data.get('documents')))} documents.</p>"]
    for heading, tables in sections(metrics):
        parts.append(f"<h2>{e(heading)}</h2>")
        if tables is None:
            parts.append("<p class='absent'>Not in this run's metrics.</p>")
            continue
        for title, header, rows in tables:
            if len(tables) > 1:
                parts.append(f"<h3>{e(title)}</h3>")
            parts.append(html_table(header, rows) if rows else "<p class='absent'>No rows.</p>")
    plots = [("Entity F1 per type", plot_f1_bars(metrics)), ("Entity confusion", plot_confusion(metrics)),
             ("Learning curves", plot_curves(metrics))]
    parts.append("<h2>Plots</h2>")
    for title, png in plots:
        if png:
            parts.append(f"<h3>{e(title)}</h3><img alt='{e(title)}' src='data:image/png;base64,{png}'>")
        else:
            parts.append(f"<p class='absent'>{e(title)}: no data in this run's metrics.</p>")
    parts.append(f"<h2>Documents ({len(views)})</h2>")
    colours = label_colours(views)
    if colours:
        parts.append("<p class='legend'>" + "".join(
            f'<mark class="{e(_css_class(label))}" title="{e(label)}" style="background:{colour}">{e(label)}</mark>'
            for label, colour in colours.items()) + "</p>")
    for view in _progress(views):
        parts.append(document_section(view, colours))
    parts.append("</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------- entry point

def write_report(metrics: dict, out_dir: Path, views: list[DocumentView]) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md`` and ``report.html`` under ``out_dir``; returns their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": out / "metrics.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["metrics"].write_text(json.dumps(metrics, sort_keys=True, indent=2, ensure_ascii=False, default=str) + "\n",
                                encoding="utf-8")
    paths["markdown"].write_text(render_markdown(metrics), encoding="utf-8")
    paths["html"].write_text(render_html(metrics, list(views)), encoding="utf-8")
    return paths
