"""Talking to a Label Studio server: the errors every command raises, ``connect``, and ``call``, which runs one SDK
call and turns its failures into those errors without ever showing the API token."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..data.label_studio_export import Problem

URL_ENV = "LABEL_STUDIO_URL"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
START_HINT = ("Start one with: label-studio start --data-dir DIR --internal-host 127.0.0.1 --port 8080 --no-browser "
              "(installed by scripts/install_label_studio.sh; see docs/label_studio.md)")


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
        reason = redact(str(error) or type(error).__name__, token)
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
                                f"({redact(str(error), token)})") from None
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


def url_of(client) -> str:
    try:
        return client._client_wrapper.get_base_url()
    except AttributeError:
        return "the Label Studio server"


def redact(message: str, token: str | None) -> str:
    return message.replace(token, "<token>") if token else message


def _detail(error, token: str | None) -> str:
    body = error.body
    if isinstance(body, dict):
        body = body.get("detail") or body.get("validation_errors") or body
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    text = redact(text, token)
    return text if len(text) <= 500 else text[:500] + "..."


def call(client, action: str, function, *args, project_id: int | None = None, **kwargs):
    """Run one SDK call and turn its failures into StudioErrors that say what was being done."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    token, url = _token_of(client), url_of(client)
    try:
        return function(*args, **kwargs)
    except ApiError as error:
        if error.status_code == 404 and project_id is not None:
            raise ProjectNotFound(f"Label Studio at {url} has no project {project_id} (or this token cannot see "
                                  "it); `conflict-ie studio create` makes one") from None
        if error.status_code in (401, 403):
            raise TokenRejected(f"Label Studio at {url}: token rejected while trying to {action} "
                                f"(HTTP {error.status_code}: {_detail(error, token)})") from None
        raise StudioError(f"Label Studio at {url} failed to {action}: HTTP {error.status_code}: "
                          f"{_detail(error, token)}") from None
    except httpx.HTTPError as error:
        raise ServerUnreachable(f"lost the connection to Label Studio at {url} while trying to {action} "
                                f"({redact(str(error) or type(error).__name__, token)})") from None

