"""Encoding owns windows and relation candidates: the counts and pair orders its readers rely on (fast tier)."""

from __future__ import annotations

import random

import pytest
import torch

from conflict_ie.decoding import decode_relations
from conflict_ie.encoding import (IGNORE_INDEX, RELATION_CLASSES, SPAN_LABELS, EncodedDocument, TokenSpan, Window,
                                  candidate_pairs, collate, encode_documents, make_windows, relation_candidates,
                                  spans_in_window, window_count)
from conflict_ie.model import allowed_label_pairs

from .test_model import article, tiny_model


@pytest.mark.parametrize(("max_length", "stride"), [(32, 8), (256, 64), (512, 128), (12, 9)])
def test_window_count_is_the_number_of_windows_make_windows_cuts(max_length, stride):
    lengths = list(range(0, 700))
    windows = make_windows(lengths, max_length, stride)
    for doc_index, length in enumerate(lengths):
        assert window_count(length, max_length, stride) == sum(w.doc_index == doc_index for w in windows)


def _check_rows_match_spans(pairs, windows: list[Window]):
    """Every row's positions, labels and distance are those of the (head, tail) pair ``pairs.spans`` names."""
    assert len(pairs.spans) == len(pairs.batch_index) == len(pairs.head_bounds) == len(pairs.targets)
    for row, (head, tail) in enumerate(pairs.spans):
        window = windows[int(pairs.batch_index[row])]
        offset = 1 - window.token_start
        assert pairs.head_bounds[row].tolist() == [head.token_start + offset, head.token_end - 1 + offset]
        assert pairs.tail_bounds[row].tolist() == [tail.token_start + offset, tail.token_end - 1 + offset]
        assert SPAN_LABELS[int(pairs.head_labels[row])] == head.label
        assert SPAN_LABELS[int(pairs.tail_labels[row])] == tail.label
        assert int(pairs.distance[row]) == abs(head.token_start - tail.token_start)


def test_collate_pairs_are_the_candidate_pairs_in_order_with_their_gold_labels(tiny_encoder):
    _, tokenizer = tiny_model(tiny_encoder)
    encoded = encode_documents(tokenizer, [article()])
    windows = make_windows([len(encoded[0])], 32, 8)
    allowed = allowed_label_pairs()
    batch = collate(encoded, windows, tokenizer, allowed_pairs=allowed)
    expected = [pair for window in windows
                for pair in candidate_pairs(spans_in_window(encoded[0].spans, window), allowed, 200)]
    assert batch.pairs.spans == expected and expected
    _check_rows_match_spans(batch.pairs, windows)
    gold = encoded[0].relations
    for (head, tail), target in zip(batch.pairs.spans, batch.pairs.targets.tolist()):
        assert RELATION_CLASSES[target] == gold.get((head.span_id, tail.span_id), "none")
    assert any(target != 0 for target in batch.pairs.targets.tolist())


def test_sampled_training_pairs_still_name_their_rows(tiny_encoder):
    _, tokenizer = tiny_model(tiny_encoder)
    encoded = encode_documents(tokenizer, [article()])
    windows = make_windows([len(encoded[0])], 32, 8)
    batch = collate(encoded, windows, tokenizer, allowed_pairs=None, rng=random.Random(3), negatives_per_positive=1,
                    min_negatives=1)
    full = collate(encoded, windows, tokenizer, allowed_pairs=None)
    assert 0 < len(batch.pairs) < len(full.pairs)
    _check_rows_match_spans(batch.pairs, windows)
    # every related pair is kept
    assert sum(t != 0 for t in batch.pairs.targets.tolist()) == sum(t != 0 for t in full.pairs.targets.tolist())


def test_inference_candidates_name_their_rows_and_the_decoder_reads_them_back():
    spans = [TokenSpan(3, 5, "AirStrike"), TokenSpan(7, 8, "Location"), TokenSpan(10, 12, "Person"),
             TokenSpan(40, 41, "Quantity")]
    window = Window(0, 2, 30)
    inside = spans_in_window(spans, window)
    assert spans[3] not in inside
    pairs = relation_candidates(window, inside, allowed_pairs=allowed_label_pairs(), max_distance=200)
    assert pairs.spans == candidate_pairs(inside, allowed_label_pairs(), 200)
    assert (pairs.targets == IGNORE_INDEX).all()
    _check_rows_match_spans(pairs, [window])

    # The decoder turns each row back into the pair it names: make the row of (trigger -> Location) say "place".
    text = "x " * 30
    document = EncodedDocument(text=text, token_ids=[0] * 30, char_starts=[2 * i for i in range(30)],
                               char_ends=[2 * i + 1 for i in range(30)], shapes=[0] * 30)
    rows = torch.zeros((len(pairs), len(RELATION_CLASSES)))
    rows[:, 0] = 1.0
    target_row = pairs.spans.index((spans[0], spans[1]))
    rows[target_row] = 0.0
    rows[target_row, RELATION_CLASSES.index("place")] = 1.0
    relations = decode_relations(document, [(s, 0.9) for s in spans], zip(pairs.spans, rows))
    assert [(r.head.start, r.tail.start, r.label) for r in relations] == [(6, 14, "place")]


def test_decoder_averages_a_pair_over_the_windows_that_scored_it():
    head, tail = TokenSpan(0, 1, "AirStrike"), TokenSpan(2, 3, "Location")
    document = EncodedDocument(text="a b c", token_ids=[0, 0, 0], char_starts=[0, 2, 4], char_ends=[1, 3, 5],
                               shapes=[0, 0, 0])
    place = RELATION_CLASSES.index("place")
    first, second = torch.zeros(len(RELATION_CLASSES)), torch.zeros(len(RELATION_CLASSES))
    first[place], first[0] = 0.8, 0.2
    second[place], second[0] = 0.4, 0.6
    (relation,) = decode_relations(document, [(head, 1.0), (tail, 1.0)], [((head, tail), first), ((head, tail), second)])
    assert relation.label == "place" and relation.score == pytest.approx(0.6)
    assert decode_relations(document, [(head, 1.0), (tail, 1.0)], [((head, tail), second)]) == ()
