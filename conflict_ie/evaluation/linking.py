"""Scoring cross-article linking against gold event clusters (``annotations/events/*.json``).

The gold event files. Each is ``{"events": [{"id": "d-E01", "split": "dev", "description": "...", "incidents":
[{"document": "authored-d01", "trigger": "t1"}, ...]}, ...]}``. An incident is named by its document id and the id
of any trigger of its same_incident cluster: it resolves to that document's gold incident record (the records
``gold.gold_incidents`` assembles). ``split`` is the split of the event's documents (train, dev or test), or
``mixed`` for an event whose reports lie in several splits (the seeds: 000 is training data, 001 dev, 003 test).
Every gold incident of every document that an event file names is in exactly one event (singletons listed too).
``load_gold_events`` checks all of this and raises ``EventFileError`` listing every problem with its file and
event id.

Scores. Linking is scored as a clustering of incidents, by pairwise precision / recall / F1 (pairs of incidents put
in one event) and B-cubed precision / recall / F1 (per incident, the share of its system event that belongs to its
gold event, and the share of its gold event found in its system event, averaged over incidents):

- **on gold incidents**: the gold incident records of the documents in scope are linked (``link_records``, each
  with its document's publication date) and compared with the gold events: the linking rules alone.
- **on predicted incidents**: the model's incidents of the same documents are linked, then aligned one to one with
  the gold incidents of their document as the incident evaluation aligns them (``metrics.align_document_incidents``:
  most shared role fillers, then shared triggers, then same type). An aligned predicted incident stands for its
  gold incident. A predicted incident aligned to none (spurious) is an item of its own in the gold clustering
  (it belongs to no gold event), so linking it to anything costs precision. A gold incident no predicted incident
  aligns to (missed) is a singleton on the system side, so its event's other reports cost recall. Items are the
  gold incidents plus the spurious predicted ones.

Scope: a row scores the documents of one split that some event file names (``linking_rows``); the ``seeds`` row
scores the events of split ``mixed`` (the three seed articles) over all their documents, whatever their split.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.document import Document
from ..records import Incident

EVENT_SPLITS = ("train", "dev", "test", "mixed")
DEFAULT_EVENTS_DIR = Path("annotations") / "events"
MAX_PROBLEMS_SHOWN = 30


class EventFileError(ValueError):
    """A gold event file that cannot be used; the message lists every problem, each with its file and event id."""


@dataclass(frozen=True)
class GoldEvent:
    id: str
    split: str
    description: str
    file: str
    incidents: tuple[tuple[str, int], ...]  # (document id, index of the document's gold incident)


def event_files(folder: str | Path = DEFAULT_EVENTS_DIR) -> list[Path]:
    """The event files of a folder (``*.json``, name order); none when the folder does not exist."""
    folder = Path(folder)
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.is_dir() else []


def _trigger_incidents(document: Document, incidents: Sequence[Incident]) -> dict[str, int]:
    """Trigger span id -> index of the gold incident that holds the trigger."""
    by_offsets = {(t.start, t.end): index for index, incident in enumerate(incidents) for t in incident.triggers}
    return {span.id: by_offsets[(span.start, span.end)] for span in document.spans_in_layer("triggers")
            if (span.start, span.end) in by_offsets}


def read_event_file(path: Path, problems: list[str]) -> list[dict]:
    """The raw event entries of one file; what is malformed is added to ``problems``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{path}: not a readable JSON file: {error}")
        return []
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        problems.append(f'{path}: expected {{"events": [...]}} at the top level')
        return []
    return data["events"]


