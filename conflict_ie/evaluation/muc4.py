"""MUC-4 template scoring as published (the GTT / IterX template metric), and our incident records as MUC-4 templates.

The metric. Each document has gold templates and predicted templates. Within a document, predicted templates are
aligned one to one with gold templates; only a pair whose incident types match may align (a gold type such as
"attack / bombing" matches any of its parts), and of all such alignments the one with the most correct slots is
taken. Slots:

* incident type: one slot per template, correct for every aligned pair;
* each of the roles PerpInd, PerpOrg, Target, Victim, Weapon: one gold slot per gold entity (however many mention
  strings it lists), one predicted slot per distinct predicted filler. A predicted filler is correct when its
  normalised string equals the normalised string of one of the mentions of a gold entity of the same role in the
  aligned gold template; each gold entity is matched at most once, and the matching inside a role is a maximum
  one.

Unaligned templates count all their slots as missed (gold) or spurious (predicted). ``normalise`` lower-cases,
removes punctuation and the words a/an/the, and collapses whitespace. Micro precision / recall / F1 pool the
counts of the incident type and the five roles over all documents; per-slot figures are kept too. A ratio with no
denominator is 0 (no predictions: precision 0; no gold: recall 0; F1 0 when both are 0).

Beyond the published metric, on the same alignment, the extended slots date, location, killed and injured are
scored (rules in ``docs/muc4.md`` and at ``_date_correct``, ``_location_correct`` and ``_count_correct``): a gold
template has one slot per key it fills, a predicted template one slot per key it fills, judged on its first value.
They are reported apart from the micro figure, which published systems are compared on.

The alignment maximises the number of correct standard slots; among alignments tied on that, it takes the one
with the most correct extended slots, so the extended figures never change the standard ones. It is an exact
maximum-weight assignment (``max_weight_assignment``, Hungarian method), polynomial in the number of templates.
"""

from __future__ import annotations

import calendar
import datetime
import string
import unicodedata
from collections.abc import Sequence

from ..records import Incident

ROLES: tuple[str, ...] = ("PerpInd", "PerpOrg", "Target", "Victim", "Weapon")
STANDARD_SLOTS: tuple[str, ...] = ("incident_type",) + ROLES
EXTENDED_KEYS: tuple[str, ...] = ("date", "location", "killed", "injured")
# The extended figures reported: the four keys, plus a lenient location (any name of the gold path counts).
EXTENDED_SLOTS: tuple[str, ...] = ("date", "location", "location_lenient", "killed", "injured")

# Our incident type -> MUC-4 incident type; every type not listed is an attack.
MUC4_TYPES: dict[str, str] = {"Explosion": "bombing", "Abduction": "kidnapping"}
DEFAULT_MUC4_TYPE = "attack"

# What evaluate reports as the MUC-4 figure: one template per MUC-4 incident type and document (MUC-4's keys hold
# one template per incident and rarely two of one type, while our assembly may split an incident in two); the
# other conversion, one template per incident record, is reported beside it.
HEADLINE_MERGE = True

# Attacker labels that make a PerpInd (a Person entity, or a role filler read as an individual where no entity was
# found at its offsets); every other attacker is a PerpOrg.
INDIVIDUAL_LABELS = frozenset({"Person", "AttackerIndividual"})

_ARTICLES = frozenset({"a", "an", "the"})


# ---------------------------------------------------------------------------------------------- normalisation


def normalise(text: str) -> str:
    """Lower case, punctuation removed, the words a/an/the removed, whitespace collapsed: "The F.M.L.N.'s" ->
    "fmlns"."""
    # ASCII punctuation as the published scorers remove it (string.punctuation holds symbols such as $ too), and
    # any Unicode punctuation (curly quotes, dashes) so that typography does not decide a match.
    kept = "".join(c for c in text.lower() if not _is_punctuation(c))
    return " ".join(word for word in kept.split() if word not in _ARTICLES)


def _is_punctuation(character: str) -> bool:
    return character in string.punctuation or unicodedata.category(character).startswith("P")


def incident_types(value: str | None) -> frozenset[str]:
    """The incident types a template's type names: "attack / bombing" -> {"attack", "bombing"}."""
    return frozenset(" ".join(part.lower().split()) for part in (value or "").split("/") if part.strip())


# ---------------------------------------------------------------------------------------------- assignment

