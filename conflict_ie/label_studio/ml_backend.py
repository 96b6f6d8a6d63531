"""Label Studio's ML backend protocol, without the web framework: what ``conflict-ie serve`` answers under
``/label-studio`` (``api/service.py`` routes the requests here).

What the server calls (label-studio 1.23, ``label_studio/ml/api_connector.py``), each path joined to the backend URL
the project was given, so a URL with a path (``http://127.0.0.1:9090/label-studio``) works:

    GET  health    -> 200 with any JSON (checked on connect and before every prediction, with a 1 s timeout)
    POST setup     {"project", "schema": <labeling config>, "hostname", "access_token", "extra_params"}
                   -> {"model_version": ...}; an error status marks the backend "Error"
    POST predict   {"tasks": [<task>, ...], "project", "label_config", "params"}
                   -> {"results": [<prediction>, ...]}, one prediction per task, in order
    POST webhook   every project event ({"action": "ANNOTATION_CREATED", "annotation": ..., "task": ...,
                   "project": ...}, and {"action": "START_TRAINING", "project": ...} from *Start Training*),
                   sent with a 1 s timeout: the backend must answer at once
    GET  versions, POST job_status   (the model-version list; the status of a training job the webhook returned)

A prediction is what ``studio push`` attaches as a pre-annotation (``sync.result_to_prediction``): span results with
per-span scores and relation results in the schema's labeling config, checked by the same parser that reads exports
before it leaves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..data.label_studio_export import parse_task
from ..schema import TEXT_TO_NAME
from .projects import labeling_config_differences
from .sync import result_to_prediction

PUBLICATION_DATE_KEY = "publication_date"  # optional task data field: lets relative dates resolve


class BackendRequestError(ValueError):
    """A request from Label Studio that cannot be answered; the message says which task and why."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


def config_problems(label_config: Any) -> list[str]:
    """How a project's labeling config differs from the schema's (empty when it is the schema's)."""
    if not isinstance(label_config, str) or not label_config.strip():
        return ["no labeling config was sent"]
    return labeling_config_differences(label_config)


def check_config(label_config: Any, project: Any = None) -> None:
    """Raise BackendRequestError unless the labeling config carries exactly the schema's labels and relations."""
    problems = config_problems(label_config)
    if problems:
        name = f"project {project}" if project not in (None, "") else "the project"
        raise BackendRequestError(
            f"{name} does not use conflict-ie's labeling config, so predictions would not fit it: "
            + "; ".join(problems) + ". Create the project with `conflict-ie studio create` or paste "
            "annotations/labeling_config.xml into Settings > Labeling Interface.", problems)


def task_inputs(tasks: Any) -> tuple[list[str], list[str | None]]:
    """The text and publication date of each task; BackendRequestError naming the task when one has none."""
    if not isinstance(tasks, list):
        raise BackendRequestError(f"'tasks' must be a list, got {type(tasks).__name__}")
    texts: list[str] = []
    dates: list[str | None] = []
    for index, task in enumerate(tasks):
        name = f"task {task.get('id')}" if isinstance(task, dict) and task.get("id") is not None \
            else f"task at [{index}]"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            raise BackendRequestError(f"{name} has no 'data' object")
        text = data.get(TEXT_TO_NAME)
        if not isinstance(text, str):
            raise BackendRequestError(f"{name}: data.{TEXT_TO_NAME} is "
                                      f"{'missing' if text is None else type(text).__name__}, expected the article "
                                      "text (a string)")
        date = data.get(PUBLICATION_DATE_KEY)
        if date in ("", None):
            date = None
        elif not isinstance(date, str):
            raise BackendRequestError(f"{name}: data.{PUBLICATION_DATE_KEY} is {type(date).__name__}, expected an "
                                      "ISO date (YYYY-MM-DD)")
        else:
            try:
                dt.date.fromisoformat(date[:10])
            except ValueError:
                raise BackendRequestError(f"{name}: data.{PUBLICATION_DATE_KEY} {date!r} is not an ISO date "
                                          "(YYYY-MM-DD)") from None
        texts.append(text)
        dates.append(date)
    return texts, dates


def predictions_for(texts: list[str], results: list, model_version: str, task_ids: list[Any]) -> list[dict]:
    """One Label Studio prediction per article, each checked by the export parser; a prediction that breaks the
    schema is a bug and raises RuntimeError naming the task and the problem (nothing broken is sent)."""
    predictions = []
    for text, result, task_id in zip(texts, results, task_ids):
        prediction = result_to_prediction(text, result, model_version)
        _, problems = parse_task({"id": task_id, "data": {TEXT_TO_NAME: text}, "predictions": [prediction]},
                                 "prediction", use_predictions=True)
        errors = [str(p) for p in problems if p.severity == "error"]
        if errors:
            raise RuntimeError("a prediction breaks the schema: " + "; ".join(errors[:10]))
        predictions.append(prediction)
    return predictions


def task_ids(tasks: list) -> list[Any]:
    return [task.get("id", index) if isinstance(task, dict) else index for index, task in enumerate(tasks)]
