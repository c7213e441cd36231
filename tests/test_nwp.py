"""Next-word-prediction loss: the strided recipe, both families, the WikiText-2 loader, the benchmark."""

import math
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from brainalign.datasets.wikitext import load_wikitext2
from brainalign.errors import ConfigError, DataMismatch, DataUnavailable
from brainalign.surprisal.loss import nwp_loss
from brainalign.config.presets import load_preset

REPO = Path(__file__).resolve().parents[1]


def corpus(n_topics=2) -> str:
    from pydoc_data.topics import topics

    return "\n\n".join(list(topics.values())[:n_topics])


def lm_for(tiny_models, family, **cfg):
    from brainalign.models.load import load_model

    return load_model(OmegaConf.create({"name": f"tiny-{family}", "path": str(tiny_models[family]), **cfg}))


def strided_recipe(model, ids, context, stride):
    """The usual perplexity loop: windows start every `stride` tokens, only unscored tokens count."""
    import torch

    total, count, prev_end = 0.0, 0, 0
    for begin in range(0, len(ids), stride):
        end = min(begin + context, len(ids))
        new = end - prev_end
        with torch.no_grad():
            logp = model(torch.tensor([ids[begin:end]])).logits[0].log_softmax(-1)
        for t in range(max(end - new, begin + 1), end):
            total -= float(logp[t - begin - 1, ids[t]])
            count += 1
        prev_end = end
        if end == len(ids):
            break
    return total / count, count


def test_nwp_is_the_standard_strided_loss(tiny_models):
    lm = lm_for(tiny_models, "gpt2")
    text = corpus(1)[:3000]
    ids = lm.tokenizer(text)["input_ids"]
    expected, count = strided_recipe(lm.model, ids, context=48, stride=20)
    got = nwp_loss(lm, text, context=48, stride=20)
    assert got.loss == pytest.approx(expected, rel=1e-5) and got.n_tokens == count == len(ids) - 1
    assert got.perplexity == pytest.approx(math.exp(got.loss))
    assert "nats" in got.computed and "not comparable" in got.computed and "no BOS" in got.computed
    # untrained: about ln(vocab) nats per token
    assert abs(got.loss - math.log(len(lm.tokenizer))) < 1.0


def test_nwp_for_both_families(tiny_models):
    text = corpus(1)[:2000]
    llama = nwp_loss(lm_for(tiny_models, "llama"), text, context=32, stride=16, max_tokens=200)
    assert llama.n_tokens == 200 and "a BOS token" in llama.computed  # BOS predicts the first token
    t5 = nwp_loss(lm_for(tiny_models, "t5"), text, context=32, stride=16, max_tokens=200)
    assert t5.n_tokens == 200 and "encoder-decoder" in t5.computed and np.isfinite(t5.loss)
    with pytest.raises(ConfigError, match="t5=shifted"):
        nwp_loss(lm_for(tiny_models, "t5"), text, t5="study")
    with pytest.raises(ConfigError, match="stride"):
        nwp_loss(lm_for(tiny_models, "gpt2"), text, context=16, stride=40)


def test_wikitext_from_local_files(tmp_path):
    raw = tmp_path / "wikitext-2-raw" / "wiki.test.raw"
    raw.parent.mkdir()
    raw.write_text(" = Robert Boulter = \n\n Robert Boulter is an English film actor .\n")
    for path in (raw, tmp_path):
        text, source = load_wikitext2({"path": str(path)})
        assert text.startswith(" = Robert Boulter") and source.startswith("file:")
    with pytest.raises(DataUnavailable):
        load_wikitext2({"path": str(tmp_path / "nope.raw")})
    with pytest.raises(ConfigError):
        load_wikitext2({"path": str(raw), "split": "dev"})
    (tmp_path / "empty.raw").write_text(" \n\n")
    with pytest.raises(DataMismatch, match=r"empty.raw holds no text"):
        load_wikitext2({"path": str(tmp_path / "empty.raw")})
    (tmp_path / "binary.raw").write_bytes(bytes(range(128, 256)))
    with pytest.raises(DataMismatch, match=r"binary.raw is not UTF-8 text"):
        load_wikitext2({"path": str(tmp_path / "binary.raw")})


def test_a_text_too_short_to_score_is_one_line(tiny_models):
    for family in ("gpt2", "llama"):   # gpt2 has no start token: one token leaves nothing to predict
        with pytest.raises(DataMismatch, match=r"the text has 0 token\(s\) for .*: too short to score a next word"):
            nwp_loss(lm_for(tiny_models, family), "")
    with pytest.raises(DataMismatch, match=r"the text has 1 token\(s\)"):
        nwp_loss(lm_for(tiny_models, "gpt2"), "Hello world", max_tokens=1)


def test_wikitext_offline_without_a_file_says_how():
    with pytest.raises(DataUnavailable, match="dataset.path"):
        load_wikitext2({})


def test_nwp_benchmark_caches_and_reports(tiny_models, tmp_path):
    from brainalign.benchmarks import ModelProvider, RunContext, build

    text_file = tmp_path / "wiki.test.raw"
    text_file.write_text(corpus(2))
    dataset = load_preset("dataset", "wikitext2", resolve_paths=True)
    dataset.path = str(text_file)
    metric = load_preset("metric", "nwp")
    metric.context, metric.stride, metric.max_tokens = 32, 16, 300
    cfg = OmegaConf.create({"name": "tiny-llama", "path": str(tiny_models["llama"])})
    ctx = RunContext(cache_dir=tmp_path / "cache", progress=False)
    result = build(dataset, metric).run(ModelProvider(cfg), ctx)
    assert result["raw"] == result["nwp_loss"] and result["unit"] == "nats/token" and result["ceiling"] is None
    assert result["n_tokens"] == 300 and result["context"] == 32 and result["stride"] == 16
    assert result["best_layer"] is None and result["per_layer"] == [] and "computed" in result
    again = ModelProvider(cfg)
    cached = build(dataset, metric).run(again, ctx)
    assert cached["cached"] and not again.loaded and cached["raw"] == result["raw"]
