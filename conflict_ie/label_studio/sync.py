"""Moving articles and annotations: push articles as tasks, with a model's predictions as pre-annotations, and pull
the annotations back as a validated export that the training loader reads. Both check everything before they change
anything: ``push`` compares the project's labeling config with the schema and validates every prediction before the
first task is imported; ``pull`` validates the whole export through the same parser as the committed annotations and
writes nothing when any task breaks the schema.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..api.inputs import read_articles as read_article_files
from ..atomic import write_text_atomic
from ..conversion import predictions_to_document
from ..data.label_studio_export import Problem, document_to_task, parse_task
from ..records import ArticleResult
from ..schema import LAYERS, TEXT_TO_NAME
from .client import InvalidTasks, StudioError, call
from .projects import check_project_config

IMPORT_BATCH = 500  # tasks per import request (the server takes up to 250K tasks / 200 MB per request)


class Predictor(Protocol):
    model_version: str

    def predict(self, texts: list[str]) -> list[ArticleResult]: ...


# ---------------------------------------------------------------------------------------------------- predictions


def result_to_prediction(text: str, result: ArticleResult, model_version: str) -> dict:
    """A Label Studio prediction for one article: span results with the ids ``conversion`` mints (``e1``.. for
    entities, ``t1``.. for triggers) and a per-span ``score``, relation results pointing at those ids, overall
    ``score`` = mean span score (left out when there are no spans)."""
    document, scores = predictions_to_document("prediction", text, result.entities, result.triggers,
                                               result.relations)
    score = statistics.fmean(scores.values()) if scores else None
    task = document_to_task(document, 0, as_prediction=True, model_version=model_version, score=score,
                            span_scores=scores)
    return task["predictions"][0]


# ---------------------------------------------------------------------------------------------------- push


@dataclass(frozen=True)
class PushReport:
    project_id: int
    imported: int
    predictions: int
    task_ids: tuple[int, ...]
    skipped_existing: tuple[str, ...]
    model_version: str | None

    def summary(self) -> str:
        line = f"project {self.project_id}: imported {self.imported} tasks"
        if self.predictions:
            line += f" with {self.predictions} pre-annotations (model {self.model_version})"
        if self.skipped_existing:
            line += f"; skipped {len(self.skipped_existing)} already in the project"
        return line


def push(client, project_id: int, texts_with_ids: Iterable[tuple[str, str]], predictor: Predictor | None = None,
         *, skip_existing: bool = True, source: str = "label-studio") -> PushReport:
    """Import articles, given as ``(doc_id, text)`` pairs, as tasks; with a predictor, its predictions ride along
    as pre-annotations. Articles whose ``doc_id`` is already in the project are skipped (``skip_existing``).

    Everything is checked before the first task is imported: the project's labeling config, the inputs, and every
    prediction (through the same parser that reads exports)."""
    items = list(texts_with_ids)
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise ValueError(f"item {index}: expected a (doc_id, text) pair")
        doc_id, text = item
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError(f"item {index}: doc_id must be a non-empty string, got {doc_id!r}")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"article {doc_id!r} has no text")
        if doc_id in seen:
            raise ValueError(f"doc_id {doc_id!r} given twice")
        seen.add(doc_id)

    check_project_config(client, project_id)
    skipped: list[str] = []
    if skip_existing and items:
        existing = _existing_doc_ids(client, project_id)
        skipped = [doc_id for doc_id, _ in items if doc_id in existing]
        items = [(doc_id, text) for doc_id, text in items if doc_id not in existing]

    model_version = None
    predictions: list[dict | None] = [None] * len(items)
    if predictor is not None and items:
        model_version = str(getattr(predictor, "model_version", "") or type(predictor).__name__)
        results = predictor.predict([text for _, text in items])
        if len(results) != len(items):
            raise StudioError(f"the predictor returned {len(results)} results for {len(items)} articles")
        predictions = [result_to_prediction(text, result, model_version)
                       for (_, text), result in zip(items, results)]

    tasks = []
    for (doc_id, text), prediction in zip(items, predictions):
        task: dict[str, Any] = {"data": {TEXT_TO_NAME: text, "doc_id": doc_id, "source": source,
                                         "layers": sorted(LAYERS)}}
        if prediction is not None:
            task["predictions"] = [prediction]
        tasks.append(task)

    problems = []
    for index, task in enumerate(tasks):
        if "predictions" in task:
            _, found = parse_task({**task, "id": task["data"]["doc_id"]}, "predictions", use_predictions=True)
            problems += [p for p in found if p.severity == "error"]
    if problems:
        raise InvalidTasks(f"{len(problems)} problems in the predictions; nothing was imported:\n"
                           + "\n".join(f"  {p}" for p in problems[:50])
                           + ("\n  ..." if len(problems) > 50 else ""), problems)

    imported, prediction_count, task_ids = 0, 0, []
    for first in range(0, len(tasks), IMPORT_BATCH):
        batch = tasks[first:first + IMPORT_BATCH]
        response = call(client, "import tasks", client.projects.import_tasks, id=project_id, request=batch,
                         return_task_ids=True, project_id=project_id)
        sent_predictions = sum("predictions" in t for t in batch)
        imported += response.task_count if response.task_count is not None else len(batch)
        reported = getattr(response, "prediction_count", None)
        prediction_count += reported if isinstance(reported, int) else sent_predictions
        task_ids += list(getattr(response, "task_ids", None) or [])

    if model_version is not None and prediction_count:
        # The labeling screen pre-fills only predictions of the project's model version, which the server sets once
        # (from the first import) and never moves: point it at the predictions just pushed.
        call(client, "select the model version", client.projects.update, project_id, model_version=model_version,
              project_id=project_id)
    return PushReport(project_id, imported, prediction_count, tuple(task_ids), tuple(skipped), model_version)


def _existing_doc_ids(client, project_id: int) -> set[str]:
    pager = call(client, "list tasks", client.tasks.list, project=project_id, fields="task_only",
                  project_id=project_id)
    doc_ids = set()
    for task in call(client, "list tasks", list, pager, project_id=project_id):
        doc_id = (task.data or {}).get("doc_id")
        if doc_id:
            doc_ids.add(str(doc_id))
    return doc_ids


# ---------------------------------------------------------------------------------------------------- pull


@dataclass(frozen=True)
class PullReport:
    path: Path
    tasks: int
    unannotated: int
    spans: int
    relations: int
    warnings: tuple[Problem, ...] = field(default=())

    def summary(self) -> str:
        line = (f"wrote {self.tasks} annotated tasks ({self.spans} spans, {self.relations} relations) to {self.path}")
        if self.unannotated:
            line += f"; left out {self.unannotated} tasks without a submitted annotation"
        if self.warnings:
            line += f"; {len(self.warnings)} warnings"
        return line


def pull(client, project_id: int, out_path: str | Path) -> PullReport:
    """Export the project's annotated tasks to ``out_path`` (Label Studio JSON, loads with ``load_label_studio``).

    The export is validated through ``parse_task``, as the committed annotations are; any error (an unknown label, a
    relation the schema forbids, offsets off the text) raises ``InvalidTasks`` listing file, task and offset, and
    nothing is written. Tasks nobody annotated yet (or only skipped) are left out and counted."""
    out_path = Path(out_path)
    exported = call(client, f"export project {project_id}", client.projects.exports.as_json, project_id,
                     project_id=project_id)
    if isinstance(exported, dict):
        exported = [exported]
    annotated = [t for t in exported if any(not a.get("was_cancelled") for a in t.get("annotations") or [])]
    if not annotated:
        raise StudioError(f"project {project_id} has no submitted annotations yet ({len(exported)} tasks); "
                          f"nothing written to {out_path}")

    label = f"project {project_id} export"
    errors, warnings, spans, relations = [], [], 0, 0
    for task in annotated:
        document, problems = parse_task(task, label)
        errors += [p for p in problems if p.severity == "error"]
        warnings += [p for p in problems if p.severity != "error"]
        if document is not None:
            spans += len(document.spans)
            relations += len(document.relations)
    if errors:
        raise InvalidTasks(
            f"the export of project {project_id} breaks the schema in {len(errors)} places; nothing was written "
            f"to {out_path}. Fix these in Label Studio and pull again:\n"
            + "\n".join(f"  {p}" for p in errors[:100]) + ("\n  ..." if len(errors) > 100 else ""), errors)

    write_text_atomic(out_path, json.dumps(annotated, ensure_ascii=False, indent=1) + "\n")
    return PullReport(out_path, len(annotated), len(exported) - len(annotated), spans, relations, tuple(warnings))


# ---------------------------------------------------------------------------------------------------- articles


def read_articles(paths: Sequence[str | Path], skipped: list[str] | None = None) -> list[tuple[str, str]]:
    """(doc_id, text) for each file, and each .txt file of a folder (the rules of ``api.inputs``); doc_id is the
    file name without .txt. Any file that cannot be read raises InputError; folder entries skipped are appended
    to ``skipped`` as notes, when given."""
    files = read_article_files(paths, strict=True)
    if skipped is not None:
        skipped.extend(files.notes())
    return [(Path(name).stem, text) for name, text in files.texts]
