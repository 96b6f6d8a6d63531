"""ACLED event coding of an incident from its type and its roles, as ACLED's codebook has it.

The trigger type alone does not decide the ACLED event type. An "Attack" (a raid, a shooting, an assault) is
"Violence against civilians" only when its targets are civilians; a raid on an armed group is a "Battles / Armed
clash" (ACLED codes any violent interaction between two armed organised groups so). Remote violence (air strikes,
shelling, explosives) stays "Explosions/Remote violence" whoever it hits, and carries ACLED's "Civilian targeting"
mark when civilians were its targets. Abductions stay "Violence against civilians / Abduction/forced
disappearance" (ACLED has no battle sub-event for a captured combatant).

Who the targets are comes from the incident's target and victim spans, read by their head words and labels, and
from the entity relations the model found: a person who BelongsTo or is InChargeOf a group is a member of it
("leaders of al-Qaeda"). An Attack whose targets nothing identifies is coded an armed clash, never violence
against civilians by default.
"""

from __future__ import annotations

import re

from ..records import RelationPrediction, SpanPrediction
from ..schema import ACLED_TYPES, AcledType

ARMED_CLASH = AcledType("Battles", "Armed clash")

# Head words of spans that name armed actors or military objects, and of those that name civilians or civilian
# objects. Matched as whole words, lower case, singular or plural.
ARMED_WORDS = frozenset("""
army armies soldier troop force military militar militia militiamen militant fighter combatant rebel insurgent
jihadist jihadi terrorist gunman gunmen guard police policeman policemen officer commander leader leadership
member element operative cell unit brigade battalion regiment division platoon squad faction group organization
organisation network coalition peshmerga isf isil isis daesh qaeda qaida nusra hts taliban shabaab boko haram
hezbollah hizbollah pkk ypg sdf base checkpoint position outpost post camp headquarters hq barracks garrison
depot bunker tunnel tank vehicle artillery launcher mortar weapon ammunition stockpile staging facility
""".split())
CIVILIAN_WORDS = frozenset("""
civilian people person resident villager inhabitant family families child children kid women woman men man girl
boy baby infant student pupil teacher doctor nurse patient worker farmer shepherd fisherman fishermen passenger
worshipper pilgrim journalist reporter correspondent refugee displaced aid humanitarian volunteer medic paramedic
hospital clinic school university market marketplace mosque church shrine temple home house houses neighbourhood
neighborhood village shop bakery restaurant cafe wedding funeral bus
""".split())
# Organisations that are not armed actors, by a word of their name.
CIVILIAN_ORGANISATION_WORDS = frozenset("""
red cross crescent un unicef unhcr wfp msf ngo charity hospital school university media news agency helmets
""".split())
_WORD = re.compile(r"[a-z]+")
MEMBERSHIP = frozenset({"BelongsTo", "InChargeOf"})


def _words(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return [w[:-1] if w.endswith("s") and w[:-1] in ARMED_WORDS | CIVILIAN_WORDS else w for w in words]


def span_kind(span: SpanPrediction, members: frozenset[tuple[int, int]] = frozenset()) -> str | None:
    """"armed", "civilian" or None (cannot tell) for one target or victim span."""
    words = _words(span.text)
    if (span.start, span.end) in members:
        return "armed"
    head = words[-1] if words else ""
    if head in CIVILIAN_WORDS:
        return "civilian"
    if head in ARMED_WORDS:
        return "armed"
    if span.label == "Organisation":  # a named group is an actor, unless its name says aid, media or a school
        return "armed" if CIVILIAN_ORGANISATION_WORDS.isdisjoint(words) else "civilian"
    if any(w in ARMED_WORDS for w in words):
        return "armed"
    if any(w in CIVILIAN_WORDS for w in words):
        return "civilian"
    return None


def group_members(relations: tuple[RelationPrediction, ...] | list[RelationPrediction]) -> frozenset[tuple[int, int]]:
    """Offsets of the spans the entity relations make members or leaders of an armed group (not of a civilian
    organisation)."""
    members = set()
    for relation in relations:
        if relation.label in MEMBERSHIP and span_kind(relation.tail) == "armed":
            members.add((relation.head.start, relation.head.end))
    return frozenset(members)


def target_kind(targets, victims, members: frozenset[tuple[int, int]] = frozenset()) -> str | None:
    """"armed" when any target or victim is an armed actor (civilians harmed beside them are collateral, as ACLED
    codes them), "civilian" when only civilians are named, None when the spans do not tell."""
    kinds = {span_kind(span, members) for span in tuple(targets) + tuple(victims)} - {None}
    if "armed" in kinds:
        return "armed"
    return "civilian" if kinds else None


# The means that decide an incident's type over its word (GUIDELINES: "The means, when the text gives them, decide
# over the word"), by a word of an instrument span, singular or plural.
MEANS_TYPES = {
    "AirStrike": frozenset("aircraft airplane plane warplane jet bomber drone uav helicopter gunship".split()),
    "Shelling": frozenset("rocket artillery mortar missile shell howitzer launcher grad katyusha".split()),
    "Explosion": frozenset("bomb ied vbied explosive grenade landmine mine".split()),
}
# Types the means can decide between: the remote and explosive kinds, and the catch-all. A clash or an abduction
# is told by what the people did, whatever arms they carried.
MEANS_DECIDE = frozenset({"Attack", "AirStrike", "Shelling", "Explosion"})


def type_by_means(incident_type: str, instruments) -> str:
    """The incident's type as its instruments tell it: one kind of means (drones, rockets and missiles, bombs and
    IEDs) makes an attack, strike or shelling that kind; none, or means of two kinds (a drone firing missiles),
    leave the type the triggers gave. Bombs beside aircraft are the aircraft's: an air strike."""
    if incident_type not in MEANS_DECIDE:
        return incident_type
    kinds = set()
    for span in instruments:
        for word in _WORD.findall(span.text.lower()):
            for kind, words in MEANS_TYPES.items():
                if word in words or (word.endswith("s") and word[:-1] in words):
                    kinds.add(kind)
    if kinds == {"AirStrike", "Explosion"}:
        kinds = {"AirStrike"}
    return kinds.pop() if len(kinds) == 1 else incident_type


def acled_coding(incident_type: str, kind: str | None) -> tuple[AcledType, bool]:
    """The ACLED event type and sub-event type, and the civilian-targeting mark, of an incident. An Attack is
    violence against civilians only when its targets are civilians; on armed actors, or on targets the text does
    not name, it is an armed clash (the codebook's test is who was targeted, and nothing says civilians)."""
    if incident_type == "Attack" and kind != "civilian":
        return ARMED_CLASH, False
    return ACLED_TYPES[incident_type], kind == "civilian"
