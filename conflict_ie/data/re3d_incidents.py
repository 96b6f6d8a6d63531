"""The project's incident layers (triggers and incident roles) over re3d's documents, joined at load time.

re3d annotates entities and entity relations only. ``annotations/re3d/`` holds, per re3d document, our triggers,
incident roles (``same_incident`` included) and the few entities a role needed that re3d did not mark, as character
offsets into re3d's text: one JSON file per document, named by its re3d id. re3d's text stays at the data root
(``text_sha256`` checks that it is the text the offsets were written against) and re3d's own entity spans and entity
relations stay the entity layer, unchanged.

Annotators work in the markup of ``data/markup.py``: ``draft`` writes each document with re3d's (flattened)
entities inline as ``[surface]{Label eN}``; the annotator adds ``[surface]{Trigger tN}`` spans, new entities as
``[surface]{Label nN}`` and role lines ``tN role eN``. A trigger may cover a re3d entity exactly (re3d tags
"airstrikes" as Weapon): write ``{AirStrike tN}`` in place of ``{Weapon eN}``; a trigger that covers more than a
re3d entity ("drone strike" over re3d's "drone") replaces it in the markup. Either way the re3d entity stays in the
entity layer. ``compile`` checks every file against re3d's text and writes the annotation files:

    python -m conflict_ie.data.re3d_incidents draft --out DRAFTS [--root RE3D] [--annotations annotations/re3d]
    python -m conflict_ie.data.re3d_incidents compile DRAFTS/*.txt --out annotations/re3d [--root RE3D]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from .document import Document, LoadReport, Relation, Span
from .markup import SEPARATOR, relation_lines, strip_spans
from ..schema import COREFERENCE_LABELS, ENTITY_LABELS, ROLE_LABELS, TRIGGER_LABELS, implied_layers, relation_problem

FORMAT = "conflict-ie re3d incident layers v1"
ADDED_ENTITY_PREFIX = "n"


class IncidentAnnotationError(ValueError):
    pass


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def annotation_path(folder: Path, document_id: str) -> Path:
    return Path(folder) / f"{document_id.removeprefix('re3d-')}.json"


# ----------------------------------------------------------------------------------------------------------------
# Drafts and compilation (the annotator's side)

def draft_markup(document: Document, record: dict | None = None) -> str:
    """A markup file for one re3d document: a header, the text with re3d's entities inline, and the role block;
    with ``record`` (an annotation file's content) its triggers, added entities and roles too, so an annotation
    can be edited again in the form it was written in."""
    record = record or {}
    entities = sorted(document.spans_in_layer("entities"), key=lambda s: s.start)
    draft_id = {span.id: f"e{number}" for number, span in enumerate(entities, start=1)}
    ours = [Span(r["id"], r["start"], r["end"], r["text"], r["label"])
            for r in record.get("triggers", []) + record.get("added_entities", [])]
    triggers = [span for span in ours if span.label in TRIGGER_LABELS]
    shown = [span for span in entities  # a re3d entity a trigger covers is hidden behind the trigger
             if not any(t.start < span.end and span.start < t.end for t in triggers)]
    parts, cursor = [], 0
    for span in sorted(shown + ours, key=lambda s: s.start):
        parts += [document.text[cursor:span.start], f"[{span.text}]{{{span.label} {draft_id.get(span.id, span.id)}}}"]
        cursor = span.end
    parts.append(document.text[cursor:])
    header = [f"id: {document.id}", f"source: {document.source}", f"licence: {document.licence}",
              f"title: {document.meta.get('title', '')}"]
    roles = "".join(f"{draft_id.get(head, head)} {label} {draft_id.get(tail, tail)}\n"
                    for head, label, tail in record.get("relations", []))
    return ("\n".join(header) + f"\n{SEPARATOR}\n" + "".join(parts) + f"\n{SEPARATOR}\n"
            + "# incident roles: tN role eN|nN\n" + roles)


def compile_markup(source: str, document: Document, file: str) -> dict:
    """The annotation record of one annotated markup file, checked against the re3d document it annotates."""
    lines = source.split("\n")
    separators = [i for i, line in enumerate(lines) if line.strip() == SEPARATOR]
    if len(separators) < 2:
        raise IncidentAnnotationError(f"{file}: expected a header, a body and a role block separated by '---'")
    first, last = separators[0], separators[-1]
    body = "\n".join(lines[first + 1:last])
    text, marked = strip_spans(body)
    if text != document.text:
        at = next((i for i, (a, b) in enumerate(zip(text, document.text)) if a != b), min(len(text), len(document.text)))
        raise IncidentAnnotationError(f"{file}: the text differs from re3d's {document.id} at char {at}: "
                                      f"{text[at:at + 30]!r} vs {document.text[at:at + 30]!r}")
    re3d_by_offsets = {(s.start, s.end): s for s in document.spans_in_layer("entities")}
    local_ids: dict[str, str] = {}  # markup id -> id in the annotation (re3d entity id, nN or tN)
    triggers, added = [], []
    for span in marked:
        where = f"{file}: char {span.start} ({span.text!r})"
        if span.id in local_ids:
            raise IncidentAnnotationError(f"{where}: id {span.id} is used twice")
        if span.label in TRIGGER_LABELS:
            if not span.id.startswith("t"):
                raise IncidentAnnotationError(f"{where}: trigger ids start with 't', got {span.id}")
            triggers.append(_span_record(span))
            local_ids[span.id] = span.id
        elif span.label in ENTITY_LABELS:
            re3d = re3d_by_offsets.get((span.start, span.end))
            if re3d is not None and re3d.label == span.label and not span.id.startswith(ADDED_ENTITY_PREFIX):
                local_ids[span.id] = re3d.id
            elif span.id.startswith(ADDED_ENTITY_PREFIX):
                clash = next((s for s in document.spans_in_layer("entities")
                              if s.start < span.end and span.start < s.end), None)
                if clash is not None:
                    raise IncidentAnnotationError(
                        f"{where}: new entity {span.id} overlaps re3d's {clash.label} {clash.text!r} "
                        f"[{clash.start}:{clash.end}]; re3d's entities are kept as they are: use that one")
                added.append(_span_record(span))
                local_ids[span.id] = span.id
            else:
                raise IncidentAnnotationError(
                    f"{where}: {span.label} {span.id} is not one of re3d's entities (changed offsets or label?); "
                    f"re3d's entities stay as drafted, a new entity takes an id n1, n2, ...")
        else:
            raise IncidentAnnotationError(f"{where}: unknown label {span.label!r}")
    # A re3d entity missing from the markup must be one a trigger span took the place of: it is still there, and
    # roles may name it by its draft id. Any other missing entity was deleted by mistake.
    kept = set(local_ids.values())
    for number, span in enumerate(sorted(document.spans_in_layer("entities"), key=lambda s: s.start), start=1):
        if span.id in kept:
            continue
        if not any(t["start"] < span.end and span.start < t["end"] for t in triggers):
            raise IncidentAnnotationError(f"{file}: re3d's {span.label} e{number} {span.text!r} [{span.start}:"
                                          f"{span.end}] is missing from the markup; re3d's entities stay as drafted")
        local_ids.setdefault(f"e{number}", span.id)
    labels = {**{s.id: s.label for s in document.spans}, **{r["id"]: r["label"] for r in triggers + added}}
    relations, seen = [], set()
    for number, head, label, tail in relation_lines(lines[last + 1:], last + 2, file, IncidentAnnotationError):
        line = f"{head} {label} {tail}"
        if label not in ROLE_LABELS + COREFERENCE_LABELS:
            raise IncidentAnnotationError(f"{file}: line {number}: {label!r} is not an incident role or "
                                          f"same_incident (re3d's entity relations are kept as they are)")
        for end in (head, tail):
            if end not in local_ids:
                raise IncidentAnnotationError(f"{file}: line {number}: no span {end!r}")
        head_id, tail_id = local_ids[head], local_ids[tail]
        reason = relation_problem(label, labels[head_id], labels[tail_id])
        if reason:
            raise IncidentAnnotationError(f"{file}: line {number}: {line}: {reason}")
        if (head_id, label, tail_id) in seen:
            raise IncidentAnnotationError(f"{file}: line {number}: {line} is given twice")
        seen.add((head_id, label, tail_id))
        relations.append([head_id, label, tail_id])
    return {"format": FORMAT, "document": document.id, "source": document.source, "licence": document.licence,
            "text_sha256": text_sha256(document.text), "triggers": triggers, "added_entities": added,
            "relations": relations}


def format_record(record: dict) -> str:
    """The record as JSON with one span or relation per line, so a diff shows what changed."""
    lines = []
    for key, value in record.items():
        if isinstance(value, list):
            items = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in value)
            lines.append(f" {json.dumps(key)}: [\n{items}\n ]" if value else f" {json.dumps(key)}: []")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _span_record(span: Span) -> dict:
    return {"id": span.id, "start": span.start, "end": span.end, "label": span.label, "text": span.text}


# ----------------------------------------------------------------------------------------------------------------
# Joining (the loader's side)

def join_incident_layers(documents: list[Document], folder: Path) -> list[Document]:
    """re3d documents with the incident layers of ``folder`` added where it has a file for them. A file for a
    document the corpus does not hold, or one whose text hash, offsets or ids do not fit, is an error naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no folder of re3d incident annotations")
    files = {path.stem: path for path in sorted(folder.glob("*.json"))}
    joined = []
    for document in documents:
        path = files.pop(document.id.removeprefix("re3d-"), None)
        joined.append(document if path is None else apply_annotation(document, read_annotation(path), path))
    if files:
        raise IncidentAnnotationError(f"{folder}: annotation files for documents re3d does not have here: "
                                      + ", ".join(sorted(p.name for p in files.values())))
    return joined


def read_annotation(path: Path) -> dict:
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise IncidentAnnotationError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise IncidentAnnotationError(f"{path}: not a re3d incident annotation ({FORMAT!r})")
    return record


def apply_annotation(document: Document, record: dict, path: Path) -> Document:
    """The document with the record's triggers, added entities and roles; it then annotates every layer."""
    if record.get("document") != document.id:
        raise IncidentAnnotationError(f"{path}: annotates {record.get('document')!r}, not {document.id}")
    if record.get("text_sha256") != text_sha256(document.text):
        raise IncidentAnnotationError(f"{path}: {document.id}'s text at the data root is not the text these "
                                      f"offsets were written against (sha256 differs); is it re3d at commit b061ff0?")
    spans = list(document.spans)
    for item in record.get("triggers", []) + record.get("added_entities", []):
        start, end = item["start"], item["end"]
        if not 0 <= start < end <= len(document.text) or document.text[start:end] != item["text"]:
            raise IncidentAnnotationError(f"{path}: {item['id']} [{start}:{end}] does not hold {item['text']!r}")
        spans.append(Span(item["id"], start, end, item["text"], item["label"]))
    labels = {span.id: span.label for span in spans}
    relations = list(document.relations)
    for head, label, tail in record.get("relations", []):
        if head not in labels or tail not in labels:
            missing = head if head not in labels else tail
            raise IncidentAnnotationError(f"{path}: relation {head} {label} {tail}: no span {missing!r} (an entity "
                                          f"re3d's loader no longer keeps?)")
        reason = relation_problem(label, labels[head], labels[tail])
        if reason:
            raise IncidentAnnotationError(f"{path}: relation {head} {label} {tail}: {reason}")
        relations.append(Relation(head, tail, label))
    layers = implied_layers(document.layers | {"triggers", "relations"})
    meta = {**document.meta, "incident_layers": str(path.name)}
    return Document(id=document.id, text=document.text, spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
                    relations=tuple(relations), layers=layers, source=document.source, licence=document.licence,
                    meta=meta)


# ----------------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    from .re3d import default_root, load_re3d

    parser = argparse.ArgumentParser(prog="python -m conflict_ie.data.re3d_incidents", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    draft = commands.add_parser("draft", help="write a markup draft per re3d document")
    draft.add_argument("--out", required=True, type=Path)
    draft.add_argument("--annotations", type=Path, help="include the annotation files of this folder (to edit them)")
    build = commands.add_parser("compile", help="check annotated drafts and write annotation files")
    build.add_argument("files", nargs="+", type=Path)
    build.add_argument("--out", type=Path, help="folder for the annotation files (omit to check only)")
    for command in (draft, build):
        command.add_argument("--root", type=Path, default=None, help="re3d folder (default: the data root's)")
    args = parser.parse_args(argv)
    documents = {d.id: d for d in load_re3d(args.root or default_root(), LoadReport("re3d"))}
    if args.command == "draft":
        args.out.mkdir(parents=True, exist_ok=True)
        for document in documents.values():
            existing = annotation_path(args.annotations, document.id) if args.annotations else None
            record = read_annotation(existing) if existing and existing.is_file() else None
            (args.out / f"{document.id}.txt").write_text(draft_markup(document, record), encoding="utf-8")
        print(f"wrote {len(documents)} drafts to {args.out}")
        return 0
    failures = 0
    for path in args.files:
        source = path.read_text(encoding="utf-8")
        doc_id = next((line.split(":", 1)[1].strip() for line in source.split("\n") if line.startswith("id:")), "")
        try:
            if doc_id not in documents:
                raise IncidentAnnotationError(f"{path}: header id {doc_id!r} is not a re3d document here")
            record = compile_markup(source, documents[doc_id], str(path))
        except IncidentAnnotationError as error:
            print(f"error: {error}", file=sys.stderr)
            failures += 1
            continue
        print(f"{path}: {len(record['triggers'])} triggers, {len(record['added_entities'])} added entities, "
              f"{len(record['relations'])} roles")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            annotation_path(args.out, doc_id).write_text(format_record(record), encoding="utf-8")
    print(f"{len(args.files)} files, {failures} with errors")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
