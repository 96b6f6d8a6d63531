"""Model, encoding, windowing, training and saving, on a tiny random encoder (fast tier)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from conflict_ie.config import ConfigError, ModelConfig, load_config
from conflict_ie.decoding import decode_tags
from conflict_ie.inference import InferenceRunner
from conflict_ie.data.document import Document, Span
from conflict_ie.encoding import (ENTITY_TAGS, IGNORE_INDEX, collate, encode_documents, make_windows,
                                  tokenize_texts)
from conflict_ie.data.label_studio_export import write_export
from conflict_ie.data.markup import parse_markup
from conflict_ie.model import ExtractionModel, allowed_label_pairs, load_model
from conflict_ie.api.predictor import Predictor
from conflict_ie.training.trainer import train

from .conftest import REPO_ROOT, TINY_ARTICLE



def tiny_model(tiny_encoder, **overrides):
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    config = ModelConfig(encoder=str(tiny_encoder), max_length=32, stride=8, **overrides)
    encoder = AutoModel.from_pretrained(tiny_encoder, add_pooling_layer=False)
    return ExtractionModel(encoder, config), AutoTokenizer.from_pretrained(tiny_encoder)


def article(layers=("entities", "triggers", "relations")) -> Document:
    document = parse_markup(TINY_ARTICLE, "test.txt")
    return Document(document.id, document.text, document.spans, document.relations, frozenset(layers))


def test_tags_align_with_character_spans(tiny_encoder):
    _, tokenizer = tiny_model(tiny_encoder)
    document = article()
    (encoded,) = encode_documents(tokenizer, [document])
    for span in encoded.spans:
        gold = next(s for s in document.spans if s.id == span.span_id)
        assert encoded.char_starts[span.token_start] == gold.start
        assert encoded.char_ends[span.token_end - 1] == gold.end
        assert ENTITY_TAGS[encoded.entity_tags[span.token_start]] in ("O", f"B-{gold.label}")


def test_missing_layer_contributes_no_loss_and_no_gradient(tiny_encoder):
    model, tokenizer = tiny_model(tiny_encoder)
    model.eval()  # no dropout, so both passes see the same numbers
    encoded = encode_documents(tokenizer, [article(("entities",))])
    assert encoded[0].trigger_tags is None and encoded[0].relations is None
    batch = collate(encoded, make_windows([len(encoded[0])], 32, 8), tokenizer, allowed_pairs=allowed_label_pairs())
    assert (batch.trigger_tags == IGNORE_INDEX).all()
    assert len(batch.pairs) == 0
    losses = model.losses(batch)
    assert losses["trigger"].item() == 0.0
    assert losses["relation"].item() == 0.0
    assert losses["role"].item() == 0.0
    assert losses["entity"].item() > 0.0
    losses["total"].backward()
    assert model.trigger_head.weight.grad is None or torch.count_nonzero(model.trigger_head.weight.grad) == 0
    assert model.role_head.weight.grad is None or torch.count_nonzero(model.role_head.weight.grad) == 0
    assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in model.relation_head.parameters())
    assert torch.count_nonzero(model.entity_head.weight.grad) > 0

    # The same document with all layers does train the trigger and relation heads.
    model.zero_grad()
    full = encode_documents(tokenizer, [article()])
    batch = collate(full, make_windows([len(full[0])], 32, 8), tokenizer, allowed_pairs=allowed_label_pairs())
    losses = model.losses(batch)
    assert losses["trigger"].item() > 0.0 and losses["relation"].item() > 0.0


def test_windows_cover_every_token_and_short_span():
    lengths = [0, 1, 30, 31, 100, 1000]
    windows = make_windows(lengths, max_length=32, stride=8)
    for doc_index, length in enumerate(lengths):
        covered = set()
        mine = [w for w in windows if w.doc_index == doc_index]
        for window in mine:
            assert window.token_end - window.token_start <= 30
            covered.update(range(window.token_start, window.token_end))
        assert covered == set(range(length))
        # any span of at most stride + 1 tokens lies wholly inside some window
        for start in range(max(0, length - 9)):
            assert any(w.token_start <= start and start + 9 <= w.token_end for w in mine)


def test_window_merge_keeps_every_span_of_a_long_document(tiny_encoder):
    _, tokenizer = tiny_model(tiny_encoder)
    rng = random.Random(7)
    words = ["Rockets", "hit", "Idlib", "and", "Kafr", "Jallis", "on", "Saturday", "killing", "forty", "people"]
    text, spans = "", []
    while len(text) < 20_000:
        word = rng.choice(words)
        start = len(text)
        text += word + " "
        if word[0].isupper() and rng.random() < 0.7:
            spans.append(Span(f"e{len(spans)}", start, start + len(word), word, "Location"))
    assert len(text) >= 20_000
    document = Document("long", text, tuple(spans), (), frozenset({"entities"}))
    (encoded,) = encode_documents(tokenizer, [document])
    windows = make_windows([len(encoded)], max_length=64, stride=16)
    assert len(windows) > 10
    # each window "predicts" the gold tags (one-hot), as a perfect model would; merging must lose nothing
    one_hot = torch.nn.functional.one_hot(torch.tensor(encoded.entity_tags), len(ENTITY_TAGS)).float()
    window_probs = [one_hot[w.token_start:w.token_end] for w in windows]
    sums, counts = torch.zeros_like(one_hot), torch.zeros((len(encoded), 1))
    for window, probs in zip(windows, window_probs):  # averaged over the windows covering each token
        sums[window.token_start:window.token_end] += probs
        counts[window.token_start:window.token_end] += 1
    merged = sums / counts.clamp(min=1)
    decoded = decode_tags(merged, ENTITY_TAGS, encoded)
    found = {(encoded.char_starts[s.token_start], encoded.char_ends[s.token_end - 1]) for s, _ in decoded}
    assert found == {(s.start, s.end) for s in spans}


def test_a_quantity_never_ends_on_the_of_of_the_phrase_it_counts(tiny_encoder):
    _, tokenizer = tiny_model(tiny_encoder)
    text = "At least 40 of them died and a number of others fled"
    (encoded,) = tokenize_texts(tokenizer, [text])

    def tag_words(words: list[tuple[str, int]]) -> torch.Tensor:
        """One-hot B-/I-Quantity over the tokens of each (word run, occurrence start) and O elsewhere."""
        tags = torch.zeros(len(encoded), len(ENTITY_TAGS))
        tags[:, ENTITY_TAGS.index("O")] = 1
        for run, start in words:
            inside = [i for i in range(len(encoded))
                      if start <= encoded.char_starts[i] and encoded.char_ends[i] <= start + len(run)]
            for n, i in enumerate(inside):
                tags[i] = 0
                tags[i, ENTITY_TAGS.index(("B-" if n == 0 else "I-") + "Quantity")] = 1
        return tags

    probs = tag_words([("At least 40 of", 0), ("a number of", text.index("a number of"))])
    found = [text[encoded.char_starts[s.token_start]:encoded.char_ends[s.token_end - 1]]
             for s, _ in decode_tags(probs, ENTITY_TAGS, encoded)]
    assert found == ["At least 40", "a number of"]  # GUIDELINES 7.1; "a number of" is itself the count


def test_decoder_offsets_are_exact_on_any_input(tiny_encoder):
    model, tokenizer = tiny_model(tiny_encoder)
    decoder = InferenceRunner(model, tokenizer, batch_size=4)
    texts = ["", "   \n ", "Raid in Kafr Jallis\r\nkilled 40 — “at least” 40 ٤٠ 🚀 &amp; Huras al-Dīn.",
             "word " * 4000]
    results = decoder.run(texts)
    assert len(results) == 4
    assert results[0].entities == () and results[1].entities == ()
    for text, result in zip(texts, results):
        for span in result.entities + result.triggers:
            assert text[span.start:span.end] == span.text
    assert decoder.run([]) == []


def _training_setup(tmp_path, tiny_encoder, extra=()):
    document = article()
    export = tmp_path / "train.json"
    write_export([document, Document("test-2", document.text.upper(), (), (), frozenset({"entities"}))], export)
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"train": ["tiny-1", "test-2"], "dev": [], "test": []}))
    overrides = [
        f"data.corpora=[{{name: tiny, kind: label_studio, path: {export}}}]",
        f"data.splits_file={splits}",
        f"model.encoder={tiny_encoder}",
        "model.max_length=32", "model.stride=8",
        "train.max_steps=2", "train.batch_size=2", "train.eval_every=1",
        f"train.output_dir={tmp_path / 'run'}",
        *extra,
    ]
    return load_config(None, overrides)


def test_contract_train_save_load_predict(tmp_path, tiny_encoder, seed_texts):
    config = _training_setup(tmp_path, tiny_encoder)
    folder = train(config, log=lambda message: None)
    assert (folder / "model.safetensors").is_file()
    metadata = json.loads((folder / "conflict_ie.json").read_text())
    assert metadata["config"]["train"]["max_steps"] == 2
    assert metadata["seed"] == 13 and "torch" in metadata["library_versions"]
    assert metadata["data_hashes"]["tiny"] and metadata["training"]["steps"] == 2
    assert not list(folder.parent.glob(".*tmp*")), "no half-written folders left behind"

    model, tokenizer, _ = load_model(folder)
    texts = ["", "A drone strike killed two fighters in Marib.", (seed_texts[0] + "\n") * 8]
    assert len(texts[2]) > 20_000
    first = Predictor(model, tokenizer, metadata).predict(texts)
    second = Predictor.load(folder).predict(texts)
    assert first == second
    assert first[0].entities == () and first[0].incidents == ()
    for text, result in zip(texts, first):
        for span in result.entities + result.triggers:
            assert text[span.start:span.end] == span.text


def test_training_resumes_from_last_checkpoint(tmp_path, tiny_encoder):
    config = _training_setup(tmp_path, tiny_encoder, ["train.max_steps=4", "train.log_every=1"])

    def interrupt_at_step_3(line: str) -> None:
        if line.startswith("step 3/"):
            raise KeyboardInterrupt  # after the checkpoint of step 2, before that of step 3

    with pytest.raises(KeyboardInterrupt):
        train(config, log=interrupt_at_step_3)
    assert not (tmp_path / "run" / "model").exists()
    logs: list[str] = []
    folder = train(config, log=logs.append)
    assert any("resumed from" in line and "step 2" in line for line in logs)
    assert json.loads((folder / "conflict_ie.json").read_text())["training"]["steps"] == 4

    logs.clear()
    assert train(config, log=logs.append) == folder  # the same command again: the finished model, no training
    assert any("already trained" in line for line in logs) and not any(line.startswith("step") for line in logs)

    changed = _training_setup(tmp_path, tiny_encoder, ["train.max_steps=6", "train.log_every=1"])
    with pytest.raises(ValueError, match=r"another config \(differs in: train.max_steps\)"):
        train(changed, log=lambda line: None)


def test_without_a_dev_split_training_runs_its_full_length(tmp_path, tiny_encoder):
    # evaluations score the (noisy) training loss then; patience 1 would otherwise stop at its first rise
    config = _training_setup(tmp_path, tiny_encoder, ["train.max_steps=8", "train.patience=1",
                                                       "train.learning_rate=0.05"])
    folder = train(config, log=lambda line: None)
    assert json.loads((folder / "conflict_ie.json").read_text())["training"]["steps"] == 8


def test_config_rejects_unknown_keys_and_converts_types(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  learning_rate: 1e-5\n  epochs: '3'\n")
    config = load_config(path)
    assert config.train.learning_rate == 1e-5 and isinstance(config.train.learning_rate, float)
    assert config.train.epochs == 3
    path.write_text("train:\n  learnin_rate: 1e-5\n")
    with pytest.raises(ConfigError, match="learnin_rate"):
        load_config(path)
    with pytest.raises(ConfigError, match="epochs"):
        load_config(None, ["train.epochs=many"])
    with pytest.raises(ConfigError, match="not key=value"):
        load_config(None, ["train.epochs"])


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "configs").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_config_loads(path):
    config = load_config(path, on_this_machine=False)  # gpu.yaml asks for CUDA, which CI does not have
    assert config.data.corpora, f"{path} names no corpora"
    assert path.read_text().startswith("# Run:"), "each YAML starts with the command that runs it"


def test_tokenize_handles_empty_batch(tiny_encoder):
    _, tokenizer = tiny_model(tiny_encoder)
    assert tokenize_texts(tokenizer, []) == []


def test_recorded_paths_are_portable(tmp_path):
    from conflict_ie.config import portable_path

    config = load_config(None, [f"data.data_root={tmp_path}"])
    (tmp_path / "re3d").mkdir()
    assert portable_path(config, tmp_path / "re3d" / "documents.json") == "${data}/re3d/documents.json"
    assert portable_path(config, REPO_ROOT / "annotations" / "seeds.json") == "annotations/seeds.json"
    assert portable_path(config, Path("/elsewhere/x.json")) == "/elsewhere/x.json"
