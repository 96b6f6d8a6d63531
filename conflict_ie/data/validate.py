"""Check annotation files before they are used: Label Studio JSON exports and CoNLL BIO files.

    conflict-ie validate FILE...

Label Studio exports (.json) go through the loader's own parser (``label_studio_export.parse_task``): offsets inside
the text, stored span text equal to ``text[start:end]``, labels and relation types known to the schema, relation
ends that exist, no duplicate spans or relations, and the JSON type of every field it reads (a wrongly typed or
absurdly nested export is reported with the path inside the task, e.g. ``annotations[0].result[3].value.start``).
Across a file: a top level that is not a list (the loader refuses it too), a task id used twice or a document id
used twice is an error; the same text twice is a warning. CoNLL files (.conll, .bio, .tsv, .txt) go through the
CoNLL loader's parser: every malformed line and unknown label is an error, every repaired ``I-`` tag a warning.

Each problem prints as ``file: task N, char K: error: message`` (with the path inside the task before the message
where there is one, and ``task at [i]``, the position in the file, for a task without a usable id), then a summary line per file. The exit code is 1
if any file has an error, else 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .conll import SUFFIXES as CONLL_SUFFIXES, parse_conll
from .document import Document
from .label_studio_export import Problem, is_id, parse_task, read_export


@dataclass
class FileCheck:
    path: str
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def count(self, severity: str) -> int:
        return sum(1 for p in self.problems if p.severity == severity)

    def summary(self) -> str:
        spans = sum(len(d.spans) for d in self.documents)
        relations = sum(len(d.relations) for d in self.documents)
        return (f"{self.path}: {len(self.documents)} documents, {spans} spans, {relations} relations, "
                f"{self.count('error')} errors, {self.count('warning')} warnings")


def validate_file(path: str | Path) -> list[Problem]:
    """Every problem in one annotation file (errors and warnings)."""
    return check_file(path).problems


def check_file(path: str | Path) -> FileCheck:
    path = Path(path)
    if not path.is_file():
        return FileCheck(str(path), problems=[Problem(str(path), None, None, "no such file")])
    if path.suffix.lower() == ".json":
        return _check_label_studio(path)
    if path.suffix.lower() in CONLL_SUFFIXES:
        return _check_conll(path)
    message = f"unknown file type {path.suffix!r}: expected .json (Label Studio) or {', '.join(CONLL_SUFFIXES)}"
    return FileCheck(str(path), problems=[Problem(str(path), None, None, message)])


def _check_label_studio(path: Path) -> FileCheck:
    check = FileCheck(str(path))
    try:
        tasks = read_export(path)  # the loader's reader: not JSON, too deep, or not a list is one error
    except ValueError as error:
        check.problems.append(Problem(str(path), None, None, str(error)))
        return check
    if not tasks:
        check.problems.append(Problem(str(path), None, None, "file holds no tasks", "warning"))
    first_task_with_id: dict[str, object] = {}
    first_task_with_doc_id: dict[str, object] = {}
    first_task_with_text: dict[str, object] = {}
    for index, task in enumerate(tasks):
        document, problems = parse_task(task, str(path), index=index)  # the loader's parser: shape and content
        check.problems += problems
        if not isinstance(task, dict):
            continue
        raw_id = task.get("id")
        task_id = raw_id if is_id(raw_id) else None  # parse_task reported an id of another type
        repeated_task_id = False
        if raw_id is None:
            check.problems.append(Problem(str(path), None, None, "task has no id", "warning", index=index))
        elif task_id is not None and _first_use(first_task_with_id, str(task_id), task_id) is not None:
            repeated_task_id = True
            check.problems.append(Problem(str(path), task_id, None, f"task id {task_id} is used twice"))
        if document is None:
            continue
        check.documents.append(document)
        # Document ids name documents in splits and reports: two tasks with one id would be merged or lost.
        # (Without data.doc_id the id comes from the task id, already reported above when repeated.)
        earlier = _first_use(first_task_with_doc_id, document.id, task_id)
        if earlier is not None and not repeated_task_id:
            check.problems.append(Problem(str(path), task_id, None,
                                          f"document id {document.id!r} is also used by task {earlier}",
                                          index=index))
        earlier = _first_use(first_task_with_text, document.text, task_id)
        if earlier is not None:
            check.problems.append(Problem(str(path), task_id, None, f"same text as task {earlier}", "warning",
                                          index=index))
    return check


def _first_use(seen: dict[str, object], key: str, task_id: object) -> object | None:
    """The task that used ``key`` first, or None (and remember this task) when it is new."""
    if key in seen:
        return seen[key]
    seen[key] = task_id
    return None


def _check_conll(path: Path) -> FileCheck:
    check = FileCheck(str(path))
    try:
        parsed = parse_conll(path)
    except UnicodeDecodeError as error:
        check.problems.append(Problem(str(path), None, None, f"not UTF-8 text: {error}"))
        return check
    check.problems += [Problem(str(path), issue.document_id, None, f"line {issue.line}: {issue.message}",
                               issue.severity) for issue in parsed.issues]
    for document in parsed.documents:
        if not document.text:
            check.problems.append(Problem(str(path), document.id, None, "document has no tokens", "warning"))
        else:
            check.documents.append(document)
    if not parsed.documents:
        check.problems.append(Problem(str(path), None, None, "file holds no tokens", "warning"))
    return check
