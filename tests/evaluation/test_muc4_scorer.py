"""The MUC-4 template scorer and the incident -> template conversion on hand-worked cases; the expected counts are
worked out in the comments (tp / predicted / gold)."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conflict_ie.evaluation.muc4 import (ROLES, incident_types, incidents_to_templates, max_weight_assignment,
                                         normalise, score_templates)
from conflict_ie.records import Count, DateValue, Incident, Place, SpanPrediction


def template(incident_type: str = "attack", **slots) -> dict:
    """A template with empty roles unless given."""
    return {"incident_type": incident_type, **{role: [] for role in ROLES}, **slots}


def counts(figures: dict) -> tuple[int, int, int]:
    return figures["tp"], figures["predicted"], figures["gold"]


# ---------------------------------------------------------------------------------------------- normalisation

@pytest.mark.parametrize("text, expected", [
    ("The Army", "army"),
    ("an attack on a bus", "attack on bus"),  # articles go as words, anywhere
    ("Theater of the Andes", "theater of andes"),  # "the" inside a word stays
    ("F.M.L.N.", "fmln"),  # punctuation goes without leaving a space
    ("the army's  5th\tbrigade,", "armys 5th brigade"),
    ("“Shining Path” — guerrillas", "shining path guerrillas"),  # Unicode quotes and dashes are punctuation too
    ("  THE  ", ""),
])
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_incident_types_split_a_multi_type():
    assert incident_types("attack / bombing") == {"attack", "bombing"}
    assert incident_types("Forced  Work Stoppage") == {"forced work stoppage"}
    assert incident_types(None) == frozenset()


def test_normalised_fillers_match():
    gold = {"d": [template(PerpOrg=[["national police"]], Target=[["u.s. embassy"]])]}
    predicted = {"d": [template(PerpOrg=["The National Police,"], Target=["US Embassy"])]}
    # "u.s. embassy" and "US Embassy" both normalise to "us embassy": type + both roles right, 3 / 3 / 3
    assert counts(score_templates(gold, predicted)["micro"]) == (3, 3, 3)


# ---------------------------------------------------------------------------------------------- alignment

def test_alignment_takes_the_better_of_two_mappings():
    gold = {"d": [
        template(PerpInd=[["guerrillas"]], Target=[["power station"]]),  # G1
        template(Victim=[["jose perez"]], Target=[["bus"]]),  # G2
    ]}
    predicted = {"d": [
        template(Target=["bus"], Victim=["Jose Perez"]),  # P1: the fillers of G2
        template(PerpInd=["guerrillas"]),  # P2: the filler of G1
    ]}
    # In order (P1-G1, P2-G2): 2 types right, no filler right = 2 correct.
    # Crossed (P1-G2, P2-G1): 2 types + bus + jose perez + guerrillas = 5 correct: this one is taken.
    # Gold slots: 2 types + 2 (G1) + 2 (G2) = 6; predicted: 2 types + 2 (P1) + 1 (P2) = 5.
    # P = 5/5 = 1, R = 5/6, F1 = 2 * 5/6 / (1 + 5/6) = 10/11.
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (5, 5, 6)
    assert scores["micro"]["precision"] == 1.0
    assert scores["micro"]["recall"] == pytest.approx(5 / 6)
    assert scores["micro"]["f1"] == pytest.approx(10 / 11)
    per_slot = scores["per_slot"]
    assert counts(per_slot["incident_type"]) == (2, 2, 2)
    assert counts(per_slot["Target"]) == (1, 1, 2)  # "power station" missed
    assert counts(per_slot["Victim"]) == (1, 1, 1)
    assert counts(per_slot["PerpInd"]) == (1, 1, 1)
    assert counts(per_slot["PerpOrg"]) == (0, 0, 0)
    assert scores["templates"] == {"gold": 2, "predicted": 2, "aligned": 2}
    assert scores["documents"] == 1


def test_type_mismatch_prevents_alignment():
    gold = {"d": [template("attack", PerpOrg=[["fmln"]])]}
    predicted = {"d": [template("bombing", PerpOrg=["FMLN"])]}
    # Nothing aligns: 0 correct, 2 predicted (type + fmln), 2 gold.
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (0, 2, 2)
    assert counts(scores["per_slot"]["PerpOrg"]) == (0, 1, 1)
    assert scores["templates"]["aligned"] == 0


def test_type_mismatch_forces_a_worse_alignment():
    gold = {"d": [template("attack", Target=[["bus"]]), template("bombing", Target=[["embassy"]])]}
    predicted = {"d": [template("attack", Target=["embassy"])]}
    # Only attack-attack may align: its type is right, "embassy" is not a target of that gold template.
    # 1 correct; predicted 2 (type + embassy); gold 4 (two types + two targets). P 1/2, R 1/4.
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (1, 2, 4)
    assert scores["micro"]["precision"] == 0.5
    assert scores["micro"]["recall"] == 0.25


@pytest.mark.parametrize("predicted_type, aligns", [("bombing", True), ("attack", True), ("kidnapping", False)])
def test_a_multi_type_gold_matches_any_of_its_types(predicted_type, aligns):
    gold = {"d": [template("attack / bombing", Weapon=[["dynamite", "explosives"]])]}
    predicted = {"d": [template(predicted_type, Weapon=["explosives"])]}
    # Aligned: type + weapon = 2 / 2 / 2. Not aligned: 0 / 2 / 2.
    assert counts(score_templates(gold, predicted)["micro"]) == ((2 if aligns else 0), 2, 2)


def test_each_predicted_template_aligns_with_one_gold_template_at_most():
    gold = {"d": [template(Target=[["bus"]])]}
    predicted = {"d": [template(Target=["bus"]), template(Target=["bus"])]}
    # One pair aligns (2 correct); the other predicted template is spurious: predicted 4, gold 2.
    assert counts(score_templates(gold, predicted)["micro"]) == (2, 4, 2)


def test_many_templates_align_exactly_and_quickly():
    # 20 gold templates of one type; the predictions are the same templates shuffled: only the exact alignment
    # scores 1.0, and a search over 20! mappings would never end.
    gold_templates = [template(Target=[[f"target {i}"]], Victim=[[f"victim {i}", f"v{i}"]]) for i in range(20)]
    predicted_templates = [template(Target=[f"Target {i}"], Victim=[f"v{i}"]) for i in range(20)]
    random.Random(0).shuffle(predicted_templates)
    scores = score_templates({"d": gold_templates}, {"d": predicted_templates})
    assert counts(scores["micro"]) == (60, 60, 60)


def _best_by_brute_force(weights: list[list[int]]) -> int:
    n_rows, n_columns = len(weights), len(weights[0])
    if n_rows <= n_columns:
        return max(sum(weights[r][c] for r, c in zip(range(n_rows), columns))
                   for columns in itertools.permutations(range(n_columns), n_rows))
    return max(sum(weights[r][c] for r, c in zip(rows, range(n_columns)))
               for rows in itertools.permutations(range(n_rows), n_columns))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.lists(st.lists(st.integers(0, 9), min_size=n, max_size=n),
                                                    min_size=1, max_size=5)))
def test_assignment_is_optimal(weights):
    pairs = max_weight_assignment(weights)
    rows, columns = [r for r, _ in pairs], [c for _, c in pairs]
    assert len(set(rows)) == len(rows) and len(set(columns)) == len(columns)
    assert all(weights[r][c] > 0 for r, c in pairs)  # worthless pairs are left out
    assert sum(weights[r][c] for r, c in pairs) == _best_by_brute_force(weights)


# ---------------------------------------------------------------------------------------------- counting rules

def test_empty_predictions():
    gold = {"d": [template(Victim=[["jose perez"], ["maria lopez"]])]}
    # gold: type + 2 victims = 3; nothing predicted: precision has no denominator and is 0 by convention,
    # recall 0/3 = 0, F1 0.
    for predicted in ({}, {"d": []}):
        scores = score_templates(gold, predicted)
        assert counts(scores["micro"]) == (0, 0, 3)
        assert (scores["micro"]["precision"], scores["micro"]["recall"], scores["micro"]["f1"]) == (0.0, 0.0, 0.0)
        assert scores["documents"] == 1


def test_empty_gold_with_predictions():
    gold = {"d1": []}
    predicted = {"d1": [template(PerpInd=["soldiers"])], "d2": [template("arson")]}
    # d1: 2 spurious (type + filler); d2, a document only predicted, 1 spurious (type). Recall has no denominator
    # and is 0; precision 0/3.
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (0, 3, 0)
    assert scores["micro"]["f1"] == 0.0
    assert scores["documents"] == 2
    assert score_templates({}, {})["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0,
                                               "predicted": 0, "gold": 0}


def test_duplicate_predicted_fillers_count_once():
    gold = {"d": [template(PerpOrg=[["fmln"]], Target=[["army"], ["army", "soldiers"]])]}
    predicted = {"d": [template(PerpOrg=["FMLN", "the FMLN", "F.M.L.N."], Target=["army", "The army", "the"])]}
    # PerpOrg: three strings, one filler "fmln": 1 / 1 / 1.
    # Target: "army" once ("the" normalises to nothing and is no filler); two gold entities: 1 / 1 / 2.
    scores = score_templates(gold, predicted)
    assert counts(scores["per_slot"]["PerpOrg"]) == (1, 1, 1)
    assert counts(scores["per_slot"]["Target"]) == (1, 1, 2)


def test_several_mentions_of_one_gold_entity_count_once():
    gold = {"d": [template(Target=[["embassy", "us embassy", "building"]])]}
    predicted = {"d": [template(Target=["embassy", "U.S. Embassy"])]}
    # Two distinct predicted fillers, both mentions of the one gold entity: it is matched once. Target 1 / 2 / 1;
    # with the type, micro 2 / 3 / 2: P 2/3, R 1, F1 0.8.
    scores = score_templates(gold, predicted)
    assert counts(scores["per_slot"]["Target"]) == (1, 2, 1)
    assert counts(scores["micro"]) == (2, 3, 2)
    assert scores["micro"]["f1"] == pytest.approx(0.8)


def test_fillers_match_gold_entities_to_the_most_matches():
    gold = {"d": [template(PerpInd=[["guerrillas", "terrorists"], ["terrorists"]])]}
    predicted = {"d": [template(PerpInd=["terrorists", "guerrillas"])]}
    # Greedy in order would give "terrorists" the first entity and leave "guerrillas" with nothing (1 right);
    # the maximum matching gives "terrorists" the second entity: 2 / 2 / 2.
    assert counts(score_templates(gold, predicted)["per_slot"]["PerpInd"]) == (2, 2, 2)


def test_fillers_only_match_in_their_own_role():
    gold = {"d": [template(PerpOrg=[["army"]])]}
    predicted = {"d": [template(Target=["army"])]}
    # type right; the Target filler is spurious and the PerpOrg entity missed: micro 1 / 2 / 2
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (1, 2, 2)
    assert counts(scores["per_slot"]["Target"]) == (0, 1, 0)


def test_a_bare_string_is_one_value_not_its_characters():
    gold = {"d": [template(PerpOrg=["fmln"])]}  # one entity given as a string instead of a list of mentions
    predicted = {"d": [template(PerpOrg="FMLN")]}  # fillers given as a string instead of a list
    # type + fmln: 2 / 2 / 2 (read as characters it would be 4 gold and 4 predicted letters)
    assert counts(score_templates(gold, predicted)["micro"]) == (2, 2, 2)


# ---------------------------------------------------------------------------------------------- extended slots

def extended(key: str, gold_value, predicted_values, slot: str | None = None) -> tuple[int, int, int]:
    """Counts of one extended slot for one gold and one predicted template of the same type."""
    scores = score_templates({"d": [template(**{key: gold_value})]}, {"d": [template(**{key: predicted_values})]})
    return counts(scores["extended"][slot or key])


FEB_2_TO_5 = [{"earliest": "1990-02-02", "latest": "1990-02-05"}]


@pytest.mark.parametrize("gold, predicted, expected", [
    (FEB_2_TO_5, ["1990-02-03"], (1, 1, 1)),  # a day inside the interval
    (FEB_2_TO_5, ["1990-02-05"], (1, 1, 1)),  # ends included
    (FEB_2_TO_5, ["1990-02-06"], (0, 1, 1)),
    (FEB_2_TO_5, ["1990-02"], (0, 1, 1)),  # the month is wider than the gold interval
    ([{"earliest": "1990-02-01", "latest": "1990-02-28"}], ["1990-02"], (1, 1, 1)),  # the whole month inside
    ([{"earliest": "1990-01-15", "latest": None}], ["1990-03"], (1, 1, 1)),  # open end: unbounded
    ([{"earliest": "1990-01-15", "latest": None}], ["1990"], (0, 1, 1)),  # 1990-01-01..14 lie outside
    ([{"earliest": "1990-03-01", "latest": "1990-03-01"}, {"earliest": "1990-02-03", "latest": "1990-02-04"}],
     ["1990-02-04"], (1, 1, 1)),  # the second alternative holds it
    (FEB_2_TO_5, ["1990-03-01", "1990-02-03"], (0, 1, 1)),  # only the first value is judged
    (FEB_2_TO_5, ["yesterday"], (0, 1, 1)),  # unreadable: a wrong answer
    (FEB_2_TO_5, [], (0, 0, 1)),
    (None, ["1990-02-03"], (0, 1, 0)),
    ([{"earliest": None, "latest": None}], ["1990-02-03"], (0, 1, 0)),  # bounds nothing: no gold date
])
def test_date_rule(gold, predicted, expected):
    assert extended("date", gold, predicted) == expected


SANTO_TOMAS = [["guatemala", "izabal", "santo tomas"]]


@pytest.mark.parametrize("gold, predicted, strict, lenient", [
    (SANTO_TOMAS, ["Santo Tomás"], (0, 1, 1), (0, 1, 1)),  # accents are not folded
    (SANTO_TOMAS, ["Santo Tomas"], (1, 1, 1), (1, 1, 1)),  # the most specific name
    (SANTO_TOMAS, ["Guatemala"], (0, 1, 1), (1, 1, 1)),  # a name higher up: lenient only
    (SANTO_TOMAS, ["Lima"], (0, 1, 1), (0, 1, 1)),
    ([["el salvador", "san salvador"], ["el salvador", "soyapango"]], ["Soyapango"], (1, 1, 1), (1, 1, 1)),
    (None, ["Lima"], (0, 1, 0), (0, 1, 0)),
    (SANTO_TOMAS, [], (0, 0, 1), (0, 0, 1)),
])
def test_location_rule(gold, predicted, strict, lenient):
    assert extended("location", gold, predicted) == strict
    assert extended("location", gold, predicted, slot="location_lenient") == lenient


def count(minimum, maximum) -> dict:
    return {"minimum": minimum, "maximum": maximum}


@pytest.mark.parametrize("gold, predicted, expected", [
    (count(3, 3), [count(3, 3)], (1, 1, 1)),
    (count(2, None), [count(3, 3)], (1, 1, 1)),  # 3 lies within "at least 2"
    (count(3, 3), [count(2, None)], (0, 1, 1)),  # "at least 2" is vaguer than 3
    (count(1, 5), [count(2, 4)], (1, 1, 1)),
    (count(1, 5), [count(4, 6)], (0, 1, 1)),  # overlapping is not enough
    (count(3, 3), [count(4, 4), count(3, 3)], (0, 1, 1)),  # only the first value is judged
    (count(None, None), [count(3, 3)], (0, 1, 0)),  # gives no number: no gold slot
    (None, [count(3, 3)], (0, 1, 0)),
])
def test_count_rule(gold, predicted, expected):
    assert extended("killed", gold, predicted) == expected
    assert extended("injured", gold, predicted) == expected  # the same rule


def test_extended_slots_stay_out_of_the_micro_figure():
    gold = {"d": [template(date=FEB_2_TO_5, killed=count(1, 1))]}
    predicted = {"d": [template(date=["1990-02-03"], killed=[count(9, 9)])]}
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (1, 1, 1)  # the type only
    assert counts(scores["extended"]["date"]) == (1, 1, 1)
    assert counts(scores["extended"]["killed"]) == (0, 1, 1)


def test_extended_slots_use_the_standard_alignment_and_break_its_ties():
    gold = {"d": [template(Target=[["bus"]], date=[{"earliest": "1990-01-01", "latest": "1990-01-01"}]),
                  template(Target=[["bus"]], date=[{"earliest": "1990-02-02", "latest": "1990-02-02"}]),
                  template(Target=[["power station"]], date=FEB_2_TO_5)]}
    predicted = {"d": [template(Target=["bus"], date=["1990-02-02"])]}
    # The standard slots allow either "bus" template (2 correct each) and rule out the third (1 correct) although
    # its date would match too; of the tied two, the one whose date matches is taken.
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (2, 2, 6)
    assert counts(scores["extended"]["date"]) == (1, 1, 3)


def test_unaligned_templates_count_their_extended_slots():
    gold = {"d": [template("kidnapping", location=SANTO_TOMAS)]}
    predicted = {"d": [template("arson", location=["Santo Tomas"])]}
    assert counts(score_templates(gold, predicted)["extended"]["location"]) == (0, 1, 1)


# ---------------------------------------------------------------------------------------------- incidents -> templates

def span(text: str, label: str) -> SpanPrediction:
    return SpanPrediction(0, len(text), text, label, 1.0)


def trigger(label: str) -> SpanPrediction:
    return span("attack", label)


def date(iso: str | None) -> DateValue:
    return DateValue(span(iso or "recently", "Temporal"), iso, "day" if iso else None)


def number(minimum, maximum) -> Count:
    return Count(span("some", "Quantity"), minimum, maximum, "exact")


INCIDENTS = [
    Incident("Explosion", "Explosions/Remote violence", "Remote explosive/landmine/IED", (trigger("Explosion"),),
             dates=(date("1990-02-02"), date(None)),
             places=(Place(span("San Salvador", "Location"), ("San Salvador", "El Salvador")),),
             attackers=(span("Juan Perez", "Person"), span("FMLN", "Organisation")),
             targets=(span("the bus", "Organisation"),),
             instruments=(span("car bomb", "Weapon"),),
             fatalities=(number(3, 3),), injuries=(number(None, None),)),
    Incident("AirStrike", "Explosions/Remote violence", "Air/drone strike", (trigger("AirStrike"),),
             attackers=(span("Salvadoran", "Nationality"),), victims=(span("civilians", "Person"),)),
    Incident("Explosion", "Explosions/Remote violence", "Remote explosive/landmine/IED", (trigger("Explosion"),),
             dates=(date("1990-02"),), attackers=(span("the FMLN", "Organisation"),),
             targets=(span("embassy", "Location"), span("The bus", "Organisation")),
             fatalities=(number(1, None),)),
    Incident("Abduction", "Violence against civilians", "Abduction/forced disappearance", (trigger("Abduction"),),
             victims=(span("Jose Perez", "Person"),)),
]


def test_incidents_to_templates_one_per_incident():
    templates = incidents_to_templates(INCIDENTS, merge_same_type=False)
    assert [t["incident_type"] for t in templates] == ["bombing", "attack", "bombing", "kidnapping"]
    assert templates[0] == {
        "incident_type": "bombing",
        "PerpInd": ["Juan Perez"],  # a Person attacker
        "PerpOrg": ["FMLN"],  # any other attacker
        "Target": ["the bus"],
        "Victim": [],
        "Weapon": ["car bomb"],
        "date": ["1990-02-02"],  # the unresolved date is left out
        "location": ["San Salvador"],
        "killed": [{"minimum": 3, "maximum": 3}],
        "injured": [],  # an unparsed count (no bound) is left out
    }
    assert templates[1]["PerpOrg"] == ["Salvadoran"] and templates[1]["PerpInd"] == []
    assert templates[1]["Victim"] == ["civilians"]
    assert templates[2]["Target"] == ["embassy", "The bus"]
    assert templates[2]["killed"] == [{"minimum": 1, "maximum": None}]
    assert templates[3]["Victim"] == ["Jose Perez"]


def test_incidents_to_templates_merged_by_type():
    templates = incidents_to_templates(INCIDENTS, merge_same_type=True)
    # the two Explosions make one bombing template, first where the first of them was
    assert [t["incident_type"] for t in templates] == ["bombing", "attack", "kidnapping"]
    bombing = templates[0]
    assert bombing["PerpOrg"] == ["FMLN"]  # "the FMLN" normalises to "fmln", already there
    assert bombing["PerpInd"] == ["Juan Perez"]
    assert bombing["Target"] == ["the bus", "embassy"]  # "The bus" repeats "the bus"
    assert bombing["date"] == ["1990-02-02", "1990-02"]
    assert bombing["killed"] == [{"minimum": 3, "maximum": 3}, {"minimum": 1, "maximum": None}]
    assert templates[1] == incidents_to_templates(INCIDENTS[1:2], merge_same_type=False)[0]
    assert incidents_to_templates([], merge_same_type=True) == []


def test_converted_incidents_score():
    gold = {"d": [template("bombing", PerpOrg=[["fmln", "farabundo marti national liberation front"]],
                           Target=[["bus"], ["us embassy", "embassy"]], Weapon=[["car bomb"]],
                           date=[{"earliest": "1990-02-01", "latest": "1990-02-03"}])]}
    predicted = {"d": incidents_to_templates(INCIDENTS, merge_same_type=True)}
    # Aligned bombing pair: type, fmln, bus, embassy, car bomb = 5 right; Juan Perez (PerpInd) spurious.
    # The attack and kidnapping templates cannot align: 1 + 2 and 1 + 1 spurious slots.
    # Predicted 1 + 1 + 1 + 2 + 1 (bombing) + 3 + 2 = 11; gold 1 + 1 + 2 + 1 = 5.
    scores = score_templates(gold, predicted)
    assert counts(scores["micro"]) == (5, 11, 5)
    assert counts(scores["extended"]["date"]) == (1, 1, 1)  # the first date, 1990-02-02, lies inside
