"""The HTTP service: a model loaded once, answering predictions over HTTP (``conflict-ie serve``), and the same
service as a Label Studio ML backend. Needs the ``service`` extra (``pip install 'conflict-ie[service]'``).

Our own API, at the root:

    GET  /health     {"status": "UP", "model_version": ...}; never waits for a prediction
    GET  /model      version, label schema, layers, the training headline (best dev score and figures), limits
    POST /predict    {"texts": [...], "publication_dates": [...]} or {"text": ..., "publication_date": ...}
                     -> {"model_version": ..., "results": [ArticleResult.to_dict(), ...]}, one per text, in order
    GET  /jobs       the retraining jobs the Label Studio webhook queued

Label Studio's ML backend protocol, under ``/label-studio`` (connect a project to ``http://HOST:PORT/label-studio``;
Label Studio joins its paths to that URL): ``GET health``, ``POST setup``, ``POST predict`` (``{"tasks": [...]}`` ->
``{"results": [...]}``), ``POST webhook``, ``GET versions``, ``POST job_status`` (``label_studio/ml_backend.py``).
Our ``/predict`` and Label Studio's share a name but not a payload, so each has its own path; a Label Studio payload
sent to ours is refused with the path to use.

Limits: a request body over ``max_request_bytes`` is refused with 413 before it is parsed; more texts (or tasks)
than ``max_texts`` with 422; any other malformed request with 422 saying what is wrong. Predictions run on a worker
thread, one at a time (the model is shared and inference already uses every core), so the event loop keeps
answering health checks, webhooks and queued requests while a prediction runs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
import threading
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, model_validator

from .. import __version__
from ..label_studio import ml_backend
from ..schema import ENTITY_LABELS, RELATION_LABELS, ROLE_FILLER_LABELS, TRIGGER_LABELS
from .predictor import _check_dates as check_dates, _check_texts as check_texts
from .retrain import RetrainQueue

LABEL_STUDIO_PREFIX = "/label-studio"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9090
log = logging.getLogger("conflict_ie.service")


@dataclass(frozen=True)
class ServiceLimits:
    max_request_bytes: int = 16 * 1024 * 1024  # 16 MiB of JSON: some hundred long articles
    max_texts: int = 256  # texts (or Label Studio tasks) per request

    def __post_init__(self):
        if self.max_request_bytes < 1 or self.max_texts < 1:
            raise ValueError(f"service limits must be positive, got {self}")


# ---------------------------------------------------------------------------------------------------- request size


class BodyLimit:
    """ASGI middleware: read the request body up to ``max_bytes`` and answer 413 past it (from Content-Length when
    the client sends one, before reading anything), so no handler ever parses an oversized body."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                return await _send_json(send, 400, {"detail": f"Content-Length {declared[:40]!r} is not a number"})
            if length > self.max_bytes:
                return await self._too_large(send, length)
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                return await self._too_large(send, None)
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _too_large(self, send, length: int | None):
        size = f"{length} bytes" if length is not None else f"more than {self.max_bytes} bytes"
        await _send_json(send, 413, {"detail": f"request body of {size} is over this service's limit of "
                                               f"{self.max_bytes} bytes (--max-request-bytes): send fewer or "
                                               "shorter texts per request"})


async def _send_json(send, status: int, payload: dict, close: bool = True) -> None:
    body = json.dumps(payload).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the request body was not read: the connection cannot serve another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class CatchBugs:
    """ASGI middleware: an exception a handler did not expect is logged with its traceback and answered as a JSON
    500 that says it is a bug, and the connection stays usable (left to the server, it would be reset)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:  # noqa: BLE001 - a bug: say so, keep serving
            if started:
                raise
            log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            await _send_json(send, 500, {
                "detail": f"internal error in conflict-ie {__version__} ({type(error).__name__}): this is a bug, "
                          "please report it with the service's log"}, close=False)


# ---------------------------------------------------------------------------------------------------- our API


class PredictRequest(BaseModel):
    """One text or many: ``text`` with ``publication_date``, or ``texts`` with ``publication_dates`` (one per
    text, ISO dates or null)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    texts: list[str] | None = None
    publication_date: str | None = None
    publication_dates: list[str | None] | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_label_studio(cls, data: Any) -> Any:
        if isinstance(data, dict) and "tasks" in data:
            raise ValueError(f"this is conflict-ie's own /predict, which takes 'text' or 'texts'; Label Studio's ML "
                             f"backend is served under {LABEL_STUDIO_PREFIX}: connect the project to "
                             f"http://HOST:PORT{LABEL_STUDIO_PREFIX}")
        return data

    @model_validator(mode="after")
    def _one_form(self) -> "PredictRequest":
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either 'text' (one article) or 'texts' (a list of articles)")
        if self.text is not None and self.publication_dates is not None:
            raise ValueError("with 'text', give 'publication_date' (one date), not 'publication_dates'")
        if self.texts is not None and self.publication_date is not None:
            raise ValueError("with 'texts', give 'publication_dates' (one per text), not 'publication_date'")
        if self.texts is not None and self.publication_dates is not None \
                and len(self.publication_dates) != len(self.texts):
            raise ValueError(f"'publication_dates' has {len(self.publication_dates)} entries for "
                             f"{len(self.texts)} texts: give one per text (null where unknown)")
        return self

    def inputs(self) -> tuple[list[str], list[str | None]]:
        if self.text is not None:
            return [self.text], [self.publication_date]
        return list(self.texts), list(self.publication_dates or [None] * len(self.texts))


