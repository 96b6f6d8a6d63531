"""The Label Studio round trip: create a project from the schema, push articles with the model's predictions as
pre-annotations, pull the annotations back as a validated export that the training loader reads.

    python -m conflict_ie.studio create --title "Conflict news, batch 1"            # prints the project id
    python -m conflict_ie.studio push --project 1 --model runs/default/model articles/
    python -m conflict_ie.studio pull --project 1 --out annotations/batch1.json

The server URL and API token come from ``--url`` / ``--token`` or the environment (``LABEL_STUDIO_URL``,
``LABEL_STUDIO_API_KEY``). The token is never printed, logged or put into an error message.

From Python::

    client = connect()                                   # or connect("http://127.0.0.1:8080", token)
    project_id = create_project(client, "batch 1")
    push(client, project_id, [("a1", text)], predictor=Predictor.load("runs/default/model"))
    pull(client, project_id, "annotations/batch1.json")   # validated; loads with load_label_studio

Every command checks before it changes anything: ``push`` compares the project's labeling config with the schema
and validates every prediction before the first task is imported; ``pull`` validates the whole export through the
same parser as the committed annotations and writes nothing when any task breaks the schema.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..conversion import predictions_to_document
from ..api.inputs import read_text_files
from ..data.label_studio_export import Problem, document_to_task, parse_task
from ..records import ArticleResult
from ..schema import (
    ENTITY_LABELS,
    LABELS_FROM_NAME,
    LAYERS,
    RELATION_LABELS,
    TEXT_TO_NAME,
    TRIGGER_LABELS,
    render_labeling_config,
)

URL_ENV = "LABEL_STUDIO_URL"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
START_HINT = ("Start one with: label-studio start --data-dir DIR --internal-host 127.0.0.1 --port 8080 --no-browser "
              "(installed by scripts/install_label_studio.sh; see docs/label_studio.md)")
IMPORT_BATCH = 500  # tasks per import request (the server takes up to 250K tasks / 200 MB per request)


# ---------------------------------------------------------------------------------------------------- errors


class StudioError(Exception):
    """A Label Studio command could not run; the message says why and what to do. Never holds the token."""


class MissingSetting(StudioError):
    """No server URL or no API token was given."""


class ServerUnreachable(StudioError):
    """Nothing answers at the URL, or what answers is not a Label Studio server."""


class TokenRejected(StudioError):
    """The server refused the API token (HTTP 401/403)."""


class ProjectNotFound(StudioError):
    pass


class ConfigMismatch(StudioError):
    """The project's labeling config does not carry the schema's labels and relations."""

    def __init__(self, message: str, differences: Sequence[str]):
        super().__init__(message)
        self.differences = tuple(differences)


class InvalidTasks(StudioError):
    """Tasks (an export, or predictions about to be imported) break the schema; each problem names task and offset."""

    def __init__(self, message: str, problems: Sequence[Problem]):
        super().__init__(message)
        self.problems = tuple(problems)


# Shorter names for the same errors.
Unreachable = ServerUnreachable
InvalidExport = InvalidTasks


class Predictor(Protocol):
    model_version: str

    def predict(self, texts: list[str]) -> list[ArticleResult]: ...


# ---------------------------------------------------------------------------------------------------- connecting


def connect(url: str | None = None, token: str | None = None, *, timeout: float = 60.0):
    """A ``label_studio_sdk.LabelStudio`` client for a server that is reachable and accepts the token.

    ``url`` and ``token`` fall back to ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY``. Raises
    ``MissingSetting``, ``ServerUnreachable`` (message names the URL) or ``TokenRejected``.
    """
    import httpx
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    url = (url or os.environ.get(URL_ENV) or "").strip()
    token = (token or os.environ.get(TOKEN_ENV) or "").strip()
    if not url:
        raise MissingSetting(f"no Label Studio URL: pass --url or set {URL_ENV} (for example http://127.0.0.1:8080)")
    if not token:
        raise MissingSetting(f"no Label Studio API token: pass --token or set {TOKEN_ENV} "
                             "(Label Studio: Account & Settings > Legacy Token / Personal Access Token)")
    url = _base_url(url, token)

    try:
        health = httpx.get(f"{url}/health", timeout=min(timeout, 15.0), follow_redirects=True)
    except httpx.HTTPError as error:
        reason = _redact(str(error) or type(error).__name__, token)
        raise ServerUnreachable(f"cannot reach Label Studio at {url} ({reason}). Is the server running? "
                                f"{START_HINT}") from None
    if health.status_code != 200:
        raise ServerUnreachable(f"{url}/health answered HTTP {health.status_code}: is {url} a Label Studio server "
                                "(and the URL its root, without /projects or /api)?")

    try:
        client = LabelStudio(base_url=url, api_key=token, timeout=timeout)
        client.users.whoami()
    except ApiError as error:
        if error.status_code in (401, 403):
            raise TokenRejected(
                f"Label Studio at {url}: token rejected (HTTP {error.status_code}: {_detail(error, token)}). "
                "Copy the token again from Account & Settings; a legacy token works only when the server runs "
                "with LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true.") from None
        raise StudioError(f"Label Studio at {url} answered HTTP {error.status_code} when checking the token: "
                          f"{_detail(error, token)}") from None
    except httpx.HTTPError as error:
        raise ServerUnreachable(f"lost the connection to Label Studio at {url} "
                                f"({_redact(str(error), token)})") from None
    return client


def _base_url(url: str, token: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        shown = "<the token>" if token and token in url else repr(url)
        raise MissingSetting(f"{shown} is not an http(s) URL; expected something like http://127.0.0.1:8080")
    return url.rstrip("/")


def _token_of(client) -> str | None:
    try:
        return client._client_wrapper._tokens_client._api_key
    except AttributeError:
        return None


def _url_of(client) -> str:
    try:
        return client._client_wrapper.get_base_url()
    except AttributeError:
        return "the Label Studio server"


def _redact(message: str, token: str | None) -> str:
    return message.replace(token, "<token>") if token else message


def _detail(error, token: str | None) -> str:
    body = error.body
    if isinstance(body, dict):
        body = body.get("detail") or body.get("validation_errors") or body
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    text = _redact(text, token)
    return text if len(text) <= 500 else text[:500] + "..."


def _call(client, action: str, function, *args, project_id: int | None = None, **kwargs):
    """Run one SDK call and turn its failures into StudioErrors that say what was being done."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    token, url = _token_of(client), _url_of(client)
    try:
        return function(*args, **kwargs)
    except ApiError as error:
        if error.status_code == 404 and project_id is not None:
            raise ProjectNotFound(f"Label Studio at {url} has no project {project_id} (or this token cannot see "
                                  "it); `python -m conflict_ie.studio create` makes one") from None
        if error.status_code in (401, 403):
            raise TokenRejected(f"Label Studio at {url}: token rejected while trying to {action} "
                                f"(HTTP {error.status_code}: {_detail(error, token)})") from None
        raise StudioError(f"Label Studio at {url} failed to {action}: HTTP {error.status_code}: "
                          f"{_detail(error, token)}") from None
    except httpx.HTTPError as error:
        raise ServerUnreachable(f"lost the connection to Label Studio at {url} while trying to {action} "
                                f"({_redact(str(error) or type(error).__name__, token)})") from None


