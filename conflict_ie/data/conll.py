"""CoNLL-2003-style BIO column files -> typed Documents.

One token per line, the token first and the tag last (``token<TAB>tag``, or space-separated columns as in
CoNLL-2003, every line with the file's number of columns), a blank line between sentences, and ``-DOCSTART-`` lines starting a new document (without them the
whole file is one document). Document ids are ``<file stem>-<n>``, n counting from 1.

The text is rebuilt by joining tokens with single spaces and sentences with "\\n", so every span's character
offsets are exact: ``text[start:end] == span.text``. Tags are ``O``, ``B-X`` or ``I-X`` with X a schema label
(entity or trigger). An ``I-X`` that does not continue an ``X`` span starts one (IOB1 habit) and is noted as a
repair ("repaired I- start" in the report's notes). Documents are annotated for the layers of the labels the file
uses, plus the layer the caller may declare (``layer=``), so a sentence with no trigger tags in a trigger-annotated
file still says "no trigger here"; a file with only ``O`` tags counts as entity-annotated; never for relations.
Span ids are "c1", "c2", ... within each document.

One parser serves the loader (which raises, or with ``strict=False`` skips the bad sentence and counts it) and
the validator (which reports every problem).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .document import Document, LoadReport, Span
from ..schema import ENTITY_LABELS, TRIGGER_LABELS, is_span_label, span_layer

DOCSTART = "-DOCSTART-"
SUFFIXES = (".conll", ".bio", ".tsv", ".txt")  # what validate and evaluate --data read as CoNLL
SPAN_LAYERS = ("entities", "triggers")


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line number in the file
    token: str
    tag: str | None  # None: the line has no tag column
    problem: str | None = None  # why the line cannot be read as it stands (e.g. a column count off the file's)


@dataclass
class ConllIssue:
    line: int
    message: str
    severity: str  # "error": the sentence is left out; "warning": repaired and kept
    document_id: str


@dataclass
class ConllParse:
    documents: list[Document]
    issues: list[ConllIssue] = field(default_factory=list)
    sentences_skipped: int = 0


def parse_conll(path: str | Path, layer: str | None = None) -> ConllParse:
    """Every document of the file, built from its well-formed sentences, and every problem found on the way.

    Layers: those of the labels the file uses, plus ``layer`` when given; a file with only ``O`` tags and no
    declared layer is taken as annotated for entities."""
    if layer is not None and layer not in SPAN_LAYERS:
        raise ValueError(f"layer must be one of {SPAN_LAYERS}, not {layer!r} (CoNLL files carry no relations)")
    path = Path(path)
    blocks = _read_documents(path)
    result = ConllParse(documents=[])
    layers = (({layer} if layer else set()) | _layers_used(blocks)) or {"entities"}
    for number, sentences in enumerate(blocks, start=1):
        doc_id = f"{path.stem}-{number}"
        good = []
        for sentence in sentences:
            errors = [ConllIssue(line, message, "error", doc_id) for line, message in _sentence_errors(sentence)]
            result.issues += errors
            if errors:
                result.sentences_skipped += 1
            else:
                good.append(sentence)
        document, repairs = _build_document(doc_id, good, frozenset(layers), str(path))
        result.issues += [ConllIssue(line, message, "warning", doc_id) for line, message in repairs]
        result.documents.append(document)
    return result


def load_conll(path: str | Path, report: LoadReport | None = None, strict: bool = True, *,
               layer: str | None = None) -> list[Document]:
    """Load a BIO file. A malformed line or unknown label raises ``ValueError`` naming file:line; with
    ``strict=False`` its sentence is left out and counted in ``report`` instead."""
    report = report if report is not None else LoadReport(source=str(path))
    parsed = parse_conll(path, layer)
    for issue in parsed.issues:
        where = f"{path}:{issue.line}"
        if issue.severity == "warning":
            report.notes.append(f"{where}: {issue.message}")
        elif strict:
            raise ValueError(f"{where}: {issue.message}")
        else:
            report.reject(f"{where}: {issue.message} (sentence left out)")
    for _ in range(parsed.sentences_skipped):
        report.skip("sentence with a malformed line or unknown label")
    documents = []
    for document in parsed.documents:
        if not document.text:
            report.skip("document with no (valid) sentences", f"{path}: {document.id} is empty")
            continue
        report.count_document(document)
        documents.append(document)
    return documents


def _read_documents(path: Path) -> list[list[list[Row]]]:
    """Documents -> sentences -> rows. Tolerates a UTF-8 BOM and CRLF line endings.

    Columns are split at tabs when the line has one, else at runs of spaces (CoNLL-2003). Every token line must
    have the file's usual number of columns (the most common count): ``Kafr Nabl B-Location`` among
    ``token<TAB>tag`` lines has 3 space-separated columns where the file has 2, so it is an error naming the line
    rather than the token "Kafr" with "Nabl" lost. A space-separated line with the file's column count is read as
    it stands (``Gao B-Location`` in a tab file is unambiguous)."""
    # utf-8-sig drops a BOM; read_text's universal newlines turn CRLF into "\n".
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    split: list[tuple[int, list[str], bool]] = []  # (line number, fields, split at tabs)
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        tabbed = "\t" in line
        fields = line.split("\t") if tabbed else line.split()
        split.append((number, [f.strip() for f in fields if f.strip()], tabbed))
    token_lines = [(fields, tabbed) for _, fields, tabbed in split if fields and fields[0] != DOCSTART]
    counts = Counter(len(fields) for fields, _ in token_lines if len(fields) > 1)
    columns = counts.most_common(1)[0][0] if counts else 2  # a tie goes to the count seen first
    file_uses_tabs = any(tabbed for _, tabbed in token_lines)

    documents: list[list[list[Row]]] = [[]]
    sentence: list[Row] = []
    for number, fields, tabbed in split:
        if not fields or fields[0] == DOCSTART:
            if sentence:
                documents[-1].append(sentence)
                sentence = []
            if fields:
                documents.append([])
            continue
        problem = None
        if len(fields) > 1 and len(fields) != columns:
            shown = "\t".join(fields) if tabbed else " ".join(fields)
            problem = (f"line {shown!r} has {len(fields)} columns where the file's lines have {columns}"
                       + (": columns separated by spaces in a tab-separated file (separate them by tabs)"
                          if file_uses_tabs and not tabbed else "")
                       + "; reading it would lose a token, so its sentence is left out")
        sentence.append(Row(number, fields[0], fields[-1] if len(fields) > 1 else None, problem))
    if sentence:
        documents[-1].append(sentence)
    # The implicit document before a leading -DOCSTART- is empty: drop it; keep explicit empty ones to report.
    if not documents[0] and len(documents) > 1:
        documents = documents[1:]
    return documents


def _split_tag(tag: str) -> tuple[str, str | None]:
    """("B", "Person") for "B-Person", ("O", None) for "O"; raises ValueError for anything else."""
    if tag == "O":
        return "O", None
    prefix, _, label = tag.partition("-")
    if prefix not in ("B", "I") or not label:
        raise ValueError(f"malformed tag {tag!r}: expected O, B-<label> or I-<label>")
    if not is_span_label(label):
        known = ", ".join(ENTITY_LABELS + TRIGGER_LABELS)
        raise ValueError(f"unknown label {label!r} in tag {tag!r} (known: {known})")
    return prefix, label


def _sentence_errors(sentence: list[Row]) -> list[tuple[int, str]]:
    errors = []
    for row in sentence:
        if row.problem is not None:
            errors.append((row.line, row.problem))
            continue
        if row.tag is None:
            errors.append((row.line, f"malformed line {row.token!r}: expected a token and a tag"))
            continue
        try:
            _split_tag(row.tag)
        except ValueError as error:
            errors.append((row.line, str(error)))
    return errors


def _layers_used(blocks: list[list[list[Row]]]) -> set[str]:
    layers = set()
    for sentences in blocks:
        for sentence in sentences:
            for row in sentence:
                if row.tag and row.tag != "O":
                    label = row.tag.partition("-")[2]
                    if is_span_label(label):
                        layers.add(span_layer(label))
    return layers


def _build_document(doc_id: str, sentences: list[list[Row]], layers: frozenset[str],
                    source: str) -> tuple[Document, list[tuple[int, str]]]:
    """The document text (tokens joined by spaces, sentences by newlines), its spans and the I- repairs."""
    pieces: list[str] = []
    offsets: list[tuple[int, int, str]] = []  # (char_start, char_end, label) of each finished span
    repairs: list[tuple[int, str]] = []
    char_start = 0
    for sentence_number, sentence in enumerate(sentences):
        if sentence_number:
            pieces.append("\n")
            char_start += 1
        open_span: tuple[int, int, str] | None = None  # (char_start, char_end, label) of the span being built
        for token_number, row in enumerate(sentence):
            if token_number:
                pieces.append(" ")
                char_start += 1
            char_end = char_start + len(row.token)
            prefix, label = _split_tag(row.tag)
            continues = prefix == "I" and open_span is not None and open_span[2] == label
            if open_span is not None and not continues:
                offsets.append(open_span)
                open_span = None
            if prefix == "I" and not continues:
                repairs.append((row.line, f"repaired I- start: I-{label} follows no B-{label} or I-{label}, "
                                          "started a new span"))
            if continues:
                open_span = (open_span[0], char_end, label)
            elif label is not None:
                open_span = (char_start, char_end, label)
            pieces.append(row.token)
            char_start = char_end
        if open_span is not None:
            offsets.append(open_span)
    text = "".join(pieces)
    spans = [Span(id=f"c{number}", start=start, end=end, text=text[start:end], label=label)
             for number, (start, end, label) in enumerate(offsets, start=1)]
    document = Document(id=doc_id, text=text, spans=tuple(spans), relations=(), layers=layers, source=source)
    return document, repairs
