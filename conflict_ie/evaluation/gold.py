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
from ..data.document import Document
from ..data.label_studio_export import load_label_studio
from ..incidents.assembly import assemble
from ..records import Incident


def gold_incidents(document: Document) -> tuple[Incident, ...]:
    """The incident records a gold-annotated document states: its same_incident chains, no heuristics."""
    entities, triggers, relations = document_to_predictions(document)
    return assemble(document.text, entities, triggers, relations, document.publication_date, merge_heuristics=False)


def gold_incident_lines(exports: list[Path]) -> str:
    lines = []
    for export in exports:
        for document in load_label_studio(export):
            if not {"triggers", "relations"} <= document.layers:
                continue
            incidents = gold_incidents(document)
            lines.append(json.dumps({"doc_id": document.id, "incidents": [asdict(i) for i in incidents]},
                                    ensure_ascii=False, sort_keys=True))
    return "\n".join(lines) + "\n"


def write_gold_incidents(exports: list[Path], out: Path) -> None:
    out.write_text(gold_incident_lines(exports), encoding="utf-8")
    print(f"wrote {out}")
