"""MUC-4 (the MUC-3/MUC-4 terrorism corpus, in the GTT packaging) -> typed Documents with role-filler spans.

What is read, under the MUC-4 root (``<data root>/muc4``):

- ``processed/train.json`` then ``processed/dev.json`` (JSON Lines: docid, doctext lower-cased, templates with an
  incident_type and the roles PerpInd, PerpOrg, Target, Victim, Weapon, each a list of entities, each entity a list of
  [mention string, offset of its first occurrence]). One Document per line: ``text`` is doctext exactly,
  ``layers = {"role_fillers"}`` (MUC-4 annotates nothing else), ``meta["split"]`` is "train" or "dev".
- ``raw/*/key-*``: the original answer keys (upper case, one template per block starting ``0.  MESSAGE: ID``,
  continuation lines, ``;`` comments). They give each processed template its date, location and casualty counts.
- ``raw/*/`` texts (``dev-muc3-*``, ``tst1-muc3``, ``tst2-muc4``): the dateline ("SAN SALVADOR, 3 JAN 90 (RADIO ...)
  --") gives ``meta["publication_date"]`` (ISO), so relative dates can be resolved.

Rules (every skip is counted by reason in the LoadReport, with a note naming the document):

1. Spans. Each mention string of each role-filler entity is tagged at EVERY place it occurs in the text (case
   insensitive, on word boundaries, any run of whitespace matching any other), not only at its first-occurrence
   offset, with the label PerpInd -> AttackerIndividual, PerpOrg -> AttackerOrganisation, Target -> Target,
   Victim -> Victim, Weapon -> Instrument. Identical (start, end, label) candidates are one span. A mention that
   does not occur is counted once per document ("mention not in text", or "mention only inside longer words" when
   it occurs only as a part of a word, which a span cannot tag).
2. Flat spans, one rule: the longer span wins; of two equally long ones the earlier wins; the same span in two
   roles keeps the role first in ROLE_PRIORITY. Each dropped candidate is counted by which part of the rule dropped
   it.
3. Templates. ``meta["muc4_templates"]`` holds the processed templates in their order, in the format the MUC-4
   template scorer reads (see ``template_record``). Each is matched one to one to a raw key template of the same
   document: the incident types must share a type, and a template with fillers must share at least one filler
   string with the key template (compared lower case, punctuation ignored). Pairs are taken best first (most shared
   fillers, then nearest position). An unmatched template gets None for date, location, killed and injured, and is
   counted by reason. ``meta["muc4_key_templates"]`` is the number of raw key templates (optional ones included,
   and counted again in ``meta["muc4_key_optional_templates"]``); None when the key lacks the document.
4. Raw slots (``parse_date``, ``parse_location``, ``parse_casualties`` say exactly how): "-" (no value) gives None;
   alternatives separated by "/" are all kept for date and location; a leading "?" (optional) is dropped for them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, data_root
from .document import Document, LoadReport, Span

SOURCE = "MUC-4"
SPLIT_FILES = (("train", "processed/train.json"), ("dev", "processed/dev.json"))

ROLE_LABELS: dict[str, str] = {
    "PerpInd": "AttackerIndividual",
    "PerpOrg": "AttackerOrganisation",
    "Target": "Target",
    "Victim": "Victim",
    "Weapon": "Instrument",
}
TEMPLATE_KEYS = frozenset({"incident_type", *ROLE_LABELS})
# The same span filling two roles keeps one: people hurt (Victim) and things hit (Target) are what an incident is
# about and rarer than perpetrators; an organisation name is more often the organisation than "an individual".
ROLE_PRIORITY: tuple[str, ...] = ("Victim", "Target", "AttackerOrganisation", "AttackerIndividual", "Instrument")

RULE_LONGER = "overlap: dropped the shorter span"
RULE_EARLIER = "overlap: same length, dropped the later span"
RULE_ROLE = "overlap: same span in two roles, dropped the lower-priority role"

# Raw answer-key slots.
SLOT_TEMPLATE = "MESSAGE: TEMPLATE"
SLOT_DATE = "INCIDENT: DATE"
SLOT_LOCATION = "INCIDENT: LOCATION"
SLOT_TYPE = "INCIDENT: TYPE"
SLOT_HUM_NUMBER = "HUM TGT: NUMBER"
SLOT_HUM_EFFECT = "HUM TGT: EFFECT OF INCIDENT"
# The slots whose strings the processed roles were drawn from (weapon, perpetrators, targets, victims).
FILLER_SLOTS = ("INCIDENT: INSTRUMENT ID", "PERP: INDIVIDUAL ID", "PERP: ORGANIZATION ID", "PHYS TGT: ID",
                "HUM TGT: NAME", "HUM TGT: DESCRIPTION")

MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SLOT_LINE = re.compile(r"^(\d+)\.\s+(.+?)(?:\s{2,}(.*))?$")
_TEXT_HEADER = re.compile(r"^([A-Z0-9]+-MUC\d-\d{4})(?:\s+\(.*\))?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class KeyTemplate:
    """One template of a raw answer key: its slots by name, each a tuple of value lines (continuations included)."""

    docid: str
    optional: bool
    slots: dict[str, tuple[str, ...]]
    where: str  # file:line of its first line, for notes

    def value(self, slot: str) -> str:
        """The slot's value on one line; a continuation line is a further alternative (joined with " / ")."""
        return " / ".join(line for line in self.slots.get(slot, ()) if line).strip()