def load_gold_events(paths: Iterable[str | Path], documents: Mapping[str, Document] | Sequence[Document],
                     gold: Mapping[str, Sequence[Incident]] | None = None,
                     splits: Mapping[str, str] | None = None) -> list[GoldEvent]:
    """The gold events of ``paths``, checked (module docstring): EventFileError listing every problem.

    ``documents`` are the annotated documents the events may name (by id); ``gold`` their gold incidents (computed
    with ``gold.gold_incidents`` when not given); ``splits`` (document id -> split), when given, must agree with
    each event's split."""
    from .gold import gold_incidents

    if not isinstance(documents, Mapping):
        documents = {d.id: d for d in documents}
    gold = dict(gold or {})
    problems: list[str] = []
    events: list[GoldEvent] = []
    owner: dict[tuple[str, int], str] = {}  # gold incident -> the event that lists it
    seen_ids: dict[str, str] = {}
    named_documents: dict[str, str] = {}  # document id -> first file naming it
    triggers: dict[str, dict[str, int]] = {}
    for path in paths:
        for position, entry in enumerate(read_event_file(Path(path), problems)):
            where = f"{path}: event {entry.get('id', f'#{position + 1}') if isinstance(entry, dict) else position + 1}"
            if not isinstance(entry, dict):
                problems.append(f"{where}: an event is an object with id, split, description and incidents")
                continue
            event_id, split = entry.get("id"), entry.get("split")
            if not isinstance(event_id, str) or not event_id:
                problems.append(f"{where}: no id")
                continue
            if event_id in seen_ids:
                problems.append(f"{where}: id {event_id} is also used in {seen_ids[event_id]}")
                continue
            seen_ids[event_id] = str(path)
            if split not in EVENT_SPLITS:
                problems.append(f"{where}: split {split!r} is not one of {', '.join(EVENT_SPLITS)}")
            unknown = set(entry) - {"id", "split", "description", "incidents"}
            if unknown:
                problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            references = entry.get("incidents")
            if not isinstance(references, list) or not references:
                problems.append(f"{where}: 'incidents' must list at least one incident")
                continue
            members: list[tuple[str, int]] = []
            for reference in references:
                member = _resolve(reference, where, documents, gold, triggers, problems, gold_incidents)
                if member is None:
                    continue
                named_documents.setdefault(member[0], str(path))
                if member in owner and owner[member] != event_id:
                    problems.append(f"{where}: {member[0]} incident of trigger {reference['trigger']} is also in "
                                    f"event {owner[member]}")
                    continue
                if member in members:
                    problems.append(f"{where}: {member[0]} trigger {reference['trigger']} names an incident this "
                                    f"event already lists")
                    continue
                owner[member] = event_id
                members.append(member)
                if splits is not None and split in ("train", "dev", "test") and splits.get(member[0]) != split:
                    problems.append(f"{where}: split {split} but document {member[0]} is in "
                                    f"{splits.get(member[0], 'no split')}")
            events.append(GoldEvent(event_id, str(split), str(entry.get("description", "")), str(path),
                                    tuple(members)))
    for document_id, path in sorted(named_documents.items()):
        for index, incident in enumerate(gold[document_id]):
            if (document_id, index) not in owner:
                names = ", ".join(t.text for t in incident.triggers[:3])
                problems.append(f"{path}: {document_id} gold incident {index + 1} ({incident.type}: {names}) is in "
                                f"no event; list it, as a singleton event if no other article reports it")
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise EventFileError(f"{len(problems)} problem(s) in the gold event files:\n  " + "\n  ".join(shown)
                             + (f"\n  ... and {more} more" if more else ""))
    return events


def _resolve(reference, where: str, documents, gold, triggers, problems: list[str], gold_incidents):
    """(document id, gold incident index) of one ``{"document", "trigger"}`` reference, or None (a problem)."""
    if not isinstance(reference, dict) or not isinstance(reference.get("document"), str) \
            or not isinstance(reference.get("trigger"), str):
        problems.append(f"{where}: an incident is {{\"document\": ID, \"trigger\": TRIGGER ID}}, got {reference!r}")
        return None
    document_id, trigger = reference["document"], reference["trigger"]
    document = documents.get(document_id)
    if document is None:
        problems.append(f"{where}: unknown document {document_id} (not in the annotations loaded)")
        return None
    if document_id not in gold:
        gold[document_id] = list(gold_incidents(document))
    if document_id not in triggers:
        triggers[document_id] = _trigger_incidents(document, gold[document_id])
    if trigger not in triggers[document_id]:
        spans = document.span_by_id()
        what = (f"is a {spans[trigger].label} span, not a trigger of an incident" if trigger in spans
                else "is no span id of the document")
        problems.append(f"{where}: {document_id} {trigger} {what}")
        return None
    return document_id, triggers[document_id][trigger]


# ------------------------------------------------------------------------------------------ clustering scores

def _clusters(labels: Mapping[Hashable, Hashable]) -> dict[Hashable, set]:
    clusters: dict[Hashable, set] = defaultdict(set)
    for item, label in labels.items():
        clusters[label].add(item)
    return clusters


def _figures(precision: float, recall: float) -> dict:
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def pairwise_scores(gold: Mapping[Hashable, Hashable], system: Mapping[Hashable, Hashable]) -> dict:
    """Precision, recall and F1 of the pairs of items put in one cluster, over the items of ``gold`` (item ->
    gold cluster label; ``system`` gives each a system label). With no pair on a side, its ratio is 1.0 when the
    other side has none either (nothing to link and nothing linked), else 0.0."""
    def pairs(labels) -> set[frozenset]:
        return {frozenset((a, b)) for members in _clusters(labels).values() for a in members for b in members
                if a != b}

    gold_pairs, system_pairs = pairs(gold), pairs({item: system[item] for item in gold})
    correct = len(gold_pairs & system_pairs)
    precision = correct / len(system_pairs) if system_pairs else float(not gold_pairs)
    recall = correct / len(gold_pairs) if gold_pairs else float(not system_pairs)
    return {**_figures(precision, recall), "correct_pairs": correct, "system_pairs": len(system_pairs),
            "gold_pairs": len(gold_pairs)}


