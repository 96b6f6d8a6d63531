"""The torch-bf16 backend on the tiny test model: its tag pass hands the decoder float32 tensors close to the
float32 pass's, and predict() and the command line run on it with offsets into the text."""

from __future__ import annotations

import json

import pytest
import torch

from conflict_ie.api import cli
from conflict_ie.api.predictor import Predictor


def test_bf16_tag_pass_is_close_to_float32_and_hands_on_float32(tiny_model_dir, seed_texts):
    reference = Predictor.load(tiny_model_dir, device="cpu").runner
    bf16 = Predictor.load(tiny_model_dir, device="cpu", backend="torch-bf16").runner
    (batch, *_) = reference.encoder_batches([seed_texts[0][:1500], "A drone strike hit Marib."])
    expected, got = reference.tagger(batch), bf16.tagger(batch)
    for name in ("features", "entity", "trigger", "role"):
        assert getattr(got, name).dtype == torch.float32
        # bfloat16 keeps 8 bits of mantissa: probabilities move in the second or third decimal, no more
        torch.testing.assert_close(getattr(got, name), getattr(expected, name), atol=0.05, rtol=0.05)
    assert not torch.equal(got.features, expected.features)  # the products did run in bfloat16


def test_bf16_predicts_offsets_into_the_text(tiny_model_dir, seed_texts, tmp_path, capsys):
    texts = [seed_texts[0][:1500], "", "A drone strike hit Marib on Saturday, killing two."]
    results = Predictor.load(tiny_model_dir, device="cpu", backend="torch-bf16").predict(texts)
    assert len(results) == len(texts) and results[1].entities == ()
    for text, result in zip(texts, results):
        for span in result.entities + result.triggers:
            assert text[span.start:span.end] == span.text
    article = tmp_path / "a.txt"
    article.write_text(texts[0], encoding="utf-8")
    assert cli.main(["predict", str(article), "--model", str(tiny_model_dir), "--format", "jsonl",
                     "--backend", "torch-bf16"]) == cli.EXIT_OK
    record = json.loads(capsys.readouterr().out)
    assert [(e["start"], e["end"]) for e in record["entities"]] == [
        (e.start, e.end) for e in results[0].entities]


def test_an_unknown_backend_is_refused(tiny_model_dir):
    with pytest.raises(ValueError, match="torch-bf16"):
        Predictor.load(tiny_model_dir, device="cpu", backend="bf16")


def test_the_command_line_offers_every_backend():
    from conflict_ie.backends import BACKENDS

    assert cli.BACKEND_CHOICES == tuple(BACKENDS)
    assert cli.parser().parse_args(["serve", "--backend", "torch-bf16"]).backend == "torch-bf16"