class ModelRunner:
    """The loaded predictor behind a lock: one prediction at a time, on a worker thread."""

    def __init__(self, predictor):
        self.predictor = predictor
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(1)  # waiting requests wait here, without holding a thread

    def _predict(self, texts, dates):
        with self._lock:
            return self.predictor.predict(texts, publication_dates=dates)

    async def predict(self, texts: list[str], dates: list[str | None]) -> list:
        return await anyio.to_thread.run_sync(self._predict, texts, dates, limiter=self._limiter)


def model_description(predictor, limits: ServiceLimits) -> dict[str, Any]:
    """What GET /model answers: versions, the label schema, layers, the training headline, the service limits."""
    metadata = getattr(predictor, "metadata", {}) or {}
    training = metadata.get("training") or {}
    best_step = training.get("best_step", metadata.get("step"))
    best_point = next((point for point in training.get("curves", []) if point.get("step") == best_step), {})
    headline = {
        "best_step": best_step,
        "best_dev_score": training.get("best_dev_score"),
        "dev_layers": training.get("dev_layers"),
        "dev": {key: value for key, value in best_point.items() if key.startswith("dev_")},
        "steps": training.get("steps"),
        "planned_steps": training.get("planned_steps"),
        "truncated": training.get("truncated"),
    }
    schema = metadata.get("schema") or {"entities": list(ENTITY_LABELS), "triggers": list(TRIGGER_LABELS),
                                        "relations": list(RELATION_LABELS), "role_fillers": list(ROLE_FILLER_LABELS)}
    return {
        "model_version": predictor.model_version,
        "backend": getattr(predictor, "backend", "torch"),
        "conflict_ie_version": __version__,
        "trained_with": metadata.get("library_versions", {}).get("conflict_ie"),
        "format_version": metadata.get("format_version"),
        "encoder": metadata.get("config", {}).get("model", {}).get("encoder"),
        "layers": list(getattr(predictor, "layers", ())),
        "untrained_layers": list(getattr(predictor, "untrained_layers", ())),
        "schema": schema,
        "metrics": headline,
        "limits": asdict(limits),
    }


class ServiceError(Exception):
    """A request the service refuses: answered as ``{"detail": message, "problems": [...]}`` with ``status``."""

    def __init__(self, status: int, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.status, self.message, self.problems = status, message, list(problems or [])


def _unprocessable(message: str, problems: list[str] | None = None) -> ServiceError:
    return ServiceError(422, message, problems)


def _error_body(message: str, problems: list[str]) -> dict[str, Any]:
    return {"detail": message, **({"problems": problems} if problems else {})}


def _check_count(count: int, limits: ServiceLimits, what: str) -> None:
    if count > limits.max_texts:
        raise _unprocessable(f"{count} {what} in one request; this service takes at most {limits.max_texts} "
                             f"(--max-texts): split the request")


def create_app(predictor, limits: ServiceLimits | None = None, retrain: RetrainQueue | None = None) -> FastAPI:
    """The service for a loaded predictor (``Predictor.load(path)``, or anything with ``predict(texts,
    publication_dates=...)`` and ``model_version``). ``retrain`` receives the Label Studio webhook's events; without
    it the webhook answers that no retraining queue is configured. The app closes the queue when it shuts down."""
    limits = limits or ServiceLimits()
    runner = ModelRunner(predictor)

    @asynccontextmanager
    async def lifespan(app):
        yield
        if retrain is not None:
            await anyio.to_thread.run_sync(retrain.close)

    app = FastAPI(title="conflict-ie", version=__version__, lifespan=lifespan,
                  description="Incident records from armed-conflict news; a Label Studio ML backend under "
                              f"{LABEL_STUDIO_PREFIX}.")
    app.state.runner, app.state.limits, app.state.retrain = runner, limits, retrain

    app.add_middleware(CatchBugs)
    app.add_middleware(BodyLimit, max_bytes=limits.max_request_bytes)

    @app.exception_handler(ServiceError)
    async def refused(request: Request, error: ServiceError):
        return JSONResponse(status_code=error.status, content=_error_body(error.message, error.problems))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        # each problem as "where: what", never echoing the input (it may be megabytes of text)
        problems = [f"{'.'.join(str(part) for part in item.get('loc', ()))}: "
                    f"{str(item.get('msg', '')).removeprefix('Value error, ')}" for item in error.errors()]
        return JSONResponse(status_code=422, content=_error_body(
            "invalid request: " + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""), problems))

    async def run_predictions(texts: list[str], dates: list[str | None]) -> list:
        try:  # the input's faults (a lone surrogate, a date that is not ISO) are found before the model runs
            check_texts(texts)
            check_dates(dates, len(texts))
        except (ValueError, TypeError) as error:
            raise _unprocessable(str(error)) from None
        return await runner.predict(texts, dates)  # anything raised now is a bug: 500

    @app.get("/health")
    async def health():
        return {"status": "UP", "model_version": predictor.model_version}

    @app.get("/model")
    async def model():
        return model_description(predictor, limits)

    @app.post("/predict")
    async def predict(request: PredictRequest):
        texts, dates = request.inputs()
        _check_count(len(texts), limits, "texts")
        results = await run_predictions(texts, dates)
        return {"model_version": predictor.model_version, "results": [result.to_dict() for result in results]}

    @app.get("/jobs")
    async def jobs():
        if retrain is None:
            return {"jobs": [], "note": "no retraining queue: start the service with --jobs-dir or --train-config"}
        return {"folder": str(retrain.folder), "jobs": retrain.snapshot()}

    for misplaced in ("/setup", "/webhook"):
        app.add_api_route(misplaced, _misplaced_label_studio_call, methods=["POST"], include_in_schema=False)

    app.include_router(_label_studio_router(predictor, limits, run_predictions, retrain), prefix=LABEL_STUDIO_PREFIX)
    return app


