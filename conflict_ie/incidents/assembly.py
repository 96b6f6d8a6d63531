"""Incident assembly: decoded triggers, entities and relations -> one Incident record per incident.

Triggers that the model links with ``same_incident`` form one incident. On top of those links, a later trigger
cluster joins an earlier one of the same ACLED event type when the two share a role filler (same attacker, place
or victim text), or when the later one is a bare anaphor ("the attack", "the strikes") with no filler of its own:
articles restate one incident many times, and one record per incident is what analysts count.

No merge joins two clusters that contradict each other: two clusters whose times resolve to different days never
join, and a heuristic merge also never joins clusters that name different places, neither inside the other
(Thiban and al-Shuhayl, both in Deir ez-Zor). The model's same_incident links are held to the days only: the
model read the sentence, while the place relations it draws are noisier than its links. Links are taken strongest
first, so a weak link cannot join what a strong one kept apart. Gold annotations (``merge_heuristics=False``) are
assembled as they are linked.

An incident's type is its triggers' (a specific type over the catch-all Attack) unless its instruments say
otherwise: one kind of means (aircraft and drones, rockets, artillery and missiles, bombs and IEDs) decides, as
the guidelines have it, and then every trigger of the incident takes that type; otherwise only catch-all Attack
triggers take the incident's type (``typed_by_incident`` carries it to the article's triggers and relations).

Talk about violence makes no record: a predicted trigger that modifies the noun after it ("attack helicopters"),
a record that nothing anchors in a happening whose every trigger is generic ("A strike, as defined ..."), and a
count of events over whole countries ("34 strikes in Syria and Iraq") are dropped (``is_modifier_use``,
``is_generic_mention``, ``is_national_tally``). Before assembly, ``joined_abutting_triggers`` makes a compound
event word the tagger split ("grenade attack") one trigger.

Role fillers (the document-level role-filler layer: mentions the model reads as an attacker, target, victim or
instrument of some incident of the article) then fill the roles the relations left empty: a filler joins the
incident of the nearest trigger in its own sentence when that incident has no filler in that role yet and holds
none of its words, and no incident has it in that role already. Relations come first because they say which
incident a filler belongs to; the filler layer learns from many more documents (MUC-4's), so it finds fillers
relations miss. The rule is the most conservative of seven compared on the dev split (README, "Model design").
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import replace

from .coding import acled_coding, group_members, target_kind, type_by_means
from .counts import parse_count
from .dates import resolve_date
from .linking import is_dateline_date, is_dateline_place
from .places import PlaceIndex, place_name
from ..records import Incident, RelationPrediction, SpanPrediction
from ..schema import ACLED_TYPES, ROLE_FIELDS, ROLE_FILLER_SOURCES, ROLE_TAIL_TYPES

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
             merge_heuristics: bool = True, role_fillers: tuple[SpanPrediction, ...] = ()) -> tuple[Incident, ...]:
    """Group triggers into incidents and fill each incident's roles from the relations, then from the role
    fillers."""
    if merge_heuristics:  # gold is assembled as annotated
        triggers = tuple(t for t in triggers if not is_modifier_use(text, t))
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
    links: list[tuple[float, int, int]] = []
    for relation in relations:
        head = index.get(key(relation.head))
        if head is None:
            continue
        if relation.label == "same_incident":
            tail = index.get(key(relation.tail))
            if tail is not None:
                links.append((relation.score, head, tail))
        elif relation.label in ROLE_FIELDS and not (relation.label == "time" and _announcement_time(text, relation.tail)) \
                and not _in_dateline(relation, publication_date):
            roles_by_trigger[head].append(relation)
    _add_adjacent_times(text, entities, triggers, roles_by_trigger)
    places = PlaceIndex(text, [e for e in entities if e.label == "Location"])

    if not merge_heuristics:  # gold: the links as annotated
        for _, head, tail in links:
            union(head, tail)
    else:
        facts = _ClusterFacts(triggers, roles_by_trigger, places, publication_date, find, parent)
        for _, head, tail in sorted(links, key=lambda link: -link[0]):  # strongest first (stable for ties)
            facts.union(head, tail, places_too=False)
        _merge_compatible(text, triggers, roles_by_trigger, find, facts.union)
        _merge_generic_attacks(triggers, roles_by_trigger, find, facts.union)

    clusters: dict[int, list[int]] = {}
    for i in range(len(triggers)):
        clusters.setdefault(find(i), []).append(i)
    sentence_ranges = sentences(text)
    sentence_starts = [start for start, _ in sentence_ranges]  # for finding a trigger's sentence by bisection
    if role_fillers:
        _attach_role_fillers(role_fillers, entities, triggers, roles_by_trigger, clusters, find, sentence_starts)
    armed_members = group_members(relations)  # people the entity relations put in a group (ACLED coding)
    incidents = [
        _incident(text, [triggers[i] for i in members], [r for i in members for r in roles_by_trigger[i]],
                  places, sentence_ranges, sentence_starts, publication_date, armed_members)
        for _, members in sorted(clusters.items())
    ]
    if merge_heuristics:  # gold is assembled as annotated
        incidents = [incident for incident in incidents
                     if not is_generic_mention(text, incident) and not is_national_tally(text, incident)]
    return tuple(incidents)


# Nouns an event word can modify without naming an event: "attack helicopters", "fighting position", "strike
# assessments", "bombing runs". No trigger of the annotations (seeds, authored, re3d) comes before one of them.
_MODIFIED_NOUN = re.compile(
    r"\s+(?:positions?|assessments?|devices?|aircraft|helicopters?|jets?|planes?|capabilit(?:y|ies)|groups?|"
    r"packages?|runs?|units?|teams?|squads?|dogs?|boats?|submarines?|rifles?|drills?|exercises?|training)\b",
    re.IGNORECASE)


def is_modifier_use(text: str, trigger: SpanPrediction) -> bool:
    """A one-word trigger that modifies the noun after it ("attack helicopters", "fighting position") names
    equipment, a place or a paper, not an event."""
    return " " not in trigger.text.strip() and _MODIFIED_NOUN.match(text, trigger.end) is not None


# "a strike", "each strike", "many more strikes", "any such attack": a determiner that speaks of no one incident
_GENERIC_DETERMINER = re.compile(r"\b(?:a|an|each|every|any|such|more|many|further|future)\s+(?:\w+\s+)?$",
                                 re.IGNORECASE)
# a word that makes a plural specific: "the strikes", "its attacks", "Hezbollah's raids", "five strikes"
_SPECIFIC_DETERMINER = re.compile(r"(?:\b(?:the|this|that|these|those|its|their|his|her|our|your|my|whose|\d+|two|"
                                  r"three|four|five|six|seven|eight|nine|ten|several)|['’]s)\s+(?:[\w-]+\s+)?$",
                                  re.IGNORECASE)
# what ties a mention to one happening; an attacker, a means, a source or a country alone do not ("aircraft
# employed in a strike", "nations which have conducted strikes in Syria")
ANCHOR_ROLES = ("dates", "targets", "victims", "fatalities", "injuries")


# a number right before a plural event noun: "34 strikes", "five airstrikes" (not "five rockets struck"; one is
# not a tally)
_TALLY = re.compile(r"\b(?:[2-9]|[1-9]\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|"
                    r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen|dozens|scores)\s+$", re.IGNORECASE)


def _only_a_country(place) -> bool:
    """A place that names a whole country ("in Syria"), no region or town in it."""
    return bool(place.country) and place.hierarchy == (place.country,)


def is_national_tally(text: str, incident: Incident) -> bool:
    """A count of events over whole countries ("conducted 34 strikes against ISIL in Syria and Iraq"), which the
    report then breaks down by town: a total, not one incident. ACLED codes events where they happened; no
    annotated incident counts its events and names only countries."""
    countries_only = bool(incident.places) and all(map(_only_a_country, incident.places))
    return countries_only and any(t.text.lower().endswith("s") and _TALLY.search(text[max(0, t.start - 40):t.start])
                                  for t in incident.triggers)


def is_generic_mention(text: str, incident: Incident) -> bool:
    """Talk about violence, not an incident: every trigger follows a generic determiner or is a bare plural, and
    nothing anchors the record in a happening (no time, target, victim or count, no place below a country).
    Definitions ("A strike, as defined ..., means"), habits and promises ("many more strikes", "nations which
    have conducted strikes in Syria", "in attacks claimed by armed factions") are not incidents by the
    guidelines; no annotated incident lacks all of these anchors."""
    if any(getattr(incident, role) for role in ANCHOR_ROLES) or not all(map(_only_a_country, incident.places)):
        return False

    def generic(trigger: SpanPrediction) -> bool:
        before = text[max(0, trigger.start - 40):trigger.start]
        bare_plural = trigger.text.lower().endswith("s") and not _SPECIFIC_DETERMINER.search(before)
        return bare_plural or bool(_GENERIC_DETERMINER.search(before))

    return all(generic(t) for t in incident.triggers)


def joined_abutting_triggers(text: str, triggers: tuple[SpanPrediction, ...],
                             relations: tuple[RelationPrediction, ...]
                             ) -> tuple[tuple[SpanPrediction, ...], tuple[RelationPrediction, ...]]:
    """Two trigger spans with only spaces between them are one compound trigger ("grenade attack" read as
    Explosion + Shelling, "air raid" read as two words): no two annotated triggers abut. The joined span takes
    the first word's type, which names the means, unless that is the catch-all Attack, and the relations of both
    words (the strongest of each head, tail and label). The words are joined after relation scoring, so every
    relation the model drew for either word is kept (scoring the joined span afresh, tried on dev, split more
    incidents than it joined: incident role F1 0.535 to 0.528)."""
    groups: list[list[SpanPrediction]] = []  # runs of abutting words, in text order
    for trigger in sorted(triggers, key=lambda t: (t.start, t.end)):
        last = groups[-1][-1] if groups else None
        if last is not None and last.end < trigger.start and not text[last.end:trigger.start].strip(" \t\u00a0"):
            groups[-1].append(trigger)
        else:
            groups.append([trigger])
    joined: list[SpanPrediction] = []
    replaced: dict[SpanPrediction, SpanPrediction] = {}
    for words in groups:
        if len(words) == 1:
            joined.append(words[0])
            continue
        first, last = words[0], words[-1]
        label = next((w.label for w in words if w.label != "Attack"), "Attack")
        both = SpanPrediction(first.start, last.end, text[first.start:last.end], label,
                              round(sum(w.score for w in words) / len(words), 4))
        joined.append(both)
        replaced.update(dict.fromkeys(words, both))
    if not replaced:
        return triggers, relations
    best: dict[tuple, RelationPrediction] = {}
    for relation in relations:
        head, tail = replaced.get(relation.head, relation.head), replaced.get(relation.tail, relation.tail)
        if head == tail:
            continue  # a same_incident link between the two words
        key = (head, tail, relation.label)
        if key not in best or relation.score > best[key].score:
            best[key] = replace(relation, head=head, tail=tail)
    return tuple(joined), tuple(best.values())


def typed_by_incident(triggers: tuple[SpanPrediction, ...], relations: tuple[RelationPrediction, ...],
                      incidents: tuple[Incident, ...]) -> tuple[tuple[SpanPrediction, ...], tuple[RelationPrediction, ...]]:
    """The article's triggers and relations with each trigger typed as its incident's record has it: "the attack"
    that restates an air strike is an AirStrike trigger, as the guidelines annotate it (no gold incident of the
    training and dev splits mixes trigger types), where the model reads the word alone and says Attack."""
    typed = {(t.start, t.end): t for incident in incidents for t in incident.triggers}
    trigger_set = set(triggers)
    # a trigger no incident holds was talk about violence that assembly dropped (``is_generic_mention``,
    # ``is_modifier_use``, ``is_national_tally``): no trigger, no relations
    dropped = {t for t in triggers if (t.start, t.end) not in typed}

    def retyped(span: SpanPrediction) -> SpanPrediction:
        return typed.get((span.start, span.end), span) if span in trigger_set else span

    return (tuple(retyped(t) for t in triggers if t not in dropped),
            tuple(replace(r, head=retyped(r.head), tail=retyped(r.tail)) for r in relations
                  if r.head not in dropped and r.tail not in dropped))


class _ClusterFacts:
    """What each trigger cluster states of when and where it happened, to refuse merges that contradict it: the
    days its times resolve to, the places it names (most specific first) and every place of their chains."""

    def __init__(self, triggers, roles_by_trigger, places: PlaceIndex, publication_date, find, parent: list[int]):
        self.find, self.parent = find, parent
        self.days: list[set[str]] = []
        self.leaves: list[set[str]] = []  # each place named, as its name
        self.names: list[set[str]] = []  # those places and everything the article puts them in
        for i in range(len(triggers)):
            days, leaves, names = set(), set(), set()
            for relation in roles_by_trigger[i]:
                if relation.label == "time":
                    date = resolve_date(relation.tail, publication_date)
                    if date.precision == "day":
                        days.add(date.iso)
                elif relation.label == "place":
                    chain = [place_name(name).lower() for name in places.chain(relation.tail)]
                    leaves.add(chain[0])
                    names.update(chain)
            self.days.append(days)
            self.leaves.append(leaves)
            self.names.append(names)

    def conflict(self, a: int, b: int, places_too: bool = True) -> bool:
        """Do roots ``a`` and ``b`` state different days, or (``places_too``) places neither of which holds the
        other's?"""
        if self.days[a] and self.days[b] and not self.days[a] & self.days[b]:
            return True
        return places_too and bool(self.leaves[a]) and bool(self.leaves[b]) and not (
            self.leaves[a] <= self.names[b] or self.leaves[b] <= self.names[a])

    def union(self, a: int, b: int, places_too: bool = True) -> None:
        """Join the clusters of ``a`` and ``b`` unless they conflict; the earliest trigger stays the root."""
        a, b = self.find(a), self.find(b)
        if a == b or self.conflict(a, b, places_too):
            return
        root, other = min(a, b), max(a, b)
        self.parent[other] = root
        for facts in (self.days, self.leaves, self.names):
            facts[root] |= facts[other]
            facts[other] = set()


# "announced, on Friday", "said on Saturday", "revealed in a statement Friday": the date of a statement, not of the
# incident (GUIDELINES 5: the time of an announcement is not the incident's time).
_ANNOUNCED_ON = re.compile(r"\b(?:announced|announces|said|says|stated|states|revealed|reveals|confirmed|confirms|"
                           r"reported|reports|told|added|declared|claimed|statement|briefing)\b[\s,]*"
                           r"(?:on|in|late|early|this|last)?\s*$", re.IGNORECASE)
# A date right beside its trigger: "a drone strike on September 20", "the raid in early July", "Saturday's attack".
_TIME_AFTER_TRIGGER = re.compile(r"^\s*(?:on|in|at|during|overnight|early on|late on)?\s*$", re.IGNORECASE)
_TIME_BEFORE_TRIGGER = re.compile(r"^(?:['’]s)?\s*$")


def _in_dateline(relation: RelationPrediction, publication_date: dt.date | None) -> bool:
    """Is this place or time the article's dateline ("BEIRUT, Sept 18 (Reuters) -"): where and when the story was
    filed, which the model sometimes reads as the incident's (on dev, dropping them raised incident role F1)."""
    if relation.label == "place":
        return is_dateline_place(relation.tail.text, relation.tail.start)
    if relation.label == "time" and publication_date is not None:
        return is_dateline_date(relation.tail.text, relation.tail.start,
                                resolve_date(relation.tail, publication_date).iso, publication_date.isoformat())
    return False


def _announcement_time(text: str, span: SpanPrediction) -> bool:
    return bool(_ANNOUNCED_ON.search(text[max(0, span.start - 40):span.start]))


def _add_adjacent_times(text, entities, triggers, roles_by_trigger) -> None:
    """A Temporal written right beside a trigger is that incident's time, whatever the relation head scored: the
    grammar says so ("a drone strike on September 20")."""
    temporals = sorted((e for e in entities if e.label == "Temporal"), key=lambda e: e.start)
    starts = [e.start for e in temporals]
    for i, trigger in enumerate(triggers):
        candidates = []
        after = bisect.bisect_left(starts, trigger.end)
        if after < len(temporals) and _TIME_AFTER_TRIGGER.match(text[trigger.end:temporals[after].start]):
            candidates.append(temporals[after])
        if after > 0 and temporals[after - 1].end <= trigger.start and \
                _TIME_BEFORE_TRIGGER.match(text[temporals[after - 1].end:trigger.start]):
            candidates.append(temporals[after - 1])
        for temporal in candidates:
            if _announcement_time(text, temporal):
                continue
            if all((r.tail.start, r.tail.end) != (temporal.start, temporal.end) for r in roles_by_trigger[i]):
                roles_by_trigger[i].append(RelationPrediction(trigger, temporal, "time", temporal.score))


def _merge_generic_attacks(triggers, roles_by_trigger, find, union) -> None:
    """An incident typed only "Attack" (the catch-all: "raid", "attack", a headline's word for the event) joins the
    earliest incident of a specific type (an air strike, a shelling, ...) that shares a place, attacker, target or
    victim with it and whose times do not differ: one event told with a generic word and a precise one. Specific
    incidents are found through an index by filler, so an article with thousands of triggers stays fast."""
    clusters: dict[int, list[int]] = {}
    for i in range(len(triggers)):
        clusters.setdefault(find(i), []).append(i)

    def fillers(members, labels) -> set[tuple[str, str]]:
        return {(r.label, r.tail.text.lower()) for i in members for r in roles_by_trigger[i] if r.label in labels}

    times = {root: fillers(members, ("time",)) for root, members in clusters.items()}
    specific_by_filler: dict[tuple[str, str], list[int]] = {}  # filler -> specific roots holding it, ascending
    generic = []
    for root, members in clusters.items():
        labels = {triggers[i].label for i in members}
        if labels == {"Attack"}:
            generic.append(root)
        elif "Attack" not in labels:
            for filler in fillers(members, MERGE_ROLES):
                specific_by_filler.setdefault(filler, []).append(root)
    for root in generic:
        candidates = {other for filler in fillers(clusters[root], MERGE_ROLES)
                      for other in specific_by_filler.get(filler, ())}
        shared = [other for other in candidates if not _times_differ(times[root], times[other])]
        if shared:
            union(min(shared), root)


def _times_differ(a: set, b: set) -> bool:
    return bool(a) and bool(b) and not (a & b)


def _merge_compatible(text, triggers, roles_by_trigger, find, union) -> None:
    """Join each later trigger to the earliest compatible cluster. Clusters are found through indexes (roots
    per event type, roots per role filler), so an article with thousands of triggers stays fast."""
    def fillers(i: int) -> set[tuple[str, str]]:
        return {(r.label, r.tail.text.lower()) for r in roles_by_trigger[i] if r.label in MERGE_ROLES}

    event_type = [ACLED_TYPES[trigger.label].event_type for trigger in triggers]
    own_fillers = [fillers(i) for i in range(len(triggers))]
    holders: dict[tuple[str, str], set[int]] = {}  # filler -> triggers (later: their roots) that have it
    for i, own in enumerate(own_fillers):
        for filler in own:
            holders.setdefault(filler, set()).add(i)
    roots_by_type: dict[str, list[int]] = {}  # roots of the clusters seen so far, ascending, per event type
    last_same_word: dict[str, int] = {}  # trigger text, lower case -> the latest earlier trigger with it
    for later in range(1, len(triggers)):
        last_same_word[triggers[later - 1].text.lower()] = later - 1
        root = find(later - 1)
        if root == later - 1:
            roots_by_type.setdefault(event_type[root], []).append(root)
        later_type, later_root, own = event_type[later], find(later), own_fillers[later]
        is_anaphor = bool(_ANAPHOR.search(text[max(0, triggers[later].start - 40):triggers[later].start]))
        # a bare trigger (no roles of its own: "the strikes", "shelling") is a further mention, not a record
        if not roles_by_trigger[later] or (is_anaphor and not own):
            target = _earliest_root(roots_by_type.get(later_type, []), find, later_root)
        elif is_anaphor and not any(r.label == "time" for r in roles_by_trigger[later]) and (
                (last := last_same_word.get(triggers[later].text.lower())) is not None):
            # "The raid ... killed eight" after "a raid": the definite mention of a word already used, with no
            # time of its own, is that incident, whatever fillers it adds
            target = find(last) if find(last) != later_root else None
        else:
            target = None
            for filler in own:
                roots = {find(i) for i in holders[filler]}
                holders[filler] = roots  # a cluster's root stands for all its members
                candidates = [r for r in roots if r < later and r != later_root and event_type[r] == later_type]
                if candidates and (target is None or min(candidates) < target):
                    target = min(candidates)
        if target is not None:
            union(target, later)


def _attach_role_fillers(role_fillers, entities, triggers, roles_by_trigger, clusters, find, sentence_starts, *,
                         empty_roles_only: bool = True, same_sentence_only: bool = True, min_score: float = 0.0
                         ) -> None:
    """Add each role filler as a role relation of the nearest trigger in its sentence, when that trigger's incident
    has no filler in the role yet and none of the filler's words in any role, and no incident has the filler in
    this role (a later mention of a known attacker is not a new one). A filler in a sentence without a trigger is
    left out. A filler stands for the predicted entity it overlaps (``_filler_mention``).
    The keyword options are the rules ``benchmarks/role_filler_rules.py`` compares; the defaults are the one used."""
    by_start = sorted(entities, key=lambda e: (e.start, e.end))
    entity_starts = [e.start for e in by_start]
    starts = [t.start for t in triggers]
    sentence_of = lambda offset: bisect.bisect_right(sentence_starts, offset)  # noqa: E731
    held: dict[int, set[str]] = {root: {r.tail.text.lower() for i in members for r in roles_by_trigger[i]}
                                 for root, members in clusters.items()}
    # the roles each incident's relations filled: the layer only fills the others
    related: dict[int, set[str]] = {root: {r.label for i in members for r in roles_by_trigger[i]}
                                    for root, members in clusters.items()}
    filled = {(r.label, r.tail.text.lower()) for roles in roles_by_trigger.values() for r in roles}
    for filler in role_fillers:
        if filler.score < min_score:
            continue
        role = ROLE_FILLER_SOURCES[filler.label][0]
        filler = _filler_mention(filler, by_start, entity_starts, role)
        if filler is None:
            continue
        position = bisect.bisect_left(starts, filler.start)
        nearby = [i for i in (position - 1, position) if 0 <= i < len(triggers)]
        same_sentence = [i for i in nearby if sentence_of(triggers[i].start) == sentence_of(filler.start)]
        if same_sentence_only and not same_sentence:
            continue
        nearest = min(same_sentence or nearby, key=lambda i: abs(triggers[i].start - filler.start))
        words, root = filler.text.lower(), find(nearest)
        if (empty_roles_only and role in related[root]) or words in held[root] or (role, words) in filled:
            continue
        held[root].add(words)
        filled.add((role, words))
        roles_by_trigger[nearest].append(RelationPrediction(triggers[nearest], filler, role, filler.score))


_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}")
_FUNCTION_WORDS = frozenset("the of and for from with into onto near over under that this these those their its his her "
                            "was were are has had have been who which what when where while".split())


