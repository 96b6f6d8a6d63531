"""A plain-text markup for writing annotated articles by hand, compiled into Label Studio exports.

A markup file has a header, the article body with inline spans, and a relation block, separated by lines of
three dashes::

    id: authored-a01
    title: Drone strike kills two in Marib
    style: wire
    publication_date: 2023-03-04
    ---
    A [drone strike]{AirStrike t1} killed [two]{Quantity e1} [fighters]{Person e2} in [Marib]{Location e3}.
    ---
    t1 killed_count e1
    t1 victim e2
    t1 place e3

A span is ``[surface text]{Label id}``; the surface text is kept verbatim in the article. Relation lines are
``HEAD_ID relation TAIL_ID``; ``#`` starts a comment. A header ``text_file: seeds/x.txt`` makes the compiler
check that the body is that file's text exactly (so offsets refer to the user's bytes) and use the file's text.
"""

from __future__ import annotations

import re
from pathlib import Path

from .document import Document, Relation, Span
from .label_studio_export import Problem, document_to_task, parse_task
from ..schema import LAYERS, implied_layers

SPAN_PATTERN = re.compile(r"\[([^\[\]]+)\]\{([A-Za-z_]+) ([A-Za-z0-9_]+)\}")
SEPARATOR = "---"


class MarkupError(ValueError):
    pass


def parse_markup(source: str, file: str = "<markup>", root: Path | None = None) -> Document:
    """Compile one markup file into a Document; raise MarkupError naming the file and line on any problem."""
    lines = source.split("\n")
    separators = [i for i, line in enumerate(lines) if line.strip() == SEPARATOR]
    if len(separators) < 2:
        raise MarkupError(f"{file}: expected a header, a body and a relation block separated by '---' lines")
    first, last = separators[0], separators[-1]
    header = _parse_header(lines[:first], file)
    body = "\n".join(lines[first + 1:last]).strip("\n")

    text, spans = strip_spans(body)
    if "]{" in text:  # a span whose label part did not match the pattern
        position = text.index("]{")
        line_number = first + 2 + text[:position].count("\n")
        raise MarkupError(f"{file}: line {line_number}: malformed span markup near {text[max(0, position - 30):position + 20]!r}")

    if "text_file" in header:
        base = root if root is not None else Path(file).parent
        original = (base / header["text_file"]).read_text(encoding="utf-8")
        if original.rstrip("\n") != text:
            mismatch = next((i for i, (a, b) in enumerate(zip(original, text)) if a != b), min(len(original), len(text)))
            raise MarkupError(f"{file}: body differs from {header['text_file']} at char {mismatch}: "
                              f"{original[mismatch:mismatch + 30]!r} vs {text[mismatch:mismatch + 30]!r}")
        text = original

    relations = [Relation(head=head, tail=tail, label=label)
                 for _, head, label, tail in relation_lines(lines[last + 1:], last + 2, file)]

    layers = header.pop("layers", " ".join(LAYERS)).split()
    doc_id = header.pop("id", Path(file).stem)
    return Document(
        id=doc_id, text=text, spans=tuple(spans), relations=tuple(relations), layers=implied_layers(layers),
        source=header.pop("source", "authored"), licence=header.pop("licence", "CC-BY-4.0"), meta=header,
    )


def strip_spans(body: str) -> tuple[str, list[Span]]:
    """The plain text of a markup body and its ``[surface]{Label id}`` spans, with offsets into that text."""
    text_parts: list[str] = []
    spans: list[Span] = []
    cursor = char_count = 0
    for match in SPAN_PATTERN.finditer(body):
        plain = body[cursor:match.start()]
        text_parts.append(plain)
        char_count += len(plain)
        surface, label, span_id = match.group(1), match.group(2), match.group(3)
        spans.append(Span(id=span_id, start=char_count, end=char_count + len(surface), text=surface, label=label))
        text_parts.append(surface)
        char_count += len(surface)
        cursor = match.end()
    text_parts.append(body[cursor:])
    return "".join(text_parts), spans


def relation_lines(lines: list[str], first_number: int, file: str, error: type[ValueError] | None = None
                   ) -> list[tuple[int, str, str, str]]:
    """(line number, head, relation, tail) of each ``HEAD relation TAIL`` line of a relation block; ``#`` starts a
    comment. A malformed line raises ``error`` (MarkupError by default) naming the file and line."""
    error = error or MarkupError
    parsed = []
    for number, line in enumerate(lines, start=first_number):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3:
            raise error(f"{file}: line {number}: expected 'HEAD relation TAIL', got {line!r}")
        parsed.append((number, parts[0], parts[1], parts[2]))
    return parsed


def _parse_header(lines: list[str], file: str) -> dict[str, str]:
    header = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise MarkupError(f"{file}: line {number}: header lines are 'key: value', got {line!r}")
        header[key.strip()] = value.strip()
    return header


def compile_files(paths: list[Path], root: Path | None = None) -> tuple[list[dict], list[Problem]]:
    """Compile markup files into Label Studio tasks and check each one with the export parser."""
    tasks, problems = [], []
    for index, path in enumerate(paths, start=1):
        document = parse_markup(path.read_text(encoding="utf-8"), str(path), root)
        task = document_to_task(document, index)
        _, task_problems = parse_task(task, str(path))
        problems.extend(task_problems)
        tasks.append(task)
    return tasks, problems