def default_root() -> Path:
    """$CONFLICT_IE_DATA/muc4, else ../shared/data/muc4 beside the repository."""
    return data_root(Config()) / "muc4"


def muc4_files(root: str | Path) -> list[Path]:
    """Every file the loader reads under ``root`` (for data hashes)."""
    root = Path(root)
    processed = [root / name for _, name in SPLIT_FILES if (root / name).is_file()]
    licence = [root / "LICENSE.gtt-packaging"] if (root / "LICENSE.gtt-packaging").is_file() else []
    return processed + licence + _key_files(root) + _text_files(root)


def load_muc4(root: str | Path, report: LoadReport | None = None) -> list[Document]:
    """The documents of processed/train.json then processed/dev.json, with raw-key values; skips counted."""
    root = Path(root)
    report = report if report is not None else LoadReport(source=f"MUC-4 ({root})")
    if not (root / SPLIT_FILES[0][1]).is_file():
        raise FileNotFoundError(f"{root}: no MUC-4 corpus here (expected {SPLIT_FILES[0][1]})")
    licence = licence_note(root)
    keys: dict[str, list[KeyTemplate]] = {}
    for path in _key_files(root):
        for template in parse_answer_key(path.read_text(encoding="latin-1"), str(path)):
            # A "*" block still says the key covers the document: it has no templates, not a missing key.
            templates = keys.setdefault(template.docid, [])
            if has_template(template):
                templates.append(template)
    datelines: dict[str, str] = {}
    for path in _text_files(root):
        datelines.update(read_datelines(path.read_text(encoding="latin-1")))
    documents: list[Document] = []
    seen: set[str] = set()
    for split, name in SPLIT_FILES:
        path = root / name
        if not path.is_file():
            report.skip(f"split file missing: {name}", f"{path} does not exist")
            continue
        for where, row in read_processed(path):
            if row["docid"] in seen:
                raise ValueError(f"{where}: document {row['docid']} appears twice")
            seen.add(row["docid"])
            document = _document(row, split, licence, keys.get(row["docid"]), datelines.get(row["docid"]), report)
            report.count_document(document)
            documents.append(document)
    return documents


def licence_note(root: Path) -> str:
    """A short licence note: the packaging's licence and copyright line from LICENSE.gtt-packaging."""
    path = root / "LICENSE.gtt-packaging"
    if not path.is_file():
        return "unknown (no LICENSE.gtt-packaging)"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    copyright_line = next((line for line in lines if line.lower().startswith("copyright")), "")
    packaging = f"{lines[0]}, {copyright_line}" if copyright_line else lines[0]
    return f"GTT packaging: {packaging}; MUC-4 texts and answer keys: US government material"


