"""re3d (Dstl's Relationship and Entity Extraction Evaluation Dataset) -> typed Documents.

Reads every source folder under the re3d root (documents.json, entities.json, relations.json: JSON Lines, maybe
with a UTF-8 BOM). Keeps rows with confidence >= 0.5 (lower ones were rejected by the corpus's agreement step).
Documents annotate entities and entity relations only: no incident triggers and no roles.

Flat spans: re3d spans may nest ("residents of [Mosul]"); our taggers label flat spans, so overlaps are resolved
by one rule: keep the longer span; on equal length keep the higher confidence, then the earlier row. Every dropped
span is counted by the rule that dropped it and listed in the report's notes (document, offsets, span kept).

    conflict-ie re3d [--root DIR] [--notes]   # what is read and what is skipped, with reasons
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .document import Document, LoadReport, Relation, Span
from ..config import Config, data_root
from ..schema import ENTITY_LABELS, ENTITY_RELATION_LABELS

# re3d's rare "Vehicle" rows (confidence >= 0.5) are "vehicles", "a lone ISIL vehicle", "oil tanker trucks",
# "a front-end loader", "excavators", "the tanker" (aerial refuelling): vehicles struck or used in the fighting.
# re3d itself tags the same kind of thing ("bulldozer", "dump truck", "ISIL vehicles") as MilitaryPlatform,
# so Vehicle maps there. CommsIdentifier, Frequency and Coordinate have no counterpart and are skipped.
TYPE_MAP: dict[str, str] = {label: label for label in ENTITY_LABELS} | {"Vehicle": "MilitaryPlatform"}

RULE_LONGER = "overlap: dropped the shorter span"
RULE_CONFIDENCE = "overlap: same length, dropped the lower-confidence span"
RULE_ORDER = "overlap: same length and confidence, dropped the later row"

# Short licence names by a phrase of the first line of a folder's LICENSE file.
_LICENCE_NAMES = (
    ("public domain", "Public domain"),
    ("Open Government Licence v3.0", "OGL v3.0"),
    ("Creative Commons Attribution 3.0 Australia", "CC BY 3.0 AU"),
    ("Creative Commons Attribution-ShareAlike 3.0", "CC BY-SA 3.0"),
    ("eeas.europa.eu", "EEAS legal notice (reuse with acknowledgement)"),
)


@dataclass(frozen=True)
class _Candidate:
    span: Span
    confidence: float
    row: int  # position in entities.json, the last tie-breaker


def default_root() -> Path:
    """$CONFLICT_IE_DATA/re3d, else ../shared/data/re3d beside the repository."""
    return data_root(Config()) / "re3d"


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON Lines file (mongoexport), tolerating a UTF-8 BOM; a missing file has no rows."""
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not valid JSON: {error}") from error
    return rows


def licence_name(folder: Path) -> str:
    """A short licence name for a source folder, from the first line of its LICENSE file."""
    path = folder / "LICENSE"
    if not path.is_file():
        return "unknown"
    lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    first = lines[0] if lines else ""
    for phrase, name in _LICENCE_NAMES:
        if phrase.lower() in first.lower():
            return name
    return first.split(". ")[0][:80] or "unknown"


def load_re3d(root: str | Path, report: LoadReport | None = None, min_confidence: float = 0.5) -> list[Document]:
    """Every document of every source folder under ``root``; what is left out is counted in ``report``."""
    root = Path(root)
    report = report if report is not None else LoadReport(source=f"re3d ({root})")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "documents.json").is_file()) \
        if root.is_dir() else []
    if not folders:
        raise FileNotFoundError(f"{root}: no re3d source folders (each with documents.json) found")
    documents = []
    for folder in folders:
        documents += _load_folder(folder, report, min_confidence)
    return documents


def _load_folder(folder: Path, report: LoadReport, min_confidence: float) -> list[Document]:
    licence = licence_name(folder)
    entities = _rows_by_document(read_jsonl(folder / "entities.json"))
    relations = _rows_by_document(read_jsonl(folder / "relations.json"))
    documents = []
    for row in read_jsonl(folder / "documents.json"):
        document = _document(row, entities.pop(row["_id"], []), relations.pop(row["_id"], []),
                             f"re3d/{folder.name}", licence, min_confidence, report)
        report.count_document(document)
        documents.append(document)
    # Rows pointing at a document the folder does not hold cannot be placed anywhere.
    for doc_id, rows in entities.items():
        for _ in rows:
            report.skip("entity of a document not in documents.json", f"{folder.name}: entity of {doc_id}")
    for doc_id, rows in relations.items():
        for _ in rows:
            report.skip("relation of a document not in documents.json", f"{folder.name}: relation of {doc_id}")
    return documents


def _rows_by_document(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["documentId"], []).append(row)
    return grouped


def _document(row: dict, entity_rows: list[dict], relation_rows: list[dict], source: str, licence: str,
              min_confidence: float, report: LoadReport) -> Document:
    doc_id = "re3d-" + row["_id"]
    text = row["text"]
    left_out: dict[tuple[int, int], str] = {}  # offsets of entity rows not kept -> why, for relation ends
    candidates = _entity_candidates(entity_rows, text, doc_id, min_confidence, report, left_out)
    spans, overlapping_pairs = _resolve_overlaps(candidates, doc_id, report, left_out)
    relations = _relations(relation_rows, spans, left_out, doc_id, min_confidence, report)
    return Document(id=doc_id, text=text, spans=tuple(spans), relations=tuple(relations),
                    layers=frozenset({"entities", "relations"}), source=source, licence=licence,
                    meta={"title": row.get("title", ""), "url": row.get("sourceUrl", ""),
                          "overlapping_pairs": overlapping_pairs})


