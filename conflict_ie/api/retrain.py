"""The retraining queue behind the service's Label Studio webhook: annotation events become retraining jobs that run
one at a time in the background, so the webhook (which Label Studio sends with a 1 s timeout) answers at once and
prediction requests are never held up.

Everything is kept in one folder, so nothing is lost when the service stops:

    events.jsonl   one line per webhook event received: time, action, project, task and annotation ids
    jobs.json      every job: id, status, the events it gathers, its commands, log file, exit code, times
    job-N.log      what job N's commands printed (each after a ``$ command`` line)
    job-N/         job N's run folder (train.output_dir): the new model is job-N/model

A job gathers the events that arrive while it waits: a hundred annotations submitted while a training runs make one
next job, not a hundred. Jobs are ``queued`` -> ``running`` -> ``done`` / ``failed`` (exit code and log kept) /
``interrupted`` (the service stopped during it). A job's commands (``train_command``: pull the project's annotations
when asked, then train) run in order, each only when the one before succeeded. Without a training command (no
``--train-config``) jobs are only ``recorded``, for someone to run by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic

# Events that change the training data, and Label Studio's *Start Training* button.
TRAIN_EVENTS = frozenset({"ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED",
                          "START_TRAINING"})
OPEN_STATUSES = ("queued", "recorded")  # a job that has not started gathers new events
STOP_TIMEOUT_S = 10.0


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def train_command(config: str | Path, overrides: Sequence[str] = (), pull_to: str | Path | None = None
                  ) -> Callable[[dict], list[list[str]]]:
    """The steps of a retraining job, run from the service's working directory (relative paths in the config
    resolve there, as for ``make``): with ``pull_to``, first ``conflict-ie studio pull --project P --out PULL_TO``
    for the one project whose events the job gathers (``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_API_KEY`` come from the
    service's environment; the config's corpora should list that file); then ``conflict-ie train CONFIG
    [overrides] train.output_dir=<the job's folder>``."""
    config = str(config)

    def steps(job: dict) -> list[list[str]]:
        commands = []
        if pull_to is not None:
            projects = [project for project in job.get("projects") or [] if project is not None]
            if len(projects) != 1:
                raise ValueError(f"job {job['id']} gathers events of {len(projects)} projects {projects}: --pull-to "
                                 "pulls the annotations of one project; connect the service to one project")
            commands.append([sys.executable, "-m", "conflict_ie", "studio", "pull", "--project", str(projects[0]),
                             "--out", str(pull_to)])
        commands.append([sys.executable, "-m", "conflict_ie", "train", config, *overrides,
                         f"train.output_dir={job['output_dir']}"])
        return commands

    return steps


