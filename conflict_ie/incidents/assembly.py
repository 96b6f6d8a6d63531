"""Incident assembly: decoded triggers, entities and relations -> one Incident record per incident.

Triggers that the model links with ``same_incident`` form one incident. On top of those links, a later trigger
cluster joins an earlier one of the same ACLED event type when the two share a role filler (same attacker, place
or victim text), or when the later one is a bare anaphor ("the attack", "the strikes") with no filler of its own:
articles restate one incident many times, and one record per incident is what analysts count.
"""

from __future__ import annotations

import datetime as dt
import re

from .counts import parse_count
from .dates import resolve_date
from .places import resolve_places
from ..records import Incident, RelationPrediction, SpanPrediction
from ..schema import ACLED_TYPES, ROLE_FIELDS

# Roles whose shared filler text marks two trigger clusters as mentions of one incident.
MERGE_ROLES = ("attacker", "place", "victim", "target")
_ANAPHOR = re.compile(r"(?:\bthe|\bthis|\bthat|\bthese|\bthose)\s+(?:\w+\s+)?$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?\u201d\"])\s+(?=[\"\u201c\u2018'(A-Z0-9])|\n+")


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence character ranges: a cut after ., ! or ? before a capital, and at every line break."""
    ranges, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if text[start:match.start()].strip():
            ranges.append(_strip_range(text, start, match.start()))
        start = match.end()
    if text[start:].strip():
        ranges.append(_strip_range(text, start, len(text)))
    return ranges


def _strip_range(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def assemble(text: str, entities: tuple[SpanPrediction, ...], triggers: tuple[SpanPrediction, ...],
             relations: tuple[RelationPrediction, ...], publication_date: dt.date | None = None,
             merge_heuristics: bool = True) -> tuple[Incident, ...]:
    """Group triggers into incidents and fill each incident's roles from the relations."""
    if not triggers:
        return ()
    key = lambda span: (span.start, span.end)  # noqa: E731 - spans are identified by their offsets
    index = {key(t): i for i, t in enumerate(triggers)}
    parent = list(range(len(triggers)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the earliest trigger stays the representative

    roles_by_trigger: dict[int, list[RelationPrediction]] = {i: [] for i in range(len(triggers))}
    for relation in relations:
        head = index.get(key(relation.head))
        if head is None:
            continue
        if relation.label == "same_incident":
            tail = index.get(key(relation.tail))
            if tail is not None:
                union(head, tail)
        elif relation.label in ROLE_FIELDS:
            roles_by_trigger[head].append(relation)

    if merge_heuristics:
        _merge_compatible(text, triggers, roles_by_trigger, find, union)

    clusters: dict[int, list[int]] = {}
    for i in range(len(triggers)):
        clusters.setdefault(find(i), []).append(i)
    locations = tuple(e for e in entities if e.label == "Location")
    sentence_ranges = sentences(text)
    incidents = [
        _incident(text, [triggers[i] for i in members], [r for i in members for r in roles_by_trigger[i]],
                  locations, sentence_ranges, publication_date)
        for _, members in sorted(clusters.items())
    ]
    return tuple(incidents)


def _merge_compatible(text, triggers, roles_by_trigger, find, union) -> None:
    """Join each later trigger to the earliest compatible cluster (kept as sets, so long articles stay fast)."""
    def fillers(i: int) -> set[tuple[str, str]]:
        return {(r.label, r.tail.text.lower()) for r in roles_by_trigger[i] if r.label in MERGE_ROLES}

    cluster_fillers: dict[int, set] = {}
    for i in range(len(triggers)):
        cluster_fillers.setdefault(find(i), set()).update(fillers(i))
    for later in range(1, len(triggers)):
        later_type = ACLED_TYPES[triggers[later].label].event_type
        own = fillers(later)
        is_anaphor = bool(_ANAPHOR.search(text[max(0, triggers[later].start - 40):triggers[later].start]))
        later_root = find(later)
        for root in sorted({find(i) for i in range(later)}):
            if root == later_root or ACLED_TYPES[triggers[root].label].event_type != later_type:
                continue
            # a bare trigger (no roles of its own: "the strikes", "shelling") is a further mention, not a record
            bare = not roles_by_trigger[later]
            if own & cluster_fillers.get(root, set()) or bare or (is_anaphor and not own):
                merged = cluster_fillers.pop(later_root, set()) | cluster_fillers.pop(root, set())
                union(root, later)
                cluster_fillers[find(root)] = merged
                break


def _incident(text, triggers, roles, locations, sentence_ranges, publication_date) -> Incident:
    by_role: dict[str, list[SpanPrediction]] = {label: [] for label in ROLE_FIELDS}
    for relation in sorted(roles, key=lambda r: (r.tail.start, r.tail.end)):
        bucket = by_role[relation.label]
        if all((s.start, s.end) != (relation.tail.start, relation.tail.end) for s in bucket):
            bucket.append(relation.tail)
    weights: dict[str, float] = {}
    for trigger in triggers:
        weights[trigger.label] = weights.get(trigger.label, 0.0) + trigger.score
    incident_type = max(weights, key=lambda label: (weights[label], -triggers.index(
        next(t for t in triggers if t.label == label))))
    acled = ACLED_TYPES[incident_type]
    evidence = []
    for start, end in sentence_ranges:
        if any(start <= t.start < end for t in triggers):
            evidence.append(SpanPrediction(start, end, text[start:end], "sentence", 1.0))
    return Incident(
        type=incident_type,
        event_type=acled.event_type,
        sub_event_type=acled.sub_event_type,
        triggers=tuple(sorted(triggers, key=lambda t: t.start)),
        dates=tuple(resolve_date(span, publication_date) for span in by_role["time"]),
        places=tuple(resolve_places(by_role["place"], text, list(locations))),
        attackers=tuple(by_role["attacker"]),
        targets=tuple(by_role["target"]),
        victims=tuple(by_role["victim"]),
        instruments=tuple(by_role["instrument"]),
        fatalities=tuple(parse_count(span) for span in by_role["killed_count"]),
        injuries=tuple(parse_count(span) for span in by_role["injured_count"]),
        sources=tuple(by_role["reported_by"]),
        confidence=round(sum(t.score for t in triggers) / len(triggers), 4),
        evidence=tuple(evidence),
    )