def _key_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "raw").glob("*/key-*") if p.is_file())


def _text_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "raw").glob("*/*-muc[0-9]*") if p.is_file() and not p.name.startswith("key-"))


# ---------------------------------------------------------------- processed files


def read_processed(path: Path) -> list[tuple[str, dict]]:
    """(file:line (docid), row) for each line of a processed file, checked; bad input raises ValueError naming it."""
    rows = []
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON: {error}") from error
        if not isinstance(row, dict) or not isinstance(row.get("docid"), str) \
                or not isinstance(row.get("doctext"), str) or not isinstance(row.get("templates"), list):
            raise ValueError(f"{where}: expected an object with docid, doctext (strings) and templates (a list)")
        where = f"{where} ({row['docid']})"
        for index, template in enumerate(row["templates"]):
            _check_template(template, row["doctext"], f"{where} template {index}")
        rows.append((where, row))
    return rows


def _check_template(template, text: str, where: str) -> None:
    if not isinstance(template, dict):
        raise ValueError(f"{where}: a template must be an object")
    unknown = set(template) - TEMPLATE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown role key(s) {sorted(unknown)}; expected {sorted(TEMPLATE_KEYS)}")
    missing = TEMPLATE_KEYS - set(template)
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")
    if not isinstance(template["incident_type"], str):
        raise ValueError(f"{where}: incident_type must be a string")
    for role in ROLE_LABELS:
        entities = template[role]
        if not isinstance(entities, list) or not all(isinstance(entity, list) for entity in entities):
            raise ValueError(f"{where}: {role} must be a list of entities, each a list of [mention, offset]")
        for entity in entities:
            for mention in entity:
                if not (isinstance(mention, list) and len(mention) == 2 and isinstance(mention[0], str)
                        and isinstance(mention[1], int)):
                    raise ValueError(f"{where}: {role} mention {mention!r} is not [string, offset]")
                string, offset = mention
                if not 0 <= offset <= offset + len(string) <= len(text):
                    raise ValueError(f"{where}: {role} mention {string!r} at offset {offset} lies outside the "
                                     f"text ({len(text)} characters)")


def _document(row: dict, split: str, licence: str, key_templates: list[KeyTemplate] | None,
              dateline: str | None, report: LoadReport) -> Document:
    docid, text, templates = row["docid"], row["doctext"], row["templates"]
    publication = _publication_date(docid, dateline, report)
    spans = _flatten(_candidates(docid, text, templates, report), text, docid, report)
    matched = match_templates(docid, templates, key_templates, report)
    meta = {
        "split": split,
        "muc4_templates": [template_record(t, k, publication, docid, report) for t, k in zip(templates, matched)],
        "muc4_key_templates": len(key_templates) if key_templates is not None else None,
        "muc4_key_optional_templates": sum(k.optional for k in key_templates) if key_templates is not None else None,
    }
    if publication is not None:
        meta["publication_date"] = publication.isoformat()
    return Document(id=docid, text=text, spans=tuple(spans), relations=(), layers=frozenset({"role_fillers"}),
                    source=SOURCE, licence=licence, meta=meta)


# ---------------------------------------------------------------- spans


def mention_pattern(mention: str, whole_words: bool = True) -> re.Pattern:
    """A case-insensitive pattern for a mention: any whitespace run matches any other; on word boundaries."""
    body = r"\s+".join(re.escape(word) for word in mention.split())
    return re.compile(r"(?<!\w)" + body + r"(?!\w)" if whole_words else body, re.IGNORECASE)


def _candidates(docid: str, text: str, templates: list[dict], report: LoadReport) -> set[tuple[int, int, str]]:
    """Every occurrence of every mention of every role filler, as (start, end, label); a set, so duplicates merge."""
    candidates: set[tuple[int, int, str]] = set()
    searched: dict[str, list[tuple[int, int]]] = {}
    for template in templates:
        for role, label in ROLE_LABELS.items():
            for entity in template[role]:
                for mention, _offset in entity:
                    if mention not in searched:
                        searched[mention] = _occurrences(docid, text, mention, role, report)
                    candidates.update((start, end, label) for start, end in searched[mention])
    return candidates