def _entity_candidates(rows: list[dict], text: str, doc_id: str, min_confidence: float, report: LoadReport,
                       left_out: dict[tuple[int, int], str]) -> list[_Candidate]:
    candidates = []
    for number, entity in enumerate(rows):
        start, end = int(entity["begin"]), int(entity["end"])
        confidence = float(entity.get("confidence", 1.0))
        if confidence < min_confidence:
            report.skip(f"entity below confidence {min_confidence}")
            left_out.setdefault((start, end), "entity below confidence")
            continue
        label = TYPE_MAP.get(entity["type"])
        if label is None:
            report.skip(f"entity type {entity['type']} not in the schema")
            left_out.setdefault((start, end), "entity type not in the schema")
            continue
        if not 0 <= start < end <= len(text):
            report.skip("entity offsets outside the text", f"{doc_id}: entity {entity['_id']} [{start}:{end}]")
            left_out.setdefault((start, end), "entity offsets outside the text")
            continue
        surface = text[start:end]
        if entity.get("value", surface) != surface:
            # A handful of rows store typographic quotes or newlines differently: the text is the truth.
            report.notes.append(f"{doc_id} [{start}:{end}]: entity value {entity.get('value')!r} differs from "
                                f"the text {surface!r}; kept the text")
        candidates.append(_Candidate(Span(str(entity["_id"]), start, end, surface, label), confidence, number))
    return candidates


def _resolve_overlaps(candidates: list[_Candidate], doc_id: str, report: LoadReport,
                      left_out: dict[tuple[int, int], str]) -> tuple[list[Span], int]:
    """A flat set of spans: greedily keep the longer, then higher-confidence, then earlier row.

    Returns the spans kept, in text order, and how many pairs of candidates overlapped.
    """
    ranked = sorted(candidates, key=lambda c: (-(c.span.end - c.span.start), -c.confidence, c.row))
    kept: list[_Candidate] = []
    for candidate in ranked:
        span = candidate.span
        winner = next((k for k in kept if span.start < k.span.end and k.span.start < span.end), None)
        if winner is None:
            kept.append(candidate)
            continue
        left_out.setdefault((span.start, span.end), "span dropped by overlap resolution")
        report.skip(_overlap_rule(winner, candidate),
                    f"{doc_id}: dropped {span.label} {span.text!r} [{span.start}:{span.end}], kept "
                    f"{winner.span.label} {winner.span.text!r} [{winner.span.start}:{winner.span.end}]")
    return sorted((k.span for k in kept), key=lambda s: (s.start, s.end)), _count_overlapping_pairs(candidates)


def _count_overlapping_pairs(candidates: list[_Candidate]) -> int:
    spans = sorted((c.span for c in candidates), key=lambda s: (s.start, s.end))
    pairs = 0
    for i, span in enumerate(spans):
        for later in spans[i + 1:]:
            if later.start >= span.end:
                break
            pairs += 1
    return pairs


def _overlap_rule(winner: _Candidate, loser: _Candidate) -> str:
    if winner.span.end - winner.span.start > loser.span.end - loser.span.start:
        return RULE_LONGER
    if winner.confidence > loser.confidence:
        return RULE_CONFIDENCE
    return RULE_ORDER


def _relations(rows: list[dict], spans: list[Span], left_out: dict[tuple[int, int], str], doc_id: str,
               min_confidence: float, report: LoadReport) -> list[Relation]:
    span_id_by_offsets = {(s.start, s.end): s.id for s in spans}
    relations: list[Relation] = []
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        if float(row.get("confidence", 1.0)) < min_confidence:
            report.skip(f"relation below confidence {min_confidence}")
            continue
        if row["type"] not in ENTITY_RELATION_LABELS:
            report.skip(f"relation type {row['type']} not in the schema")
            continue
        ends = [(int(row["sourceBegin"]), int(row["sourceEnd"])), (int(row["targetBegin"]), int(row["targetEnd"]))]
        head, tail = (span_id_by_offsets.get(offsets) for offsets in ends)
        if head is None or tail is None:
            lost = next(offsets for offsets in ends if offsets not in span_id_by_offsets)
            why = left_out.get(lost, "no entity at these offsets")
            report.skip(f"relation end not kept ({why})",
                        f"{doc_id}: {row['type']} {ends[0]} -> {ends[1]}: end {lost} not kept ({why})")
            continue
        key = (head, tail, row["type"])
        if key in seen:
            report.skip("duplicate relation")
            continue
        seen.add(key)
        relations.append(Relation(head, tail, row["type"]))
    return relations


def overlap_summary(documents: list[Document], report: LoadReport) -> str:
    """One line: how many span pairs overlapped, and how many spans each rule dropped to flatten them."""
    pairs = sum(document.meta.get("overlapping_pairs", 0) for document in documents)
    counts = {rule: report.skipped.get(rule, 0) for rule in (RULE_LONGER, RULE_CONFIDENCE, RULE_ORDER)}
    parts = ", ".join(f"{rule.removeprefix('overlap: ')} {n}" for rule, n in counts.items() if n)
    return (f"  overlaps: {pairs} overlapping pairs resolved, {sum(counts.values())} spans dropped"
            + (f" ({parts})" if parts else ""))