def max_weight_assignment(weights: list[list[int]]) -> list[tuple[int, int]]:
    """(row, column) pairs, one to one, maximising the summed ``weights[row][column]`` (all weights >= 0).

    Pairs of weight 0 are left out: aligning them adds nothing. Exact, in O(n^2 m) for n <= m: the Hungarian
    method as successive shortest augmenting paths with potentials.
    """
    if not weights or not weights[0]:
        return []
    transpose = len(weights) > len(weights[0])  # the method below assigns every row, so rows must be fewer
    rows = [list(column) for column in zip(*weights)] if transpose else weights
    top = max(max(row) for row in rows)
    # Every row is assigned exactly once, so minimising the summed (top - weight) maximises the summed weight,
    # and the costs start non-negative, as the shortest-path search needs.
    cost = [[top - w for w in row] for row in rows]
    owner = _assign_rows(cost)
    pairs = [(owner[column], column) for column in range(len(owner)) if owner[column] is not None]
    pairs = [(r, c) for r, c in pairs if rows[r][c] > 0]
    return sorted((c, r) if transpose else (r, c) for r, c in pairs)


def _assign_rows(cost: list[list[int]]) -> list[int | None]:
    """The row assigned to each column in a minimum-cost assignment of every row (rows <= columns).

    Rows join one at a time. For each, a Dijkstra search over columns on reduced costs (cost - row potential -
    column potential, kept >= 0 and 0 along assigned pairs) finds the cheapest path from the new row to a free
    column, alternating unassigned and assigned pairs; the path is flipped and the potentials updated so that
    reduced costs stay >= 0.
    """
    n_rows, n_columns = len(cost), len(cost[0])
    row_potential = [0] * n_rows
    column_potential = [0] * n_columns
    owner: list[int | None] = [None] * n_columns
    for start in range(n_rows):
        distance = [float("inf")] * n_columns
        came_from: list[int | None] = [None] * n_columns  # the column before this one on its path; None: start
        reached: list[int] = []  # columns settled, in order
        settled = [False] * n_columns
        row, row_distance, via = start, 0, None
        while True:
            for column in range(n_columns):
                if settled[column]:
                    continue
                d = row_distance + cost[row][column] - row_potential[row] - column_potential[column]
                if d < distance[column]:
                    distance[column], came_from[column] = d, via
            column = min((c for c in range(n_columns) if not settled[c]), key=distance.__getitem__)
            reached.append(column)
            settled[column] = True
            if owner[column] is None:
                break
            # continue from the row holding this column: its assigned pair has reduced cost 0
            row, row_distance, via = owner[column], distance[column], column
        free, total = column, distance[column]
        row_potential[start] += total
        for column in reached[:-1]:
            row_potential[owner[column]] += total - distance[column]
            column_potential[column] -= total - distance[column]
        # flip the path: each column on it goes to the row that reached it
        column = free
        while column is not None:
            before = came_from[column]
            owner[column] = start if before is None else owner[before]
            column = before
    return owner


def _role_matches(fillers: list[str], entities: list[frozenset[str]]) -> int:
    """The largest number of fillers matched to distinct gold entities (a filler matches an entity when it is one
    of the entity's normalised mentions): a maximum bipartite matching by augmenting paths."""
    holder: dict[int, int] = {}  # entity index -> filler index matched to it

    def match(filler: int, visited: set[int]) -> bool:
        for entity, mentions in enumerate(entities):
            if entity in visited or fillers[filler] not in mentions:
                continue
            visited.add(entity)
            # take a free entity, or one whose filler can move to another entity
            if entity not in holder or match(holder[entity], visited):
                holder[entity] = filler
                return True
        return False

    return sum(match(filler, set()) for filler in range(len(fillers)))


# ---------------------------------------------------------------------------------------------- extended slots

def _iso_interval(text) -> tuple[datetime.date, datetime.date] | None:
    """The days an ISO date of day, month or year precision covers, as (first day, last day); None if unreadable."""
    if not isinstance(text, str):
        return None
    parts = text.strip().split("-")
    try:
        numbers = [int(part) for part in parts]
        if len(numbers) == 3:
            day = datetime.date(*numbers)
            return day, day
        if len(numbers) == 2:
            year, month = numbers
            return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])
        if len(numbers) == 1 and len(parts[0]) == 4:
            return datetime.date(numbers[0], 1, 1), datetime.date(numbers[0], 12, 31)
    except ValueError:
        return None
    return None


