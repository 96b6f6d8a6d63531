"""The label schema: the single source of truth for every label the project knows.

Three layers: entities (named as in re3d), incident triggers (ACLED-aligned sub-events) and directed relations
(incident roles trigger -> entity, entity -> entity relations as in re3d, and trigger -> trigger coreference), plus
the incident record field each role fills. The README ("Model design") says how the model uses them and
``annotations/GUIDELINES.md`` how to annotate each one. The Label Studio labeling config in
``annotations/labeling_config.xml`` is generated from this module (``conflict-ie labeling-config``).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

ENTITY_LABELS: tuple[str, ...] = (
    "Person",
    "Organisation",
    "Location",
    "Temporal",
    "Quantity",
    "Weapon",
    "MilitaryPlatform",
    "Nationality",
    "Money",
    "DocumentReference",
)

TRIGGER_LABELS: tuple[str, ...] = (
    "AirStrike",
    "Shelling",
    "Explosion",
    "ArmedClash",
    "Attack",
    "Abduction",
)

# Incident roles: head is a trigger, tail an entity.
ROLE_LABELS: tuple[str, ...] = (
    "attacker",
    "target",
    "victim",
    "place",
    "time",
    "instrument",
    "killed_count",
    "injured_count",
    "reported_by",
)

# The incident record field each role fills (records.Incident), in the record's order.
ROLE_FIELDS: dict[str, str] = {
    "time": "dates",
    "place": "places",
    "attacker": "attackers",
    "target": "targets",
    "victim": "victims",
    "instrument": "instruments",
    "killed_count": "fatalities",
    "injured_count": "injuries",
    "reported_by": "sources",
}
INCIDENT_FIELDS: tuple[str, ...] = tuple(ROLE_FIELDS.values())
# Roles whose values are normalised (a DateValue, Place or Count wrapping the span); the others are plain spans.
NORMALISED_ROLES: frozenset[str] = frozenset({"time", "place", "killed_count", "injured_count"})
PARTICIPANT_FIELDS: tuple[str, ...] = tuple(f for role, f in ROLE_FIELDS.items() if role not in NORMALISED_ROLES)

# Entity -> entity relations kept from re3d.
ENTITY_RELATION_LABELS: tuple[str, ...] = (
    "BelongsTo",
    "InChargeOf",
    "AlliesOf",
    "FightingAgainst",
    "CoLocated",
    "IsSynonymOf",
)

# Trigger -> trigger: a later mention of an incident points to an earlier mention of the same incident.
COREFERENCE_LABELS: tuple[str, ...] = ("same_incident",)

RELATION_LABELS: tuple[str, ...] = ROLE_LABELS + ENTITY_RELATION_LABELS + COREFERENCE_LABELS

# Document-level role fillers: a mention that fills this role in some incident the document reports, tagged at every
# place its words occur, whichever incident it belongs to. MUC-4's templates annotate exactly this (PerpInd,
# PerpOrg, Target, Victim, Weapon), without triggers; our own gold gives it through its role relations (an attacker
# that is a Person is an AttackerIndividual, any other attacker an AttackerOrganisation). Not a Label Studio label:
# annotators draw roles as relations, and the tags are derived from them.
ROLE_FILLER_LABELS: tuple[str, ...] = ("AttackerIndividual", "AttackerOrganisation", "Target", "Victim", "Instrument")
# The role relation (and tail types) each filler label is derived from.
ROLE_FILLER_SOURCES: dict[str, tuple[str, frozenset[str] | None]] = {
    "AttackerIndividual": ("attacker", frozenset({"Person"})),
    "AttackerOrganisation": ("attacker", None),  # any other attacker
    "Target": ("target", None),
    "Victim": ("victim", None),
    "Instrument": ("instrument", None),
}

LAYERS: tuple[str, ...] = ("entities", "triggers", "relations", "role_fillers")


def implied_layers(layers) -> frozenset[str]:
    """The layers a document annotates, given those its file lists: triggers and relations together annotate the
    role fillers too (the role relations say which mentions fill a role; ``data/role_fillers.py``)."""
    layers = frozenset(layers)
    return layers | {"role_fillers"} if {"triggers", "relations"} <= layers else layers

# Which entity types may fill each role (the tail of a role relation).
ROLE_TAIL_TYPES: dict[str, frozenset[str]] = {
    "attacker": frozenset({"Person", "Organisation", "Nationality", "MilitaryPlatform"}),
    "target": frozenset({"Person", "Organisation", "Location", "MilitaryPlatform", "Nationality"}),
    "victim": frozenset({"Person", "Organisation", "Nationality"}),
    "place": frozenset({"Location"}),
    "time": frozenset({"Temporal"}),
    "instrument": frozenset({"Weapon", "MilitaryPlatform"}),
    "killed_count": frozenset({"Quantity"}),
    "injured_count": frozenset({"Quantity"}),
    "reported_by": frozenset({"Person", "Organisation", "DocumentReference"}),
}


@dataclass(frozen=True)
class AcledType:
    event_type: str
    sub_event_type: str


# Trigger label -> the ACLED event type / sub-event type it maps to by default. An incident's final coding also
# reads its targets (incidents/coding.py): an "Attack" on armed actors, or on targets nobody names, is a
# "Battles / Armed clash"; "Violence against civilians / Attack" needs civilian targets.
ACLED_TYPES: dict[str, AcledType] = {
    "AirStrike": AcledType("Explosions/Remote violence", "Air/drone strike"),
    "Shelling": AcledType("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "Explosion": AcledType("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    "ArmedClash": AcledType("Battles", "Armed clash"),
    "Attack": AcledType("Violence against civilians", "Attack"),
    "Abduction": AcledType("Violence against civilians", "Abduction/forced disappearance"),
}

# Colours for the labeling interface: entities in cool tones, triggers in warm tones.
_ENTITY_COLOURS = (
    "#4e79a7", "#59a14f", "#76b7b2", "#9c755f", "#bab0ac",
    "#af7aa1", "#8cd17d", "#86bcb6", "#a0cbe8", "#d4a6c8",
)
_TRIGGER_COLOURS = ("#e15759", "#f28e2b", "#ff9da7", "#edc948", "#d37295", "#b6992d")


def span_layer(label: str) -> str:
    """The layer a span label belongs to: "entities", "triggers" or "role_fillers"."""
    if label in ENTITY_LABELS:
        return "entities"
    if label in TRIGGER_LABELS:
        return "triggers"
    if label in ROLE_FILLER_LABELS:
        return "role_fillers"
    raise KeyError(f"unknown span label {label!r}")


def is_span_label(label: str) -> bool:
    return label in ENTITY_LABELS or label in TRIGGER_LABELS


def relation_problem(label: str, head_label: str, tail_label: str) -> str | None:
    """Why a relation between spans of these labels breaks the schema, or None when it is allowed."""
    if label not in RELATION_LABELS:
        return f"unknown relation type {label!r}"
    if label in ROLE_LABELS:
        if head_label not in TRIGGER_LABELS:
            return f"role {label!r} must start at an incident trigger, not {head_label!r}"
        if tail_label not in ROLE_TAIL_TYPES[label]:
            allowed = ", ".join(sorted(ROLE_TAIL_TYPES[label]))
            return f"role {label!r} cannot point to {tail_label!r} (allowed: {allowed})"
    elif label in COREFERENCE_LABELS:
        if head_label not in TRIGGER_LABELS or tail_label not in TRIGGER_LABELS:
            return f"{label!r} links two incident triggers, not {head_label!r} -> {tail_label!r}"
    elif head_label not in ENTITY_LABELS or tail_label not in ENTITY_LABELS:
        return f"entity relation {label!r} links two entities, not {head_label!r} -> {tail_label!r}"
    return None


def render_labeling_config() -> str:
    """The Label Studio labeling config (XML) for all three layers, generated from the schema."""
    lines = [
        "<!-- Generated by `conflict-ie labeling-config`; edit conflict_ie/schema.py, not this file. -->",
        "<View>",
        '  <Relations>',
    ]
    lines += [f"    <Relation value={quoteattr(label)}/>" for label in RELATION_LABELS]
    lines += ["  </Relations>", '  <Labels name="label" toName="text">']
    for label, colour in zip(ENTITY_LABELS, _ENTITY_COLOURS):
        lines.append(f"    <Label value={quoteattr(label)} background={quoteattr(colour)}/>")
    for label, colour in zip(TRIGGER_LABELS, _TRIGGER_COLOURS):
        lines.append(f"    <Label value={quoteattr(label)} background={quoteattr(colour)}/>")
    lines += [
        "  </Labels>",
        '  <Text name="text" value="$text" granularity="symbol"/>',
        "</View>",
        "",
    ]
    return "\n".join(lines)


# The names used in the labeling config; loaders and the validator check results against them.
LABELS_FROM_NAME = "label"
TEXT_TO_NAME = "text"

