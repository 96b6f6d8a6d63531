"""Wrongly typed or absurdly nested Label Studio exports: the validator and the loader name file, task and path.

Each case takes the first task of the good fixture, breaks one field, and checks that `validate` reports it as
``file: task N: error: <path inside the task>: message`` (no AttributeError, TypeError or RecursionError) and that
the loader, sharing the parser, skips the same thing and counts it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conflict_ie.api.cli import main as cli_main
from conflict_ie.data.document import LoadReport
from conflict_ie.data.label_studio_export import load_label_studio
from conflict_ie.data.validate import validate_file

GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "label_studio" / "good.json"


def good_task(relations: bool = True) -> dict:
    """The first good task: 6 spans (result[0..5]), then 5 relations (result[6..10]) unless left out, so a broken
    span does not also break the relations that use it."""
    task = copy.deepcopy(json.loads(GOOD.read_text(encoding="utf-8"))[0])
    if not relations:
        result = task["annotations"][0]["result"]
        result[:] = [item for item in result if item["type"] != "relation"]
    return task


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def set_path(task: dict, path: list, value) -> dict:
    node = task
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return task


# (what is broken, the change, the path the problem names, the message part, whether the task is rejected whole)
CASES = [
    ("data a list", ["data"], ["not", "an object"], "data", "data is a list", True),
    ("data a string", ["data"], "An airstrike", "data", "data is a string", True),
    ("text a number", ["data", "text"], 12, "data.text", "the text is an integer", True),
    ("annotations an object", ["annotations"], {"result": []}, "annotations", "annotations is an object", True),
    ("result an object", ["annotations", 0, "result"], {"id": "t1"}, "annotations[0].result",
     "result is an object", True),
    ("a string result item", ["annotations", 0, "result", 3], "e3", "annotations[0].result[3]",
     "result item is a string", False),
    ("value a list", ["annotations", 0, "result", 3, "value"], [48, 50], "annotations[0].result[3].value",
     "span value is a list", False),
    ("boolean start", ["annotations", 0, "result", 0, "value", "start"], True,
     "annotations[0].result[0].value.start", "start is a boolean (true)", False),
    ("boolean end", ["annotations", 0, "result", 2, "value", "end"], False,
     "annotations[0].result[2].value.end", "end is a boolean (false)", False),
    ("labels a string", ["annotations", 0, "result", 1, "value", "labels"], "Location",
     "annotations[0].result[1].value.labels", "labels is a string", False),
    ("label not a string", ["annotations", 0, "result", 1, "value", "labels"], [{"x": 1}],
     "annotations[0].result[1].value.labels[0]", "label is an object", False),
    ("span id a list", ["annotations", 0, "result", 1, "id"], ["e1"], "annotations[0].result[1].id",
     "span id is a list", False),
    ("stored text a number", ["annotations", 0, "result", 3, "value", "text"], 12,
     "annotations[0].result[3].value.text", "text is an integer", False),
    ("relation labels a string", ["annotations", 0, "result", 10, "labels"], "BelongsTo",
     "annotations[0].result[10].labels", "labels is a string", False),
    ("relation end an object", ["annotations", 0, "result", 10, "to_id"], {"id": "e5"},
     "annotations[0].result[10].to_id", "to_id is an object", False),
    ("layers a string", ["data", "layers"], "entities", "data.layers", "layers is a string", True),
    ("layers of objects", ["data", "layers"], [{}], "data.layers", "non-string items", True),
    ("doc_id an object", ["data", "doc_id"], {"id": 1}, "data.doc_id", "doc_id is an object", True),
    ("deep nesting in a task", ["data", "extra"], nested(200), "data.extra" + "[0]" * 62,
     "nested more than 64", True),
]


@pytest.mark.parametrize("name, where, value, path, message, rejected", CASES, ids=[c[0] for c in CASES])
def test_wrong_types_are_named_by_file_task_and_path(tmp_path, capsys, name, where, value, path, message,
                                                     rejected):
    file = tmp_path / "broken.json"
    breaks_a_relation = where[:4] == ["annotations", 0, "result", 10]
    file.write_text(json.dumps([set_path(good_task(relations=breaks_a_relation), where, value)]), encoding="utf-8")

    errors = [p for p in validate_file(file) if p.severity == "error"]
    assert len(errors) == 1, errors
    (problem,) = errors
    assert problem.file == str(file) and problem.task_id == 1 and problem.path == path
    assert message in problem.message, problem.message
    assert str(problem).startswith(f"{file}: task 1") and f"error: {path}: " in str(problem)
    assert cli_main(["validate", str(file)]) == 1
    assert str(problem) in capsys.readouterr().out.splitlines()

    report = LoadReport(source="ls")
    documents = load_label_studio(file, report)  # the loader agrees: the same item left out and counted
    assert report.skipped == {"task rejected" if rejected else "span or relation rejected": 1}
    assert report.notes == [str(problem)]
    assert len(documents) == (0 if rejected else 1)


def test_task_that_is_not_an_object_is_named_by_position(tmp_path):
    file = tmp_path / "mixed.json"
    file.write_text(json.dumps([good_task(), "task two", [1, 2]]), encoding="utf-8")
    errors = [p for p in validate_file(file) if p.severity == "error"]
    assert [str(p) for p in errors] == [f"{file}: task at [1]: error: task is a string, expected an object",
                                        f"{file}: task at [2]: error: task is a list, expected an object"]
    report = LoadReport(source="ls")
    assert len(load_label_studio(file, report)) == 1
    assert report.skipped == {"task rejected": 2}


def test_task_id_of_another_type_is_reported_and_the_position_named(tmp_path):
    file = tmp_path / "ids.json"
    task = good_task()
    task["id"] = {"nested": [1]}
    file.write_text(json.dumps([task]), encoding="utf-8")
    (problem,) = [p for p in validate_file(file) if p.severity == "error"]
    assert str(problem) == f"{file}: task at [0]: error: id: task id is an object, expected an integer or a string"


@pytest.mark.parametrize("top", ['"an export"', "12", "null", "true", json.dumps({"id": 1, "data": {}})])
def test_top_level_that_is_not_a_list_is_refused_by_both(tmp_path, top):
    file = tmp_path / "top.json"
    file.write_text(top, encoding="utf-8")
    (problem,) = validate_file(file)
    assert problem.severity == "error" and str(file) in problem.message and "expected a JSON list" in problem.message
    with pytest.raises(ValueError, match="expected a JSON list"):
        load_label_studio(file)


@pytest.mark.parametrize("opening, closing", [("[", "]"), ('{"a":', "}")])
def test_ten_thousand_levels_deep_is_one_problem_naming_the_file(tmp_path, opening, closing):
    file = tmp_path / "deep.json"
    file.write_text("[" + opening * 10_000 + "1" + closing * 10_000 + "]", encoding="utf-8")
    (problem,) = validate_file(file)
    assert problem.severity == "error" and problem.file == str(file)
    assert "nested too deeply" in problem.message and str(file) in problem.message
    with pytest.raises(ValueError, match="nested too deeply"):
        load_label_studio(file)


def test_deep_but_readable_nesting_in_a_task_never_recurses(tmp_path):
    """Nesting the JSON reader accepts (900 levels) but printing or copying could not: rejected by an iterative
    walk, reported with a short path."""
    file = tmp_path / "deep_task.json"
    task = good_task()
    task["annotations"][0]["result"][0]["value"] = {"start": nested(900)}
    file.write_text(json.dumps([task, nested(900)]), encoding="utf-8")
    errors = [p for p in validate_file(file) if p.severity == "error"]
    assert [p.task_id for p in errors] == [1, None]
    assert "nested more than 64" in errors[0].message and errors[0].path.startswith("annotations[0].result[0]")
    assert errors[1].message == "task is a list, expected an object"
    assert load_label_studio(file) == []
