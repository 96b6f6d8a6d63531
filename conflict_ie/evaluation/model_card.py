"""Model cards in Hugging Face conventions, rendered from a run's metrics dict by ``templates/model_card.md``.

Nothing about numbers is hand-written: every figure comes from the metrics dict, and sections the dict lacks say so.
Every value from data or file names (model name and path, split, corpus and file names, labels, commands) is
escaped by ``markdown``, as in report.md.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template

import yaml

from ..config import DEFAULT_ENCODER, base_model_of
from ..schema import LAYERS
from .markdown import code, escape, fence
from .metrics import headline
from .metrics import NOT_ANNOTATED, layer_status
from .report import (cross_validation_table, fmt, hash_rows, incident_tables, layer_note, linking_note, linking_table,
                     markdown_table, muc4_note, muc4_tables, PER_CORPUS_NOTE, per_corpus_table, peer_table, ratio,
                     score_table, training_rows)

TAGS = ["token-classification", "named-entity-recognition", "relation-extraction", "event-extraction",
        "armed-conflict", "news"]
# (Headline field, metric type, display name) for the model-index, in order; only those present are listed.
INDEX_METRICS = (
    ("entity_micro_f1", "f1", "Entity micro F1"),
    ("entity_macro_f1", "f1", "Entity macro F1"),
    ("trigger_f1", "f1", "Trigger micro F1"),
    ("relation_f1", "f1", "Relation micro F1"),
    ("incident_role_f1", "f1", "Incident role micro F1"),
    ("role_filler_f1", "f1", "Role filler micro F1"),
    ("muc4_f1", "f1", "MUC-4 template micro F1"),
)


def absent(what: str) -> str:
    return f"_{what} is not in this run's metrics, so it is not reported here._"


def front_matter(metrics: dict) -> dict:
    model = metrics.get("model") or {}
    split = (metrics.get("data") or {}).get("split", "unrecorded split")
    figures = headline(metrics)
    results_metrics = []
    for field, kind, name in INDEX_METRICS:
        value = getattr(figures, field)
        if value is not None:
            results_metrics.append({"type": kind, "value": value, "name": name})
    # trigger precision and recall per corpus: real text (seeds, re3d) tracked apart from the authored articles
    for corpus, row in (metrics.get("per_corpus") or {}).items():
        for layer, what in (("triggers", "Trigger"), ("trigger_detection", "Trigger found (any type)")):
            scores = row.get(layer) or {}
            if scores.get("documents"):
                for kind in ("precision", "recall"):
                    results_metrics.append({"type": kind, "value": scores.get(kind), "name": f"{what} {kind} on {corpus}"})
    # cross-article linking: B-cubed F1 of the events linked from predicted incidents, per row
    for row_name, row in ((metrics.get("linking") or {}).get("rows") or {}).items():
        bcubed = ((row.get("predicted") or {}).get("bcubed") or {}).get("f1")
        if bcubed is not None:
            results_metrics.append({"type": "f1", "value": bcubed,
                                    "name": f"Cross-article linking B-cubed F1 ({row_name}, predicted incidents)"})
    result = {"task": {"type": "token-classification", "name": "Token Classification"},
              "dataset": {"name": str(split), "type": "conflict-ie"},
              "metrics": results_metrics}
    return {
        "language": "en",
        "license": "apache-2.0",
        "library_name": "transformers",
        "pipeline_tag": "token-classification",
        "tags": list(TAGS),
        "base_model": base_model_of(_encoder(metrics)),
        "model-index": [{"name": str(model.get("name", "conflict-ie")), "results": [result]}],
    }


def _encoder(metrics: dict) -> str:
    return str((metrics.get("model") or {}).get("encoder") or DEFAULT_ENCODER)


def _layer(metrics: dict, key: str, tables: str) -> str:
    """A scored layer's tables, after the report's note where the layer is not annotated (then without tables:
    its zeros mean nothing) or annotated without gold items."""
    note = layer_note(metrics, key)
    if layer_status(metrics[key]) == NOT_ANNOTATED:
        return f"_{escape(note)}_"
    return f"_{escape(note)}_\n\n{tables}" if note else tables


def _score_section(metrics: dict, key: str, what: str) -> str:
    if key not in metrics:
        return absent(what)
    return _layer(metrics, key, markdown_table(*score_table(metrics[key])))


def _incidents(metrics: dict) -> str:
    if "incidents" not in metrics:
        return absent("Incident scoring")
    return _layer(metrics, "incidents", "\n\n".join(
        markdown_table(header, rows) for _, header, rows in incident_tables(metrics["incidents"])))


def _muc4(metrics: dict) -> str:
    section = metrics.get("muc4")
    if not section:
        return "_No evaluated document carries MUC-4 templates, so there is no MUC-4 figure here._"
    return escape(muc4_note(section)) + "\n\n" + "\n\n".join(
        f"**{escape(title)}**\n\n" + markdown_table(header, rows) for title, header, rows in muc4_tables(section))


def _linking(metrics: dict) -> str:
    section = metrics.get("linking")
    if not section:
        return "_No gold event file names an evaluated document, so cross-article linking is not scored here._"
    return escape(linking_note(section)) + "\n\n" + markdown_table(*linking_table(section))


def _per_corpus(metrics: dict) -> str:
    section = metrics.get("per_corpus")
    if not section:
        return absent("Per-corpus scoring")
    return escape(PER_CORPUS_NOTE) + "\n\n" + markdown_table(*per_corpus_table(section))


def _peer(metrics: dict) -> str:
    peer = metrics.get("peer")
    if not peer:
        return absent("A peer comparison")
    # both sides are entity scores: ours restricted to the shared types, and the peer's
    ours = headline({"entities": peer.get("ours_on_shared_types")}).entity_micro_f1
    theirs = headline(peer).entity_micro_f1
    lead = (f"{escape(peer.get('name', 'The peer'))} scored on the entity types both systems share "
            f"({escape(', '.join(map(str, peer.get('shared_types') or [])))}), against the same gold spans. "
            f"Micro F1: ours {fmt(ours)}, peer {fmt(theirs)} ({ratio(ours, theirs)}). "
            f"Throughput: ours {fmt(peer.get('ours_docs_per_second'), 2)} documents/s, "
            f"peer {fmt(peer.get('docs_per_second'), 2)} documents/s.")
    return lead + "\n\n" + markdown_table(*peer_table(peer))


def _cross_validation(metrics: dict) -> str:
    cv = metrics.get("cross_validation")
    if not cv:
        return absent("Seed cross-validation")
    folds = cv.get("folds") or []
    text = (f"Leave-one-out over the seed articles: {len(folds)} folds, each holding out one article and training on "
            f"the rest.")
    if cv.get("fold_overrides"):
        text += " Per-fold overrides: " + ", ".join(code(o) for o in cv["fold_overrides"]) + "."
    if cv.get("command"):
        text += f" Command: {code(cv['command'])}."
    return text + "\n\n" + markdown_table(*cross_validation_table(cv))


def _cross_fit(metrics: dict) -> str:
    fit = metrics.get("cross_fit")
    if not fit:
        return absent("A cross-fitted real-text figure")
    corpus = escape(str(fit.get("corpus", "?")))
    text = (f"Each of the {fmt(fit.get('documents'))} training documents of {corpus} predicted by a model of this "
            f"config that never read it: trained twice, each time without one half of them "
            f"(`training/cross_fit.py`). The fold models miss that half of their training data, so this is a "
            f"slightly pessimistic estimate for the model of this card on unseen text of {corpus}, and a firmer one "
            f"than its few dev and test documents.")
    if fit.get("command"):
        text += f" Command: {code(fit['command'])}."
    for fold, row in sorted((fit.get("folds") or {}).items()):
        if row.get("training_command"):
            text += f" Fold {escape(str(fold))} was trained by {code(row['training_command'])}."
    def triggers(row: dict) -> list[str]:
        typed, found = row.get("triggers") or {}, row.get("trigger_detection") or {}
        return [*(fmt(typed.get(k)) for k in ("precision", "recall", "f1")),
                *(fmt(found.get(k)) if found else "–" for k in ("precision", "recall"))]

    rows = [[f"fold {fold} (held-out half {fold})", fmt(row.get("documents")), *triggers(row), "", ""]
            for fold, row in sorted((fit.get("folds") or {}).items())]
    negatives = fit.get("no_incident_documents") or {}
    rows.append(["both", fmt(fit.get("documents")), *triggers(fit), fmt((fit.get("incidents") or {}).get("f1")),
                 f"{fmt(negatives.get('documents'))} ({fmt(negatives.get('with_a_trigger'))})"])
    header = ["Documents predicted", "Documents", "Trigger P", "Trigger R", "Trigger F1",
              "Trigger found P (any type)", "Trigger found R (any type)", "Incident role F1",
              "No-incident documents (model fired on)"]
    return text + "\n\n" + markdown_table(header, rows)


def _speed(metrics: dict) -> str:
    speed = metrics.get("speed")
    if not speed:
        return absent("Throughput")
    return (f"{fmt(speed.get('documents'))} documents in {fmt(speed.get('seconds'), 2)} s: "
            f"{fmt(speed.get('docs_per_second'), 2)} documents/s.")


def _training(metrics: dict) -> str:
    training = metrics.get("training")
    if not training:
        return absent("Training information")
    rows = training_rows(training)
    model = metrics.get("model") or {}
    if model.get("seed") is not None:
        rows.insert(0, ["seed", str(model["seed"])])
    lead = ""
    if training.get("truncated"):
        lead += (f"**This model is truncated: {escape(training['truncated'])}.** Its figures are those of an "
                 "unfinished run, and another machine would stop it at another step.\n\n")
    untrained = [layer for layer in LAYERS if layer not in model.get("layers", ())]
    if model.get("layers") is not None and untrained:
        lead += (f"Its training data annotated no {' or '.join(untrained)}, so it does not predict "
                 f"{'that layer' if len(untrained) == 1 else 'those layers'} (results list them as "
                 "`untrained_layers`).\n\n")
    determinism = model.get("determinism") or {}
    if determinism:
        lead += (f"Training length is a step budget and every random draw is seeded and checkpointed; with "
                 f"{escape(determinism.get('num_threads'))} threads and deterministic kernels the same command gives "
                 "the same weights on a slow, busy or interrupted machine (same torch version and CPU kind).\n\n")
    return lead + markdown_table(["Measure", "Value"], rows) if rows else absent("Training information")


def _config(metrics: dict) -> str:
    config = (metrics.get("model") or {}).get("config")
    if not config:
        return absent("The resolved configuration")
    return fence(yaml.safe_dump(config, sort_keys=True, default_flow_style=False), "yaml")


def _library_versions(metrics: dict) -> str:
    versions = (metrics.get("model") or {}).get("library_versions")
    if not versions:
        return absent("Library versions")
    return markdown_table(["Library", "Version"], [[k, str(v)] for k, v in sorted(versions.items())])


def _data_hashes(metrics: dict) -> str:
    hashes = (metrics.get("model") or {}).get("data_hashes")
    if not hashes:
        return "Training data hashes are not in this run's metrics."
    return "Training data hashes recorded with the model:\n\n" + markdown_table(
        ["Data", "File", "SHA-256"], hash_rows(hashes))


def _evaluation_scope(metrics: dict) -> str:
    data = metrics.get("data")
    if not data:
        return "_The evaluation data is not recorded in this run's metrics._"
    text = (f"Scored on the **{escape(data.get('split', 'unrecorded'))}** split: {escape(fmt(data.get('documents')))} "
            "documents. "
            "Entities and triggers are scored as exact spans (seqeval strict IOB2); relations as exact "
            "(head, tail, label) triples.")
    files = data.get("files") or {}
    if files:
        text += "\n\n" + markdown_table(["File", "SHA-256"], [[k, str(v)] for k, v in sorted(files.items())])
    return text


def template_text() -> str:
    return resources.files("conflict_ie.evaluation").joinpath("templates/model_card.md").read_text(encoding="utf-8")


def render_model_card(metrics: dict) -> str:
    """The model card as Markdown with YAML front matter, every figure from ``metrics``."""
    model = metrics.get("model") or {}
    values = {
        "front_matter": yaml.safe_dump(front_matter(metrics), sort_keys=False, allow_unicode=True),
        "title": escape(model.get("name", "conflict-ie")),
        "encoder": code(_encoder(metrics)),
        "base_model": code(base_model_of(_encoder(metrics))),
        "model_path": code(model.get("path", "not recorded")),
        "seed": escape(model.get("seed", "not recorded")),
        "data_hashes": _data_hashes(metrics),
        "evaluation_scope": _evaluation_scope(metrics),
        "entities": _score_section(metrics, "entities", "Entity scoring"),
        "triggers": _score_section(metrics, "triggers", "Trigger scoring"),
        "relations": _score_section(metrics, "relations", "Relation scoring"),
        "incidents": _incidents(metrics),
        "role_fillers": _score_section(metrics, "role_fillers", "Role-filler scoring"),
        "muc4": _muc4(metrics),
        "linking": _linking(metrics),
        "per_corpus": _per_corpus(metrics),
        "peer": _peer(metrics),
        "cross_validation": _cross_validation(metrics),
        "cross_fit": _cross_fit(metrics),
        "speed": _speed(metrics),
        "training": _training(metrics),
        "config": _config(metrics),
        "library_versions": _library_versions(metrics),
        "command": fence(str(model.get("command") or "(not recorded in this run's metrics)")),
    }
    return Template(template_text()).substitute(values)


def write_model_card(metrics: dict, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_model_card(metrics), encoding="utf-8")
    return path
