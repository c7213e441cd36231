"""Word-level features: each word with its preceding words, mean over the word's own tokens; cached."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from brainalign.activations import words as words_mod
from brainalign.activations.words import cached_word_features, tokenize_window, windows, word_features
from brainalign.benchmarks import ModelProvider
from brainalign.plumbing.interrupt import Interrupted
from brainalign.models.layers import LayerRecorder

TEXT = "Harry had never believed he would meet a boy he hated more than Dudley, but that was".split()


def provider(path, name="tiny"):
    return ModelProvider(OmegaConf.create({"name": name, "path": str(path)}))


def test_windows():
    w = windows(["a", "bb", "c", "dd"], 2)
    assert [t for t, _ in w] == ["a", "a bb", "a bb c", "bb c dd"]
    assert [t[s:] for t, s in w] == ["a", "bb", "c", "dd"]
    assert [t for t, _ in windows(["a", "bb"], 0)] == ["a", "bb"]


@pytest.mark.parametrize("family", ["gpt2", "llama", "t5"])
def test_positions_are_the_last_words_tokens(tiny_models, family):
    lm = provider(tiny_models[family]).get()
    for text, start in windows(TEXT, 3):
        ids, pos = tokenize_window(lm, text, start)
        special = set(lm.tokenizer.all_special_ids)
        assert pos and all(ids[j] not in special for j in pos)
        decoded = lm.tokenizer.decode([ids[j] for j in pos]).strip()
        assert decoded.replace(" ", "") == text[start:].replace(" ", ""), (family, text)


@pytest.mark.parametrize("family", ["gpt2", "t5"])
def test_features_are_token_means_and_batch_invariant(tiny_models, family):
    lm = provider(tiny_models[family]).get()
    feats = word_features(lm, TEXT, context_words=4, layers=["embedding", "blocks"], batch_size=5)
    assert feats.values.shape == (len(feats.layers), len(TEXT), 64) and feats.values.dtype == np.float32
    if family == "t5":
        stacks = {n.split(".")[0] for n in feats.layers}
        assert stacks == {"encoder", "decoder"}
    one = word_features(lm, TEXT, context_words=4, layers=["embedding", "blocks"], batch_size=1, start=10, stop=13)
    np.testing.assert_allclose(one.values, feats.values[:, 10:13], rtol=1e-4, atol=1e-5)
    # by hand, word 12 ("than") alone: mean of its tokens' hidden states
    text, start = windows(TEXT, 4)[12]
    ids, pos = tokenize_window(lm, text, start)
    x = torch.tensor([ids])
    kwargs = dict(input_ids=x, decoder_input_ids=x) if lm.is_encoder_decoder else dict(input_ids=x)
    with torch.inference_mode(), LayerRecorder(lm.model, feats.layers) as rec:
        lm.model(**kwargs)
        by_hand = np.stack([rec.outputs[n][0, pos].mean(0).numpy() for n in feats.layers])
    np.testing.assert_allclose(feats.values[:, 12], by_hand, rtol=1e-4, atol=1e-5)


def test_context_changes_the_features(tiny_models):
    lm = provider(tiny_models["gpt2"]).get()
    short = word_features(lm, TEXT, context_words=0, layers=["blocks"]).values
    long = word_features(lm, TEXT, context_words=5, layers=["blocks"]).values
    np.testing.assert_allclose(short[:, 0], long[:, 0], rtol=1e-4, atol=1e-5)  # nothing before word 0
    assert np.abs(short[:, 8] - long[:, 8]).max() > 1e-3


class CountingProvider(ModelProvider):
    loads = 0

    def get(self):
        CountingProvider.loads += 1
        return super().get()


def test_cache_hit_never_loads_and_partial_runs_resume(tiny_models, tmp_path, monkeypatch):
    cfg = OmegaConf.create({"name": "tiny", "path": str(tiny_models["gpt2"])})
    first = cached_word_features(CountingProvider(cfg), TEXT, context_words=3, layers=["blocks"], cache_dir=tmp_path,
                                 chunk=4)
    assert CountingProvider.loads == 1 and isinstance(first.values, np.memmap)  # read through a memory map
    again = cached_word_features(CountingProvider(cfg), TEXT, context_words=3, layers=["blocks"], cache_dir=tmp_path)
    assert CountingProvider.loads == 1 and again.layers == first.layers
    np.testing.assert_array_equal(np.asarray(again.values), np.asarray(first.values))

    # an interrupted run: the chunks finished before it stopped are not computed again
    calls = []
    real = words_mod.word_features

    def killed_at_12(lm, w, **kw):
        if kw["start"] == 12:
            raise KeyboardInterrupt
        calls.append(kw["start"])
        return real(lm, w, **kw)

    monkeypatch.setattr(words_mod, "word_features", killed_at_12)
    with pytest.raises(Interrupted) as stopped:
        cached_word_features(CountingProvider(cfg), TEXT, context_words=3, layers=["blocks"], cache_dir=tmp_path / "b",
                             chunk=4)
    assert calls == [0, 4, 8] and "after 12 of 17 words" in stopped.value.message()
    calls.clear()
    monkeypatch.setattr(words_mod, "word_features", lambda lm, w, **kw: calls.append(kw["start"]) or real(lm, w, **kw))
    resumed = cached_word_features(CountingProvider(cfg), TEXT, context_words=3, layers=["blocks"],
                                   cache_dir=tmp_path / "b", chunk=4)
    assert calls == [12, 16]
    np.testing.assert_allclose(np.asarray(resumed.values), np.asarray(first.values), rtol=1e-5, atol=1e-6)
    key = words_mod.cache_key(ModelProvider(cfg).fingerprint(), TEXT, 3, ["blocks"])
    stored = sorted(p.name for p in (tmp_path / "b" / "words").iterdir() if not p.name.endswith(".lock"))
    assert stored == [f"{key}.json", f"{key}.npy"]  # the checkpoint is gone

    other = cached_word_features(CountingProvider(cfg), TEXT, context_words=2, layers=["blocks"], cache_dir=tmp_path)
    assert len(list((tmp_path / "words").glob("*.npy"))) == 2 and other.values.shape == first.values.shape


def test_a_corrupt_cached_file_is_recomputed(tiny_models, tmp_path):
    cfg = OmegaConf.create({"name": "tiny", "path": str(tiny_models["gpt2"])})
    first = np.array(cached_word_features(ModelProvider(cfg), TEXT, context_words=3, layers=["blocks"],
                                          cache_dir=tmp_path).values)
    (path,) = (tmp_path / "words").glob("*.npy")
    path.write_bytes(path.read_bytes()[:100])
    again = cached_word_features(CountingProvider(cfg), TEXT, context_words=3, layers=["blocks"], cache_dir=tmp_path)
    np.testing.assert_allclose(np.asarray(again.values), first, rtol=1e-5, atol=1e-6)