class RetrainQueue:
    """Records webhook events and runs retraining jobs one at a time on a background thread.

    ``command`` maps a job (a copy of its record: ``id``, ``output_dir``, ``projects``, ...) to the command lines to
    run, in order, each only if the one before succeeded; None records jobs without running them."""

    def __init__(self, folder: str | Path, command: Callable[[dict], Sequence[Sequence[str]]] | None = None,
                 cwd: str | Path | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.events_path = self.folder / "events.jsonl"
        self.jobs_path = self.folder / "jobs.json"
        self.command = command
        self.cwd = Path(cwd) if cwd is not None else None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._process: subprocess.Popen | None = None
        self.jobs: list[dict[str, Any]] = self._load_jobs()
        if self.jobs:
            self._save()
        self._thread: threading.Thread | None = None
        if command is not None:
            self._thread = threading.Thread(target=self._work, name="conflict-ie-retrain", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------------------------------------ state

    def _load_jobs(self) -> list[dict[str, Any]]:
        if not self.jobs_path.exists():
            return []
        try:
            jobs = json.loads(self.jobs_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"{self.jobs_path} is not a jobs file written by conflict-ie serve ({error}); move it "
                             "away or choose another --jobs-dir") from None
        if not isinstance(jobs, list) or not all(isinstance(job, dict) and "id" in job for job in jobs):
            raise ValueError(f"{self.jobs_path} is not a jobs file written by conflict-ie serve")
        for job in jobs:
            if job.get("status") == "running":  # the service stopped during it, before it could say so
                job.update(status="interrupted", finished=job.get("finished") or _now())
            elif job.get("status") in OPEN_STATUSES:  # run them now when we can, else keep them recorded
                job["status"] = "queued" if self.command is not None else "recorded"
        return jobs

    def _save(self) -> None:
        write_text_atomic(self.jobs_path, json.dumps(self.jobs, ensure_ascii=False, indent=1) + "\n")

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(job) for job in self.jobs]

    def job(self, job_id: Any) -> dict[str, Any] | None:
        with self._lock:
            for job in self.jobs:
                if str(job["id"]) == str(job_id):
                    return dict(job)
        return None

    # ------------------------------------------------------------------------------------------------ events

    def submit(self, event: dict[str, Any]) -> dict[str, Any]:
        """Record one webhook event; when it is a training event, add it to the open job (making one if none).
        Returns at once with what happened: ``{"status": "queued" | "recorded" | "ignored", "job": id, ...}``."""
        action = event.get("action")
        record = {"time": _now(), "action": action, "project": _id_of(event.get("project")),
                  "task": _id_of(event.get("task")), "annotation": _id_of(event.get("annotation"))}
        with self._lock:
            with open(self.events_path, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            if action not in TRAIN_EVENTS:
                return {"status": "ignored", "action": action,
                        "reason": f"only {', '.join(sorted(TRAIN_EVENTS))} queue a retraining job"}
            job = next((job for job in self.jobs if job["status"] in OPEN_STATUSES), None)
            if job is None:
                number = max((int(job["id"]) for job in self.jobs), default=0) + 1
                job = {"id": number, "status": "queued" if self.command is not None else "recorded",
                       "created": _now(), "events": 0, "actions": {}, "projects": [],
                       "output_dir": str(self.folder / f"job-{number}"), "log": str(self.folder / f"job-{number}.log"),
                       "commands": None, "returncode": None, "started": None, "finished": None}
                self.jobs.append(job)
            job["events"] += 1
            job["actions"][action] = job["actions"].get(action, 0) + 1
            if record["project"] is not None and record["project"] not in job["projects"]:
                job["projects"].append(record["project"])
            self._save()
            self._wake.notify_all()
            answer = {"status": job["status"], "job": job["id"], "events": job["events"]}
        if self.command is None:
            answer["note"] = (f"recorded in {self.jobs_path}; the service was started without --train-config, so "
                              "no training runs")
        return answer

    # ------------------------------------------------------------------------------------------------ worker

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and not any(job["status"] == "queued" for job in self.jobs):
                    self._wake.wait()
                if self._stopping:
                    return
                job = next(job for job in self.jobs if job["status"] == "queued")
                try:
                    steps = [[str(part) for part in step] for step in self.command(dict(job))]
                    if not steps:
                        raise ValueError("the command list is empty")
                except Exception as error:  # noqa: BLE001 - the job fails, the worker goes on
                    job.update(status="failed", finished=_now(), error=f"no command for the job: {error}")
                    self._save()
                    continue
                job.update(status="running", started=_now(), commands=steps)
                self._save()
                Path(job["log"]).write_bytes(b"")
            self._run(job, steps)

    def _run(self, job: dict[str, Any], steps: list[list[str]]) -> None:
        """Run a job's steps in order; the first that fails (or cannot start) fails the job."""
        for number, step in enumerate(steps, start=1):
            with self._lock:
                if job["status"] != "running":  # interrupted by close()
                    return
                try:
                    with open(job["log"], "ab") as log:  # the child keeps its own copy of the descriptor
                        log.write(f"$ {shlex.join(step)}\n".encode("utf-8"))
                        log.flush()
                        process = subprocess.Popen(step, stdin=subprocess.DEVNULL, stdout=log,
                                                   stderr=subprocess.STDOUT, cwd=self.cwd)
                except OSError as error:
                    job.update(status="failed", finished=_now(), failed_step=number,
                               error=f"could not start {step[0]}: {error}")
                    self._save()
                    return
                self._process = process
            returncode = process.wait()
            with self._lock:
                self._process = None
                if job["status"] != "running":
                    return
                if returncode != 0:
                    job.update(status="failed", returncode=returncode, failed_step=number, finished=_now())
                    self._save()
                    return
        with self._lock:
            if job["status"] == "running":
                job.update(status="done", returncode=0, finished=_now(), model=str(Path(job["output_dir"]) / "model"))
                self._save()

    def close(self) -> None:
        """Stop the worker; a training still running is terminated and its job marked ``interrupted``."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            process = self._process
            if process is not None:
                for job in self.jobs:
                    if job["status"] == "running":
                        job.update(status="interrupted", finished=_now())
                self._save()
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)


def _id_of(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, list):  # ANNOTATIONS_CREATED and friends carry lists
        return [_id_of(item) for item in value]
    return value
