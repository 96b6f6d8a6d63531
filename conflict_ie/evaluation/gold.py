"""Gold incident files: the incident records an annotated export states, written next to the annotations.

They are generated from the gold annotations (same_incident chains and role links) by the same assembly code as
predictions, so predictions and gold are compared record for record; a test keeps the committed files in step
with the annotations.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..conversion import document_to_predictions
from ..data.document import Document, LoadReport
from ..data.label_studio_export import load_label_studio
from ..incidents.assembly import assemble
from ..records import Incident


def gold_incidents(document: Document) -> tuple[Incident, ...]:
    """The incident records a gold-annotated document states: its same_incident chains, no heuristics."""
    entities, triggers, relations = document_to_predictions(document)
    return assemble(document.text, entities, triggers, relations, document.publication_date, merge_heuristics=False)


def gold_incident_lines(exports: list[Path], *, allow_dropped: bool = False) -> str:
    """One JSON line per document annotating triggers and relations: its doc id and gold incidents. An export with
    annotation errors is refused (ValueError naming the file, the count and the first problems) unless
    ``allow_dropped``: then the incidents are built without what the errors name, and the count is printed."""
    from ..data.corpora import dropped_items

    lines = []
    for export in exports:
        report = LoadReport(source=str(export))
        documents = load_label_studio(export, report)
        dropped_items([report], allow_dropped=allow_dropped, what=f"writing gold incidents from {export}")
        for document in documents:
            if not {"triggers", "relations"} <= document.layers:
                continue
            incidents = gold_incidents(document)
            lines.append(json.dumps({"doc_id": document.id, "incidents": [asdict(i) for i in incidents]},
                                    ensure_ascii=False, sort_keys=True))
    return "\n".join(lines) + "\n"


def write_gold_incidents(exports: list[Path], out: Path, *, allow_dropped: bool = False) -> None:
    out.write_text(gold_incident_lines(exports, allow_dropped=allow_dropped), encoding="utf-8")
    print(f"wrote {out}")
