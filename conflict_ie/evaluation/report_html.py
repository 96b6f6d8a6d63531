"""The evaluation report as HTML: a self-contained ``report.html`` with the report's tables, plots as inline PNG
(matplotlib, Agg) and each document with its gold and predicted spans and incidents side by side.

Every article text, label and figure is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from ..data.document import Document
from ..records import Count, DateValue, Incident, SpanPrediction
from ..schema import PARTICIPANT_FIELDS
from .markdown import Strong
from .report import fmt, sections

if TYPE_CHECKING:
    from .evaluate import EvaluatedDocument

PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fbcfe8", "#c7d2fe", "#fed7aa", "#a7f3d0",
           "#e9d5ff", "#fef08a", "#99f6e4", "#fda4af", "#bae6fd", "#d9f99d", "#f5d0fe")


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
        if isinstance(text, Strong):
            return f"<{tag}><b>{e(text)}</b></{tag}>"
        return f"<{tag}>{e(str(text))}</{tag}>"

    head = "<tr>" + "".join(cell(h, "th") for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(cell(c, "td") for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def label_colours(views: list[EvaluatedDocument]) -> dict[str, str]:
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
    """Role fillers of an incident, "; "-joined: each span's text, with a date's ISO form or a count's range."""
    out = []
    for item in items:
        span = item if isinstance(item, SpanPrediction) else item.span
        extra = ""
        if isinstance(item, DateValue) and item.iso:
            extra = f" ({item.iso})"
        elif isinstance(item, Count) and (item.minimum is not None or item.maximum is not None):
            extra = f" ({item.qualifier} {item.minimum}–{item.maximum})" if item.maximum != item.minimum \
                else f" ({item.minimum})"
        out.append(f"{span.text}{extra}")
    return "; ".join(out)


def incident_list(incidents: list[Incident]) -> str:
    """A table of incident records, one row each: type, triggers, dates, places, participants and casualties."""
    if not incidents:
        return "<p class='absent'>No incidents.</p>"
    rows = []
    for incident in incidents:
        kind = incident.sub_event_type or incident.type or ""
        participants = "; ".join(f"{name}: {_texts(getattr(incident, name))}" for name in PARTICIPANT_FIELDS
                                 if getattr(incident, name))
        rows.append([str(incident.type) + (f" / {kind}" if kind and kind != incident.type else ""),
                     _texts(incident.triggers), _texts(incident.dates), _texts(incident.places), participants,
                     _texts(incident.fatalities), _texts(incident.injuries)])
    return html_table(["Type", "Triggers", "Dates", "Places", "Participants", "Killed", "Injured"], rows)


def document_section(view: EvaluatedDocument, colours: dict[str, str]) -> str:
    gold, predicted = view.gold, view.predicted
    return (f'<details open><summary><b>{e(gold.id)}</b> — {len(gold.spans)} gold spans, '
            f'{len(predicted.spans)} predicted</summary>'
            f'<div class="pair"><div><h4>Gold</h4>{highlight(gold, colours)}'
            f'<h4>Gold incidents</h4>{incident_list(view.gold_incidents)}</div>'
            f'<div><h4>Predicted</h4>{highlight(predicted, colours)}'
            f'<h4>Predicted incidents</h4>{incident_list(view.predicted_incidents)}</div></div></details>')


def _progress(views: list[EvaluatedDocument]):
    if len(views) > 50:
        try:
            from tqdm import tqdm

            return tqdm(views, desc="report documents", unit="doc")
        except ImportError:
            pass
    return views


def render_html(metrics: dict, views: list[EvaluatedDocument]) -> str:
    data = metrics.get("data") or {}
    model = metrics.get("model") or {}
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>Evaluation report — {e(str(model.get('name', 'model')))}</title>",
             f"<style>{CSS}</style></head><body>",
             "<h1>Evaluation report</h1>",
             f"<p>Model: {e(str(model.get('name', 'not recorded')))}. Split: {e(str(data.get('split', 'not recorded')))}, "
             f"{e(fmt(data.get('documents')))} documents.</p>"]
    for heading, tables, note in sections(metrics):
        parts.append(f"<h2>{e(heading)}</h2>")
        if note:
            parts.append(f"<p class='absent'>{e(note)}</p>")
        if tables is None:
            if not note:
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
