"""The document-level role-filler layer: fillers derived from role relations or drawn as spans (MUC-4), tagged at
every occurrence, flat; its loss masked where a document does not annotate it; decoded and used by assembly."""

from __future__ import annotations

import torch

from conflict_ie.data.document import Document, Relation, Span
from conflict_ie.data.role_fillers import occurrences, role_filler_spans, with_role_fillers
from conflict_ie.encoding import IGNORE_INDEX, ROLE_FILLER_TAGS, collate, encode_documents, make_windows
from conflict_ie.incidents.assembly import assemble
from conflict_ie.model import allowed_label_pairs
from conflict_ie.records import RelationPrediction, SpanPrediction

from .test_model import tiny_model

TEXT = ("Gunmen from ISIS attacked a checkpoint in Mosul. The gunmen fled; ISIS said its fighters did it. "
        "A crisis followed.")


def span(id_, phrase, label, occurrence=0):
    start = [m for m, _ in occurrences(TEXT, phrase)][occurrence]
    return Span(id_, start, start + len(phrase), TEXT[start:start + len(phrase)], label)


def gold_document(layers=("entities", "triggers", "relations", "role_fillers")) -> Document:
    spans = (span("t1", "attacked", "Attack"), span("e1", "Gunmen", "Person"), span("e2", "ISIS", "Organisation"),
             span("e3", "checkpoint", "Location"), span("e4", "Mosul", "Location"))
    relations = (Relation("t1", "e1", "attacker"), Relation("t1", "e2", "attacker"), Relation("t1", "e3", "target"),
                 Relation("t1", "e4", "place"))
    return Document("d1", TEXT, spans, relations, frozenset(layers))


def labelled(spans):
    return [(s.text, s.label) for s in spans]


def test_fillers_come_from_role_relations_at_every_occurrence():
    fillers = role_filler_spans(gold_document())
    # a Person attacker is an individual, an Organisation attacker an organisation; "gunmen" matches "Gunmen"
    # (case-insensitive), ISIS twice, but not inside "crisis"; place is no filler role
    assert labelled(fillers) == [("Gunmen", "AttackerIndividual"), ("ISIS", "AttackerOrganisation"),
                                 ("checkpoint", "Target"), ("gunmen", "AttackerIndividual"),
                                 ("ISIS", "AttackerOrganisation")]
    assert all(TEXT[s.start:s.end] == s.text for s in fillers)


def test_drawn_fillers_are_flat_longer_wins_then_role_order():
    text = "the farabundo marti national liberation front (fmln) and the fmln bombed a bus"
    spans = (Span("a", 4, 52, text[4:52], "AttackerOrganisation"), Span("b", 47, 51, "fmln", "Target"),
             Span("c", 75, 78, "bus", "Target"), Span("d", 75, 78, "bus", "Victim"))
    document = Document("m1", text, spans, (), frozenset({"role_fillers"}))
    fillers = role_filler_spans(document)
    # "fmln" inside the longer organisation span is dropped there, kept at its second occurrence (as Target,
    # the label it was drawn with); "bus" drawn in two roles keeps the one listed first in ROLE_FILLER_LABELS
    assert labelled(fillers) == [(text[4:52], "AttackerOrganisation"), ("fmln", "Target"), ("bus", "Target")]


def test_no_fillers_without_the_layer_and_the_gold_gets_them_with_it():
    assert role_filler_spans(gold_document(("entities", "triggers", "relations"))) == []
    gold = with_role_fillers(gold_document())
    assert sum(s.layer == "role_fillers" for s in gold.spans) == 5
    assert sum(s.layer == "entities" for s in gold.spans) == 4


def test_role_loss_is_masked_where_the_layer_is_not_annotated(tiny_encoder):
    model, tokenizer = tiny_model(tiny_encoder)
    model.eval()
    muc_like = Document("m", TEXT, tuple(s for s in role_filler_spans(gold_document())), (),
                        frozenset({"role_fillers"}))
    without = gold_document(("entities", "triggers", "relations"))
    encoded = encode_documents(tokenizer, [muc_like, without])
    assert encoded[1].role_tags is None
    assert encoded[0].entity_tags is None and encoded[0].trigger_tags is None and encoded[0].relations is None
    tagged = [ROLE_FILLER_TAGS[t] for t in encoded[0].role_tags if t]
    assert tagged.count("B-AttackerOrganisation") == 2 and "B-Target" in tagged
    assert encoded[0].spans == []  # fillers never become relation candidates

    windows = make_windows([len(d) for d in encoded], 32, 8)
    only_muc = collate(encoded, [w for w in windows if w.doc_index == 0], tokenizer,
                       allowed_pairs=allowed_label_pairs())
    losses = model.losses(only_muc)
    assert losses["role"].item() > 0
    assert losses["entity"].item() == losses["trigger"].item() == losses["relation"].item() == 0.0

    only_ours = collate(encoded, [w for w in windows if w.doc_index == 1], tokenizer,
                        allowed_pairs=allowed_label_pairs())
    assert (only_ours.role_tags == IGNORE_INDEX).all()
    losses = model.losses(only_ours)
    assert losses["role"].item() == 0.0
    losses["total"].backward()
    assert model.role_head.weight.grad is None or torch.count_nonzero(model.role_head.weight.grad) == 0


def prediction(text, phrase, label, occurrence=0, score=0.9):
    start = [m for m, _ in occurrences(text, phrase)][occurrence]
    return SpanPrediction(start, start + len(phrase), text[start:start + len(phrase)], label, score)


def test_assembly_fills_empty_roles_from_fillers_in_the_trigger_sentence():
    text = ("Rebels bombed a bus in Lima. Separately, soldiers kidnapped a mayor with guerrillas. The rebels were "
            "not caught.")
    triggers = (prediction(text, "bombed", "Explosion"), prediction(text, "kidnapped", "Abduction"))
    entities = (prediction(text, "Rebels", "Person"), prediction(text, "soldiers", "Organisation"))
    relations = (RelationPrediction(triggers[1], entities[1], "attacker", 0.9),)
    fillers = (prediction(text, "Rebels", "AttackerIndividual"), prediction(text, "bus", "Target"),
               prediction(text, "soldiers", "AttackerOrganisation"), prediction(text, "mayor", "Victim"),
               prediction(text, "guerrillas", "AttackerIndividual"),
               prediction(text, "rebels", "AttackerIndividual", 1))
    bombing, kidnapping = assemble(text, entities, triggers, relations, role_fillers=fillers)
    # the filler at an entity's offsets takes the entity (and its label)
    assert [(s.text, s.label) for s in bombing.attackers] == [("Rebels", "Person")]
    assert [s.text for s in bombing.targets] == ["bus"]
    # the kidnapping's attacker comes from its relation; the layer fills only its empty roles, so "guerrillas"
    # is not added as a second attacker, while the victim is
    assert [s.text for s in kidnapping.attackers] == ["soldiers"] and [s.text for s in kidnapping.victims] == ["mayor"]
    # the later "rebels" stands in a sentence without a trigger: left out
    assert len(bombing.attackers) == 1
    assert assemble(text, entities, triggers, ())[0].targets == ()
