"""The annotation validator: Label Studio exports and CoNLL files, problem lines, summaries and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conflict_ie.api.cli import main as cli_main
from conflict_ie.data.validate import validate_file


def main(files: list[str]) -> int:
    """`conflict-ie validate FILE...` in process."""
    return cli_main(["validate", *files])

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[2]


def errors(problems):
    return [p for p in problems if p.severity == "error"]


def warnings(problems):
    return [p for p in problems if p.severity == "warning"]


def test_good_files_have_no_problems():
    for name in ("label_studio/good.json", "label_studio/bom_crlf.json", "conll/two_docs.conll",
                 "conll/conll2003_style.txt", "conll/no_docstart.bio", "conll/bom_crlf.conll"):
        assert validate_file(FIXTURES / name) == [], name


def test_label_studio_problems_name_task_and_offset():
    problems = validate_file(FIXTURES / "label_studio" / "bad.json")
    by_task = {}
    for problem in errors(problems):
        by_task.setdefault(problem.task_id, []).append(problem.message)
    assert sorted(by_task) == list(range(11, 20))
    expected = {
        11: "offsets 37..99 fall outside the text",
        12: "offsets 15..15 are empty or reversed",
        13: "stores text 'aid worker' but text[20:31] is 'aid workers'",
        14: "unknown label 'Gunman'",
        15: "unknown relation type 'kidnapped'",
        16: "refers to span 'e9', which does not exist",
        17: "duplicate span Location 'Goma'",
        18: "task text is empty",
        19: "task id 19 is used twice",
    }
    for task_id, message in expected.items():
        assert len(by_task[task_id]) == 1 and message in by_task[task_id][0], (task_id, by_task[task_id])
    (repeated_text,) = warnings(problems)
    assert repeated_text.task_id == 20 and repeated_text.message == "same text as task 19"
    offsets = {p.task_id: p.offset for p in problems}
    assert offsets[13] == 20 and offsets[14] == 0


def test_problem_lines_and_summary_printed(capsys):
    assert main([str(FIXTURES / "label_studio" / "bad.json")]) == 1
    lines = capsys.readouterr().out.splitlines()
    path = str(FIXTURES / "label_studio" / "bad.json")
    assert f"{path}: task 14, char 0: error: span 'e1' has unknown label 'Gunman'" in lines
    assert f"{path}: task 20: warning: same text as task 19" in lines
    assert lines[-1] == f"{path}: 10 documents, 8 spans, 0 relations, 9 errors, 1 warnings"


def test_duplicate_document_id_is_an_error(tmp_path):
    tasks = json.loads((FIXTURES / "label_studio" / "good.json").read_text(encoding="utf-8"))
    tasks[1]["data"]["doc_id"] = tasks[0]["data"]["doc_id"]
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    (problem,) = validate_file(path)
    assert problem.severity == "error" and problem.task_id == 2
    assert problem.message == "document id 'good-1' is also used by task 1"


def test_label_studio_file_that_is_not_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[{", encoding="utf-8")
    (problem,) = validate_file(path)
    assert problem.severity == "error" and "not valid JSON" in problem.message


def test_conll_problems_name_document_and_line(capsys):
    (problem,) = validate_file(FIXTURES / "conll" / "unknown_label.conll")
    assert problem.severity == "error" and problem.task_id == "unknown_label-1"
    assert problem.message.startswith("line 5: unknown label 'Vehicle'")
    (problem,) = validate_file(FIXTURES / "conll" / "malformed_line.conll")
    assert problem.message.startswith("line 3: malformed line 'no_tag_here'")
    repairs = validate_file(FIXTURES / "conll" / "repair.conll")
    assert [p.severity for p in repairs] == ["warning"] * 3
    assert main([str(FIXTURES / "conll" / "repair.conll")]) == 0  # warnings do not fail
    assert capsys.readouterr().out.splitlines()[-1].endswith("1 documents, 3 spans, 0 relations, 0 errors, 3 warnings")


def test_unknown_file_type_and_missing_file(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("hello", encoding="utf-8")
    assert "unknown file type '.md'" in validate_file(path)[0].message
    assert validate_file(tmp_path / "absent.json")[0].message == "no such file"


def test_exit_codes_through_the_command_line():
    def run(*files):
        return subprocess.run([sys.executable, "-m", "conflict_ie", "validate", *map(str, files)], cwd=REPO_ROOT,
                              capture_output=True, text=True)

    good = run(FIXTURES / "label_studio" / "good.json", FIXTURES / "conll" / "two_docs.conll")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "2 documents, 10 spans, 8 relations, 0 errors, 0 warnings" in good.stdout
    mixed = run(FIXTURES / "label_studio" / "good.json", FIXTURES / "conll" / "malformed_line.conll")
    assert mixed.returncode == 1
    assert "malformed_line.conll: task malformed_line-1: error: line 3: malformed line" in mixed.stdout
    assert run().returncode == 2  # no files: usage


BAD = FIXTURES / "label_studio" / "bad.json"
COMMITTED = [REPO_ROOT / "annotations" / "seeds.json", REPO_ROOT / "annotations" / "authored.json"]


def test_each_bad_task_alone_names_file_task_and_offset_and_fails(tmp_path, capsys):
    tasks = json.loads(BAD.read_text(encoding="utf-8"))
    expected_offsets = {11: 37, 12: 15, 13: 20, 14: 0, 17: None, 18: None}
    for task_id in range(11, 19):
        (task,) = [t for t in tasks if t["id"] == task_id]
        path = tmp_path / f"task{task_id}.json"
        path.write_text(json.dumps([task]), encoding="utf-8")
        (problem,) = errors(validate_file(path))
        assert problem.file == str(path) and problem.task_id == task_id
        if expected_offsets.get(task_id) is not None:
            assert problem.offset == expected_offsets[task_id]
            assert f"{path}: task {task_id}, char {problem.offset}: error: " in str(problem)
        assert main([str(path)]) == 1
    capsys.readouterr()


def test_task_without_annotations_is_an_error():
    problems = validate_file(FIXTURES / "label_studio" / "no_annotations.json")
    assert [(p.task_id, p.severity) for p in problems] == [(31, "error"), (32, "error")]
    assert all("has no annotation" in p.message for p in problems)
    assert main([str(FIXTURES / "label_studio" / "no_annotations.json")]) == 1


def test_bom_and_crlf_export_is_clean(capsys):
    path = FIXTURES / "label_studio" / "bom_crlf.json"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main([str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 errors, 0 warnings")


def test_json_that_is_not_a_list_names_the_file(tmp_path, capsys):
    scalar = tmp_path / "scalar.json"
    scalar.write_text('"hello"', encoding="utf-8")
    (problem,) = validate_file(scalar)
    assert problem.severity == "error" and str(scalar) in problem.message and "expected a JSON list" in problem.message
    one_task = tmp_path / "object.json"
    tasks = json.loads((FIXTURES / "label_studio" / "good.json").read_text(encoding="utf-8"))
    one_task.write_text(json.dumps(tasks[0]), encoding="utf-8")
    (problem,) = validate_file(one_task)
    assert problem.severity == "error" and str(one_task) in problem.message
    not_json = tmp_path / "broken.json"
    not_json.write_text("[{", encoding="utf-8")
    (problem,) = validate_file(not_json)
    assert str(not_json) in problem.message
    assert main([str(scalar)]) == 1 and main([str(not_json)]) == 1
    capsys.readouterr()


def test_conll_bom_crlf_and_malformed_through_main(capsys):
    assert main([str(FIXTURES / "conll" / "bom_crlf.conll")]) == 0
    assert main([str(FIXTURES / "conll" / "unknown_label.conll")]) == 1
    out = capsys.readouterr().out
    assert "unknown_label.conll: task unknown_label-1: error: line 5: unknown label 'Vehicle'" in out
    assert out.splitlines()[-1].endswith("unknown_label.conll: 1 documents, 1 spans, 0 relations, 1 errors, 0 warnings")


def test_committed_annotation_files_pass(capsys):
    for path in COMMITTED:
        assert path.is_file(), path
    assert main([str(p) for p in COMMITTED]) == 0, capsys.readouterr().out
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == [str(p) for p in COMMITTED]  # summaries only, no problems
    assert all(line.endswith(" 0 errors, 0 warnings") for line in lines)


def test_conll_line_with_spaces_instead_of_a_tab_is_reported_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "spaces.conll"
    path.write_text("Shelling\tB-Shelling\nhit\tO\nKafr Nabl B-Location\n\nCalm\tO\n", encoding="utf-8")
    (problem,) = validate_file(path)
    assert problem.severity == "error" and problem.message.startswith("line 3: line 'Kafr Nabl B-Location' has 3 "
                                                                      "columns where the file's lines have 2")
    assert main([str(path)]) == 1
    assert f"{path}: task spaces-1: error: line 3: " in capsys.readouterr().out
