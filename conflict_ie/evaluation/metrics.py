"""Scores: entities and triggers with seqeval (strict IOB2, word level), relations, and incident role fillers.

seqeval 1.2.2 is always called with ``mode="strict", scheme=IOB2`` (the class, not a string): without the
scheme it silently scores leniently. Spans are scored as word-level IOB2 tags, never sub-token tags: a word is
inside a span when it overlaps it, so a gold and a predicted span match only when they cover the same words.

Every score dict has the same shape, and every figure is a plain ``float`` or ``int`` so it dumps to JSON::

    {"per_type": {label: {"precision", "recall", "f1", "support"}}, "micro": {...}, "macro": {...},
     "documents": n}

``support`` is the number of gold items; macro averages P/R/F1 over every type present in gold or predictions
(as seqeval does) and its support is the total gold count. A type absent from both gets no row.

``documents`` counts the documents scored for the layer: only those that annotate it (``Document.layers``). A
section with ``documents == 0`` is a layer no evaluated document annotates: its zeros mean nothing, ``headline``
gives None for it and the reports say "not annotated" (``layer_status``).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from ..data.document import Document
from ..data.role_fillers import with_role_fillers
from ..records import Incident
from ..schema import ENTITY_LABELS, INCIDENT_FIELDS, ROLE_FILLER_LABELS, TRIGGER_LABELS

SPAN_LAYERS = {"entities": frozenset(ENTITY_LABELS), "triggers": frozenset(TRIGGER_LABELS),
               "role_fillers": frozenset(ROLE_FILLER_LABELS)}

_WORD = re.compile(r"\w+|[^\w\s]")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+")


# ---------------------------------------------------------------------------------------------- headline


@dataclass(frozen=True)
class Headline:
    """The figures a run is judged by, read from a metrics dict; None where the dict lacks that layer."""

    entity_micro_f1: float | None = None
    entity_macro_f1: float | None = None
    trigger_f1: float | None = None
    relation_f1: float | None = None
    incident_role_f1: float | None = None
    role_filler_f1: float | None = None
    muc4_f1: float | None = None


# Headline field -> (metrics section, average) whose "f1" it reads.
HEADLINE_PATHS = {"entity_micro_f1": ("entities", "micro"), "entity_macro_f1": ("entities", "macro"),
                  "trigger_f1": ("triggers", "micro"), "relation_f1": ("relations", "micro"),
                  "incident_role_f1": ("incidents", "micro"), "role_filler_f1": ("role_fillers", "micro"),
                  "muc4_f1": ("muc4", "micro")}
# The Headline fields a cross-validation fold and its mean record: the micro F1 of each layer, in layer order.
CROSS_VALIDATION_FIGURES = ("entity_micro_f1", "trigger_f1", "relation_f1", "incident_role_f1")


# What ``layer_status`` says of a score section.
NOT_ANNOTATED = "not annotated"  # no scored document annotates the layer: there was nothing to score
NO_GOLD = "no gold"  # documents annotate the layer but hold none of it: recall and F1 are 0 by convention


def layer_status(section) -> str | None:
    """``NOT_ANNOTATED`` for a score section computed over no document (``documents == 0``), ``NO_GOLD`` for one
    whose documents annotate the layer but whose gold support is 0, None for an ordinary section (or one that does
    not record its documents, as a cross-validation mean)."""
    if not isinstance(section, dict):
        return None
    documents = section.get("documents")
    if documents == 0:
        return NOT_ANNOTATED
    if isinstance(documents, int) and (section.get("micro") or {}).get("support") == 0:
        return NO_GOLD
    return None


def headline(metrics: dict) -> Headline:
    """The headline figures of a metrics dict (``evaluate``'s, ``score_documents``' or a cross-validation fold or
    mean): each is ``metrics[layer][average]["f1"]``, None where the dict lacks the layer or no scored document
    annotates it."""
    values = {}
    for name, (layer, average) in HEADLINE_PATHS.items():
        if layer_status(metrics.get(layer)) == NOT_ANNOTATED:
            values[name] = None
            continue
        value = ((metrics.get(layer) or {}).get(average) or {}).get("f1")
        values[name] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return Headline(**values)


# ---------------------------------------------------------------------------------------------- shared helpers

def _figures(precision: float, recall: float, f1: float, support: int) -> dict:
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1), "support": int(support)}


def prf(correct: int, predicted: int, gold: int) -> dict:
    """Precision, recall, F1 and support (gold count) from counts; 0.0 where a ratio has no denominator."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return _figures(precision, recall, f1, gold)


