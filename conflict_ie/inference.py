"""The inference runner: texts -> encoding -> model -> decoding, in batches. ``predict()`` and the training loop's
dev evaluation both run it.

Texts are tokenized in one pass and cut into overlapping windows; documents are taken shortest first in chunks
of at most ``windows_per_chunk`` windows, and each chunk's windows are sorted by length and batched. The tag pass
keeps each window's features; after tag decoding, relations are scored for pairs of decoded spans inside each
window from those same features (no second encoder pass). A layer the model never learnt (``layers``, from the
model metadata) is not decoded at all: an untrained head's output is noise, not a prediction.
"""

from __future__ import annotations

import torch

from .decoding import EMPTY, DecodedText, decode_relations, decode_tags, merge_windows, to_prediction
from .encoding import (ENTITY_TAGS, TRIGGER_TAGS, EncodedDocument, Window, collate, make_windows,
                       relation_candidates, spans_in_window, tokenize_texts, window_count)
from .model import ExtractionModel, allowed_label_pairs
from .schema import LAYERS


class InferenceRunner:
    def __init__(self, model: ExtractionModel, tokenizer, *, batch_size: int = 16, windows_per_chunk: int = 128,
                 layers: tuple[str, ...] = LAYERS):
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.windows_per_chunk = windows_per_chunk
        self.allowed_pairs = allowed_label_pairs()
        self.layers = frozenset(layers)  # the layers decoded; the others stay empty

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.inference_mode()
    def run(self, texts: list[str], progress: bool = False) -> list[DecodedText]:
        """Decode every text; one result per text, in input order (empty texts give empty results)."""
        was_training = self.model.training
        self.model.eval()
        try:
            encoded = tokenize_texts(self.tokenizer, texts)
            results: list[DecodedText] = [EMPTY] * len(texts)
            order = sorted((i for i in range(len(texts)) if len(encoded[i])), key=lambda i: len(encoded[i]))
            bar = _progress_bar(len(order), progress)
            for chunk in self._chunks(order, encoded):
                for index, decoded in zip(chunk, self._run_chunk([encoded[i] for i in chunk])):
                    results[index] = decoded
                bar.update(len(chunk))
            bar.close()
            return results
        finally:
            self.model.train(was_training)

    def _chunks(self, order: list[int], encoded: list[EncodedDocument]):
        """Documents in ``order``, grouped so that a group has at most ``windows_per_chunk`` windows (or one
        document)."""
        config = self.model.config
        chunk, windows = [], 0
        for index in order:
            count = window_count(len(encoded[index]), config.max_length, config.stride)
            if chunk and windows + count > self.windows_per_chunk:
                yield chunk
                chunk, windows = [], 0
            chunk.append(index)
            windows += count
        if chunk:
            yield chunk

    def _run_chunk(self, documents: list[EncodedDocument]) -> list[DecodedText]:
        config = self.model.config
        windows = make_windows([len(d) for d in documents], config.max_length, config.stride)
        # tag pass: windows of similar length batched together; each window keeps its features for relations
        entity_probs, trigger_probs, window_features = [], [], {}
        ordered = sorted(windows, key=lambda w: w.token_end - w.token_start)
        for start in range(0, len(ordered), self.batch_size):
            batch_windows = ordered[start:start + self.batch_size]
            tags = self.model.tag_probabilities(collate(documents, batch_windows, self.tokenizer).to(self.device))
            entity_batch, trigger_batch = tags.entity.cpu(), tags.trigger.cpu()
            for row, window in enumerate(batch_windows):
                n = window.token_end - window.token_start
                entity_probs.append(entity_batch[row, 1:n + 1])
                trigger_probs.append(trigger_batch[row, 1:n + 1])
                window_features[window] = tags.features[row, :n + 2]
        lengths = [len(d) for d in documents]
        entity_merged = merge_windows(lengths, ordered, entity_probs)
        trigger_merged = merge_windows(lengths, ordered, trigger_probs)

        results = []
        for doc_index, document in enumerate(documents):
            entity_spans = (decode_tags(entity_merged[doc_index], ENTITY_TAGS, document)
                            if "entities" in self.layers else [])
            trigger_spans = (decode_tags(trigger_merged[doc_index], TRIGGER_TAGS, document)
                             if "triggers" in self.layers else [])
            doc_windows = [w for w in windows if w.doc_index == doc_index]
            spans = entity_spans + trigger_spans
            scored = (self._score_pairs(spans, doc_windows, window_features)
                      if len(spans) >= 2 and "relations" in self.layers else [])
            results.append(DecodedText(
                entities=tuple(to_prediction(document, s) for s in entity_spans),
                triggers=tuple(to_prediction(document, s) for s in trigger_spans),
                relations=decode_relations(document, spans, scored),
            ))
        return results

    def _score_pairs(self, spans, windows: list[Window], window_features: dict[Window, torch.Tensor]) -> list:
        """Relation pass: ((head, tail), probabilities) for the candidate pairs of decoded spans in each window."""
        token_spans = [span for span, _ in spans]
        scored = []
        for window in windows:
            inside = spans_in_window(token_spans, window)
            if len(inside) < 2:
                continue
            pairs = relation_candidates(window, inside, allowed_pairs=self.allowed_pairs,
                                        max_distance=self.model.config.max_relation_distance)
            if not len(pairs):
                continue
            features = window_features[window].unsqueeze(0)
            probs = self.model.relation_probabilities(features, pairs.to(self.device)).cpu()
            scored.extend(zip(pairs.spans, probs))
        return scored


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="predict", unit="doc")
