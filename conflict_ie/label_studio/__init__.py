"""The Label Studio round trip against a running server: connect, create a project, push articles with
pre-annotations, pull annotations back as validated exports.

    conflict-ie studio create --title "Conflict news, batch 1"   # prints the project id
    conflict-ie studio push --project 1 --model runs/default/model articles/
    conflict-ie studio pull --project 1 --out annotations/batch1.json

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

Modules: ``client`` (errors, ``connect``), ``projects`` (``create_project``, ``check_project_config``), ``sync``
(``push``, ``pull``, ``read_articles``); the ``studio`` commands live in the one command line, ``api/cli.py``.
"""

from .client import (
    ConfigMismatch,
    InvalidExport,
    InvalidTasks,
    MissingSetting,
    ProjectNotFound,
    ServerUnreachable,
    StudioError,
    TokenRejected,
    Unreachable,
    connect,
)
from .projects import check_project_config, create_project, labeling_config_differences
from .sync import PullReport, PushReport, pull, push, read_articles, result_to_prediction

__all__ = [
    "ConfigMismatch",
    "InvalidExport",
    "InvalidTasks",
    "MissingSetting",
    "ProjectNotFound",
    "PullReport",
    "PushReport",
    "ServerUnreachable",
    "StudioError",
    "TokenRejected",
    "Unreachable",
    "check_project_config",
    "connect",
    "create_project",
    "labeling_config_differences",
    "pull",
    "push",
    "read_articles",
    "result_to_prediction",
]