# ---------------------------------------------------------------------------------------------------- projects


def create_project(client, title: str, description: str = "") -> int:
    """Create a project whose labeling config is generated from the schema; return its id."""
    project = _call(client, "create a project", client.projects.create, title=title, description=description,
                    label_config=render_labeling_config())
    check_project_config(client, project.id)
    return project.id


def labeling_config_differences(label_config: str) -> list[str]:
    """How a labeling config (XML) differs from the schema's: missing or extra labels, relations, controls."""
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as error:
        return [f"the labeling config is not valid XML ({error})"]
    differences = []

    texts = [e for e in root.iter("Text") if e.get("name") == TEXT_TO_NAME]
    if not texts:
        differences.append(f'no <Text name="{TEXT_TO_NAME}"> object')
    elif texts[0].get("value") != f"${TEXT_TO_NAME}":
        differences.append(f'<Text name="{TEXT_TO_NAME}"> reads {texts[0].get("value")!r}, '
                           f'expected "${TEXT_TO_NAME}"')

    controls = [e for e in root.iter() if e.tag.endswith("Labels") and e.tag != "Relations"]
    ours = [e for e in controls if e.get("name") == LABELS_FROM_NAME]
    for other in controls:
        if other.get("name") != LABELS_FROM_NAME:
            differences.append(f"extra labeling control <{other.tag} name={other.get('name')!r}> "
                               f"(the schema has only <Labels name={LABELS_FROM_NAME!r}>)")
    if not ours:
        differences.append(f"no <Labels name={LABELS_FROM_NAME!r}> control")
    else:
        control = ours[0]
        if control.tag != "Labels":
            differences.append(f"control {LABELS_FROM_NAME!r} is <{control.tag}>, expected <Labels>")
        if control.get("toName") != TEXT_TO_NAME:
            differences.append(f"control {LABELS_FROM_NAME!r} points to {control.get('toName')!r}, "
                               f"expected {TEXT_TO_NAME!r}")
        labels = {e.get("value") for e in control.iter("Label")}
        differences += _set_differences("span label", labels, set(ENTITY_LABELS) | set(TRIGGER_LABELS))

    relations = {e.get("value") for e in root.iter("Relation")}
    differences += _set_differences("relation", relations, set(RELATION_LABELS))
    return differences


def _set_differences(kind: str, found: set, expected: set) -> list[str]:
    out = []
    if expected - found:
        out.append(f"missing {kind}s: {', '.join(sorted(expected - found))}")
    if found - expected:
        out.append(f"{kind}s not in the schema: {', '.join(sorted(str(x) for x in found - expected))}")
    return out