def _occurrences(docid: str, text: str, mention: str, role: str, report: LoadReport) -> list[tuple[int, int]]:
    if not mention.strip():
        report.skip("empty mention", f"{docid}: empty {role} mention")
        return []
    found = [match.span() for match in mention_pattern(mention).finditer(text)]
    if not found:
        # A span cannot cover part of a word, so a mention found only inside longer words is lost: say which.
        inside = mention_pattern(mention, whole_words=False).search(text) is not None
        reason = "mention only inside longer words" if inside else "mention not in text"
        report.skip(reason, f"{docid}: {role} {mention!r} ({reason})")
    return found


def _flatten(candidates: set[tuple[int, int, str]], text: str, docid: str, report: LoadReport) -> list[Span]:
    """Flat spans by one rule: longer first, then earlier, then the role first in ROLE_PRIORITY; the rest dropped."""
    ranked = sorted(candidates, key=lambda c: (c[0] - c[1], c[0], ROLE_PRIORITY.index(c[2])))
    kept: list[tuple[int, int, str]] = []
    for start, end, label in ranked:
        winner = next((k for k in kept if start < k[1] and k[0] < end), None)
        if winner is None:
            kept.append((start, end, label))
            continue
        if (winner[0], winner[1]) == (start, end):
            rule = RULE_ROLE
        elif winner[1] - winner[0] > end - start:
            rule = RULE_LONGER
        else:
            rule = RULE_EARLIER
        report.skip(rule, f"{docid}: dropped {label} {start}:{end}, kept {winner[2]} {winner[0]}:{winner[1]}")
    kept.sort()
    return [Span(f"s{number}", start, end, text[start:end], label)
            for number, (start, end, label) in enumerate(kept, start=1)]


# ---------------------------------------------------------------- templates


def template_record(template: dict, key: KeyTemplate | None, publication: dt.date | None, docid: str,
                    report: LoadReport) -> dict:
    """A processed template in the scorer's format, with date, location and counts from its raw key template:

        {"incident_type": "attack",          # several types joined with " / " ("bombing / attack")
         "PerpInd": [["guerrillas", "guerrilla column"], ...],   # entities, each a list of its mention strings
         "PerpOrg": [...], "Target": [...], "Victim": [...], "Weapon": [...],
         "date": [{"earliest": "1990-02-02", "latest": "1990-02-02"}, ...] or None,
         "location": [["guatemala", "santo tomas"], ...] or None,
         "killed": {"minimum": 1, "maximum": 1} or None,
         "injured": {"minimum": 0, "maximum": 0} or None}

    The last four are None where the key has no value or the template matched no key template.
    """
    record: dict = {"incident_type": " / ".join(_types_in_order(template["incident_type"]))}
    for role in ROLE_LABELS:
        record[role] = [[mention for mention, _offset in entity] for entity in template[role]]
    if key is None:
        return record | {"date": None, "location": None, "killed": None, "injured": None}
    problems: list[str] = []
    record["date"] = parse_date(key.value(SLOT_DATE), publication, problems)
    for problem in problems:
        report.skip(f"key date: {problem.partition(':')[0]}", f"{docid} ({key.where}): {problem}")
    record["location"] = parse_location(key.value(SLOT_LOCATION))
    record |= parse_casualties(key.slots.get(SLOT_HUM_NUMBER, ()), key.slots.get(SLOT_HUM_EFFECT, ()))
    return record


