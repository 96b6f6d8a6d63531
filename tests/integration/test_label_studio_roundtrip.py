"""The Label Studio round trip against a real server: create a project from the schema, push the seed articles with
pre-annotations, annotate through the API, pull, and load the export as training data; and the bad inputs (wrong
token, unreachable server, a project with another labeling config, an export with an unknown label) fail clearly and
change nothing.

Run: CONFLICT_IE_REQUIRE_LABEL_STUDIO=1 python -m pytest tests/integration -m label_studio -q
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conflict_ie.data.document import LoadReport
from conflict_ie.data.label_studio_export import load_label_studio, parse_task, read_export
from conflict_ie.schema import render_labeling_config
from conflict_ie.label_studio.client import ConfigMismatch, InvalidTasks, ServerUnreachable, TokenRejected, connect
from conflict_ie.label_studio.projects import check_project_config, create_project
from conflict_ie.label_studio.sync import pull, push, result_to_prediction

pytestmark = pytest.mark.label_studio
REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tasks(client, project_id: int) -> list[dict]:
    return [task.model_dump(mode="json") for task in client.tasks.list(project=project_id, fields="all")]


def _spans(result: list[dict]) -> dict[str, tuple[int, int, str, str]]:
    return {item["id"]: (item["value"]["start"], item["value"]["end"], item["value"]["text"],
                         item["value"]["labels"][0])
            for item in result if item["type"] == "labels"}


def _relations(result: list[dict]) -> set[tuple[tuple, tuple, str]]:
    """Relations by the spans they join (not by id), so results with different ids compare."""
    spans = _spans(result)
    return {(spans[item["from_id"]], spans[item["to_id"]], label)
            for item in result if item["type"] == "relation" for label in item["labels"]}


def test_round_trip_on_the_seed_articles(studio_client, seed_articles, seed_predictor, tmp_path):
    client = studio_client
    project_id = create_project(client, "round trip: seed articles")

    report = push(client, project_id, seed_articles, seed_predictor)
    assert (report.imported, report.predictions) == (3, 3)
    assert client.projects.get(project_id).model_version == seed_predictor.model_version

    # The predictions are in the project, span for span and character for character.
    texts = dict(seed_articles)
    results = dict(zip((doc_id for doc_id, _ in seed_articles), seed_predictor.predict(list(texts.values()))))
    tasks = {task["data"]["doc_id"]: task for task in _tasks(client, project_id)}
    assert set(tasks) == set(texts)
    for doc_id, task in tasks.items():
        assert task["data"]["text"] == texts[doc_id]
        expected = result_to_prediction(texts[doc_id], results[doc_id], seed_predictor.model_version)
        [stored] = task["predictions"]
        assert stored["model_version"] == seed_predictor.model_version
        assert stored["score"] == pytest.approx(expected["score"])
        assert _spans(stored["result"]) == _spans(expected["result"])
        assert _relations(stored["result"]) == _relations(expected["result"])
        for start, end, surface, _ in _spans(stored["result"]).values():
            assert texts[doc_id][start:end] == surface
        assert {item["id"]: item.get("score") for item in stored["result"] if item["type"] == "labels"} == \
            {item["id"]: item.get("score") for item in expected["result"] if item["type"] == "labels"}
        document, problems = parse_task({"id": task["id"], "data": task["data"], "predictions": [stored]},
                                        "pushed", use_predictions=True)
        assert document is not None and not [p for p in problems if p.severity == "error"], problems
    assert sum(len(_spans(t["predictions"][0]["result"])) for t in tasks.values()) > 30

    # Pushing the same articles again imports nothing.
    again = push(client, project_id, seed_articles, seed_predictor)
    assert again.imported == 0 and len(again.skipped_existing) == 3
    assert len(_tasks(client, project_id)) == 3

    # An annotator's work, created through the API with ids of the server's own style: every predicted span of one
    # article (curly apostrophes and all), minus one, plus one of their own, and the predicted relations.
    doc_id = seed_articles[0][0]
    task = tasks[doc_id]
    text = texts[doc_id]
    predicted = task["predictions"][0]["result"]
    new_ids = {item["id"]: f"ann{index:04d}x" for index, item in enumerate(predicted) if item["type"] == "labels"}
    dropped = next(item["id"] for item in predicted if item["type"] == "labels"
                   and not any(r.get("from_id") == item["id"] or r.get("to_id") == item["id"] for r in predicted))
    annotation = [{"id": new_ids[item["id"]], "from_name": "label", "to_name": "text", "type": "labels",
                   "origin": "manual", "value": dict(item["value"])}
                  for item in predicted if item["type"] == "labels" and item["id"] != dropped]
    taken = {(item["value"]["start"], item["value"]["end"]) for item in annotation}
    extra = next(m for m in reversed(list(re.finditer(r"\w+", text))) if (m.start(), m.end()) not in taken)
    annotation.append({"id": "annextra01", "from_name": "label", "to_name": "text", "type": "labels",
                       "origin": "manual", "value": {"start": extra.start(), "end": extra.end(),
                                                    "text": extra.group(), "labels": ["Location"]}})
    annotation += [{"from_id": new_ids[item["from_id"]], "to_id": new_ids[item["to_id"]], "type": "relation",
                    "direction": "right", "labels": item["labels"]}
                   for item in predicted if item["type"] == "relation"]
    assert any(item["type"] == "relation" for item in annotation)
    client.annotations.create(task["id"], result=annotation, was_cancelled=False, lead_time=12.5)

    out = tmp_path / "batch.json"
    pulled = pull(client, project_id, out)
    assert (pulled.tasks, pulled.unannotated) == (1, 2)

    exported = read_export(out)
    assert len(exported) == 1
    [exported_annotation] = exported[0]["annotations"]
    assert _spans(exported_annotation["result"]) == _spans(annotation)
    assert _relations(exported_annotation["result"]) == _relations(annotation)
    for task_item in exported:
        _, problems = parse_task(task_item, str(out))
        assert not [p for p in problems if p.severity == "error"], problems

    load_report = LoadReport(source=str(out))
    [document] = load_label_studio(out, load_report)
    assert load_report.skipped == {}
    assert document.id == doc_id and document.text == text
    assert {(s.start, s.end, s.text, s.label) for s in document.spans} == set(_spans(annotation).values())
    by_id = document.span_by_id()
    assert {((by_id[r.head].start, by_id[r.head].end, by_id[r.head].text, by_id[r.head].label),
             (by_id[r.tail].start, by_id[r.tail].end, by_id[r.tail].text, by_id[r.tail].label), r.label)
            for r in document.relations} == _relations(annotation)
    # the three drawn layers, and the role fillers their role relations imply
    assert document.layers == frozenset({"entities", "triggers", "relations", "role_fillers"})
    for span in document.spans:
        assert text[span.start:span.end] == span.text


def test_wrong_token_is_rejected_without_showing_it(studio_server):
    wrong = "f" * 40
    with pytest.raises(TokenRejected) as caught:
        connect(studio_server.url, wrong)
    message = str(caught.value)
    assert "token rejected" in message and studio_server.url in message
    assert wrong not in message and studio_server.token not in message


def test_unreachable_server_names_the_url():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ServerUnreachable) as caught:
        connect(url, "t" * 40)
    assert url in str(caught.value) and "start" in str(caught.value)
    assert "t" * 40 not in str(caught.value)


def test_project_with_another_labeling_config_is_refused_before_import(studio_client, seed_articles, seed_predictor):
    client = studio_client
    config = render_labeling_config().replace('<Label value="Weapon"', '<Label value="Vehicle"')
    config = config.replace('<Relation value="victim"/>', "")
    project = client.projects.create(title="someone else's config", label_config=config)

    with pytest.raises(ConfigMismatch) as caught:
        check_project_config(client, project.id)
    message = str(caught.value)
    assert "Weapon" in message and "Vehicle" in message and "victim" in message
    with pytest.raises(ConfigMismatch):
        push(client, project.id, seed_articles, seed_predictor)
    assert _tasks(client, project.id) == []


def test_pull_refuses_an_export_with_an_unknown_label(studio_client, seed_articles, tmp_path):
    client = studio_client
    project_id = create_project(client, "an unknown label")
    doc_id, text = seed_articles[1]
    push(client, project_id, [(doc_id, text)])
    [task] = _tasks(client, project_id)
    start = text.index("Idlib")
    client.annotations.create(task["id"], was_cancelled=False, result=[
        {"id": "good000001", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": start, "end": start + 5, "text": "Idlib", "labels": ["Location"]}},
        {"id": "bad0000001", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 1, "text": text[0], "labels": ["Vehicle"]}},
    ])
    out = tmp_path / "batch.json"
    out.write_text("[]\n")  # an earlier pull: must survive a refused one untouched

    with pytest.raises(InvalidTasks) as caught:
        pull(client, project_id, out)
    message = str(caught.value)
    assert "unknown label 'Vehicle'" in message
    assert f"task {task['id']}" in message and "char 0" in message and f"project {project_id}" in message
    assert out.read_text() == "[]\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.json"]


def test_command_line_round_trip_keeps_the_token_out_of_its_output(studio_server, studio_client, tiny_model_dir,
                                                                    tmp_path):
    """create / push --model (a real, tiny, trained model folder) / pull, as a user runs them."""
    env = {**os.environ, "LABEL_STUDIO_URL": studio_server.url, "LABEL_STUDIO_API_KEY": studio_server.token}

    def studio(*args: str, expect: int = 0) -> str:
        completed = subprocess.run([sys.executable, "-m", "conflict_ie", "studio", *args],
                                   capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
        output = completed.stdout + completed.stderr
        assert completed.returncode == expect, output
        assert studio_server.token not in output
        return output

    project_id = int(studio("create", "--title", "from the command line", "--quiet").strip().splitlines()[-1])
    pushed = studio("push", "--project", str(project_id), "--model", str(tiny_model_dir), str(REPO_ROOT / "seeds"))
    assert "imported 3 tasks with 3 pre-annotations" in pushed
    tasks = _tasks(studio_client, project_id)
    assert len(tasks) == 3
    for task in tasks:
        [prediction] = task["predictions"]
        document, problems = parse_task({"id": task["id"], "data": task["data"], "predictions": [prediction]},
                                        "pushed", use_predictions=True)
        assert not [p for p in problems if p.severity == "error"], problems
        for span in document.spans:
            assert task["data"]["text"][span.start:span.end] == span.text
    assert "no submitted annotations" in studio("pull", "--project", str(project_id), "--out",
                                                str(tmp_path / "x.json"), expect=1)
    assert not (tmp_path / "x.json").exists()
    assert "token rejected" in studio("pull", "--project", str(project_id), "--out", str(tmp_path / "x.json"),
                                      "--token", "0" * 40, expect=1)
    closed = f"http://127.0.0.1:{_free_port()}"
    assert closed in studio("create", "--title", "t", "--url", closed, expect=1)