def check_project_config(client, project_id: int) -> None:
    """Raise ``ConfigMismatch`` unless the project's labeling config carries exactly the schema's labels."""
    project = _call(client, f"read project {project_id}", client.projects.get, project_id, project_id=project_id)
    differences = labeling_config_differences(project.label_config or "")
    if differences:
        raise ConfigMismatch(
            f"project {project_id} ({project.title!r}) at {_url_of(client)} does not use this project's labeling "
            "config:\n  - " + "\n  - ".join(differences) + "\nNothing was changed. Create a project with "
            "`python -m conflict_ie.studio create`, or paste annotations/labeling_config.xml into the project's "
            "Settings > Labeling Interface.", differences)


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
        response = _call(client, "import tasks", client.projects.import_tasks, id=project_id, request=batch,
                         return_task_ids=True, project_id=project_id)
        sent_predictions = sum("predictions" in t for t in batch)
        imported += response.task_count if response.task_count is not None else len(batch)
        reported = getattr(response, "prediction_count", None)
        prediction_count += reported if isinstance(reported, int) else sent_predictions
        task_ids += list(getattr(response, "task_ids", None) or [])

    if model_version is not None and prediction_count:
        # The labeling screen pre-fills only predictions of the project's model version, which the server sets once
        # (from the first import) and never moves: point it at the predictions just pushed.
        _call(client, "select the model version", client.projects.update, project_id, model_version=model_version,
              project_id=project_id)
    return PushReport(project_id, imported, prediction_count, tuple(task_ids), tuple(skipped), model_version)


def _existing_doc_ids(client, project_id: int) -> set[str]:
    pager = _call(client, "list tasks", client.tasks.list, project=project_id, fields="task_only",
                  project_id=project_id)
    doc_ids = set()
    for task in _call(client, "list tasks", list, pager, project_id=project_id):
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
    exported = _call(client, f"export project {project_id}", client.projects.exports.as_json, project_id,
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

    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=out_path.name + ".", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(annotated, ensure_ascii=False, indent=1) + "\n")
        os.replace(temporary, out_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return PullReport(out_path, len(annotated), len(exported) - len(annotated), spans, relations, tuple(warnings))


# ---------------------------------------------------------------------------------------------------- command line


def read_articles(paths: Sequence[str | Path]) -> list[tuple[str, str]]:
    """(doc_id, text) for each file, and each .txt file of a folder; doc_id is the file name without .txt."""
    return [(file.stem, text) for file, text in read_text_files(paths)]


def _load_predictor(model_dir: str):
    from ..api.predictor import Predictor as ModelPredictor  # imported here: torch loads only when a model is asked for

    return ModelPredictor.load(model_dir)


def _create(args) -> int:
    client = connect(args.url, args.token)
    project_id = create_project(client, args.title, args.description)
    if args.quiet:
        print(project_id)
    else:
        print(f"created project {project_id}: {_url_of(client)}/projects/{project_id}")
        print(f"next: python -m conflict_ie.studio push --project {project_id} [--model DIR] ARTICLES...")
    return 0


def _push(args) -> int:
    articles = read_articles(args.articles)
    client = connect(args.url, args.token)
    check_project_config(client, args.project)  # before loading a model: a wrong project fails fast
    predictor = _load_predictor(args.model) if args.model else None
    report = push(client, args.project, articles, predictor, skip_existing=not args.again, source=args.source)
    print(report.summary())
    return 0


def _pull(args) -> int:
    client = connect(args.url, args.token)
    report = pull(client, args.project, args.out)
    for warning in report.warnings[:20]:
        print(f"  {warning}", file=sys.stderr)
    print(report.summary())
    print(f"train on it: add {{name: ..., kind: label_studio, path: {report.path}}} to data.corpora of your config")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=None, help=f"Label Studio server (default: ${URL_ENV})")
    common.add_argument("--token", default=None,
                        help=f"API token (default: ${TOKEN_ENV}; prefer the variable: flags show in `ps`)")
    parser = argparse.ArgumentParser(prog="python -m conflict_ie.studio", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", parents=[common], help="create a project with the schema's config")
    create.add_argument("--title", required=True)
    create.add_argument("--description", default="")
    create.add_argument("--quiet", action="store_true", help="print only the project id")
    create.set_defaults(run=_create)

    push_ = commands.add_parser("push", parents=[common], help="import articles, optionally with pre-annotations")
    push_.add_argument("articles", nargs="+", help=".txt files or folders of them (doc_id = file name)")
    push_.add_argument("--project", type=int, required=True)
    push_.add_argument("--model", default=None, help="model folder whose predictions become pre-annotations")
    push_.add_argument("--source", default="label-studio", help="data.source of the tasks (default: label-studio)")
    push_.add_argument("--again", action="store_true", help="import articles whose doc_id is already in the project")
    push_.set_defaults(run=_push)

    pull_ = commands.add_parser("pull", parents=[common], help="export annotations, validated, as training data")
    pull_.add_argument("--project", type=int, required=True)
    pull_.add_argument("--out", required=True, help="the JSON file to write")
    pull_.set_defaults(run=_pull)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (StudioError, ValueError, FileNotFoundError) as error:
        message = _redact(str(error), args.token or os.environ.get(TOKEN_ENV) or None)
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