def _gold_date_intervals(alternatives) -> list[tuple[datetime.date, datetime.date]] | None:
    """The gold date alternatives as (earliest, latest) days; an open end is unbounded, an end of month or year
    precision covers its whole period. An alternative open at both ends bounds nothing and is dropped; None when
    none is left."""
    intervals = []
    for alternative in alternatives or ():
        earliest, latest = _iso_interval(alternative.get("earliest")), _iso_interval(alternative.get("latest"))
        if earliest is None and latest is None:
            continue
        intervals.append((earliest[0] if earliest else datetime.date.min, latest[1] if latest else datetime.date.max))
    return intervals or None


def _date_correct(gold: list[tuple[datetime.date, datetime.date]], predicted: str) -> bool:
    """A predicted date is correct when every day it covers lies inside one gold alternative: a day inside the
    interval, a month or year only when the whole month or year does (a vaguer answer than the key earns
    nothing)."""
    days = _iso_interval(predicted)
    return days is not None and any(low <= days[0] and days[1] <= high for low, high in gold)


def _gold_paths(alternatives) -> list[tuple[str, ...]] | None:
    """The gold location alternatives as paths of normalised names, country first; None when there is none."""
    paths = [tuple(name for name in map(normalise, path) if name) for path in alternatives or ()]
    paths = [path for path in paths if path]
    return paths or None


def _location_correct(gold: list[tuple[str, ...]], predicted: str, *, lenient: bool) -> bool:
    """Strict: the predicted name is the most specific name of a gold path. Lenient: any name of a gold path."""
    name = normalise(predicted) if isinstance(predicted, str) else ""
    if not name:
        return False
    return any(name in path if lenient else name == path[-1] for path in gold)


def _count_interval(value) -> tuple[float, float] | None:
    """A count as (minimum, maximum): a missing minimum is 0, a missing maximum open; None when it gives neither."""
    if not isinstance(value, dict) or (value.get("minimum") is None and value.get("maximum") is None):
        return None
    low = value.get("minimum")
    high = value.get("maximum")
    return (0 if low is None else low), (float("inf") if high is None else high)


def _count_correct(gold: tuple[float, float], predicted) -> bool:
    """A predicted count is correct when its interval lies within the gold interval: "3" for a gold "at least 2",
    but not "at least 2" for a gold "3" (the same rule as dates: a vaguer answer earns nothing)."""
    interval = _count_interval(predicted)
    return interval is not None and gold[0] <= interval[0] and interval[1] <= gold[1]


# ---------------------------------------------------------------------------------------------- templates

def _first(values):
    """The first value of a predicted extended key, or None when it has none."""
    return values[0] if values else None


def _strings(value) -> list:
    """A list of strings as given; a bare string is one string (iterating it would score its characters)."""
    return [value] if isinstance(value, str) else list(value or ())


def _gold_template(template: dict) -> dict:
    """A gold template ready to compare: types, role entities as sets of normalised mentions, extended keys."""
    return {
        "types": incident_types(template.get("incident_type")),
        "roles": {role: [frozenset(filter(None, map(normalise, _strings(mentions))))
                         for mentions in _strings(template.get(role))] for role in ROLES},
        "date": _gold_date_intervals(template.get("date")),
        "location": _gold_paths(template.get("location")),
        "killed": _count_interval(template.get("killed")),
        "injured": _count_interval(template.get("injured")),
    }


def _predicted_template(template: dict) -> dict:
    """A predicted template ready to compare: types, distinct non-empty normalised fillers per role, and the first
    value of each extended key."""
    roles = {}
    for role in ROLES:
        # duplicates that normalise alike are one filler; a filler that normalises to nothing is no filler
        roles[role] = list(dict.fromkeys(filter(None, map(normalise, _strings(template.get(role))))))
    return {"types": incident_types(template.get("incident_type")), "roles": roles,
            **{key: _first(template.get(key)) for key in EXTENDED_KEYS}}


def _role_correct(gold: dict, predicted: dict) -> dict[str, int]:
    """Correct slots of an aligned pair, per standard slot."""
    correct = {"incident_type": 1}
    for role in ROLES:
        correct[role] = _role_matches(predicted["roles"][role], gold["roles"][role])
    return correct


