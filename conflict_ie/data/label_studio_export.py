"""Label Studio JSON exports <-> typed Documents, with every problem named by file, task id and offset.

One parser serves the loader (which skips bad items and counts them) and the validator (which reports them and
fails). The shape is what the Label Studio server exports: a list of tasks, each with ``data.text`` and
``annotations[].result`` holding span results (``type: labels``) and relation results (``type: relation``).

The parser checks the shape and the JSON type of everything it reads before using it, so a wrongly typed export
(``data`` a list, ``result`` an object, ``start: true``, a file nested 10,000 levels deep) is a Problem naming the
file, the task and the path inside the task (``annotations[0].result[3].value.start``), never a crash; nothing here
recurses into the data.
"""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .document import Document, LoadReport, Relation, Span
from ..schema import LABELS_FROM_NAME, LAYERS, TEXT_TO_NAME, implied_layers, is_span_label, relation_problem

# Nesting a task may have: an exported task is about 6 levels deep; anything past this is not an export.
MAX_TASK_DEPTH = 64

_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlevel = 60, 60, 2


def shown(value: Any) -> str:
    """A short, bounded repr of a value from the file (safe for any size or depth)."""
    return _short.repr(value)


def json_kind(value: Any) -> str:
    """The JSON type of a parsed value, for messages: "a boolean (true)", "a list", "an object", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_integer(value: Any) -> bool:
    """A JSON integer: ``true``/``false`` are not offsets, although Python counts bool as int."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_id(value: Any) -> bool:
    """A usable task, span or annotation id: a string or an integer."""
    return isinstance(value, str) or is_integer(value)


@dataclass(frozen=True)
class Problem:
    file: str
    task_id: Any
    offset: int | None
    message: str
    severity: str = "error"  # "error" fails validation; "warning" is reported only
    path: str = ""  # where inside the task, e.g. "annotations[0].result[3].value.start"
    index: int | None = None  # the task's position in the file (0-based), shown when it has no usable id

    def __str__(self) -> str:
        if self.task_id is not None:
            where = f"{self.file}: task {self.task_id}"
        elif self.index is not None:
            where = f"{self.file}: task at [{self.index}]"
        else:
            where = self.file
        if self.offset is not None:
            where += f", char {self.offset}"
        path = f"{self.path}: " if self.path else ""
        return f"{where}: {self.severity}: {path}{self.message}"


def read_export(path: str | Path) -> list:
    """Read an export file: a JSON list of tasks, tolerating a UTF-8 BOM. Anything else raises ValueError naming
    the file (not UTF-8, not JSON, nested too deeply for the JSON reader, or a top level that is not a list)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text: {error}") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error
    except RecursionError as error:
        raise ValueError(f"{path}: JSON nested too deeply to read (lists or objects inside each other thousands "
                         "of levels deep): not a Label Studio export") from error
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of Label Studio tasks, got {json_kind(data)}")
    return data


def too_deep(value: Any, limit: int = MAX_TASK_DEPTH) -> str | None:
    """The path of the first place where ``value`` nests more than ``limit`` lists/objects deep, else None.
    Walks with an explicit stack: no recursion, however deep the value."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            children = [(child, f"{path}.{key}" if path else str(key)) for key, child in node.items()]
        elif isinstance(node, list):
            children = [(child, f"{path}[{i}]") for i, child in enumerate(node)]
        else:
            continue
        if depth > limit:
            return path or "(the task)"
        stack += [(child, child_path, depth + 1) for child, child_path in children
                  if isinstance(child, (dict, list))]
    return None


def _chosen_annotation(annotations: list[tuple[int, dict]]) -> tuple[int, dict] | None:
    """The (index, annotation) a document is built from: the latest one that was not cancelled."""
    kept = [(i, a) for i, a in annotations if not a.get("was_cancelled")]
    if not kept:
        return None

    def recency(pair: tuple[int, dict]) -> tuple[str, str]:
        annotation = pair[1]
        updated, annotation_id = annotation.get("updated_at"), annotation.get("id")
        return (updated if isinstance(updated, str) else "",
                str(annotation_id) if is_id(annotation_id) else "")

    return max(kept, key=recency)