def _filler_mention(filler: SpanPrediction, entities, starts: list[int], role: str) -> SpanPrediction | None:
    """The mention a role-filler span stands for: the predicted entity it overlaps most (a tagged fragment such as
    "training" in "training camp" or "guards of" in "guards of religion" means the whole entity), when that
    entity may fill the role; else the span itself if it holds a content word; else nothing ("of")."""
    overlapping = []  # predicted entities are flat and sorted (``starts``): walk back from the last one starting
    position = bisect.bisect_left(starts, filler.end) - 1  # inside the filler while they still reach into it
    while position >= 0 and entities[position].end > filler.start:
        overlapping.append(entities[position])
        position -= 1
    if overlapping:
        entity = max(overlapping, key=lambda e: (min(e.end, filler.end) - max(e.start, filler.start), -e.start))
        return SpanPrediction(entity.start, entity.end, entity.text, entity.label, filler.score) \
            if entity.label in ROLE_TAIL_TYPES[role] else None
    words = [w for w in _CONTENT_WORD.findall(filler.text.lower()) if w not in _FUNCTION_WORDS]
    return filler if words else None


def _earliest_root(roots: list[int], find, exclude: int) -> int | None:
    """The first root in ``roots`` that is still a root and is not ``exclude``; dead roots met are dropped."""
    position = 0
    while position < len(roots):
        root = roots[position]
        if find(root) != root:
            del roots[position]
        elif root == exclude:
            position += 1
        else:
            return root
    return None


