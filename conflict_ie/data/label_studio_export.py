"""Label Studio JSON exports <-> typed Documents, with every problem named by file, task id and offset.

One parser serves the loader (which skips bad items and counts them) and the validator (which reports them and
fails). The shape is what the Label Studio server exports: a list of tasks, each with ``data.text`` and
``annotations[].result`` holding span results (``type: labels``) and relation results (``type: relation``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .document import Document, LoadReport, Relation, Span
from ..schema import LABELS_FROM_NAME, LAYERS, TEXT_TO_NAME, is_span_label, relation_problem


@dataclass(frozen=True)
class Problem:
    file: str
    task_id: Any
    offset: int | None
    message: str
    severity: str = "error"  # "error" fails validation; "warning" is reported only

    def __str__(self) -> str:
        where = f"{self.file}: task {self.task_id}"
        if self.offset is not None:
            where += f", char {self.offset}"
        return f"{where}: {self.severity}: {self.message}"


def read_export(path: str | Path) -> list[dict]:
    """Read an export file (a JSON list of tasks), tolerating a UTF-8 BOM."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of Label Studio tasks, got {type(data).__name__}")
    return data


def _chosen_annotation(task: dict) -> dict | None:
    """The annotation a document is built from: the latest one that was not cancelled."""
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not annotations:
        return None
    return max(annotations, key=lambda a: (str(a.get("updated_at") or ""), str(a.get("id") or "")))


def parse_task(
    task: dict, file: str, *, use_predictions: bool = False
) -> tuple[Document | None, list[Problem]]:
    """Turn one exported task into a Document, and list every problem found on the way.

    Bad spans and relations are left out of the Document; each one is a Problem, so callers can count them.
    """
    task_id = task.get("id")
    problems: list[Problem] = []

    def problem(message: str, offset: int | None = None, severity: str = "error") -> None:
        problems.append(Problem(file, task_id, offset, message, severity))

    data = task.get("data") or {}
    text = data.get(TEXT_TO_NAME)
    if not isinstance(text, str):
        problem("task has no data.text string")
        return None, problems
    if not text.strip():
        problem("task text is empty")
        return None, problems

    if use_predictions:
        predictions = task.get("predictions") or []
        annotation = predictions[0] if predictions else None
    else:
        annotation = _chosen_annotation(task)
    if annotation is None:
        problem("task has no annotation to load (none, or all cancelled)")
        return None, problems

    spans: list[Span] = []
    seen_offsets: dict[tuple[int, int, str], str] = {}
    raw_relations: list[dict] = []
    for item in annotation.get("result") or []:
        kind = item.get("type")
        if kind == "relation":
            raw_relations.append(item)
            continue
        if kind != "labels":
            problem(f"result {item.get('id')!r} has unsupported type {kind!r}", severity="warning")
            continue
        span = _parse_span(item, text, problem)
        if span is None:
            continue
        if span.id in {s.id for s in spans}:
            problem(f"span id {span.id!r} used twice", span.start)
            continue
        key = (span.start, span.end, span.label)
        if key in seen_offsets:
            problem(f"duplicate span {span.label} {span.text!r} (same as {seen_offsets[key]!r})", span.start)
            continue
        seen_offsets[key] = span.id
        spans.append(span)

    by_id = {span.id: span for span in spans}
    relations: list[Relation] = []
    seen_relations: set[tuple[str, str, str]] = set()
    for item in raw_relations:
        for relation in _parse_relation(item, by_id, problem):
            key = (relation.head, relation.tail, relation.label)
            if key in seen_relations:
                problem(f"duplicate relation {relation.label} {relation.head} -> {relation.tail}",
                        by_id[relation.head].start)
                continue
            seen_relations.add(key)
            relations.append(relation)

    layers = data.get("layers") or list(LAYERS)
    unknown_layers = set(layers) - set(LAYERS)
    if unknown_layers:
        problem(f"unknown layers {sorted(unknown_layers)}")
    meta = {k: v for k, v in data.items() if k not in (TEXT_TO_NAME, "layers", "doc_id", "source", "licence")}
    document = Document(
        id=str(data.get("doc_id") or f"task-{task_id}"),
        text=text,
        spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
        relations=tuple(relations),
        layers=frozenset(layers) & frozenset(LAYERS),
        source=str(data.get("source") or file),
        licence=str(data.get("licence") or ""),
        meta=meta,
    )
    return document, problems


