"""conflict-ie serve as a Label Studio ML backend, against the real server the round-trip tests start: connect the
backend to a project (Settings > Model), let the server ask it for a task's predictions the way it does when an
annotator opens the task, and check that the stored predictions pass the validator and sit on the right offsets;
then annotate, and check that the annotation event reached the backend's webhook and queued a retraining job.

Run: CONFLICT_IE_REQUIRE_LABEL_STUDIO=1 python -m pytest tests/integration -m label_studio -q
"""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed: pip install -e '.[service]'")
pytest.importorskip("uvicorn", reason="the service extra is not installed: pip install -e '.[service]'")
import httpx  # noqa: E402
from label_studio_sdk.core.api_error import ApiError  # noqa: E402

from conflict_ie.api.retrain import RetrainQueue  # noqa: E402
from conflict_ie.api.service import LABEL_STUDIO_PREFIX, create_app  # noqa: E402
from conflict_ie.data.label_studio_export import parse_task  # noqa: E402
from conflict_ie.label_studio.projects import create_project  # noqa: E402
from conflict_ie.label_studio.sync import push, result_to_prediction  # noqa: E402

from ..api.uvicorn_thread import running  # noqa: E402
from .test_label_studio_roundtrip import _relations, _spans  # noqa: E402

pytestmark = pytest.mark.label_studio
BACKEND_TITLE = "conflict-ie"


class ServicePredictor:
    """The seed-gold stand-in for a trained model (spans at known offsets, curly apostrophes and all), with the
    interface the service calls."""

    def __init__(self, seed_predictor):
        self.inner = seed_predictor
        self.model_version = "seed-gold-backend-1"
        self.metadata, self.layers, self.untrained_layers = {}, (), ()

    def predict(self, texts, publication_dates=None):
        return self.inner.predict(list(texts))


def _task(studio_server, task_id: int) -> dict:
    """GET /api/tasks/ID, as the labeling screen does when an annotator opens the task."""
    response = httpx.get(f"{studio_server.url}/api/tasks/{task_id}",
                         headers={"Authorization": f"Token {studio_server.token}"}, timeout=120)
    response.raise_for_status()
    return response.json()


def test_label_studio_pre_annotates_from_the_backend(studio_server, studio_client, seed_articles, seed_predictor,
                                                     tmp_path):
    client = studio_client
    predictor = ServicePredictor(seed_predictor)
    queue = RetrainQueue(tmp_path / "jobs")  # records jobs: no training in a test
    with running(create_app(predictor, retrain=queue)) as url:
        project_id = create_project(client, "ML backend: seed articles")
        push(client, project_id, seed_articles)  # blank tasks: every prediction must come from the backend
        backend_url = f"{url}{LABEL_STUDIO_PREFIX}"

        # Settings > Model > Connect model: the server checks /health and /setup (with the project's config)
        backend = client.ml.create(project=project_id, url=backend_url, title=BACKEND_TITLE)
        assert backend.model_version == predictor.model_version, backend
        assert str(getattr(backend.state, "value", backend.state)) == "CO", backend  # connected
        # Settings > Annotation > "Use predictions to prelabel tasks", from this model
        client.projects.update(project_id, show_collab_predictions=True, model_version=BACKEND_TITLE)

        texts = dict(seed_articles)
        tasks = {task.data["doc_id"]: task.id for task in client.tasks.list(project=project_id, fields="task_only")}
        assert set(tasks) == set(texts)
        for doc_id, task_id in tasks.items():
            task = _task(studio_server, task_id)
            text = task["data"]["text"]
            assert text == texts[doc_id]
            [stored] = task["predictions"]
            assert stored["model_version"] == predictor.model_version
            expected = result_to_prediction(text, predictor.predict([text])[0], predictor.model_version)
            assert stored["score"] == pytest.approx(expected["score"])
            assert _spans(stored["result"]) == _spans(expected["result"])
            assert _relations(stored["result"]) == _relations(expected["result"])
            for start, end, surface, _ in _spans(stored["result"]).values():
                assert text[start:end] == surface
            document, problems = parse_task({"id": task_id, "data": task["data"], "predictions": [stored]},
                                            "backend prediction", use_predictions=True)
            assert document is not None and not [p for p in problems if p.severity == "error"], problems
            assert len(document.spans) > 10
            # opening the task again asks nothing new: the prediction is stored
            assert len(_task(studio_server, task_id)["predictions"]) == 1

        # An annotator submits: the server sends ANNOTATION_CREATED to the backend's webhook (created on connect)
        doc_id, task_id = next(iter(tasks.items()))
        start = texts[doc_id].index("Idlib")
        annotation = client.annotations.create(task_id, was_cancelled=False, result=[
            {"id": "ann0000001", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": start, "end": start + 5, "text": "Idlib", "labels": ["Location"]}}])
        deadline = time.monotonic() + 30
        while not queue.snapshot() and time.monotonic() < deadline:
            time.sleep(0.1)
        [job] = queue.snapshot()
        assert job["status"] == "recorded" and job["actions"].get("ANNOTATION_CREATED") == 1
        assert job["projects"] == [project_id]
        events = [json.loads(line) for line in queue.events_path.read_text().splitlines()]
        created = [e for e in events if e["action"] == "ANNOTATION_CREATED"]
        assert created and created[0]["task"] == task_id and created[0]["annotation"] == annotation.id

        # Settings > Model > Start Training: START_TRAINING to the webhook joins the open job
        client.ml.train(backend.id)
        [job] = queue.snapshot()
        assert job["actions"].get("START_TRAINING") == 1 and job["events"] == 2

        # A project connected to the service's root URL by mistake is refused at setup, naming the URL it tried
        other = create_project(client, "ML backend at the wrong URL")
        with pytest.raises(ApiError) as caught:
            client.ml.create(project=other, url=url, title=BACKEND_TITLE)
        assert caught.value.status_code == 400
        assert f"{url}/setup" in json.dumps(caught.value.body), caught.value.body
