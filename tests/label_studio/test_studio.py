"""Fast tests of the Label Studio commands: no server (a closed port, or a stand-in client object).
The round trip against a real server is tests/integration/test_label_studio_roundtrip.py (-m label_studio)."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from conflict_ie.data.document import LoadReport
from conflict_ie.data.label_studio_export import load_label_studio, parse_task
from conflict_ie.records import ArticleResult, RelationPrediction, SpanPrediction
from conflict_ie.schema import render_labeling_config
from conflict_ie.label_studio.client import ConfigMismatch, InvalidTasks, MissingSetting, ServerUnreachable, connect
from conflict_ie.api.cli import main as cli_main
from conflict_ie.label_studio.projects import labeling_config_differences
from conflict_ie.label_studio.sync import pull, push, result_to_prediction

def main(argv: list[str]) -> int:
    """`conflict-ie studio ...` in process."""
    return cli_main(["studio", *argv])


REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-" + "x" * 33
TEXT = "Al Qaeda’s Huras al-Din lost 40 fighters when a rocket attack hit Kafr Jallis on Saturday."


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _span(surface: str, label: str, score: float) -> SpanPrediction:
    start = TEXT.index(surface)
    return SpanPrediction(start, start + len(surface), surface, label, score)


def _result() -> ArticleResult:
    group = _span("Huras al-Din", "Organisation", 0.9)
    qaeda = _span("Al Qaeda", "Organisation", 0.8)
    count = _span("40", "Quantity", 0.7)
    place = _span("Kafr Jallis", "Location", 0.6)
    trigger = _span("rocket attack", "Shelling", 0.5)
    return ArticleResult(
        entities=(qaeda, group, count, place),
        triggers=(trigger,),
        relations=(RelationPrediction(trigger, count, "killed_count", 0.8),
                   RelationPrediction(trigger, place, "place", 0.7),
                   RelationPrediction(group, qaeda, "BelongsTo", 0.6)),
    )


def test_result_to_prediction_round_trips_through_the_export_parser():
    result = _result()
    prediction = result_to_prediction(TEXT, result, "model-7")
    assert prediction["model_version"] == "model-7"
    assert prediction["score"] == pytest.approx((0.9 + 0.8 + 0.7 + 0.6 + 0.5) / 5)
    span_items = [item for item in prediction["result"] if item["type"] == "labels"]
    assert [item["id"] for item in span_items] == ["e1", "e2", "e3", "e4", "t1"]
    assert all(item["from_name"] == "label" and item["to_name"] == "text" for item in span_items)
    assert {item["value"]["text"]: item["score"] for item in span_items}["Al Qaeda"] == 0.8

    document, problems = parse_task({"id": 1, "data": {"text": TEXT}, "predictions": [prediction]}, "unit",
                                    use_predictions=True)
    assert problems == []
    predicted = result.entities + result.triggers
    assert {(s.start, s.end, s.text, s.label) for s in document.spans} == \
        {(p.start, p.end, p.text, p.label) for p in predicted}
    by_id = document.span_by_id()
    assert {(by_id[r.head].text, by_id[r.tail].text, r.label) for r in document.relations} == \
        {(r.head.text, r.tail.text, r.label) for r in result.relations}
    for span in document.spans:
        assert TEXT[span.start:span.end] == span.text


def test_result_to_prediction_of_nothing_and_of_a_bad_span():
    empty = result_to_prediction(TEXT, ArticleResult(), "m")
    assert empty["result"] == [] and "score" not in empty
    with pytest.raises(ValueError, match="does not match the text"):
        result_to_prediction(TEXT, ArticleResult(entities=(SpanPrediction(0, 5, "Qaeda", "Organisation", 1.0),)), "m")


def test_the_generated_and_committed_configs_match_the_schema():
    assert labeling_config_differences(render_labeling_config()) == []
    committed = (REPO_ROOT / "annotations" / "labeling_config.xml").read_text(encoding="utf-8")
    assert labeling_config_differences(committed) == []


def test_config_differences_name_what_is_missing_and_extra():
    config = render_labeling_config().replace('"Weapon"', '"Vehicle"').replace('<Relation value="victim"/>', "")
    differences = labeling_config_differences(config)
    assert "missing span labels: Weapon" in differences
    assert "span labels not in the schema: Vehicle" in differences
    assert "missing relations: victim" in differences
    assert labeling_config_differences("<View><Text name='text' value='$text'/></View>")[0] == \
        "no <Labels name='label'> control"
    assert "not valid XML" in labeling_config_differences("<View>")[0]


def test_unreachable_server_is_named_and_the_token_is_not():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ServerUnreachable) as caught:
        connect(url, TOKEN)
    assert url in str(caught.value) and "label-studio start" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_missing_url_or_token(monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(MissingSetting, match="LABEL_STUDIO_URL"):
        connect(None, TOKEN)
    with pytest.raises(MissingSetting, match="LABEL_STUDIO_API_KEY"):
        connect("http://127.0.0.1:8080", None)
    with pytest.raises(MissingSetting, match="not an http"):
        connect("127.0.0.1:8080", TOKEN)


def test_command_line_reports_an_unreachable_server_without_the_token(monkeypatch, capsys, tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)
    out = tmp_path / "out.json"
    assert main(["pull", "--project", "1", "--out", str(out), "--url", url]) == 1
    captured = capsys.readouterr()
    assert url in captured.err and TOKEN not in captured.err + captured.out
    assert not out.exists()
    assert main(["create", "--title", "t", "--url", url, "--token", TOKEN]) == 1
    captured = capsys.readouterr()
    assert TOKEN not in captured.err + captured.out


class FakeClient:
    """Stands in for label_studio_sdk.LabelStudio: a project, its tasks, and a record of what was imported."""

    def __init__(self, label_config: str = render_labeling_config(), export: list | None = None):
        self.imported: list = []
        self.updates: list = []
        project = SimpleNamespace(id=7, title="batch", label_config=label_config)
        self.projects = SimpleNamespace(
            get=lambda project_id, **_: project,
            import_tasks=self._import,
            update=lambda project_id, **kwargs: self.updates.append(kwargs),
            exports=SimpleNamespace(as_json=lambda project_id, **_: export or []),
        )
        self.tasks = SimpleNamespace(list=lambda **_: [SimpleNamespace(data={"doc_id": "old", "text": "x"})])

    def _import(self, id, request, **_):
        self.imported += request
        return SimpleNamespace(task_count=len(request), prediction_count=sum("predictions" in t for t in request),
                               task_ids=list(range(1, len(request) + 1)))


class ListPredictor:
    model_version = "list-1"

    def __init__(self, results):
        self.results = results

    def predict(self, texts):
        return self.results[:len(texts)]


def test_push_attaches_predictions_and_skips_known_articles():
    client = FakeClient()
    report = push(client, 7, [("old", "old text"), ("new", TEXT)], ListPredictor([_result()]))
    assert (report.imported, report.predictions, report.skipped_existing) == (1, 1, ("old",))
    [task] = client.imported
    assert task["data"]["doc_id"] == "new" and task["data"]["text"] == TEXT
    assert task["predictions"][0]["model_version"] == "list-1"
    assert client.updates == [{"model_version": "list-1"}]


def test_push_changes_nothing_on_a_wrong_config_or_a_bad_prediction():
    client = FakeClient(label_config=render_labeling_config().replace('"Weapon"', '"Vehicle"'))
    with pytest.raises(ConfigMismatch, match="Vehicle"):
        push(client, 7, [("new", TEXT)])
    assert client.imported == []

    client = FakeClient()
    bad = ArticleResult(entities=(_span("Kafr Jallis", "Village", 0.5),))
    with pytest.raises(InvalidTasks, match="unknown label 'Village'"):
        push(client, 7, [("new", TEXT)], ListPredictor([bad]))
    assert client.imported == [] and client.updates == []


def _exported_task(task_id: int, label: str) -> dict:
    start = TEXT.index("Kafr Jallis")
    return {"id": task_id, "data": {"text": TEXT, "doc_id": f"d{task_id}"}, "annotations": [{
        "id": task_id, "was_cancelled": False, "result": [
            {"id": "a1", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": start, "end": start + 11, "text": "Kafr Jallis", "labels": [label]}}]}]}


def test_pull_writes_a_loadable_export_and_leaves_out_unannotated_tasks(tmp_path):
    unannotated = {"id": 3, "data": {"text": TEXT}, "annotations": []}
    client = FakeClient(export=[_exported_task(1, "Location"), unannotated])
    out = tmp_path / "sub" / "batch.json"
    report = pull(client, 7, out)
    assert (report.tasks, report.unannotated, report.spans) == (1, 1, 0 + 1)
    load_report = LoadReport(source=str(out))
    [document] = load_label_studio(out, load_report)
    assert load_report.skipped == {} and document.spans[0].text == "Kafr Jallis"


def test_pull_refuses_unknown_labels_and_writes_nothing(tmp_path):
    client = FakeClient(export=[_exported_task(1, "Location"), _exported_task(2, "Village")])
    out = tmp_path / "batch.json"
    with pytest.raises(InvalidTasks) as caught:
        pull(client, 7, out)
    message = str(caught.value)
    assert f"project 7 export: task 2, char {TEXT.index('Kafr Jallis')}: error:" in message
    assert "unknown label 'Village'" in message and "nothing was written" in message
    assert list(tmp_path.iterdir()) == []