def match_templates(docid: str, templates: list[dict], key_templates: list[KeyTemplate] | None,
                    report: LoadReport) -> list[KeyTemplate | None]:
    """The raw key template of each processed template (None where none fits), one to one.

    A pair fits when the incident types share a type and, for a template with fillers, they share a filler string.
    Pairs are taken best first: the most shared filler strings, then the nearest position in the document's list.
    """
    if key_templates is None:
        for index, _ in enumerate(templates):
            report.skip("template: no raw answer key for the document", f"{docid}: template {index}")
        return [None] * len(templates)
    pairs = []
    for i, template in enumerate(templates):
        fillers = {_normalise(m) for role in ROLE_LABELS for entity in template[role] for m, _ in entity}
        for j, key in enumerate(key_templates):
            if not set(_types_in_order(template["incident_type"])) & set(_types_in_order(key.value(SLOT_TYPE))):
                continue
            shared = len(fillers & key_filler_strings(key))
            if fillers and not shared:
                continue
            pairs.append((-shared, abs(i - j), i, j))
    matched: list[KeyTemplate | None] = [None] * len(templates)
    taken: set[int] = set()
    for _, _, i, j in sorted(pairs):
        if matched[i] is None and j not in taken:
            matched[i] = key_templates[j]
            taken.add(j)
    for i, template in enumerate(templates):
        if matched[i] is None:
            fits = [j for _, _, pi, j in pairs if pi == i]
            types = set(_types_in_order(template["incident_type"]))
            if fits:
                reason = "template: every fitting key template matched another"
            elif any(types & set(_types_in_order(k.value(SLOT_TYPE))) for k in key_templates):
                reason = "template: no key template of its type shares a filler"
            else:
                reason = "template: no key template of its incident type"
            report.skip(reason, f"{docid}: template {i} ({template['incident_type']})")
    return matched


def key_filler_strings(key: KeyTemplate) -> set[str]:
    """The normalised filler strings of a key template's perpetrator, target, victim and weapon slots."""
    strings = set()
    for slot in FILLER_SLOTS:
        for line in key.slots.get(slot, ()):
            quoted = _QUOTED.findall(line)
            # A few keys leave a filler unquoted (PERP: INDIVIDUAL ID  GUERRILLAS): the line is the string.
            bare = _strip_optional(line)
            strings.update(_normalise(s) for s in quoted or ([bare] if bare not in ("", "-", "*") else []))
    return strings


def _types_in_order(value: str) -> list[str]:
    return [t.strip().lower() for t in _strip_optional(value).split("/") if t.strip()]


def _normalise(string: str) -> str:
    """Lower case, escaped quotes and punctuation gone, whitespace collapsed: how filler strings are compared."""
    return " ".join(re.sub(r"[^\w]+", " ", string.replace('\\"', '"').lower()).split())


def _strip_optional(value: str) -> str:
    """The value without the leading "?" that marks an optional template, filler or value."""
    return value.strip().removeprefix("?").strip()


# ---------------------------------------------------------------- raw answer keys


def parse_answer_key(text: str, source: str = "answer key") -> list[KeyTemplate]:
    """Every template block of a raw answer key, "*" blocks (a document without templates) included.

    Slot lines read ``N.  NAME    VALUE`` (the name and value separated by two or more spaces); a line starting with
    whitespace continues the slot above as a further value line; lines starting with ";" are comments.
    """
    blocks: list[tuple[str, str, dict[str, list[str]]]] = []
    slot = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        match = _SLOT_LINE.match(line)
        if match:
            name, value = match.group(2).strip(), (match.group(3) or "").strip()
            if match.group(1) == "0":
                if not value:
                    raise ValueError(f"{source}:{number}: MESSAGE: ID without a document id")
                blocks.append((value.split()[0], f"{source}:{number}", {}))
            elif not blocks:
                raise ValueError(f"{source}:{number}: slot {name!r} before the first '0.  MESSAGE: ID' line")
            slot = name
            blocks[-1][2].setdefault(slot, []).append(value)
        elif line[0].isspace() and blocks and slot is not None:
            blocks[-1][2][slot].append(line.strip())
        else:
            raise ValueError(f"{source}:{number}: neither a slot line nor a continuation line: {line.strip()!r}")
    templates = []
    for docid, where, slots in blocks:
        number = " ".join(slots.get(SLOT_TEMPLATE, ["*"])).strip()
        templates.append(KeyTemplate(docid, "OPTIONAL" in number.upper(),
                                     {name: tuple(lines) for name, lines in slots.items()}, where))
    return templates