def bcubed_scores(gold: Mapping[Hashable, Hashable], system: Mapping[Hashable, Hashable]) -> dict:
    """B-cubed precision, recall and F1 over the items of ``gold`` (Bagga and Baldwin): per item, the share of its
    system cluster in its gold cluster and the share of its gold cluster in its system cluster, averaged."""
    if not gold:
        return {**_figures(0.0, 0.0), "items": 0}
    gold_clusters = _clusters(gold)
    system_clusters = _clusters({item: system[item] for item in gold})
    precision = recall = 0.0
    for item in gold:
        in_gold, in_system = gold_clusters[gold[item]], system_clusters[system[item]]
        shared = len(in_gold & in_system)
        precision += shared / len(in_system)
        recall += shared / len(in_gold)
    return {**_figures(precision / len(gold), recall / len(gold)), "items": len(gold)}


def clustering_scores(gold: Mapping[Hashable, Hashable], system: Mapping[Hashable, Hashable]) -> dict:
    """Pairwise and B-cubed scores, the cluster counts, and whether the clusterings are identical."""
    gold_clusters = _clusters(gold)
    system_clusters = _clusters({item: system[item] for item in gold})
    same = sorted(map(sorted, map(lambda c: map(repr, c), gold_clusters.values()))) == \
        sorted(map(sorted, map(lambda c: map(repr, c), system_clusters.values())))
    return {"pairwise": pairwise_scores(gold, system), "bcubed": bcubed_scores(gold, system),
            "items": len(gold), "gold_events": len(gold_clusters), "system_events": len(system_clusters),
            "exact": same}


# ------------------------------------------------------------------------------------------ linking and scoring

def _gold_labels(events: Sequence[GoldEvent], documents: set[str]) -> dict[tuple[str, int], str]:
    return {member: event.id for event in events for member in event.incidents if member[0] in documents}


def _link(incidents: Mapping[str, Sequence[Incident]], documents: Sequence[str], publication_dates, settings
          ) -> dict[tuple[str, int], int]:
    """(document id, incident index) -> the number of its linked event."""
    from ..incidents.linking import cluster, record_from_incident

    records = [record_from_incident(doc, index, incident, publication_dates.get(doc))
               for doc in documents for index, incident in enumerate(incidents.get(doc, ()))]
    return {records[i].key: number for number, group in enumerate(cluster(records, settings)) for i in group}


def score_gold_linking(events, gold: Mapping[str, Sequence[Incident]], documents: Sequence[str],
                       publication_dates: Mapping, settings=None) -> dict:
    """Link the gold incident records of ``documents`` and score the events against the gold events."""
    from ..incidents.linking import LinkSettings

    labels = _gold_labels(events, set(documents))
    system = _link(gold, documents, publication_dates, settings or LinkSettings())
    return {**clustering_scores(labels, system), "documents": len(documents)}


def score_predicted_linking(events, gold: Mapping[str, Sequence[Incident]],
                            predicted: Mapping[str, Sequence[Incident]], documents: Sequence[str],
                            publication_dates: Mapping, settings=None) -> dict:
    """Link the predicted incidents of ``documents``, align them to gold incidents and score (module docstring)."""
    from ..incidents.linking import LinkSettings
    from .metrics import align_document_incidents

    labels = _gold_labels(events, set(documents))
    system_events = _link(predicted, documents, publication_dates, settings or LinkSettings())
    gold_items: dict[Hashable, Hashable] = dict(labels)
    system_items: dict[Hashable, Hashable] = {}
    missed = spurious = 0
    for doc in documents:
        gold_incidents, predicted_incidents = list(gold.get(doc, ())), list(predicted.get(doc, ()))
        pairs = dict((p, g) for g, p in align_document_incidents(gold_incidents, predicted_incidents))
        for p in range(len(predicted_incidents)):
            item = (doc, pairs[p]) if p in pairs else ("spurious", doc, p)
            if p not in pairs:
                gold_items[item] = item  # an event of its own in the gold clustering
                spurious += 1
            system_items[item] = system_events[(doc, p)]
        for g in range(len(gold_incidents)):
            if (doc, g) not in system_items:
                system_items[(doc, g)] = ("missed", doc, g)  # no predicted incident: a singleton
                missed += 1
    scores = clustering_scores(gold_items, system_items)
    return {**scores, "documents": len(documents), "gold_incidents": len(labels),
            "predicted_incidents": sum(len(predicted.get(d, ())) for d in documents), "missed_gold": missed,
            "spurious_predicted": spurious}


