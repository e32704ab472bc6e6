"""The character Transformer (issue 10, part 3): causal attention, pre-LN and post-LN built as
documented, the switches that apply, the ones refused, and a tiny corpus it learns and writes."""

from __future__ import annotations

import pytest
import torch
from helpers import make_config, norms_not_skipped

from tui_trainer.config import ConfigError
from tui_trainer.data import DataSpec
from tui_trainer.models import build_model

SPEC = DataSpec("text", (12,), 20, task="language_modelling")


def transformer(**more):
    return make_config({"data.dataset": "text", "data.seq_len": 12, "model.kind": "transformer",
                        "model.transformer.d_model": 16, "model.transformer.num_layers": 2,
                        "model.transformer.num_heads": 4, "tricks.batchnorm.enabled": False, **more})


def test_attention_is_causal():
    torch.manual_seed(0)
    model = build_model(SPEC, transformer()).eval()
    x = torch.randint(0, 20, (3, 12))
    changed = x.clone()
    changed[:, 7:] = (changed[:, 7:] + 1) % 20  # a different future
    with torch.no_grad():
        a, b = model(x), model(changed)
    assert a.shape == (3, 12, 20)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)  # what comes before never sees what comes after
    assert not torch.allclose(a[:, 7:], b[:, 7:])


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_pre_and_post_layer_norm_build_as_documented(norm):
    torch.manual_seed(0)
    model = build_model(SPEC, transformer(**{"model.transformer.norm": norm})).eval()
    block = model.blocks[0]
    x = torch.randn(2, 12, 16)
    with torch.no_grad():
        if norm == "pre":  # x + attn(LN(x)), then + ff(LN(.)); a final LayerNorm before the head
            h = x + block.attention(block.norm1(x))
            expected = h + block.ff(block.norm2(h))
            assert isinstance(model.norm, torch.nn.LayerNorm)
        else:  # LN(x + attn(x)), then LN(. + ff(.)); nothing between the last block and the head
            h = block.norm1(x + block.attention(x))
            expected = block.norm2(h + block.ff(h))
            assert isinstance(model.norm, torch.nn.Identity)
        assert torch.allclose(block(x), expected, atol=1e-6)
    assert model.positions.num_embeddings == 12  # learned positions, as many as data.seq_len


def test_dropout_reaches_embeddings_attention_and_sublayers():
    model = build_model(SPEC, transformer(**{"tricks.dropout.enabled": True, "tricks.dropout.p": 0.3}))
    drops = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 1 + 2 and all(d.p == 0.3 for d in drops)  # the embeddings, and each block's sub-layer outputs
    assert all(block.p == 0.3 for block in model.blocks)  # attention weights, through scaled_dot_product_attention
    off = build_model(SPEC, transformer(**{"tricks.dropout.enabled": False}))
    assert not [m for m in off.modules() if isinstance(m, torch.nn.Dropout)] and all(b.p == 0 for b in off.blocks)
    torch.manual_seed(0)
    x = torch.randint(0, 20, (2, 12))
    model.train()
    assert not torch.equal(model(x), model(x))  # training draws new masks
    model.eval()
    assert torch.equal(model(x), model(x))


def test_what_cannot_apply_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match="tricks.batchnorm.enabled: a Transformer normalises with LayerNorm"):
        transformer(**{"tricks.batchnorm.enabled": True})
    with pytest.raises(ConfigError, match=r"d_model \(16\) must divide by num_heads \(3\)"):
        transformer(**{"model.transformer.num_heads": 3})
    with pytest.raises(ConfigError, match="fewer than data.seq_len"):
        transformer(**{"model.transformer.context": 8})
    with pytest.raises(ConfigError, match="noam rises for its warm-up"):
        transformer(**{"tricks.lr_schedule.kind": "noam"})
    from tui_trainer.errors import UserError

    with pytest.raises(UserError, match="character language model for text; mnist1d is a classification task"):
        build_model(DataSpec("mnist1d", (1, 40), 10), transformer())


def test_a_tiny_corpus_trains_a_transformer_that_writes_from_its_vocabulary(tmp_path):
    from tui_trainer.engine import Trainer
    from tui_trainer.engine.events import SampleText
    from tui_trainer.engine.generate import generate_text

    corpus = tmp_path / "corpus.txt"
    text = "the cat sat on the mat. " * 200  # a period of 24: sequences of 20 start at different places of it
    corpus.write_text(text)
    config = transformer(**{"data.path": str(corpus), "data.seq_len": 20, "model.transformer.d_model": 32,
                            "train.epochs": 12, "train.batch_size": 16, "train.lr": 3e-3,
                            "tricks.lr_schedule.kind": "noam", "tricks.lr_schedule.warmup_steps": 20,
                            "sample.length": 50, "sample.prompt": "the "})
    trainer = Trainer(config, keep_events=True)
    summary = trainer.run().summary
    assert summary["test_metrics"]["test_bits_per_char"] < 1.0  # a repeated sentence is learnt
    samples = [e for e in trainer.record.events if isinstance(e, SampleText)]
    assert samples and all(set(s.text) <= set(text) and len(s.text) == 54 for s in samples)
    # generation longer than the context keeps only the last 20 characters in view
    long = generate_text(trainer.model, trainer.data.spec.classes, "the ", 100, 0.5, 0, 1)
    assert len(long) == 104 and set(long) <= set(text)
    assert long == generate_text(trainer.model, trainer.data.spec.classes, "the ", 100, 0.5, 0, 1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_language_models_train_with_mixed_precision_on_cuda(tmp_path, dtype, kind):
    import math

    from tui_trainer.engine import Trainer
    from tui_trainer.engine.events import SampleText

    if dtype == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 200)
    model = {"model.kind": "lstm", "model.lstm.hidden_size": 32, "model.lstm.num_layers": 2} if kind == "lstm" else {}
    config = transformer(**{"data.path": str(corpus), "data.seq_len": 20, "train.epochs": 3, "train.batch_size": 16,
                            "train.device": "cuda", "tricks.mixed_precision.enabled": True,
                            "tricks.mixed_precision.dtype": dtype, "sample.length": 40, "sample.min_seconds": 0,
                            **model})
    trainer = Trainer(config, keep_events=True)
    result = trainer.run()
    assert result.summary["precision"] == dtype
    assert result.status == "completed"
    assert result.summary["device"].startswith("cuda")
    assert trainer.parts.scaler.is_enabled() == (dtype == "fp16")
    norms = norms_not_skipped(result.events)  # unscaled before they are measured
    assert all(math.isfinite(n) for n in norms)
    assert max(norms) < 1e3
    samples = [e for e in result.events if isinstance(e, SampleText)]
    assert len(samples) == 3 and all(set(s.text) <= set("the cat sat on the mat. ") for s in samples)
    assert result.summary["test_metrics"]["test_bits_per_char"] < 3.0