def parse_task(
    task: Any, file: str, *, use_predictions: bool = False, index: int | None = None
) -> tuple[Document | None, list[Problem]]:
    """Turn one exported task into a Document, and list every problem found on the way.

    Bad spans and relations are left out of the Document; each one is a Problem, so callers can count them. A task
    whose shape is wrong where the document comes from (``data``, ``data.text``, the annotation list, the chosen
    annotation's ``result``) gives no Document. ``index`` is the task's position in the file, named in problems
    when the task has no usable id.
    """
    problems: list[Problem] = []
    if not isinstance(task, dict):
        problems.append(Problem(file, None, None, f"task is {json_kind(task)}, expected an object", index=index))
        return None, problems
    raw_id = task.get("id")
    task_id = raw_id if is_id(raw_id) else None

    def problem(message: str, offset: int | None = None, severity: str = "error", path: str = "") -> None:
        problems.append(Problem(file, task_id, offset, message, severity, path, index))

    if raw_id is not None and task_id is None:
        problem(f"task id is {json_kind(raw_id)}, expected an integer or a string", path="id")
    deep = too_deep(task)
    if deep is not None:
        problem(f"nested more than {MAX_TASK_DEPTH} lists or objects deep: not a Label Studio task", path=deep)
        return None, problems

    data = task.get("data")
    if data is not None and not isinstance(data, dict):
        problem(f"data is {json_kind(data)}, expected an object holding the text", path="data")
        return None, problems
    data = data or {}
    text = data.get(TEXT_TO_NAME)
    if text is None:
        problem("task has no data.text string")
        return None, problems
    if not isinstance(text, str):
        problem(f"the text is {json_kind(text)}, expected a string", path=f"data.{TEXT_TO_NAME}")
        return None, problems
    if not text.strip():
        problem("task text is empty")
        return None, problems
    fields_ok = True
    for key in ("doc_id", "source", "licence"):
        value = data.get(key)
        if value is not None and not (isinstance(value, str) or (key == "doc_id" and is_integer(value))):
            problem(f"{key} is {json_kind(value)}, expected a string", path=f"data.{key}")
            fields_ok = False
    layers = data.get("layers")
    if layers is not None and not (isinstance(layers, list) and all(isinstance(x, str) for x in layers)):
        problem(f"layers is {json_kind(layers)}{'' if not isinstance(layers, list) else ' with non-string items'}, "
                "expected a list of layer names", path="data.layers")
        fields_ok = False
    if not fields_ok:
        return None, problems

    key = "predictions" if use_predictions else "annotations"
    raw_annotations = task.get(key)
    if raw_annotations is not None and not isinstance(raw_annotations, list):
        problem(f"{key} is {json_kind(raw_annotations)}, expected a list", path=key)
        return None, problems
    annotations = []
    for position, annotation in enumerate(raw_annotations or []):
        if isinstance(annotation, dict):
            annotations.append((position, annotation))
        else:
            problem(f"annotation is {json_kind(annotation)}, expected an object", path=f"{key}[{position}]")
    if use_predictions:
        chosen = annotations[0] if annotations else None
    else:
        chosen = _chosen_annotation(annotations)
    if chosen is None:
        problem("task has no annotation to load (none, or all cancelled)")
        return None, problems
    position, annotation = chosen
    base = f"{key}[{position}].result"
    results = annotation.get("result")
    if results is not None and not isinstance(results, list):
        problem(f"result is {json_kind(results)}, expected a list of span and relation results", path=base)
        return None, problems

    spans: list[Span] = []
    seen_offsets: dict[tuple[int, int, str], str] = {}
    raw_relations: list[tuple[str, dict]] = []
    for number, item in enumerate(results or []):
        path = f"{base}[{number}]"
        if not isinstance(item, dict):
            problem(f"result item is {json_kind(item)}, expected an object", path=path)
            continue
        kind = item.get("type")
        if kind == "relation":
            raw_relations.append((path, item))
            continue
        if kind != "labels":
            problem(f"result {shown(item.get('id'))} has unsupported type {shown(kind)}", severity="warning")
            continue
        span = _parse_span(item, text, problem, path)
        if span is None:
            continue
        if span.id in {s.id for s in spans}:
            problem(f"span id {span.id!r} used twice", span.start)
            continue
        offsets = (span.start, span.end, span.label)
        if offsets in seen_offsets:
            problem(f"duplicate span {span.label} {span.text!r} (same as {seen_offsets[offsets]!r})", span.start)
            continue
        seen_offsets[offsets] = span.id
        spans.append(span)

    by_id = {span.id: span for span in spans}
    relations: list[Relation] = []
    seen_relations: set[tuple[str, str, str]] = set()
    for path, item in raw_relations:
        for relation in _parse_relation(item, by_id, problem, path):
            relation_key = (relation.head, relation.tail, relation.label)
            if relation_key in seen_relations:
                problem(f"duplicate relation {relation.label} {relation.head} -> {relation.tail}",
                        by_id[relation.head].start)
                continue
            seen_relations.add(relation_key)
            relations.append(relation)

    layers = layers or list(LAYERS)
    unknown_layers = set(layers) - set(LAYERS)
    if unknown_layers:
        problem(f"unknown layers {sorted(unknown_layers)}")
    meta = {k: v for k, v in data.items() if k not in (TEXT_TO_NAME, "layers", "doc_id", "source", "licence")}
    document = Document(
        id=str(data.get("doc_id") or f"task-{task_id}"),
        text=text,
        spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
        relations=tuple(relations),
        layers=implied_layers(frozenset(layers) & frozenset(LAYERS)),
        source=str(data.get("source") or file),
        licence=str(data.get("licence") or ""),
        meta=meta,
    )
    return document, problems


