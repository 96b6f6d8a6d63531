"""Evaluation: run the shared decoder over annotated documents and score it against their gold annotations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..conversion import predictions_to_document
from ..data.document import Document
from ..decoding import DecodedText
from ..records import Incident


@dataclass(frozen=True)
class EvaluatedDocument:
    """One evaluated document: gold and predicted annotations, and the incidents assembled from each."""

    gold: Document
    predicted: Document
    gold_incidents: list[Incident]
    predicted_incidents: list[Incident]


def to_documents(gold: list[Document], decoded: list[DecodedText]) -> list[Document]:
    """Predicted Documents aligned with the gold ones (same ids, texts and meta), from decoder output."""
    return [predictions_to_document(document.id, document.text, result.entities, result.triggers, result.relations,
                                    role_fillers=result.role_fillers, meta=document.meta)[0]
            for document, result in zip(gold, decoded)]


def score_documents(gold: list[Document], predicted: list[Document]) -> dict:
    """Entity and trigger scores (seqeval strict IOB2) and relation scores; each layer only on documents that
    annotate it. A layer no document annotates (triggers and relations of a CoNLL entity file) records
    ``documents: 0``, which the reports show as "not annotated" instead of zeros (``metrics.layer_status``)."""
    from .metrics import relation_scores, span_scores, trigger_detection_scores

    scores = {layer: span_scores(gold, predicted, layer) for layer in ("entities", "triggers", "role_fillers")}
    scores["trigger_detection"] = trigger_detection_scores(gold, predicted)
    with_relations = [i for i, doc in enumerate(gold) if "relations" in doc.layers]
    scores["relations"] = relation_scores([gold[i] for i in with_relations], [predicted[i] for i in with_relations])
    return scores


def corpus_of(document: Document) -> str:
    """The corpus a document comes from, by its source: "seed", "authored", "re3d", "MUC-4" or a user's own."""
    return (document.source or "unknown").split("/")[0]


def per_corpus_scores(gold: list[Document], predicted: list[Document], gold_incidents: dict, predicted_incidents: dict
                      ) -> dict:
    """Micro figures of every layer per corpus, so real text is never hidden in an average with authored text.
    ``negative_documents`` counts documents that annotate triggers and hold none (no incident: threats, policy,
    background), ``false_alarm_documents`` those of them where the model found a trigger anyway."""
    from .metrics import incident_scores

    rows = {}
    for name in sorted({corpus_of(d) for d in gold}):
        members = [i for i, d in enumerate(gold) if corpus_of(d) == name]
        scores = score_documents([gold[i] for i in members], [predicted[i] for i in members])
        ids = [gold[i].id for i in members if gold[i].id in gold_incidents]
        scores["incidents"] = incident_scores({k: gold_incidents[k] for k in ids}, {k: predicted_incidents[k] for k in ids})
        row = {layer: {**scores[layer]["micro"], "documents": scores[layer]["documents"]}
               for layer in ("entities", "triggers", "trigger_detection", "relations", "role_fillers", "incidents")}
        negatives = [i for i in members if "triggers" in gold[i].layers and not gold[i].spans_in_layer("triggers")]
        row["documents"] = len(members)
        row["negative_documents"] = len(negatives)
        row["false_alarm_documents"] = sum(1 for i in negatives if predicted[i].spans_in_layer("triggers"))
        rows[name] = row
    return rows


def predicted_documents(predictor, documents: list[Document], progress: bool = False):
    """Run ``predict()`` over annotated documents: (predicted Documents, ArticleResults, seconds taken)."""
    import time

    started = time.perf_counter()
    results = predictor.predict([d.text for d in documents],
                                publication_dates=[d.publication_date for d in documents], progress=progress)
    seconds = time.perf_counter() - started
    return to_documents(documents, results), results, seconds


def evaluate_documents(predictor, documents: list[Document], *, peer: bool = False, progress: bool = False):
    """Every figure for one set of documents: (metrics dict, an EvaluatedDocument per document for the report)."""
    from .gold import gold_incidents
    from .metrics import entity_confusion, incident_scores

    predicted, results, seconds = predicted_documents(predictor, documents, progress)
    metrics = score_documents(documents, predicted)
    with_incidents = [i for i, d in enumerate(documents) if {"triggers", "relations"} <= d.layers]
    gold = {documents[i].id: list(gold_incidents(documents[i]))
            for i in with_incidents}
    pred = {documents[i].id: list(results[i].incidents) for i in with_incidents}
    # always written: with no document annotating triggers and relations it records documents == 0 (not annotated)
    metrics["incidents"] = incident_scores(gold, pred)
    metrics["confusion"] = entity_confusion(documents, predicted)
    metrics["per_corpus"] = per_corpus_scores(documents, predicted, gold, pred)
    with_templates = [i for i, d in enumerate(documents) if "muc4_templates" in d.meta]
    if with_templates:  # MUC-4 documents: our incident records scored as MUC-4 templates
        from .muc4 import score_articles

        metrics["muc4"] = score_articles({documents[i].id: documents[i].meta["muc4_templates"] for i in with_templates},
                                         {documents[i].id: results[i].incidents for i in with_templates})
    metrics["speed"] = {"documents": len(documents), "seconds": round(seconds, 3),
                        "docs_per_second": round(len(documents) / seconds, 3) if seconds else None}
    if peer:
        from .peer import compare

        metrics["peer"] = compare(documents, predicted, seconds)
    views = [EvaluatedDocument(documents[i], predicted[i], gold.get(documents[i].id, []),
                               list(results[i].incidents))
             for i in range(len(documents))]
    return metrics, views