def has_template(key: KeyTemplate) -> bool:
    """False for a "*" block: the key says the document reports no relevant incident."""
    return key.value(SLOT_TEMPLATE) not in ("", "*")


def split_alternatives(value: str) -> list[str]:
    """Split a slot value at the "/" that separate alternatives: not inside parentheses or quotes."""
    parts, current, depth, quoted, escaped = [], [], 0, False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth = max(depth - 1, 0)
        elif not quoted and depth == 0 and char == "/":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _unwrap(value: str) -> str:
    """The value without parentheses that enclose all of it: "(EL SALVADOR: X (CITY))" -> "EL SALVADOR: X (CITY)"."""
    value = value.strip()
    while value.startswith("(") and value.endswith(")"):
        depth = 0
        for index, char in enumerate(value):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and index < len(value) - 1:
                return value  # the first "(" closes before the end: "(CITY) X (TOWN)"
        value = value[1:-1].strip()
    return value


def parse_date(value: str, publication: dt.date | None = None, problems: list[str] | None = None) -> list[dict] | None:
    """INCIDENT: DATE as alternatives {"earliest", "latest"} (ISO dates, None for an open end); None for "-".

    "02 FEB 90" is one day; "- 30 DEC 89" on or before; "02 FEB 90 -" on or after; "26 JAN 90 - 02 FEB 90" a range;
    alternatives are separated by "/" and may be parenthesised. Two-digit years are 19YY. A date without a year
    ("11 NOV") takes the publication year, or the year before when that would fall after publication. Full month
    names and "MMM DD" are read too. An alternative that cannot be read is left out and described in ``problems``
    ("reason: value").
    """
    problems = problems if problems is not None else []
    value = value.strip()
    if value in ("", "-", "*"):
        return None
    alternatives = []
    for alternative in split_alternatives(value):
        alternative = _strip_optional(_unwrap(alternative))
        ends = alternative.split("-")
        if len(ends) > 2:
            problems.append(f"not understood: {alternative!r}")
            continue
        try:
            days = [_day(end, publication) if end.strip() else None for end in ends]
        except ValueError as error:
            problems.append(f"{error}: {alternative!r}")
            continue
        earliest, latest = (days[0], days[0]) if len(days) == 1 else days
        if earliest is None and latest is None:
            problems.append(f"not understood: {alternative!r}")
        elif earliest is not None and latest is not None and earliest > latest:
            problems.append(f"range ends before it starts: {alternative!r}")
        else:
            entry = {"earliest": earliest and earliest.isoformat(), "latest": latest and latest.isoformat()}
            if entry not in alternatives:
                alternatives.append(entry)
    return alternatives or None


def _day(text: str, publication: dt.date | None) -> dt.date:
    """One date: "02 FEB 90", "2 FEBRUARY 1990", "FEB 2 90", "02 FEB" (year from the publication date)."""
    parts = day_month_year(text)
    if parts is None:
        raise ValueError("not understood")
    day, month, year = parts
    if year is None:
        if publication is None:
            raise ValueError("no year and no publication date")
        year = publication.year if (month, day) <= (publication.month, publication.day) else publication.year - 1
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError("not a calendar date") from None


def day_month_year(text: str) -> tuple[int, int, int | None] | None:
    """(day, month, year or None) of "3 JAN 90", "18 APRIL 89", "JUNE 11 89", "7 FEB"; None if not a date."""
    day = month = year = None
    for word in text.replace(",", " ").replace(".", " ").split():
        if word.isalpha():
            number = MONTHS.get(word[:3].upper())
            if month is not None or number is None or not calendar.month_name[number].upper().startswith(
                    word.upper()) and len(word) != 3:
                return None
            month = number
        elif word.isdigit() and day is None:
            day = int(word)
        elif word.isdigit() and year is None:
            year = int(word) + (1900 if len(word) <= 2 else 0)
        else:
            return None
    if day is None or month is None:
        return None
    return day, month, year


