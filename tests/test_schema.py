"""The schema is the single source of truth: the committed labeling config must be generated from it."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from conflict_ie.schema import (ACLED_TYPES, ENTITY_LABELS, RELATION_LABELS, ROLE_LABELS, ROLE_TAIL_TYPES,
                                TRIGGER_LABELS, relation_problem, render_labeling_config)

from .conftest import REPO_ROOT

CONFIG = REPO_ROOT / "annotations" / "labeling_config.xml"


def test_committed_labeling_config_is_generated_from_the_schema():
    assert CONFIG.read_text(encoding="utf-8") == render_labeling_config(), (
        "annotations/labeling_config.xml is stale: run `conflict-ie labeling-config > annotations/labeling_config.xml`")


def test_labeling_config_holds_every_label_and_relation():
    root = ElementTree.fromstring(CONFIG.read_text(encoding="utf-8"))
    labels = [label.get("value") for label in root.iter("Label")]
    relations = [relation.get("value") for relation in root.iter("Relation")]
    assert labels == list(ENTITY_LABELS + TRIGGER_LABELS)
    assert relations == list(RELATION_LABELS)
    text = root.find("Text")
    assert root.find("Labels").get("toName") == text.get("name") == "text"


def test_every_trigger_maps_to_acled_and_every_role_has_tail_types():
    assert set(ACLED_TYPES) == set(TRIGGER_LABELS)
    assert set(ROLE_TAIL_TYPES) == set(ROLE_LABELS)
    assert all(types <= set(ENTITY_LABELS) for types in ROLE_TAIL_TYPES.values())


def test_relation_constraints():
    assert relation_problem("place", "Shelling", "Location") is None
    assert "cannot point" in relation_problem("place", "Shelling", "Person")
    assert "must start at an incident trigger" in relation_problem("victim", "Person", "Person")
    assert relation_problem("BelongsTo", "Person", "Organisation") is None
    assert "links two entities" in relation_problem("BelongsTo", "AirStrike", "Organisation")
    assert relation_problem("same_incident", "AirStrike", "Attack") is None
    assert "unknown relation" in relation_problem("Likes", "Person", "Person")
