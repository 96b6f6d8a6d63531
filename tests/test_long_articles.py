"""Any length works: a long article is streamed window by window (bounded memory) and decodes to what the
whole-document path gives; the pieces that made long articles quadratic (cutting, place phrases, incident
merging) give the same answers as the straightforward versions."""

from __future__ import annotations

import random
import re

import pytest
import torch

from conflict_ie import inference
from conflict_ie.api.predictor import Predictor
from conflict_ie.decoding import decode_tags, safe_cut
from conflict_ie.encoding import ENTITY_TAGS, tokenize_texts
from conflict_ie.incidents import places

from .conftest import SEEDS


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return Predictor.load(tiny_model_dir)


def _watch_pending_windows(monkeypatch) -> list[int]:
    """A list that gets, after each window a document decoder takes, how many windows' features it holds."""
    held = []
    add = inference._DocumentDecoder.add

    def watched(self, *args):
        add(self, *args)
        held.append(len(self.pending))

    monkeypatch.setattr(inference._DocumentDecoder, "add", watched)
    return held


def _without_scores(result) -> list:
    spans = [(s.start, s.end, s.label) for s in result.entities + result.triggers]
    relations = [(r.head.start, r.head.end, r.tail.start, r.tail.end, r.label) for r in result.relations]
    return [spans, sorted(relations)]


def test_a_streamed_long_article_decodes_as_the_whole_document_does(tiny_model_dir, monkeypatch):
    predictor = Predictor.load(tiny_model_dir)
    with torch.no_grad():  # an untrained model tags nearly every token; a trained one leaves most of them O
        predictor.model.entity_head.bias[0] += 1.0
        predictor.model.trigger_head.bias[0] += 1.0
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in SEEDS) * 2
    runner = predictor.runner
    monkeypatch.setattr(runner, "windows_per_chunk", 1000)  # the tiny model's windows are 32 tokens: 140 of them
    (whole,) = runner.run([text])
    assert 100 < runner._windows(tokenize_texts(predictor.tokenizer, [text])[0]) <= runner.windows_per_chunk

    held = _watch_pending_windows(monkeypatch)
    monkeypatch.setattr(runner, "windows_per_chunk", 4)  # now the article is streamed
    (streamed,) = runner.run([text])
    assert _without_scores(streamed) == _without_scores(whole)
    # features are held for a few windows at a time, never for the whole article
    assert whole.entities and whole.relations
    assert len(held) > 40 and max(held) <= inference.MAX_PENDING_WINDOWS + 2 * runner.batch_size


def test_without_a_safe_cut_the_article_is_cut_anyway_so_memory_stays_bounded(predictor, monkeypatch):
    """The untrained tiny model tags nearly every token, so there is no place where no span could run across."""
    held = _watch_pending_windows(monkeypatch)
    monkeypatch.setattr(predictor.runner, "windows_per_chunk", 4)
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in SEEDS)
    (result,) = predictor.predict([text])
    assert len(held) > 40 and max(held) <= inference.MAX_PENDING_WINDOWS + 2 * predictor.runner.batch_size
    assert result.entities and all(text[s.start:s.end] == s.text for s in result.entities + result.triggers)


def test_decoding_in_pieces_cut_at_safe_cuts_equals_decoding_the_whole(tiny_encoder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    (document,) = tokenize_texts(tokenizer, [SEEDS[0].read_text(encoding="utf-8")])
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        logits = torch.randn((len(document), len(ENTITY_TAGS)), generator=generator)
        logits[:, 0] += 1.5  # mostly O, as real text is
        probs = logits.softmax(-1)
        whole = decode_tags(probs, ENTITY_TAGS, document)
        pieces, base = [], 0
        ids = probs.argmax(-1)
        for frontier in range(40, len(document) + 40, 40):
            frontier = min(frontier, len(document))
            cut = len(document) if frontier == len(document) else safe_cut(document, [ids[base:frontier]],
                                                                            base, frontier)
            if cut is None or cut <= base:
                continue
            pieces += decode_tags(probs[base:cut], ENTITY_TAGS, document, offset=base)
            base = cut
        assert [(s.token_start, s.token_end, s.label, score) for s, score in pieces] == [
            (s.token_start, s.token_end, s.label, score) for s, score in whole]


def test_the_region_phrase_index_answers_as_a_search_of_the_text_does():
    rng = random.Random(0)
    words = ["Idlib", "Aleppo", "province", "Province", "state", "of", "the", "Kafr", "Nabl", "in", "governorate",
             "Hama", "al-Bab", "Deir", "ez-Zor", "region", ",", "oblast", "Donetsk"]
    names = ["Idlib", "Aleppo", "Kafr Nabl", "Hama", "al-Bab", "Deir ez-Zor", "Donetsk", "dlib", "Nabl", "ez-Zor"]
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(30))
        index = places.PlaceIndex(text, [])
        for name in names:
            escaped = re.escape(name)
            expected = bool(re.search(rf"\b{escaped}\s+{places._ADMIN1_WORD}\b|\b{places._ADMIN1_WORD}\s+of\s+"
                                      rf"{escaped}\b", text, re.IGNORECASE))
            assert index.named_as_admin1(name) == expected, (text, name)