async def _misplaced_label_studio_call(request: Request):
    raise ServiceError(404, (
        f"Label Studio's ML backend is served under {LABEL_STUDIO_PREFIX}: in the project's Settings > Model, "
        f"connect {str(request.base_url).rstrip('/')}{LABEL_STUDIO_PREFIX}"))


# ---------------------------------------------------------------------------------------------------- Label Studio


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise _unprocessable(f"the request body is not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise _unprocessable(f"the request body is a JSON {type(payload).__name__}, expected an object")
    return payload


def _label_studio_router(predictor, limits: ServiceLimits, run_predictions, retrain: RetrainQueue | None):
    router = APIRouter(tags=["Label Studio ML backend"])

    @router.get("/health")
    async def health():
        return {"status": "UP", "model_class": "conflict-ie", "model_version": predictor.model_version}

    @router.post("/setup")
    async def setup(request: Request):
        payload = await _json_object(request)  # holds the project owner's access token: never logged or kept
        try:
            ml_backend.check_config(payload.get("schema"), payload.get("project"))
        except ml_backend.BackendRequestError as error:
            log.warning("Label Studio setup refused: %s", error)
            raise _unprocessable(str(error), error.problems) from None
        return {"model_version": predictor.model_version}

    @router.post("/predict")
    async def predict(request: Request):
        payload = await _json_object(request)
        if "tasks" not in payload:
            raise _unprocessable("Label Studio's predict takes {'tasks': [...]}; for conflict-ie's own API with "
                                 "'text' or 'texts', POST to /predict at the root")
        tasks = payload["tasks"]
        try:
            if "label_config" in payload:
                ml_backend.check_config(payload["label_config"], payload.get("project"))
            texts, dates = ml_backend.task_inputs(tasks)
        except ml_backend.BackendRequestError as error:
            log.warning("Label Studio predict refused: %s", error)
            raise _unprocessable(str(error), error.problems) from None
        _check_count(len(texts), limits, "tasks")
        results = await run_predictions(texts, dates)
        predictions = ml_backend.predictions_for(texts, results, predictor.model_version, ml_backend.task_ids(tasks))
        return {"results": predictions, "model_version": predictor.model_version}

    @router.post("/webhook")
    async def webhook(request: Request):
        payload = await _json_object(request)
        if not isinstance(payload.get("action"), str):
            raise _unprocessable("a webhook event needs an 'action' (e.g. ANNOTATION_CREATED)")
        if retrain is None:
            return {"status": "ignored", "action": payload["action"],
                    "reason": "no retraining queue: start the service with --jobs-dir or --train-config"}
        # a file append and a small rewrite: quick enough for Label Studio's 1 s webhook timeout
        return await anyio.to_thread.run_sync(retrain.submit, payload)

    @router.get("/versions")
    async def versions():
        return {"versions": [predictor.model_version]}

    @router.post("/job_status")
    async def job_status(request: Request):
        payload = await _json_object(request)
        job = retrain.job(payload.get("job")) if retrain is not None else None
        if job is None:
            return JSONResponse(status_code=410, content={"job_status": "removed",
                                                          "detail": f"no job {payload.get('job')!r}"})
        status = {"running": "started", "done": "finished"}.get(job["status"], job["status"])
        return {"job_status": status, "job": job}

    return router


# ---------------------------------------------------------------------------------------------------- serving


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); OSError saying which address when it cannot."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise OSError(f"cannot listen on {host}:{port}: {host!r} is not an address of this machine ({error})") \
            from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def serve(app: FastAPI, sock: socket.socket, log_level: str = "info", announce=print) -> None:
    """Run the app on a bound socket with uvicorn until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=log_level == "debug", lifespan="on",
                            timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    url = url_of(sock)
    announce(f"serving {app.title} on {url} (Label Studio ML backend: {url}{LABEL_STUDIO_PREFIX}); "
             f"started {dt.datetime.now().isoformat(timespec='seconds')}")
    server.run(sockets=[sock])