def _extended_correct(gold: dict, predicted: dict) -> dict[str, int]:
    """Correct extended slots of an aligned pair: 0 or 1 per reported extended slot."""
    correct = dict.fromkeys(EXTENDED_SLOTS, 0)
    if gold["date"] is not None and predicted["date"] is not None:
        correct["date"] = int(_date_correct(gold["date"], predicted["date"]))
    if gold["location"] is not None and predicted["location"] is not None:
        correct["location"] = int(_location_correct(gold["location"], predicted["location"], lenient=False))
        correct["location_lenient"] = int(_location_correct(gold["location"], predicted["location"], lenient=True))
    for key in ("killed", "injured"):
        if gold[key] is not None and predicted[key] is not None:
            correct[key] = int(_count_correct(gold[key], predicted[key]))
    return correct


def _slot_counts(template: dict) -> dict[str, int]:
    """The slots a prepared template holds, per standard and extended slot."""
    counts = {"incident_type": 1}
    counts.update({role: len(template["roles"][role]) for role in ROLES})
    counts.update({key: int(template[key] is not None) for key in EXTENDED_KEYS})
    counts["location_lenient"] = counts["location"]
    return counts


def _align(gold: list[dict], predicted: list[dict]) -> list[tuple[int, int, dict, dict]]:
    """The aligned (gold index, predicted index, standard correct, extended correct) of one document."""
    if not gold or not predicted:
        return []
    pairs = {}
    for g, gold_template in enumerate(gold):
        for p, predicted_template in enumerate(predicted):
            if gold_template["types"] & predicted_template["types"]:
                pairs[g, p] = (_role_correct(gold_template, predicted_template),
                               _extended_correct(gold_template, predicted_template))
    # Correct standard slots first; extended ones only break ties: the extended total of any alignment is below
    # ``scale``, so one more standard slot always outweighs it. The strict location counts, the lenient does not.
    scale = len(EXTENDED_KEYS) * min(len(gold), len(predicted)) + 1
    weights = [[0] * len(predicted) for _ in gold]
    for (g, p), (standard, extended) in pairs.items():
        weights[g][p] = scale * sum(standard.values()) + sum(extended[key] for key in EXTENDED_KEYS)
    # every allowed pair weighs at least ``scale`` (its incident type), so no allowed pair is dropped as worthless
    return [(g, p, *pairs[g, p]) for g, p in max_weight_assignment(weights)]


def _figures(tp: int, predicted: int, gold: int) -> dict:
    precision = tp / predicted if predicted else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": int(tp), "predicted": int(predicted),
            "gold": int(gold)}


def score_templates(gold: dict[str, list[dict]], predicted: dict[str, list[dict]]) -> dict:
    """MUC-4 template scores over documents (document id -> templates); see the module docstring.

    Returns ``{"micro": figures, "per_slot": {slot: figures}, "extended": {slot: figures}, "documents": n,
    "templates": {"gold": n, "predicted": n, "aligned": n}}`` where figures are ``{"precision", "recall", "f1",
    "tp", "predicted", "gold"}`` (fractions 0..1 and counts). ``micro`` pools ``STANDARD_SLOTS``; ``extended``
    holds ``EXTENDED_SLOTS`` and does not enter ``micro``. A document in only one dict has no templates on the
    other side.
    """
    slots = STANDARD_SLOTS + EXTENDED_SLOTS
    counts = {slot: [0, 0, 0] for slot in slots}  # slot -> [tp, predicted, gold]
    aligned = n_gold = n_predicted = 0
    doc_ids = sorted(set(gold) | set(predicted))
    for doc_id in doc_ids:
        gold_templates = [_gold_template(t) for t in gold.get(doc_id) or ()]
        predicted_templates = [_predicted_template(t) for t in predicted.get(doc_id) or ()]
        n_gold += len(gold_templates)
        n_predicted += len(predicted_templates)
        for template in gold_templates:
            for slot, n in _slot_counts(template).items():
                counts[slot][2] += n
        for template in predicted_templates:
            for slot, n in _slot_counts(template).items():
                counts[slot][1] += n
        for _, _, standard, extended in _align(gold_templates, predicted_templates):
            aligned += 1
            for slot, n in {**standard, **extended}.items():
                counts[slot][0] += n
    totals = [sum(counts[slot][i] for slot in STANDARD_SLOTS) for i in range(3)]
    return {
        "micro": _figures(*totals),
        "per_slot": {slot: _figures(*counts[slot]) for slot in STANDARD_SLOTS},
        "extended": {slot: _figures(*counts[slot]) for slot in EXTENDED_SLOTS},
        "documents": len(doc_ids),
        "templates": {"gold": n_gold, "predicted": n_predicted, "aligned": aligned},
    }