def linking_rows(events: Sequence[GoldEvent], split_documents: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The document ids each row scores: per split, the split's documents that an event names; ``seeds``, every
    document of the events of split ``mixed``."""
    named = {member[0] for event in events for member in event.incidents}
    rows = {split: sorted(named & set(ids)) for split, ids in split_documents.items()}
    rows = {split: ids for split, ids in rows.items() if ids}
    mixed = sorted({member[0] for event in events if event.split == "mixed" for member in event.incidents})
    if mixed:
        rows["seeds"] = mixed
    return rows


def linking_scores(events: Sequence[GoldEvent], gold: Mapping[str, Sequence[Incident]],
                   predicted: Mapping[str, Sequence[Incident]], rows: Mapping[str, Sequence[str]],
                   publication_dates: Mapping, settings=None) -> dict:
    """The "Cross-article linking" section of an evaluation's metrics: per row, scores on gold incidents and on
    predicted incidents, with the settings used."""
    from dataclasses import asdict

    from ..incidents.linking import LinkSettings

    settings = settings or LinkSettings()
    section = {"settings": asdict(settings), "rows": {}}
    for name, documents in rows.items():
        row_events = [e for e in events if any(m[0] in set(documents) for m in e.incidents)]
        section["rows"][name] = {
            "documents": list(documents),
            "events": len({e.id for e in row_events}),
            "gold": score_gold_linking(row_events, gold, documents, publication_dates, settings),
            "predicted": score_predicted_linking(row_events, gold, predicted, documents, publication_dates,
                                                 settings),
        }
    return section


# ------------------------------------------------------------------------------------------ inside `evaluate`

def usable_event_files(files: Sequence[Path], known_documents: set[str]) -> tuple[list[Path], list[str]]:
    """The event files whose every document is among ``known_documents`` (what ``evaluate --data FILE`` loaded),
    and a note for each other one."""
    usable, notes = [], []
    for path in files:
        problems: list[str] = []
        entries = read_event_file(path, problems)
        named = {reference.get("document") for entry in entries if isinstance(entry, dict)
                 for reference in entry.get("incidents") or () if isinstance(reference, dict)}
        missing = sorted(str(name) for name in named - known_documents)
        if problems or not missing:
            usable.append(path)  # a malformed file is loaded, so that its problems are reported
        else:
            notes.append(f"{path} left out: it names documents not evaluated here ({', '.join(missing[:3])}"
                         f"{', ...' if len(missing) > 3 else ''})")
    return usable, notes


def evaluate_linking(predictor, views, documents: Mapping[str, Document], *, split: str | None,
                     splits: Mapping[str, str] | None = None, events_dir: str | Path = DEFAULT_EVENTS_DIR,
                     settings=None) -> dict | None:
    """The linking section of ``conflict-ie evaluate``, or None when there is no event file.

    ``views`` are the evaluated documents (``EvaluatedDocument``: gold and predicted incidents); ``documents``
    every annotated document the event files may name (all splits), ``splits`` document id -> split (checked
    against each event's split), ``split`` the evaluated split (None for ``--data``: one row "file" of the
    evaluated documents). The ``seeds`` row needs the seeds of other splits too: they are predicted here."""
    from .gold import gold_incidents

    files = event_files(events_dir)
    if not files:
        return None
    notes: list[str] = []
    if split is None:
        files, notes = usable_event_files(files, set(documents))
        if not files:
            return None
    events = load_gold_events(files, documents, splits=splits)
    gold = {view.gold.id: list(view.gold_incidents) for view in views}
    predicted = {view.gold.id: list(view.predicted_incidents) for view in views}
    rows = linking_rows(events, {split or "file": [view.gold.id for view in views]})
    others = [documents[doc] for ids in rows.values() for doc in ids if doc not in predicted]
    others = list({d.id: d for d in others}.values())
    if others:
        results = predictor.predict([d.text for d in others], publication_dates=[d.publication_date for d in others])
        for document, result in zip(others, results):
            predicted[document.id] = list(result.incidents)
            gold[document.id] = list(gold_incidents(document))
    dates = {doc_id: documents[doc_id].publication_date for ids in rows.values() for doc_id in ids}
    section = linking_scores(events, gold, predicted, rows, dates, settings)
    section["event_files"] = [str(path) for path in files]
    section["notes"] = notes
    return section