def _sentences_holding(sentence_ranges: list[tuple[int, int]], starts: list[int], offsets: list[int]
                       ) -> list[tuple[int, int]]:
    """The sentences that hold any of ``offsets``, in text order (``starts``: the sorted sentence starts)."""
    held = set()
    for offset in offsets:
        index = bisect.bisect_right(starts, offset) - 1
        if index >= 0 and offset < sentence_ranges[index][1]:
            held.add(index)
    return [sentence_ranges[index] for index in sorted(held)]


def _incident(text, triggers, roles, places: PlaceIndex, sentence_ranges, sentence_starts, publication_date,
              armed_members: frozenset = frozenset()) -> Incident:
    by_role: dict[str, list[SpanPrediction]] = {label: [] for label in ROLE_FIELDS}
    # each filler once per role; a set, as an incident of a long article can hold thousands of fillers
    seen: set[tuple[str, int, int]] = set()
    for relation in sorted(roles, key=lambda r: (r.tail.start, r.tail.end)):
        key = (relation.label, relation.tail.start, relation.tail.end)
        if key not in seen:
            seen.add(key)
            by_role[relation.label].append(relation.tail)
    weights: dict[str, float] = {}
    for trigger in triggers:
        weights[trigger.label] = weights.get(trigger.label, 0.0) + trigger.score
    # the event's type: a specific one (air strike, shelling, ...) over the catch-all "Attack" when both are there
    specific = {label: weight for label, weight in weights.items() if label != "Attack"} or weights
    word_type = max(specific, key=lambda label: (specific[label], -triggers.index(
        next(t for t in triggers if t.label == label))))
    incident_type = type_by_means(word_type, by_role["instrument"])
    means_decided = incident_type != word_type
    acled, civilian_targeting = acled_coding(incident_type,
                                             target_kind(by_role["target"], by_role["victim"], armed_members))
    evidence = [SpanPrediction(start, end, text[start:end], "sentence", 1.0)
                for start, end in _sentences_holding(sentence_ranges, sentence_starts, [t.start for t in triggers])]
    return Incident(
        type=incident_type,
        event_type=acled.event_type,
        sub_event_type=acled.sub_event_type,
        # the catch-all word takes the event's type (GUIDELINES: the type follows the event, not the word): "the
        # attack" that restates an air strike is an AirStrike trigger. A specific word keeps the kind it names,
        # unless the means decided the type
        triggers=tuple(sorted((replace(t, label=incident_type) if means_decided or t.label == "Attack" else t
                               for t in triggers), key=lambda t: t.start)),
        dates=tuple(resolve_date(span, publication_date) for span in by_role["time"]),
        places=tuple(places.resolve_all(by_role["place"])),
        attackers=tuple(by_role["attacker"]),
        targets=tuple(by_role["target"]),
        victims=tuple(by_role["victim"]),
        instruments=tuple(by_role["instrument"]),
        fatalities=tuple(parse_count(span) for span in by_role["killed_count"]),
        injuries=tuple(parse_count(span) for span in by_role["injured_count"]),
        sources=tuple(by_role["reported_by"]),
        confidence=round(sum(t.score for t in triggers) / len(triggers), 4),
        evidence=tuple(evidence),
        civilian_targeting=civilian_targeting,
    )