# ---------------------------------------------------------------------------------------------- our incidents

def muc4_type(incident_type: str) -> str:
    """Our incident type as a MUC-4 incident type: Explosion -> bombing, Abduction -> kidnapping, else attack."""
    return MUC4_TYPES.get(incident_type, DEFAULT_MUC4_TYPE)


def _incident_template(incident: Incident) -> dict:
    """One incident as a predicted template (before deduplication)."""
    # an attacker that is a person is an individual perpetrator; any other attacker (a group, a nationality, a
    # platform) stands for an organisation
    individuals = [s.text for s in incident.attackers if s.label in INDIVIDUAL_LABELS]
    organisations = [s.text for s in incident.attackers if s.label not in INDIVIDUAL_LABELS]
    return {
        "incident_type": muc4_type(incident.type),
        "PerpInd": individuals,
        "PerpOrg": organisations,
        "Target": [s.text for s in incident.targets],
        "Victim": [s.text for s in incident.victims],
        "Weapon": [s.text for s in incident.instruments],
        "date": [d.iso for d in incident.dates if d.iso],  # unresolved dates give no ISO string to score
        "location": [p.span.text for p in incident.places],
        # a count that gives neither bound (unparsed) says nothing a key could confirm
        "killed": [{"minimum": c.minimum, "maximum": c.maximum} for c in incident.fatalities
                   if c.minimum is not None or c.maximum is not None],
        "injured": [{"minimum": c.minimum, "maximum": c.maximum} for c in incident.injuries
                    if c.minimum is not None or c.maximum is not None],
    }


def _deduplicated(template: dict) -> dict:
    """The template with repeated values dropped, first occurrence kept: fillers and place names by normalised
    string, dates by ISO string, counts by (minimum, maximum)."""
    keys = {role: normalise for role in ROLES}
    keys.update(location=normalise, date=lambda iso: iso, killed=lambda c: (c["minimum"], c["maximum"]),
                injured=lambda c: (c["minimum"], c["maximum"]))
    result = {"incident_type": template["incident_type"]}
    for field, key in keys.items():
        seen, values = set(), []
        for value in template[field]:
            if key(value) not in seen:
                seen.add(key(value))
                values.append(value)
        result[field] = values
    return result


def incidents_to_templates(incidents: Sequence[Incident], *, merge_same_type: bool) -> list[dict]:
    """A document's incident records as predicted MUC-4 templates, in incident order.

    Without merging, one template per incident. With ``merge_same_type``, the incidents of one MUC-4 type make
    one template (MUC-4 keys usually hold one template per type and event), placed where the first of them was,
    its values the union of theirs in incident order. Values repeated within a template are dropped; as the
    scorer reads only the first value of date, location, killed and injured, the earliest incident's value is the
    one scored.
    """
    templates = [_incident_template(incident) for incident in incidents]
    if merge_same_type:
        merged: dict[str, dict] = {}
        for template in templates:
            into = merged.setdefault(template["incident_type"], {"incident_type": template["incident_type"]})
            for field, values in template.items():
                if field != "incident_type":
                    into[field] = into.get(field, []) + values
        templates = list(merged.values())
    return [_deduplicated(template) for template in templates]


# ---------------------------------------------------------------------------------------------- evaluation


def score_articles(templates: dict[str, list[dict]], incidents: dict[str, Sequence[Incident]]) -> dict:
    """The ``muc4`` section of an evaluation: gold templates and our incident records (by document id) scored
    with the headline conversion, plus the micro figure and template counts of the other conversion."""
    def scored(merge: bool) -> dict:
        return score_templates(templates, {doc_id: incidents_to_templates(incidents.get(doc_id, ()),
                                                                          merge_same_type=merge)
                                           for doc_id in templates})

    section = scored(HEADLINE_MERGE)
    other = scored(not HEADLINE_MERGE)
    section["conversion"] = "one template per type" if HEADLINE_MERGE else "one template per incident"
    section["other_conversion"] = {"conversion": "one template per incident" if HEADLINE_MERGE else
                                   "one template per type", "micro": other["micro"], "templates": other["templates"]}
    return section
