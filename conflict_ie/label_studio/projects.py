"""Label Studio projects: create one whose labeling config is generated from the schema, and check that a project's
config carries exactly the schema's labels and relations."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..schema import (
    ENTITY_LABELS,
    LABELS_FROM_NAME,
    RELATION_LABELS,
    TEXT_TO_NAME,
    TRIGGER_LABELS,
    render_labeling_config,
)
from .client import ConfigMismatch, call, url_of



def create_project(client, title: str, description: str = "") -> int:
    """Create a project whose labeling config is generated from the schema; return its id."""
    project = call(client, "create a project", client.projects.create, title=title, description=description,
                    label_config=render_labeling_config())
    check_project_config(client, project.id)
    return project.id


def labeling_config_differences(label_config: str) -> list[str]:
    """How a labeling config (XML) differs from the schema's: missing or extra labels, relations, controls."""
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as error:
        return [f"the labeling config is not valid XML ({error})"]
    differences = []

    texts = [e for e in root.iter("Text") if e.get("name") == TEXT_TO_NAME]
    if not texts:
        differences.append(f'no <Text name="{TEXT_TO_NAME}"> object')
    elif texts[0].get("value") != f"${TEXT_TO_NAME}":
        differences.append(f'<Text name="{TEXT_TO_NAME}"> reads {texts[0].get("value")!r}, '
                           f'expected "${TEXT_TO_NAME}"')

    controls = [e for e in root.iter() if e.tag.endswith("Labels") and e.tag != "Relations"]
    ours = [e for e in controls if e.get("name") == LABELS_FROM_NAME]
    for other in controls:
        if other.get("name") != LABELS_FROM_NAME:
            differences.append(f"extra labeling control <{other.tag} name={other.get('name')!r}> "
                               f"(the schema has only <Labels name={LABELS_FROM_NAME!r}>)")
    if not ours:
        differences.append(f"no <Labels name={LABELS_FROM_NAME!r}> control")
    else:
        control = ours[0]
        if control.tag != "Labels":
            differences.append(f"control {LABELS_FROM_NAME!r} is <{control.tag}>, expected <Labels>")
        if control.get("toName") != TEXT_TO_NAME:
            differences.append(f"control {LABELS_FROM_NAME!r} points to {control.get('toName')!r}, "
                               f"expected {TEXT_TO_NAME!r}")
        labels = {e.get("value") for e in control.iter("Label")}
        differences += _set_differences("span label", labels, set(ENTITY_LABELS) | set(TRIGGER_LABELS))

    relations = {e.get("value") for e in root.iter("Relation")}
    differences += _set_differences("relation", relations, set(RELATION_LABELS))
    return differences


def _set_differences(kind: str, found: set, expected: set) -> list[str]:
    out = []
    if expected - found:
        out.append(f"missing {kind}s: {', '.join(sorted(expected - found))}")
    if found - expected:
        out.append(f"{kind}s not in the schema: {', '.join(sorted(str(x) for x in found - expected))}")
    return out


def check_project_config(client, project_id: int) -> None:
    """Raise ``ConfigMismatch`` unless the project's labeling config carries exactly the schema's labels."""
    project = call(client, f"read project {project_id}", client.projects.get, project_id, project_id=project_id)
    differences = labeling_config_differences(project.label_config or "")
    if differences:
        raise ConfigMismatch(
            f"project {project_id} ({project.title!r}) at {url_of(client)} does not use this project's labeling "
            "config:\n  - " + "\n  - ".join(differences) + "\nNothing was changed. Create a project with "
            "`conflict-ie studio create`, or paste annotations/labeling_config.xml into the "
            "project's Settings > Labeling Interface.", differences)