def test_an_article_with_thousands_of_triggers_merges_as_the_pairwise_rule_says():
    """The indexed merge of incident assembly against the rule applied literally, cluster by cluster."""
    from conflict_ie.incidents import assembly
    from conflict_ie.records import RelationPrediction, SpanPrediction

    rng = random.Random(1)
    text = "x" * 40
    triggers, relations = [], []
    for i in range(400):
        start = len(text) + rng.choice([1, 5])
        word = rng.choice(["strike", "shelling", "clash", "raid"])
        text += (" the " if rng.random() < 0.3 else "     ") + word
        trigger = SpanPrediction(start + 4, start + 4 + len(word), word,
                                 rng.choice(["AirStrike", "Shelling", "ArmedClash", "Attack"]), 0.9)
        triggers.append(trigger)
        if rng.random() < 0.6:
            filler = rng.choice(["Marib", "Idlib", "Hama"])
            relations.append(RelationPrediction(trigger, SpanPrediction(0, 5, filler, "Location", 0.9),
                                                rng.choice(["place", "attacker", "time"]), 0.9))
        if rng.random() < 0.1 and len(triggers) > 1:
            relations.append(RelationPrediction(trigger, rng.choice(triggers[:-1]), "same_incident", 0.9))
    text += " " * 10
    got = assembly.assemble(text, (), tuple(triggers), tuple(relations))
    expected = _assemble_literally(assembly, text, triggers, relations)
    assert [tuple((t.start, t.end) for t in i.triggers) for i in got] == expected


def _assemble_literally(assembly, text, triggers, relations) -> list:
    """The merge rule as first written: for each later trigger, scan every earlier cluster in order."""
    from conflict_ie.schema import ACLED_TYPES, ROLE_FIELDS

    parent = list(range(len(triggers)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    index = {(t.start, t.end): i for i, t in enumerate(triggers)}
    roles = {i: [] for i in range(len(triggers))}
    for r in relations:
        if r.label in ROLE_FIELDS:
            roles[index[(r.head.start, r.head.end)]].append(r)

    def places_of(root):  # the text has no Location spans, so a place is its own name and has no parents
        return {r.tail.text.lower() for i in range(len(triggers)) if find(i) == root for r in roles[i]
                if r.label == "place"}

    def union(a, b, places_too=True):  # the times ("Marib") resolve to no day, so only places can conflict
        a, b = find(a), find(b)
        first, second = places_of(a), places_of(b)
        if a != b and not (places_too and first and second and not (first <= second or second <= first)):
            parent[max(a, b)] = min(a, b)

    for r in relations:  # every link scores 0.9: strongest first is text order
        if r.label == "same_incident":
            union(index[(r.head.start, r.head.end)], index[(r.tail.start, r.tail.end)], places_too=False)

    def fillers(members):
        return {(r.label, r.tail.text.lower()) for i in members for r in roles[i] if r.label in assembly.MERGE_ROLES}

    for later in range(1, len(triggers)):
        kind = ACLED_TYPES[triggers[later].label].event_type
        own = fillers([later])
        anaphor = bool(assembly._ANAPHOR.search(text[max(0, triggers[later].start - 40):triggers[later].start]))
        same_word = [i for i in range(later) if triggers[i].text.lower() == triggers[later].text.lower()]
        if anaphor and own and same_word and not any(r.label == "time" for r in roles[later]):
            union(find(same_word[-1]), later)  # "the raid" after "a raid": the latest incident with the word
            continue
        for root in sorted({find(i) for i in range(later)}):
            if root == find(later) or ACLED_TYPES[triggers[root].label].event_type != kind:
                continue
            members = [i for i in range(len(triggers)) if find(i) == root]
            if own & fillers(members) or not roles[later] or (anaphor and not own):
                union(root, later)
                break
    # then a cluster of Attack triggers only joins the earliest cluster without Attack triggers that shares a
    # filler with it, unless both have times and share none
    before = {}
    for i in range(len(triggers)):
        before.setdefault(find(i), []).append(i)
    times = {root: {r.tail.text.lower() for i in members for r in roles[i] if r.label == "time"}
             for root, members in before.items()}
    for root, members in before.items():
        if {triggers[i].label for i in members} != {"Attack"}:
            continue
        for other, other_members in before.items():
            if "Attack" in {triggers[i].label for i in other_members}:
                continue
            differ = times[root] and times[other] and not times[root] & times[other]
            if fillers(members) & fillers(other_members) and not differ:
                union(other, root)
                break
    clusters = {}
    for i in range(len(triggers)):
        clusters.setdefault(find(i), []).append(i)
    return [tuple(sorted((triggers[i].start, triggers[i].end) for i in members))
            for _, members in sorted(clusters.items())]


def test_a_long_text_is_tokenized_in_pieces_into_the_same_tokens(tiny_encoder, monkeypatch):
    from transformers import AutoTokenizer

    from conflict_ie import encoding

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in SEEDS)
    (whole,) = tokenize_texts(tokenizer, [text])
    monkeypatch.setattr(encoding, "PIECE_CHARS", 500)
    assert len(encoding._pieces(text)) > 10
    short, (pieces,) = tokenize_texts(tokenizer, ["Marib.", text])[0], tokenize_texts(tokenizer, [text])
    assert (pieces.token_ids, pieces.char_starts, pieces.char_ends, pieces.shapes) == (
        whole.token_ids, whole.char_starts, whole.char_ends, whole.shapes)
    assert short.text == "Marib." and short.char_ends[-1] == 6  # short texts still go in one batch
