"""Batched relation scoring (every window of a group of documents in one pass) gives the relations of the
pair-by-pair scoring it replaced (the model's own ``relation_probabilities`` on one window's candidate pairs at a
time, document by document), on the tiny test model."""

from __future__ import annotations

import pytest
import torch

from conflict_ie import inference
from conflict_ie.encoding import RELATION_CLASSES, relation_candidates
from conflict_ie.inference import InferenceRunner, _DocumentDecoder
from conflict_ie.model import allowed_label_pairs, load_model

ALLOWED_PAIRS = allowed_label_pairs()


def _score_pair_by_pair(self, cut: int) -> None:
    """The runner's relation step before batching: each window's pairs collated and scored on their own, every
    row handed to the decoder."""
    if "relations" not in self.runner.layers:
        return
    self.pending.sort(key=lambda item: item[0].token_start)
    ready = [item for item in self.pending if item[0].token_end <= cut]
    self.pending = [item for item in self.pending if item[0].token_end > cut]
    model = self.runner.model
    for window, features in ready:
        inside = self._inside(window)
        if len(inside) < 2:
            continue
        pairs = relation_candidates(window, inside, allowed_pairs=ALLOWED_PAIRS,
                                    max_distance=model.config.max_relation_distance)
        if len(pairs):
            probs = model.relation_probabilities(features.unsqueeze(0), pairs).cpu()
            self.votes.add(zip(pairs.spans, probs))
    self.votes.settle(self.pending[0][0].token_start if self.pending else cut)


def _score_document_by_document(self, decoders) -> None:
    """The runner's step before documents were scored together: each document's windows on their own."""
    for decoder in decoders:
        decoder._score_windows_before(len(decoder.document))


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    model, tokenizer, _ = load_model(tiny_model_dir)
    return model, tokenizer


def _texts(seed_texts):
    return [seed_texts[0][:600], "A drone strike hit Marib on Saturday.", "", "\n\n".join(seed_texts)[:2000]]


@pytest.mark.parametrize("windows_per_chunk", [128, 4])  # 4: the long text is streamed
def test_batched_relations_match_pair_by_pair(tiny, seed_texts, monkeypatch, windows_per_chunk):
    model, tokenizer = tiny
    runner = InferenceRunner(model, tokenizer, windows_per_chunk=windows_per_chunk)
    batched = runner.run(_texts(seed_texts))
    monkeypatch.setattr(_DocumentDecoder, "_score_windows_before", _score_pair_by_pair)
    monkeypatch.setattr(InferenceRunner, "_score_together", _score_document_by_document)
    reference = runner.run(_texts(seed_texts))
    assert sum(len(r.relations) for r in reference) > 20  # the comparison covers many relations
    for new, old in zip(batched, reference):
        assert new.entities == old.entities and new.triggers == old.triggers
        key = lambda r: (r.head.start, r.head.end, r.head.label, r.tail.start, r.tail.end, r.tail.label, r.label)  # noqa: E731
        assert [key(r) for r in new.relations] == [key(r) for r in old.relations]
        for a, b in zip(new.relations, old.relations):
            assert a.score == pytest.approx(b.score, abs=2e-4)


def test_pair_probabilities_match_relation_probabilities(tiny, seed_texts):
    """The split first layer scores each pair as the whole relation head does, up to float rounding."""
    model, tokenizer = tiny
    runner = InferenceRunner(model, tokenizer)
    seen = []
    original = InferenceRunner.score_windows

    def spy(self, items):
        head, tail, probs = original(self, items)
        seen.append((items, head, tail, probs))
        return head, tail, probs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(InferenceRunner, "score_windows", spy)
        runner.run([text[:600] for text in seed_texts])
    compared = 0
    for items, head, tail, probs in seen:
        spans = [span for _, _, inside in items for span in inside]
        expected = []
        for window, features, inside in items:
            pairs = relation_candidates(window, inside, allowed_pairs=ALLOWED_PAIRS,
                                        max_distance=model.config.max_relation_distance)
            if len(pairs):
                expected += list(zip(pairs.spans, model.relation_probabilities(features.unsqueeze(0), pairs)))
        assert [(spans[h], spans[t]) for h, t in zip(head.tolist(), tail.tolist())] == [p for p, _ in expected]
        if expected:
            torch.testing.assert_close(probs, torch.stack([row for _, row in expected]), atol=1e-5, rtol=1e-4)
        compared += len(expected)
    assert compared > 100


def test_quiet_pairs_hand_on_waiting_rows_first():
    """A pair scored "none" in one window and as a relation in a later one reaches the decoder with both rows,
    the earlier first; a pair never scored as a relation never does."""
    quiet = inference._QuietPairs()
    none, relation = torch.zeros((1, len(RELATION_CLASSES))), torch.zeros((1, len(RELATION_CLASSES)))
    none[0, 0], none[0, 1], relation[0, 0], relation[0, 1] = 0.9, 0.1, 0.2, 0.8
    one = torch.tensor([1])
    head, tail, rows = quiet.take(one, torch.tensor([2]), one, none)
    assert len(head) == 0
    head, tail, rows = quiet.take(torch.tensor([1, 3]), torch.tensor([2, 4]), torch.tensor([1, 3]),
                                  torch.cat([relation, none]))
    assert head.tolist() == [1, 1] and tail.tolist() == [2, 2]
    torch.testing.assert_close(rows, torch.cat([none, relation]))
    head, tail, rows = quiet.take(one, torch.tensor([2]), one, none)  # already handed on: later rows follow
    assert head.tolist() == [1]
    quiet.settle(5)
    assert len(quiet.codes) == 0 and len(quiet.passed) == 0