def _scores_from_counts(counts: dict[str, tuple[int, int, int]], documents: int) -> dict:
    """Per-type, micro and macro figures from label -> (correct, predicted, gold) counts."""
    per_type = {label: prf(*row) for label, row in sorted(counts.items()) if row[1] or row[2]}
    totals = [sum(row[i] for row in counts.values()) for i in range(3)]
    return {"per_type": per_type, "micro": prf(*totals), "macro": _macro(per_type, totals[2]),
            "documents": int(documents)}


def _macro(per_type: dict[str, dict], support: int) -> dict:
    rows = list(per_type.values())
    if not rows:
        return _figures(0.0, 0.0, 0.0, support)
    mean = {k: sum(row[k] for row in rows) / len(rows) for k in ("precision", "recall", "f1")}
    return _figures(mean["precision"], mean["recall"], mean["f1"], support)


# ---------------------------------------------------------------------------------------------- spans (seqeval)

def words(text: str) -> list[tuple[int, int]]:
    """Word character ranges: runs of word characters, or single other non-space characters."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def word_tags(document: Document, labels: frozenset[str] | set[str]) -> list[str]:
    """IOB2 tags of the document's words for the spans whose label is in ``labels``.

    A word is inside a span when the two overlap, so a span that starts or ends mid-word covers that word.
    Overlapping spans of one layer cannot both be tagged: the earlier (then longer) one wins.
    """
    ranges = words(document.text)
    tags = ["O"] * len(ranges)
    starts = [start for start, _ in ranges]
    ends = [end for _, end in ranges]
    spans = sorted((s for s in document.spans if s.label in labels), key=lambda s: (s.start, -s.end))
    for span in spans:
        # the words overlapping the span: from the first ending after its start to the last starting before its end
        covered = range(bisect.bisect_right(ends, span.start), bisect.bisect_left(starts, span.end))
        if not covered or any(tags[i] != "O" for i in covered):
            continue
        tags[covered[0]] = f"B-{span.label}"
        for i in covered[1:]:
            tags[i] = f"I-{span.label}"
    return tags


def tag_scores(gold_tags: list[list[str]], predicted_tags: list[list[str]], documents: int | None = None) -> dict:
    """seqeval strict IOB2 scores of tag sequences as plain numbers: per type, micro and macro.

    Strict means an entity counts only when its tags form a valid IOB2 chunk (B- then I- of the same type) with
    the same boundaries and type as the gold chunk: a predicted chunk starting with I- is no entity at all.
    """
    documents = len(gold_tags) if documents is None else documents
    if not any(tag != "O" for tags in gold_tags + predicted_tags for tag in tags):
        return {"per_type": {}, "micro": prf(0, 0, 0), "macro": prf(0, 0, 0), "documents": int(documents)}
    report = classification_report(gold_tags, predicted_tags, mode="strict", scheme=IOB2, output_dict=True,
                                   zero_division=0)
    rows = {name: _figures(row["precision"], row["recall"], row["f1-score"], row["support"])
            for name, row in report.items()}
    return {
        "per_type": {name: row for name, row in sorted(rows.items()) if not name.endswith(" avg")},
        "micro": rows["micro avg"],
        "macro": rows["macro avg"],
        "documents": int(documents),
    }


def span_scores(gold: list[Document], predicted: list[Document], layer: str) -> dict:
    """Entity or trigger scores (seqeval strict IOB2, word level) over the documents whose gold annotates
    ``layer``; ``predicted`` is aligned with ``gold`` (same order, same texts)."""
    labels = SPAN_LAYERS[layer]
    pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if layer in g.layers]
    if layer == "role_fillers":  # the gold of this layer is derived from role relations where it is not drawn
        pairs = [(with_role_fillers(g), p) for g, p in pairs]
    return tag_scores([word_tags(g, labels) for g, _ in pairs], [word_tags(p, labels) for _, p in pairs])


def trigger_detection_scores(gold: list[Document], predicted: list[Document]) -> dict:
    """Trigger spans found whatever their type (seqeval strict IOB2 with every trigger type made one): tells an
    incident from talk about violence apart from naming its kind, which ``span_scores`` counts together (a right
    span of the wrong type is there one false and one missed trigger)."""
    labels = SPAN_LAYERS["triggers"]
    pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if "triggers" in g.layers]

    def untyped(document: Document) -> list[str]:
        return [tag if tag == "O" else tag[:2] + "Incident" for tag in word_tags(document, labels)]

    return tag_scores([untyped(g) for g, _ in pairs], [untyped(p) for _, p in pairs])


# ---------------------------------------------------------------------------------------------- relations

def _relation_keys(document: Document) -> set[tuple]:
    """Each relation as (label, head offsets and label, tail offsets and label): comparable across documents."""
    spans = document.span_by_id()
    keys = set()
    for relation in document.relations:
        head, tail = spans[relation.head], spans[relation.tail]
        keys.add((relation.label, (head.start, head.end, head.label), (tail.start, tail.end, tail.label)))
    return keys


def relation_scores(gold: list[Document], predicted: list[Document]) -> dict:
    """A predicted relation is right when its label and both ends (offsets and span labels) match a gold one."""
    counts: dict[str, list[int]] = {}  # label -> [correct, predicted, gold]
    for g, p in zip(gold, predicted, strict=True):
        gold_keys, predicted_keys = _relation_keys(g), _relation_keys(p)
        for key in gold_keys | predicted_keys:
            row = counts.setdefault(key[0], [0, 0, 0])
            row[0] += key in gold_keys and key in predicted_keys
            row[1] += key in predicted_keys
            row[2] += key in gold_keys
    return _scores_from_counts({label: tuple(row) for label, row in counts.items()}, len(gold))


# ---------------------------------------------------------------------------------------------- confusion

def entity_confusion(gold: list[Document], predicted: list[Document]) -> dict[str, dict[str, int]]:
    """gold label -> predicted label -> count, matching entity spans by exact offsets.

    A gold span with no predicted span at its offsets counts under predicted "O" (missed); a predicted span with
    no gold span at its offsets counts under gold "O" (spurious). Only documents annotating entities count.
    """
    matrix: dict[str, dict[str, int]] = {}

    def add(gold_label: str, predicted_label: str) -> None:
        row = matrix.setdefault(gold_label, {})
        row[predicted_label] = row.get(predicted_label, 0) + 1

    for g, p in zip(gold, predicted, strict=True):
        if "entities" not in g.layers:
            continue
        gold_spans = {(s.start, s.end): s.label for s in g.spans if s.label in SPAN_LAYERS["entities"]}
        predicted_spans = {(s.start, s.end): s.label for s in p.spans if s.label in SPAN_LAYERS["entities"]}
        for offsets, label in gold_spans.items():
            add(label, predicted_spans.get(offsets, "O"))
        for offsets, label in predicted_spans.items():
            if offsets not in gold_spans:
                add("O", label)
    return matrix


# ---------------------------------------------------------------------------------------------- incidents

def normalise_filler(text: str) -> str:
    """Lowercased, whitespace collapsed, without surrounding punctuation or a leading article: "The Army," ->
    "army"."""
    text = " ".join(text.lower().split())
    text = _strip_punctuation(text)
    return _strip_punctuation(_LEADING_ARTICLE.sub("", text))


def _strip_punctuation(text: str) -> str:
    is_edge = lambda c: c.isspace() or unicodedata.category(c).startswith("P")  # noqa: E731
    start, end = 0, len(text)
    while start < end and is_edge(text[start]):
        start += 1
    while end > start and is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def incident_fillers(incident: Incident) -> dict[str, frozenset[str]]:
    """Role -> set of normalised filler strings (repeated mentions of one filler collapse to one)."""
    fillers = {}
    for role in INCIDENT_FIELDS:
        # Places, dates and counts wrap their span; the other roles are spans themselves.
        texts = [value.span.text if hasattr(value, "span") else value.text for value in getattr(incident, role)]
        fillers[role] = frozenset(filter(None, map(normalise_filler, texts)))
    return fillers


def _pair_score(gold: Incident, gold_fillers: dict, predicted: Incident, predicted_fillers: dict) -> tuple:
    """How well two incidents match, compared as a tuple: shared fillers first, then shared trigger offsets,
    then same type; the final 1 makes aligning a pair better than leaving both unaligned."""
    shared = sum(len(gold_fillers[r] & predicted_fillers[r]) for r in INCIDENT_FIELDS)
    triggers = len({(t.start, t.end) for t in gold.triggers} & {(t.start, t.end) for t in predicted.triggers})
    return (shared, triggers, int(gold.type == predicted.type), 1)


def _add(a: tuple, b: tuple) -> tuple:
    return tuple(x + y for x, y in zip(a, b))


def align_incidents(scores: list[list[tuple]]) -> list[tuple[int, int]]:
    """One-to-one (gold index, predicted index) pairs maximising the summed pair scores (``scores[g][p]``).

    Exact search over subsets of the shorter side (articles report a handful of incidents); beyond 12 on both
    sides it falls back to greedy best-pair-first.
    """
    n_gold = len(scores)
    n_predicted = len(scores[0]) if scores else 0
    if min(n_gold, n_predicted) == 0:
        return []
    transpose = n_gold < n_predicted  # search over the longer side, with a bit mask over the shorter one
    rows = [list(col) for col in zip(*scores)] if transpose else scores
    if len(rows[0]) > 12:
        pairs = _greedy_pairs(rows)
    else:
        pairs = _exact_pairs(rows)
    return sorted((p, g) if transpose else (g, p) for g, p in pairs)


def _exact_pairs(rows: list[list[tuple]]) -> list[tuple[int, int]]:
    zero = (0,) * len(rows[0][0])

    @lru_cache(maxsize=None)
    def best(i: int, used: int) -> tuple[tuple, tuple]:
        """(total score, pairs) for rows i.. with columns in ``used`` taken."""
        if i == len(rows):
            return zero, ()
        options = [best(i + 1, used)]  # row i left unaligned
        for j, score in enumerate(rows[i]):
            if not used & (1 << j):
                total, pairs = best(i + 1, used | (1 << j))
                options.append((_add(total, score), ((i, j),) + pairs))
        return max(options, key=lambda option: option[0])

    return list(best(0, 0)[1])


def _greedy_pairs(rows: list[list[tuple]]) -> list[tuple[int, int]]:
    candidates = sorted(((score, i, j) for i, row in enumerate(rows) for j, score in enumerate(row)), reverse=True)
    used_rows, used_cols, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_rows and j not in used_cols:
            pairs.append((i, j))
            used_rows.add(i)
            used_cols.add(j)
    return pairs


def align_document_incidents(gold: list[Incident], predicted: list[Incident]) -> list[tuple[int, int]]:
    """One-to-one (gold index, predicted index) pairs of one document's incidents: the most shared role fillers,
    ties to shared triggers, then same type (``align_incidents`` over ``_pair_score``)."""
    gold_fillers = [incident_fillers(i) for i in gold]
    predicted_fillers = [incident_fillers(i) for i in predicted]
    return align_incidents([[_pair_score(g, gf, p, pf) for p, pf in zip(predicted, predicted_fillers)]
                            for g, gf in zip(gold, gold_fillers)])


def incident_scores(gold: dict[str, list[Incident]], predicted: dict[str, list[Incident]]) -> dict:
    """Role-filler scores of incident records, per document id.

    Per document, predicted incidents align one-to-one with gold ones so as to share the most fillers (ties go to
    shared triggers, then same type). A filler is correct when an aligned pair shares it; fillers of unaligned
    incidents count as missed or spurious. Incidents of different types may align: ``type_accuracy`` is the
    fraction of aligned pairs with the same type. ``count_accuracy`` is the fraction of documents whose
    predicted incident count equals the gold count; ``count_mae`` the mean absolute error |predicted - gold|.
    A document id in only one of the dicts counts with no incidents on the other side.
    """
    counts = {role: [0, 0, 0] for role in INCIDENT_FIELDS}  # role -> [correct, predicted, gold]
    aligned = same_type = right_count = count_error = 0
    doc_ids = sorted(set(gold) | set(predicted))
    for doc_id in doc_ids:
        gold_incidents, predicted_incidents = gold.get(doc_id, []), predicted.get(doc_id, [])
        gold_fillers = [incident_fillers(i) for i in gold_incidents]
        predicted_fillers = [incident_fillers(i) for i in predicted_incidents]
        scores = [[_pair_score(g, gf, p, pf) for p, pf in zip(predicted_incidents, predicted_fillers)]
                  for g, gf in zip(gold_incidents, gold_fillers)]
        for g, p in align_incidents(scores):
            aligned += 1
            same_type += gold_incidents[g].type == predicted_incidents[p].type
            for role in INCIDENT_FIELDS:
                counts[role][0] += len(gold_fillers[g][role] & predicted_fillers[p][role])
        for role in INCIDENT_FIELDS:
            counts[role][1] += sum(len(f[role]) for f in predicted_fillers)
            counts[role][2] += sum(len(f[role]) for f in gold_fillers)
        right_count += len(gold_incidents) == len(predicted_incidents)
        count_error += abs(len(gold_incidents) - len(predicted_incidents))
    scores = _scores_from_counts({role: tuple(row) for role, row in counts.items()}, len(doc_ids))
    documents = len(doc_ids)
    return {
        "per_role": scores["per_type"],
        "micro": scores["micro"],
        "macro": scores["macro"],
        "type_accuracy": same_type / aligned if aligned else 0.0,
        "aligned_incidents": aligned,
        "count_accuracy": right_count / documents if documents else 0.0,
        "count_mae": count_error / documents if documents else 0.0,
        "gold_incidents": sum(len(v) for v in gold.values()),
        "predicted_incidents": sum(len(v) for v in predicted.values()),
        "documents": documents,
    }