def parse_location(value: str) -> list[list[str]] | None:
    """INCIDENT: LOCATION as alternative paths from country to most specific place, lower case; None for "-".

    "GUATEMALA: SANTO TOMAS (FARM)" -> [["guatemala", "santo tomas"]]: parts separated by ":", type tags in
    parentheses removed; alternatives ("(A) / (B)", "COLOMBIA / VENEZUELA") each give a path. A part naming a
    stretch ("ANDAHUA (TOWN) - AREQUIPA (CITY)") stays one part: "andahua - arequipa".
    """
    value = value.strip()
    if value in ("", "-", "*"):
        return None
    paths: list[list[str]] = []
    for alternative in split_alternatives(value):
        untagged = re.sub(r"\([^()]*\)", " ", _strip_optional(_unwrap(alternative)))
        path = [" ".join(part.split()).lower() for part in untagged.split(":") if part.strip()]
        if path and path not in paths:
            paths.append(path)
    return paths or None


# Effects that state nobody in a filler was killed / injured.
_NO_EFFECT = {"DEATH": frozenset({"NO DEATH", "NO INJURY OR DEATH"}),
              "INJURY": frozenset({"NO INJURY", "NO INJURY OR DEATH"})}


def parse_casualties(numbers: tuple[str, ...], effects: tuple[str, ...]) -> dict[str, dict | None]:
    """{"killed": ..., "injured": ...} from the HUM TGT: NUMBER and HUM TGT: EFFECT OF INCIDENT lines.

    Each effect line names its human targets ('DEATH: "JESUITS" / "JESUIT PRIESTS"'); its number is the NUMBER
    line naming one of the same strings. Killed sums, over the targets whose effect is DEATH, their number range:
    "6" -> 6..6; "~6" (about) -> 6..6; "PLURAL" -> 2..open; "5-" (at least) -> 5..open; "-26" (at most) -> 1..26;
    "3 - 5" -> 3..5; no number line -> 1..open; of alternatives ("10 / 10- / PLURAL") the first, the key's preferred
    fill, counts. A target that only may count (a "?" on its number or effect, or an effect with alternatives such as
    "INJURY / DEATH") adds to the maximum only. None when no target's effect mentions DEATH, except that an effect
    stating NO DEATH or NO INJURY OR DEATH (and no death elsewhere) gives 0..0. An open maximum is None.
    Injured: the same for INJURY (NO INJURY, NO INJURY OR DEATH give 0..0).
    """
    counted = [_split_reference(line) for line in numbers]
    number_of = [(refs, parse_number(value)) for value, refs in counted]  # by line, to pair lines by position
    return {"killed": _casualty_count("DEATH", number_of, effects),
            "injured": _casualty_count("INJURY", number_of, effects)}


def _casualty_count(effect: str, number_of: list, effects: tuple[str, ...]) -> dict | None:
    minimum, maximum, mentioned, stated_none = 0, 0, False, False
    for index, line in enumerate(effects):
        value, refs = _split_reference(line)
        optional = value.startswith("?")
        states = {state.strip() for state in split_alternatives(_unwrap(_strip_optional(value)))}
        if effect in states:
            mentioned = True
            low, high, number_optional = _number_for(index, refs, number_of) or (1, None, False)
            if states == {effect} and not optional and not number_optional:
                minimum += low
            maximum = None if maximum is None or high is None else maximum + high
        elif states and states <= _NO_EFFECT[effect] and not optional:
            stated_none = True
    if mentioned:
        return {"minimum": minimum, "maximum": maximum}
    return {"minimum": 0, "maximum": 0} if stated_none else None


def _number_for(index: int, refs: frozenset[str], number_of: list) -> tuple[int, int | None, bool] | None:
    """The number of the effect line at ``index`` naming ``refs``: the NUMBER line naming one of the same strings;
    when several do (two fillers "PEASANTS", one killed and one injured), the one at the same position."""
    fitting = [(position, number) for position, (r, number) in enumerate(number_of) if r & refs and number]
    return next((n for position, n in fitting if position == index), fitting[0][1] if fitting else None)