def _parse_span(item: dict, text: str, problem) -> Span | None:
    value = item.get("value") or {}
    start, end = value.get("start"), value.get("end")
    labels = value.get("labels") or []
    span_id = str(item.get("id") or "")
    if not span_id:
        problem("span result without an id", start if isinstance(start, int) else None)
        return None
    if not isinstance(start, int) or not isinstance(end, int):
        problem(f"span {span_id!r} has non-integer offsets {start!r}..{end!r}")
        return None
    if start >= end:
        problem(f"span {span_id!r} offsets {start}..{end} are empty or reversed (start must be < end)", start)
        return None
    if not 0 <= start < end <= len(text):
        problem(f"span {span_id!r} offsets {start}..{end} fall outside the text (length {len(text)})", start)
        return None
    if item.get("from_name", LABELS_FROM_NAME) != LABELS_FROM_NAME:
        problem(f"span {span_id!r} comes from control {item.get('from_name')!r}, expected {LABELS_FROM_NAME!r}",
                start, severity="warning")
    if len(labels) != 1:
        problem(f"span {span_id!r} has {len(labels)} labels, expected exactly one", start)
        return None
    label = labels[0]
    if not is_span_label(label):
        problem(f"span {span_id!r} has unknown label {label!r}", start)
        return None
    surface = text[start:end]
    stored = value.get("text")
    if stored is not None and stored != surface:
        problem(f"span {span_id!r} stores text {stored!r} but text[{start}:{end}] is {surface!r}", start)
        return None
    if surface != surface.strip():
        problem(f"span {span_id!r} {surface!r} starts or ends with white space", start, severity="warning")
    return Span(id=span_id, start=start, end=end, text=surface, label=label)


def _parse_relation(item: dict, by_id: dict[str, Span], problem) -> list[Relation]:
    head_id, tail_id = str(item.get("from_id")), str(item.get("to_id"))
    labels = item.get("labels") or []
    for end_id in (head_id, tail_id):
        if end_id not in by_id:
            problem(f"relation {head_id} -> {tail_id} refers to span {end_id!r}, which does not exist")
            return []
    head, tail = by_id[head_id], by_id[tail_id]
    if item.get("direction", "right") == "left":
        head, tail = tail, head
    if not labels:
        problem(f"relation {head.id} -> {tail.id} has no label", head.start)
        return []
    relations = []
    for label in labels:
        reason = relation_problem(label, head.label, tail.label)
        if reason:
            problem(f"relation {head.id} ({head.text!r}) -> {tail.id} ({tail.text!r}): {reason}", head.start)
            continue
        relations.append(Relation(head=head.id, tail=tail.id, label=label))
    return relations


def load_label_studio(path: str | Path, report: LoadReport | None = None) -> list[Document]:
    """Load every task of an export; what cannot be loaded is counted in ``report`` with its reason."""
    report = report if report is not None else LoadReport(source=str(path))
    documents = []
    for task in read_export(path):
        document, problems = parse_task(task, str(path))
        for p in problems:
            if p.severity == "error":
                report.skip("task rejected" if document is None else "span or relation rejected", str(p))
        if document is None:
            continue
        report.count_document(document)
        documents.append(document)
    return documents


def document_to_task(document: Document, task_id: int, *, as_prediction: bool = False,
                     model_version: str = "", score: float | None = None,
                     span_scores: dict[str, float] | None = None) -> dict:
    """A Label Studio task for a document: its spans and relations as an annotation or as a prediction."""
    result: list[dict] = []
    for span in document.spans:
        item = {
            "id": span.id,
            "from_name": LABELS_FROM_NAME,
            "to_name": TEXT_TO_NAME,
            "type": "labels",
            "origin": "prediction" if as_prediction else "manual",
            "value": {"start": span.start, "end": span.end, "text": span.text, "labels": [span.label]},
        }
        if span_scores and span.id in span_scores:
            item["score"] = round(span_scores[span.id], 4)
        result.append(item)
    for relation in document.relations:
        result.append({
            "from_id": relation.head,
            "to_id": relation.tail,
            "type": "relation",
            "direction": "right",
            "labels": [relation.label],
        })
    data = {"text": document.text, "doc_id": document.id, "source": document.source,
            "licence": document.licence, "layers": sorted(document.layers)}
    data.update({k: v for k, v in document.meta.items() if k not in data})
    task: dict[str, Any] = {"id": task_id, "data": data}
    if as_prediction:
        prediction = {"model_version": model_version, "result": result}
        if score is not None:
            prediction["score"] = round(score, 4)
        task["predictions"] = [prediction]
        task["annotations"] = []
    else:
        task["annotations"] = [{"id": task_id, "result": result, "was_cancelled": False,
                                "ground_truth": True, "lead_time": 0}]
        task["predictions"] = []
    return task


def write_export(documents: list[Document], path: str | Path) -> None:
    tasks = [document_to_task(doc, i + 1) for i, doc in enumerate(documents)]
    Path(path).write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
