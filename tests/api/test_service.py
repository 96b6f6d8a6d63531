"""The HTTP service against a real uvicorn on 127.0.0.1 with a real HTTP client (httpx), on the tiny test model:
our API (/health, /model, /predict), its limits and errors, concurrency, the Label Studio ML backend protocol, and
the webhook's retraining queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed: pip install -e '.[service]'")
pytest.importorskip("uvicorn", reason="the service extra is not installed: pip install -e '.[service]'")
import httpx  # noqa: E402

from conflict_ie.api.cli import main  # noqa: E402
from conflict_ie.api.retrain import RetrainQueue, train_command  # noqa: E402
from conflict_ie.api.service import LABEL_STUDIO_PREFIX, ServiceLimits, create_app, is_loopback  # noqa: E402
from conflict_ie.data.label_studio_export import parse_task  # noqa: E402
from conflict_ie.label_studio.sync import result_to_prediction  # noqa: E402
from conflict_ie.schema import render_labeling_config  # noqa: E402

from .uvicorn_thread import running  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTICLES = [
    "A drone strike killed two fighters of al-Shabaab in Marib on Saturday, local officials said.",
    "Shelling hit a market in Idlib on Friday; at least 40 people were killed, the Syrian Observatory said.",
    "",
    "Gunmen attacked a checkpoint near Kabul. The attack was the third this month.",
]


def plain(value):
    """What a value looks like after a JSON round trip (tuples become lists)."""
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    from conflict_ie.api.predictor import Predictor

    return Predictor.load(tiny_model_dir)


@pytest.fixture(scope="module")
def service(predictor):
    with running(create_app(predictor, ServiceLimits(max_request_bytes=64 * 1024, max_texts=5))) as url:
        yield url


@pytest.fixture(scope="module")
def http(service):
    with httpx.Client(base_url=service, timeout=60) as client:
        yield client


# ---------------------------------------------------------------------------------------------------- our API


def test_health_and_model(http, predictor):
    health = http.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "UP", "model_version": predictor.model_version}

    model = http.get("/model").json()
    assert model["model_version"] == predictor.model_version
    assert model["backend"] == "torch"
    assert model["layers"] == list(predictor.layers)
    assert "Location" in model["schema"]["entities"] and "AirStrike" in model["schema"]["triggers"]
    assert "victim" in model["schema"]["relations"]
    training = predictor.metadata["training"]
    assert model["metrics"]["best_step"] == training["best_step"]
    assert model["metrics"]["best_dev_score"] == pytest.approx(training["best_dev_score"])
    assert model["limits"] == {"max_request_bytes": 64 * 1024, "max_texts": 5}


def test_predict_answers_what_the_library_returns(http, predictor):
    dates = ["2019-12-21", None, None, "2020-01-02"]
    response = http.post("/predict", json={"texts": ARTICLES, "publication_dates": dates})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == predictor.model_version
    expected = predictor.predict(ARTICLES, publication_dates=dates)
    assert body["results"] == [plain(result.to_dict()) for result in expected]
    for text, result in zip(ARTICLES, body["results"]):
        for span in result["entities"] + result["triggers"]:
            assert text[span["start"]:span["end"]] == span["text"]

    one = http.post("/predict", json={"text": ARTICLES[1], "publication_date": "2019-06-30"})
    assert one.status_code == 200
    assert one.json()["results"] == [plain(predictor.predict_article(ARTICLES[1], "2019-06-30").to_dict())]
    assert http.post("/predict", json={"texts": []}).json()["results"] == []


@pytest.mark.parametrize("payload, message", [
    ({}, "give either 'text' (one article) or 'texts'"),
    ({"text": "a", "texts": ["b"]}, "give either 'text'"),
    ({"texts": ["a", "b"], "publication_dates": ["2019-01-01"]}, "'publication_dates' has 1 entries for 2 texts"),
    ({"text": "a", "publication_dates": ["2019-01-01"]}, "with 'text', give 'publication_date'"),
    ({"texts": ["a"], "publication_dates": ["yesterday"]}, "publication date 0 'yesterday' is not an ISO date"),
    ({"texts": ["a", 3]}, "texts.1: Input should be a valid string"),
    ({"texts": "one article"}, "texts: Input should be a valid list"),
    ({"text": "a", "language": "en"}, "language: Extra inputs are not permitted"),
    ({"texts": ["a"] * 6}, "6 texts in one request; this service takes at most 5 (--max-texts)"),
    ({"tasks": [{"data": {"text": "a"}}]}, f"Label Studio's ML backend is served under {LABEL_STUDIO_PREFIX}"),
])
def test_bad_requests_are_refused_with_422_saying_why(http, payload, message):
    response = http.post("/predict", json=payload)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"], response.json()


def test_bodies_that_are_not_json_objects_or_not_unicode(http):
    assert http.post("/predict", content=b"{not json", headers={"content-type": "application/json"}
                     ).status_code == 422
    surrogate = http.post("/predict", content=b'{"texts": ["ok", "bad \\ud800 half"]}',
                          headers={"content-type": "application/json"})
    assert surrogate.status_code == 422
    assert "text 1 holds a lone surrogate U+D800 at character offset 4" in surrogate.json()["detail"]


def test_oversized_requests_get_413_and_are_never_echoed(http):
    big = "x" * (70 * 1024)
    response = http.post("/predict", json={"texts": [big]})
    assert response.status_code == 413
    assert "over this service's limit of 65536 bytes" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit holds on the bytes actually read
        for _ in range(70):
            yield b"x" * 1024

    chunked = http.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    assert "more than 65536 bytes" in chunked.json()["detail"]

    # a 422 names the problem without sending the input back
    invalid = http.post("/predict", json={"texts": ["y" * 30000, 5]})
    assert invalid.status_code == 422 and "y" * 100 not in invalid.text
    # the service is still fine
    assert http.get("/health").status_code == 200


def test_concurrent_requests_get_their_own_results(service, predictor):
    expected = {index: plain(predictor.predict_article(text).to_dict()) for index, text in enumerate(ARTICLES)}
    answers: dict[int, list] = {}
    errors: list[BaseException] = []

    def ask(worker: int) -> None:
        try:
            order = [(worker + step) % len(ARTICLES) for step in range(len(ARTICLES))]
            with httpx.Client(base_url=service, timeout=60) as client:
                response = client.post("/predict", json={"texts": [ARTICLES[i] for i in order]})
                response.raise_for_status()
                answers[worker] = list(zip(order, response.json()["results"]))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(answers) == 8
    for pairs in answers.values():
        for index, result in pairs:
            assert result == expected[index]


class SlowPredictor:
    """The tiny model, taking ``delay`` seconds longer per call: a prediction in flight for a while."""

    def __init__(self, predictor, delay: float):
        self.inner, self.delay = predictor, delay
        self.model_version, self.metadata = predictor.model_version, predictor.metadata
        self.layers, self.untrained_layers = predictor.layers, predictor.untrained_layers

    def predict(self, texts, publication_dates=None):
        time.sleep(self.delay)
        return self.inner.predict(texts, publication_dates=publication_dates)


def test_health_answers_while_a_prediction_runs(predictor):
    with running(create_app(SlowPredictor(predictor, delay=2.0))) as url:
        finished = {}

        def slow_request():
            with httpx.Client(base_url=url, timeout=60) as client:
                finished["predict"] = client.post("/predict", json={"texts": ARTICLES[:2]})
                finished["at"] = time.monotonic()

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.3)
        with httpx.Client(base_url=url, timeout=5) as client:
            started = time.monotonic()
            assert client.get("/health").status_code == 200
            assert client.get(f"{LABEL_STUDIO_PREFIX}/health").status_code == 200
            answered = time.monotonic()
        thread.join(timeout=60)
        assert answered - started < 1.0
        assert answered < finished["at"], "health waited for the prediction"
        assert finished["predict"].status_code == 200


class BrokenPredictor(SlowPredictor):
    def predict(self, texts, publication_dates=None):
        raise ValueError("a bug deep in the model")


def test_a_bug_is_a_500_that_says_so_and_the_service_goes_on(predictor):
    with running(create_app(BrokenPredictor(predictor, 0))) as url, httpx.Client(base_url=url, timeout=30) as client:
        response = client.post("/predict", json={"texts": ["a"]})
        assert response.status_code == 500
        assert "internal error in conflict-ie" in response.json()["detail"] and "bug" in response.json()["detail"]
        assert client.post("/predict", json={"texts": ["a"], "publication_dates": ["soon"]}).status_code == 422
        assert client.get("/health").status_code == 200


# ---------------------------------------------------------------------------------------------------- Label Studio


def _tasks(texts):
    return [{"id": 100 + index, "project": 7, "data": {"text": text, "doc_id": f"a{index}"}, "annotations": [],
             "predictions": []} for index, text in enumerate(texts)]


def _ls_request(tasks, label_config=None):
    return {"tasks": tasks, "project": "7.1700000000", "label_config": label_config or render_labeling_config(),
            "params": {"login": None, "password": None, "context": None}}


def test_label_studio_health_setup_and_versions(http, predictor):
    health = http.get(f"{LABEL_STUDIO_PREFIX}/health")
    assert health.status_code == 200 and health.json()["status"] == "UP"
    setup = http.post(f"{LABEL_STUDIO_PREFIX}/setup", json={
        "project": "7.1700000000", "schema": render_labeling_config(), "hostname": "http://localhost:8080",
        "access_token": "secret-token-123", "extra_params": None})
    assert setup.status_code == 200 and setup.json() == {"model_version": predictor.model_version}
    assert http.get(f"{LABEL_STUDIO_PREFIX}/versions").json() == {"versions": [predictor.model_version]}

    wrong = render_labeling_config().replace('<Label value="Weapon"', '<Label value="Vehicle"')
    refused = http.post(f"{LABEL_STUDIO_PREFIX}/setup", json={"project": "8.1", "schema": wrong,
                                                              "access_token": "secret-token-123"})
    assert refused.status_code == 422
    body = refused.json()
    assert "project 8.1 does not use conflict-ie's labeling config" in body["detail"]
    assert any("Weapon" in problem for problem in body["problems"])
    assert any("Vehicle" in problem for problem in body["problems"])
    assert "secret-token-123" not in refused.text

    # Label Studio's calls at the root are pointed to the right place
    misplaced = http.post("/setup", json={"project": "7.1", "schema": render_labeling_config()})
    assert misplaced.status_code == 404
    assert f"{LABEL_STUDIO_PREFIX}" in misplaced.json()["detail"]


def test_label_studio_predict_returns_valid_predictions_on_the_right_offsets(http, predictor):
    texts = ARTICLES[:2] + [ARTICLES[3]]
    response = http.post(f"{LABEL_STUDIO_PREFIX}/predict", json=_ls_request(_tasks(texts)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == predictor.model_version
    assert len(body["results"]) == len(texts)
    expected = predictor.predict(texts)
    for index, (text, prediction) in enumerate(zip(texts, body["results"])):
        assert prediction == plain(result_to_prediction(text, expected[index], predictor.model_version))
        assert prediction["model_version"] == predictor.model_version
        document, problems = parse_task({"id": 100 + index, "data": {"text": text}, "predictions": [prediction]},
                                        "backend", use_predictions=True)
        assert document is not None and not [p for p in problems if p.severity == "error"], problems
        for item in prediction["result"]:
            if item["type"] == "labels":
                value = item["value"]
                assert text[value["start"]:value["end"]] == value["text"]
                assert (item["from_name"], item["to_name"]) == ("label", "text")


def test_label_studio_publication_dates_ride_in_task_data(http, predictor):
    text = "A drone strike hit Marib on Saturday."
    task = {"id": 1, "data": {"text": text, "publication_date": "2019-12-21"}}
    response = http.post(f"{LABEL_STUDIO_PREFIX}/predict", json=_ls_request([task]))
    assert response.status_code == 200
    bad = {"id": 2, "data": {"text": text, "publication_date": "last week"}}
    refused = http.post(f"{LABEL_STUDIO_PREFIX}/predict", json=_ls_request([bad]))
    assert refused.status_code == 422
    assert "task 2: data.publication_date 'last week' is not an ISO date" in refused.json()["detail"]


@pytest.mark.parametrize("payload, status, message", [
    (_ls_request([{"id": 5, "data": {"html": "<p>x</p>"}}]), 422, "task 5: data.text is missing"),
    (_ls_request([{"id": 6}]), 422, "task 6 has no 'data' object"),
    (_ls_request("not a list"), 422, "'tasks' must be a list"),
    (_ls_request(_tasks(["a"] * 6)), 422, "6 tasks in one request; this service takes at most 5"),
    (_ls_request(_tasks(["a"]), render_labeling_config().replace('<Relation value="victim"/>', "")), 422,
     "missing relations: victim"),
    ({"texts": ["a"]}, 422, "Label Studio's predict takes {'tasks': [...]}"),
    ([1, 2], 422, "the request body is a JSON list, expected an object"),
])
def test_label_studio_bad_requests_say_which_task_and_why(http, payload, status, message):
    response = http.post(f"{LABEL_STUDIO_PREFIX}/predict", json=payload)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


# ---------------------------------------------------------------------------------------------------- webhook


def _event(action: str, annotation: int = 1, task: int = 10) -> dict:
    return {"action": action, "annotation": {"id": annotation, "result": []}, "task": {"id": task, "data": {}},
            "project": {"id": 7, "title": "batch 1"}}


def _wait_for(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_webhook_queues_a_job_and_the_service_answers_while_it_runs(predictor, tmp_path):
    release = tmp_path / "release"
    script = ("import pathlib, sys, time\n"
              f"while not pathlib.Path({str(release)!r}).exists(): time.sleep(0.05)\n"
              "print('trained into', sys.argv[1])\n")
    queue = RetrainQueue(tmp_path / "jobs", command=lambda job: [[sys.executable, "-c", script, job["output_dir"]]])
    with running(create_app(predictor, retrain=queue)) as url, httpx.Client(base_url=url, timeout=60) as client:
        started = time.monotonic()
        first = client.post(f"{LABEL_STUDIO_PREFIX}/webhook", json=_event("ANNOTATION_CREATED"))
        assert time.monotonic() - started < 1.0  # Label Studio gives a webhook 1 s
        assert first.status_code == 200 and first.json()["job"] == 1
        _wait_for(lambda: queue.job(1)["status"] == "running", what="job 1 to start")

        # while job 1 trains: predictions, health and more events are answered
        assert client.post("/predict", json={"texts": ARTICLES[:2]}).status_code == 200
        assert client.get("/health").status_code == 200
        second = client.post(f"{LABEL_STUDIO_PREFIX}/webhook", json=_event("ANNOTATION_UPDATED", 1)).json()
        third = client.post(f"{LABEL_STUDIO_PREFIX}/webhook", json=_event("ANNOTATION_CREATED", 2, 11)).json()
        assert second["status"] == "queued" and second["job"] == third["job"] == 2 and third["events"] == 2
        other = client.post(f"{LABEL_STUDIO_PREFIX}/webhook", json={"action": "PROJECT_UPDATED",
                                                                    "project": {"id": 7}}).json()
        assert other["status"] == "ignored"
        status = client.post(f"{LABEL_STUDIO_PREFIX}/job_status", json={"job": 1}).json()
        assert status["job_status"] == "started"

        release.write_text("go")
        _wait_for(lambda: queue.job(2)["status"] == "done", what="both jobs to finish")
        jobs = client.get("/jobs").json()["jobs"]
        assert [job["status"] for job in jobs] == ["done", "done"]
        assert jobs[0]["returncode"] == 0 and jobs[0]["model"] == str(tmp_path / "jobs" / "job-1" / "model")
        assert "trained into" in Path(jobs[0]["log"]).read_text()
        assert jobs[1]["actions"] == {"ANNOTATION_UPDATED": 1, "ANNOTATION_CREATED": 1}
        assert client.post(f"{LABEL_STUDIO_PREFIX}/job_status", json={"job": 2}).json()["job_status"] == "finished"
        assert client.post(f"{LABEL_STUDIO_PREFIX}/job_status", json={"job": 99}).status_code == 410

    events = [json.loads(line) for line in (tmp_path / "jobs" / "events.jsonl").read_text().splitlines()]
    assert [e["action"] for e in events] == ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATION_CREATED",
                                             "PROJECT_UPDATED"]
    assert events[2] == {**events[2], "project": 7, "task": 11, "annotation": 2}


def test_a_failing_job_is_kept_with_its_exit_code(tmp_path):
    queue = RetrainQueue(tmp_path, command=lambda job: [[sys.executable, "-c", "print('step 1')"],
                                                           [sys.executable, "-c", "import sys; print('boom'); "
                                                                                  "sys.exit(3)"],
                                                           [sys.executable, "-c", "print('never')"]])
    try:
        assert queue.submit(_event("START_TRAINING"))["job"] == 1
        job = _wait_for(lambda: (j := queue.job(1)) and j["status"] not in ("queued", "running") and j,
                        what="the job to end")
        assert (job["status"], job["returncode"], job["failed_step"]) == ("failed", 3, 2)
        log = Path(job["log"]).read_text()
        assert "step 1" in log and "boom" in log and "never" not in log
    finally:
        queue.close()


def test_without_a_train_config_jobs_are_recorded_and_survive_a_restart(tmp_path):
    queue = RetrainQueue(tmp_path)
    answer = queue.submit(_event("ANNOTATION_CREATED"))
    assert answer["status"] == "recorded" and "without --train-config" in answer["note"]
    queue.submit(_event("ANNOTATION_CREATED", 2))
    queue.close()
    jobs = json.loads((tmp_path / "jobs.json").read_text())
    assert [(job["id"], job["status"], job["events"]) for job in jobs] == [(1, "recorded", 2)]

    # a later service with a training command runs what was recorded
    ran = RetrainQueue(tmp_path, command=lambda job: [[sys.executable, "-c", "pass"]])
    try:
        _wait_for(lambda: ran.job(1)["status"] == "done", what="the recorded job to run")
    finally:
        ran.close()


def test_stopping_the_service_interrupts_a_running_job_and_says_so(tmp_path):
    queue = RetrainQueue(tmp_path, command=lambda job: [[sys.executable, "-c", "import time; time.sleep(60)"]])
    queue.submit(_event("START_TRAINING"))
    _wait_for(lambda: queue.job(1)["status"] == "running", what="the job to start")
    started = time.monotonic()
    queue.close()
    assert time.monotonic() - started < 15
    assert queue.job(1)["status"] == "interrupted"
    assert json.loads((tmp_path / "jobs.json").read_text())[0]["status"] == "interrupted"
    # and a jobs file that says "running" (the service was killed) is read back as interrupted
    jobs = json.loads((tmp_path / "jobs.json").read_text())
    jobs[0]["status"] = "running"
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    assert RetrainQueue(tmp_path).job(1)["status"] == "interrupted"


def test_train_command_pulls_the_one_project_then_trains(tmp_path):
    steps = train_command("configs/default.yaml", ["train.epochs=2"], pull_to="annotations/studio.json")
    job = {"id": 3, "output_dir": str(tmp_path / "job-3"), "projects": [7]}
    pull, train = steps(job)
    assert pull[1:] == ["-m", "conflict_ie", "studio", "pull", "--project", "7", "--out", "annotations/studio.json"]
    assert train[1:] == ["-m", "conflict_ie", "train", "configs/default.yaml", "train.epochs=2",
                         f"train.output_dir={tmp_path / 'job-3'}"]
    assert len(train_command("c.yaml")(job)) == 1
    with pytest.raises(ValueError, match=r"job 3 gathers events of 2 projects \[7, 8\]"):
        steps({**job, "projects": [7, 8]})

    # in the queue: a job whose steps cannot be made fails with the reason, and the next one still runs
    queue = RetrainQueue(tmp_path / "jobs", command=steps)
    try:
        queue.submit({"action": "ANNOTATION_CREATED", "project": {"id": 7}})
        queue.submit({"action": "ANNOTATION_CREATED", "project": {"id": 8}})
        failed = _wait_for(lambda: (j := queue.job(1)) and j["status"] == "failed" and j, what="job 1 to fail")
        assert "gathers events of 2 projects" in failed["error"]
    finally:
        queue.close()


def test_a_broken_jobs_file_is_named(tmp_path):
    (tmp_path / "jobs.json").write_text("{half")
    with pytest.raises(ValueError, match="jobs.json is not a jobs file written by conflict-ie serve"):
        RetrainQueue(tmp_path)


def test_webhook_without_a_queue_says_so(http):
    response = http.post(f"{LABEL_STUDIO_PREFIX}/webhook", json=_event("ANNOTATION_CREATED"))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored" and "--train-config" in response.json()["reason"]
    assert http.post(f"{LABEL_STUDIO_PREFIX}/webhook", json={"no": "action"}).status_code == 422


# ---------------------------------------------------------------------------------------------------- command line


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.168.1.5")


def test_serve_refuses_wrong_arguments_before_listening(capsys, monkeypatch, tmp_path):
    assert main(["serve", "--model", str(tmp_path / "none")]) == 1
    assert f"no trained model at {tmp_path / 'none'}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "70000"])
    assert exited.value.code == 2
    assert "70000 is not a port number" in capsys.readouterr().err
    assert main(["serve", "--train-config", str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
    config = tmp_path / "c.yaml"
    config.write_text("{}")
    assert main(["serve", "--pull-to", str(tmp_path / "pulled.json")]) == 2
    assert "give --train-config too" in capsys.readouterr().err
    for name in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--pull-to", str(tmp_path / "pulled.json"), "--train-config", str(config)]) == 2
    assert "set $LABEL_STUDIO_URL and $LABEL_STUDIO_API_KEY" in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--model", str(tmp_path / "none")]) == 1
    assert "no authentication" in capsys.readouterr().err


def test_serve_command_listens_on_loopback_and_stops_cleanly(tiny_model_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "conflict_ie", "serve", "--model", str(tiny_model_dir), "--port", "0",
         "--jobs-dir", str(tmp_path / "jobs"), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("serving conflict-ie on http://127.0.0.1:"), line + process.stderr.read()
        url = line.split(" on ")[1].split()[0]
        assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "UP"
        response = httpx.post(f"{url}/predict", json={"text": ARTICLES[0]}, timeout=60)
        assert response.status_code == 200 and len(response.json()["results"]) == 1
        recorded = httpx.post(f"{url}{LABEL_STUDIO_PREFIX}/webhook", json=_event("START_TRAINING"), timeout=30)
        assert recorded.json()["status"] == "recorded"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    # uvicorn shuts down gracefully (lifespan closed, jobs file written), then lets SIGTERM end the process
    assert process.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err, err
    assert json.loads((tmp_path / "jobs" / "jobs.json").read_text())[0]["status"] == "recorded"