def _parse_span(item: dict, text: str, problem, path: str) -> Span | None:
    value = item.get("value")
    if not isinstance(value, dict):
        problem(f"span value is {json_kind(value)}, expected an object with start, end and labels",
                path=f"{path}.value")
        return None
    start, end = value.get("start"), value.get("end")
    labels = value.get("labels")
    raw_id = item.get("id")
    if raw_id is not None and not is_id(raw_id):
        problem(f"span id is {json_kind(raw_id)}, expected a string", path=f"{path}.id")
        return None
    span_id = str(raw_id or "")
    if not span_id:
        problem("span result without an id", start if is_integer(start) else None)
        return None
    for name, offset in (("start", start), ("end", end)):
        if not is_integer(offset):
            problem(f"span {span_id!r} has a non-integer offset: {name} is {json_kind(offset)}, expected an "
                    "integer", path=f"{path}.value.{name}")
            return None
    if start >= end:
        problem(f"span {span_id!r} offsets {start}..{end} are empty or reversed (start must be < end)", start)
        return None
    if not 0 <= start < end <= len(text):
        problem(f"span {span_id!r} offsets {start}..{end} fall outside the text (length {len(text)})", start)
        return None
    from_name = item.get("from_name", LABELS_FROM_NAME)
    if from_name != LABELS_FROM_NAME:
        problem(f"span {span_id!r} comes from control {shown(from_name)}, expected {LABELS_FROM_NAME!r}",
                start, severity="warning")
    if labels is None:
        labels = []
    if not isinstance(labels, list):
        problem(f"span {span_id!r} labels is {json_kind(labels)}, expected a list of one label", start,
                path=f"{path}.value.labels")
        return None
    if len(labels) != 1:
        problem(f"span {span_id!r} has {len(labels)} labels, expected exactly one", start)
        return None
    label = labels[0]
    if not isinstance(label, str):
        problem(f"span {span_id!r} label is {json_kind(label)}, expected a string", start,
                path=f"{path}.value.labels[0]")
        return None
    if not is_span_label(label):
        problem(f"span {span_id!r} has unknown label {label!r}", start)
        return None
    surface = text[start:end]
    stored = value.get("text")
    if stored is not None and not isinstance(stored, str):
        problem(f"span {span_id!r} text is {json_kind(stored)}, expected a string", start, path=f"{path}.value.text")
        return None
    if stored is not None and stored != surface:
        problem(f"span {span_id!r} stores text {stored!r} but text[{start}:{end}] is {surface!r}", start)
        return None
    if surface != surface.strip():
        problem(f"span {span_id!r} {surface!r} starts or ends with white space", start, severity="warning")
    return Span(id=span_id, start=start, end=end, text=surface, label=label)


def _parse_relation(item: dict, by_id: dict[str, Span], problem, path: str) -> list[Relation]:
    for name in ("from_id", "to_id"):
        if not is_id(item.get(name)):
            problem(f"relation {name} is {json_kind(item.get(name))}, expected a span id", path=f"{path}.{name}")
            return []
    head_id, tail_id = str(item.get("from_id")), str(item.get("to_id"))
    labels = item.get("labels")
    if labels is None:
        labels = []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        problem(f"relation {head_id} -> {tail_id} labels is {json_kind(labels)}"
                f"{' with non-string items' if isinstance(labels, list) else ''}, expected a list of strings",
                path=f"{path}.labels")
        return []
    for end_id in (head_id, tail_id):
        if end_id not in by_id:
            problem(f"relation {head_id} -> {tail_id} refers to span {end_id!r}, which does not exist")
            return []
    head, tail = by_id[head_id], by_id[tail_id]
    direction = item.get("direction", "right")
    if not isinstance(direction, str):
        problem(f"relation {head.id} -> {tail.id} direction is {json_kind(direction)}, expected a string",
                head.start, path=f"{path}.direction")
        return []
    if direction == "left":
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
    for index, task in enumerate(read_export(path)):
        document, problems = parse_task(task, str(path), index=index)
        for p in problems:
            if p.severity == "error":
                report.skip("task rejected" if document is None else "span or relation rejected")
                report.reject(str(p))
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