def parse_number(value: str) -> tuple[int, int | None, bool] | None:
    """(minimum, maximum or None when open, optional) of a HUM TGT: NUMBER value; None for "-" or unreadable."""
    optional = value.strip().startswith("?")
    alternatives = split_alternatives(_strip_optional(value))
    if not alternatives:
        return None
    first = _unwrap(alternatives[0]).replace(" ", "")
    if first == "PLURAL":
        return 2, None, optional
    if match := re.fullmatch(r"~?(\d+)", first):
        return int(match.group(1)), int(match.group(1)), optional
    if match := re.fullmatch(r"(\d+)-(\d+)", first):
        return int(match.group(1)), int(match.group(2)), optional
    if match := re.fullmatch(r"(\d+)-", first):
        return int(match.group(1)), None, optional
    if match := re.fullmatch(r"-(\d+)", first):
        return min(1, int(match.group(1))), int(match.group(1)), optional
    return None


def _split_reference(line: str) -> tuple[str, frozenset[str]]:
    """'DEATH: "JESUITS" / "PRIESTS"' -> ("DEATH", {"jesuits", "priests"}); a line without strings -> (line, {})."""
    quote = line.find('"')
    if quote < 0:
        return line.strip(), frozenset()
    value = line[:quote].strip().removesuffix(":").strip()
    return value, frozenset(" ".join(s.replace('\\"', '"').lower().split()) for s in _QUOTED.findall(line[quote:]))


# ---------------------------------------------------------------- publication dates


def read_datelines(text: str) -> dict[str, str]:
    """docid -> its dateline (the words between the document id line and the first "--"), from a raw text file."""
    datelines = {}
    headers = list(_TEXT_HEADER.finditer(text))
    for header, following in zip(headers, headers[1:] + [None]):
        body = text[header.end():following.start() if following else len(text)]
        datelines[header.group(1)] = " ".join(body.partition("--")[0].split())
    return datelines


def publication_date(dateline: str) -> tuple[dt.date | None, str | None]:
    """(date, None) from a dateline such as "SAN SALVADOR, 3 JAN 90 (RADIO VENCEREMOS)", or (None, why not)."""
    # The date follows the place's comma and precedes the source in parentheses (a few open it with "[").
    date_part = re.split(r"[(\[]", dateline.partition(",")[2])[0].strip()
    if date_part.upper().startswith("NO DATE"):
        return None, "dateline says NO DATE"
    parts = day_month_year(date_part)
    if parts is None:
        return None, "dateline not understood"
    day, month, year = parts
    if year is None:
        return None, "dateline without a year"
    try:
        return dt.date(year, month, day), None
    except ValueError:
        return None, "dateline not a calendar date"


def _publication_date(docid: str, dateline: str | None, report: LoadReport) -> dt.date | None:
    if dateline is None:
        report.skip("publication date: no raw text for the document", f"{docid}: no raw text, no dateline")
        return None
    date, why = publication_date(dateline)
    if date is None:
        report.skip(f"publication date: {why}", f"{docid}: {why}: {dateline[:80]!r}")
    return date


def template_summary(documents: list[Document], report: LoadReport) -> str:
    """Lines for the CLI: templates per split, how many got each raw-key value, and flattening counts."""
    lines = []
    for split in ("train", "dev"):
        records = [r for d in documents if d.meta.get("split") == split for r in d.meta["muc4_templates"]]
        docs = [d for d in documents if d.meta.get("split") == split]
        with_value = {field: sum(r[field] is not None for r in records)
                      for field in ("date", "location", "killed", "injured")}
        dated = sum("publication_date" in d.meta for d in docs)
        lines.append(f"  {split}: {len(docs)} documents ({dated} with a publication date), {len(records)} templates; "
                     + ", ".join(f"with {field} {n}" for field, n in with_value.items()))
    dropped = {rule: report.skipped.get(rule, 0) for rule in (RULE_LONGER, RULE_EARLIER, RULE_ROLE)}
    lines.append(f"  overlaps: {sum(dropped.values())} spans dropped ("
                 + ", ".join(f"{rule.removeprefix('overlap: ')} {n}" for rule, n in dropped.items()) + ")")
    return "\n".join(lines)