def model_identity(predictor, model_dir) -> dict:
    from ..config import load_config, portable_path

    meta = predictor.metadata
    return {
        "name": "conflict-ie " + Path(model_dir).parent.name,
        "path": portable_path(load_config(None), Path(model_dir)),
        "encoder": meta["config"]["model"]["encoder"],
        "seed": meta.get("seed"),
        "layers": meta.get("layers"),
        "determinism": meta.get("determinism"),
        "config": meta.get("config"),
        "data_hashes": meta.get("data_hashes"),
        "library_versions": meta.get("library_versions"),
        "command": meta.get("command"),
    }


def run_evaluation(*, model_dir=None, config_path="configs/default.yaml", split="dev", data_file=None,
                   out_dir=None, peer=False, model_card=None, cross_validation=None, cross_fit=None,
                   allow_dropped=False, events_dir=None) -> dict:
    """The ``evaluate`` command: score a model on a split (or on annotations named by ``data_file``: a Label Studio
    export, a re3d folder or a CoNLL/BIO file) and write metrics and reports.

    Annotations with errors are refused (ValueError naming the file, the count and the first problems) unless
    ``allow_dropped``: then what the errors name is left out, the count is printed on standard error and recorded
    as ``metrics["dropped"]``.

    Cross-article linking is scored (``metrics["linking"]``) when ``events_dir`` (default
    ``annotations/events``) holds gold event files: on the evaluated split's documents that they name, and on
    the seeds' events across splits (``evaluation.linking``)."""
    import json

    from ..config import load_config
    from ..data.corpora import dropped_items, load_annotations, load_corpus, load_splits, sha256_of, split_documents

    if data_file:  # read (and refuse) the annotations before loading the model
        documents, report, files = load_annotations(data_file)
        dropped = dropped_items([report], allow_dropped=allow_dropped, what=f"scoring on {data_file}")
        data = {"split": f"file {data_file}", "files": {str(f): sha256_of(f) for f in files}}
        annotated, split_of = {d.id: d for d in documents}, None
    else:
        config = load_config(config_path)
        corpora = [load_corpus(config, c) for c in config.data.corpora]
        dropped = dropped_items([c.report for c in corpora], allow_dropped=allow_dropped,
                                what=f"scoring the {split} split")
        by_split = split_documents(corpora, load_splits(config))
        documents = [doc for _, doc in by_split[split]]
        annotated = {doc.id: doc for members in by_split.values() for corpus, doc in members
                     if corpus.config.kind == "label_studio"}
        split_of = {doc.id: name for name, members in by_split.items() for _, doc in members}
        data = {"split": split, "files": {k: v for c in corpora for k, v in c.files.items()}}
    if not documents:
        raise ValueError(f"no documents to evaluate in {data['split']}")
    from ..api.predictor import Predictor, default_model_dir
    from .report import write_report

    model_dir = Path(model_dir) if model_dir else default_model_dir()
    predictor = Predictor.load(model_dir)
    data["documents"] = len(documents)
    data["document_ids"] = [d.id for d in documents]
    metrics, views = evaluate_documents(predictor, documents, peer=peer, progress=True)
    from .linking import DEFAULT_EVENTS_DIR, evaluate_linking

    linking = evaluate_linking(predictor, views, annotated, split=None if data_file else split, splits=split_of,
                               events_dir=events_dir or DEFAULT_EVENTS_DIR)
    if linking is not None:
        metrics["linking"] = linking
    metrics["model"] = model_identity(predictor, model_dir)
    metrics["data"] = data
    metrics["dropped"] = dropped
    if "training" in predictor.metadata:
        metrics["training"] = predictor.metadata["training"]
    if cross_validation:
        summary = Path(cross_validation) / "cross_validation.json"
        metrics["cross_validation"] = json.loads(summary.read_text(encoding="utf-8"))
    if cross_fit:
        metrics["cross_fit"] = json.loads((Path(cross_fit) / "cross_fit.json").read_text(encoding="utf-8"))
    out = Path(out_dir) if out_dir else model_dir.parent / "reports" / data["split"].replace(" ", "_").replace("/", "_")
    write_report(metrics, out, views)
    print(f"wrote reports to {out}")
    if model_card:
        from .model_card import write_model_card

        write_model_card(metrics, Path(model_card))
        print(f"wrote model card {model_card}")
    return metrics
