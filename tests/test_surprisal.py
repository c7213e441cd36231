"""Per-word surprisal: text building, offset alignment, `exact` against a brute-force Brain-Score
re-implementation, `fast` against `exact`, BOS / no BOS, many-token words, the T5 read-outs."""

import math

import numpy as np
import pytest
from omegaconf import OmegaConf

from brainalign.errors import ConfigError, DataMismatch
from brainalign.surprisal import word_surprisal
from brainalign.surprisal.fast import token_windows, word_windows
from brainalign.surprisal.words import join_words, prepare_context, sum_by_word, token_words, tokenize

WORDS = ("The function returns a list of the values in the dictionary. If the object is not a string, a "
         "TypeError exception is raised. Beekeepers often go beekeeping , quickly ; then").split()


def lm_for(tiny_models, family, **cfg):
    from brainalign.models.load import load_model

    return load_model(OmegaConf.create({"name": f"tiny-{family}", "path": str(tiny_models[family]), **cfg}))


def brainscore_reference(lm, words, decoder_input_ids=False):
    """Brain-Score's HuggingfaceSubject read-out written out plainly: HF truncation (left, to the
    tokenizer's model_max_length), the overflow count the tokenizer reports, full logits, F.cross_entropy."""
    import torch
    import torch.nn.functional as F

    tok = lm.tokenizer
    tok.truncation_side = "left"
    tok.model_max_length = lm.max_length
    out, seen = [], 0
    for i in range(len(words)):
        context = prepare_context(words[:i + 1])
        enc = tok(context, truncation=True, return_tensors="pt")
        over = sum(len(o) for o in enc.encodings[0].overflowing)
        ids = enc["input_ids"]
        current = ids[..., seen - over:]
        seen = ids.shape[-1] + over
        with torch.no_grad():
            kwargs = {"decoder_input_ids": ids} if decoder_input_ids else {}
            logits = lm.model(input_ids=ids, **kwargs).logits[0]
        if logits.shape[0] <= 1:
            out.append(math.nan)
            continue
        predicted = logits[-current.shape[-1] - 1:-1]
        actual = current[0]
        if actual.shape[0] == predicted.shape[0] + 1:
            actual = actual[1:]
        out.append(float(F.cross_entropy(predicted, actual, reduction="sum")) / math.log(2))
    return np.array(out)


# -- text and offsets -------------------------------------------------------------------------------------

def test_join_words_matches_prepare_context_for_every_prefix():
    words = ["Hello", "world", ",", "", "  ", "it's", "me", "!", "Mr.", "X", ":", "done."]
    text, ends = join_words(words)
    assert text == prepare_context(words) == "Hello world, it's me! Mr. X: done."
    for i in range(len(words)):
        assert text[:ends[i]] == prepare_context(words[:i + 1])


def test_join_words_rejects_words_that_rewrite_their_neighbour():
    with pytest.raises(DataMismatch, match="word 0"):
        join_words(["trailing ", ", comma"])
    with pytest.raises(DataMismatch, match="not a string"):
        join_words(["a", None])


@pytest.mark.parametrize("family", ["gpt2", "llama", "t5"])
def test_every_token_goes_to_the_word_that_owns_it(tiny_models, family):
    lm = lm_for(tiny_models, family)
    words = ["Beekeepers", "often", "go", "beekeeping,", "xylophonically."]
    text, ends = join_words(words)
    tokens = tokenize(lm.tokenizer, text, add_bos=None)
    owner = token_words(tokens.offsets, ends)
    assert len(owner) == len(tokens.content) and np.all(np.diff(owner) >= 0)
    for w, word in enumerate(words):  # the tokens of word w spell it (plus its leading space)
        pieces = [text[s:e] for (s, e), o in zip(tokens.offsets, owner) if o == w]
        assert "".join(pieces).strip() == word
    assert (owner == 4).sum() > 3  # a many-token word
    if family == "llama":
        assert tokens.n_prefix == 1 and tokens.ids[0] == lm.tokenizer.bos_token_id
    if family == "t5":
        assert tokens.n_suffix == 1


def test_bos_policy_matches_loaded_model_encode(tiny_models):
    for family, add_bos in [("gpt2", None), ("gpt2", True), ("llama", None), ("llama", False), ("llama", True)]:
        lm = lm_for(tiny_models, family, add_bos=add_bos)
        text = "the quick brown fox"
        assert tokenize(lm.tokenizer, text, add_bos=add_bos).ids == lm.encode(text, truncate=False)


def test_sum_by_word_keeps_nan_only_for_words_nothing_predicts():
    values = [np.nan, 1.0, 2.0, np.nan, 4.0]
    owner = [0, 0, 1, 2, 4]
    np.testing.assert_array_equal(sum_by_word(values, owner, 5), [1.0, 2.0, np.nan, 0.0, 4.0])


# -- exact: Brain-Score's algorithm ---------------------------------------------------------------------

@pytest.mark.parametrize("family,window", [("gpt2", None), ("gpt2", 12), ("llama", None), ("llama", 12)])
def test_exact_reproduces_brainscore_read_out(tiny_models, family, window):
    lm = lm_for(tiny_models, family, max_length=window)
    words = WORDS[:24]
    expected = brainscore_reference(lm, words)
    got = word_surprisal(lm, words, mode="exact").bits
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    if family == "gpt2":
        assert np.isnan(got[0]) and np.isfinite(got[1:]).all()  # single-token first word, no BOS: NaN
    else:
        assert np.isfinite(got).all()  # BOS: the first word is predicted from it


def test_exact_first_multi_token_word_skips_its_first_token(tiny_models):
    import torch

    lm = lm_for(tiny_models, "gpt2")
    words = ["Beekeepers", "often"]
    ids = lm.tokenizer("Beekeepers")["input_ids"]
    assert len(ids) > 2
    with torch.no_grad():
        logp = lm.model(torch.tensor([ids])).logits[0].log_softmax(-1)
    direct = -sum(float(logp[j - 1, ids[j]]) for j in range(1, len(ids))) / math.log(2)
    got = word_surprisal(lm, words, mode="exact").bits
    assert got[0] == pytest.approx(direct, rel=1e-5)
    np.testing.assert_allclose(got, brainscore_reference(lm, words), rtol=1e-5)


@pytest.mark.parametrize("family,add_bos", [("llama", None), ("gpt2", True)])
def test_exact_counts_overflow_as_the_tokenizer_reports_it(tiny_models, family, add_bos):
    """With a BOS and truncation HF reports one extra token per overflow chunk; Brain-Score (and
    `exact`) take that count, `fast` does not: they differ on the words where the chunk count changes.
    A BOS added by `add_bos: true` counts as the tokenizer's own (as a BOS-adding tokenizer would)."""
    lm = lm_for(tiny_models, family, max_length=10, add_bos=add_bos)
    words = WORDS[:30]
    exact = word_surprisal(lm, words, mode="exact").bits
    if add_bos is None:
        np.testing.assert_allclose(exact, brainscore_reference(lm, words), rtol=1e-5, atol=1e-4)
    fast = word_surprisal(lm, words, mode="fast", stride=1).bits
    differ = ~np.isclose(exact, fast, atol=1e-4)
    assert 0 < differ.sum() < len(words) / 2


# -- fast vs exact ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("family,add_bos", [("gpt2", None), ("llama", False), ("t5", None)])
def test_fast_with_one_word_per_window_equals_exact(tiny_models, family, add_bos):
    lm = lm_for(tiny_models, family, max_length=12, add_bos=add_bos)
    t5 = "shifted"
    exact = word_surprisal(lm, WORDS, mode="exact", t5=t5)
    fast = word_surprisal(lm, WORDS, mode="fast", stride=1, t5=t5)
    np.testing.assert_allclose(fast.bits, exact.bits, rtol=1e-4, atol=1e-4)
    assert fast.settings["passes"] < len(WORDS)  # the first window covers the untruncated start at once


@pytest.mark.parametrize("family", ["gpt2", "llama", "t5"])
def test_fast_equals_exact_without_truncation_and_stays_close_with_it(tiny_models, family):
    lm = lm_for(tiny_models, family)
    exact = word_surprisal(lm, WORDS, mode="exact", t5="shifted")
    fast = word_surprisal(lm, WORDS, mode="fast", stride=8, t5="shifted")
    np.testing.assert_allclose(fast.bits, exact.bits, rtol=1e-4, atol=1e-4)
    assert fast.settings["passes"] == 1
    small = lm_for(tiny_models, family, max_length=24)
    exact = word_surprisal(small, WORDS, mode="exact", t5="shifted").bits
    fast = word_surprisal(small, WORDS, mode="fast", stride=4, t5="shifted").bits
    # contexts differ by at most 4 tokens (and llama's exact miscounts a word where its overflow chunks change)
    assert np.nanmedian(np.abs(fast - exact)) < 0.1


def test_fast_batches_give_the_same_numbers(tiny_models):
    lm = lm_for(tiny_models, "gpt2", max_length=16)
    one = word_surprisal(lm, WORDS, mode="fast", stride=3, batch_size=1).bits
    many = word_surprisal(lm, WORDS, mode="fast", stride=3, batch_size=5).bits
    np.testing.assert_allclose(one, many, rtol=1e-5, atol=1e-5)


def test_windows_cover_every_token_once():
    for windows, n in [(token_windows(100, 30, 7), 100), (word_windows([2, 5, 6, 11, 12, 20], 20, 8, 3), 20)]:
        scored = np.zeros(n, dtype=int)
        for start, first, end in windows:
            assert 0 <= start <= first < end <= n and end - start <= (30 if n == 100 else 8)
            scored[first:end] += 1
        assert (scored == 1).all()
    assert word_windows([2, 5, 6, 11, 12, 20], 20, 8, 3) == [(0, 0, 6), (3, 6, 11), (4, 11, 12), (12, 12, 20)]
    with pytest.raises(ConfigError, match="does not fit"):
        word_windows([3, 15], 15, 8, 2)


# -- T5 ---------------------------------------------------------------------------------------------------

def test_t5_study_reproduces_the_studys_read_out(tiny_models):
    lm = lm_for(tiny_models, "t5", max_length=16)
    words = WORDS[:20]
    got = word_surprisal(lm, words, mode="exact", t5="study").bits
    np.testing.assert_allclose(got, brainscore_reference(lm, words, decoder_input_ids=True), rtol=1e-5, atol=1e-4)
    with pytest.raises(ConfigError, match="fast"):
        word_surprisal(lm, words, mode="fast", t5="study")
    with pytest.raises(ConfigError, match="t5="):
        word_surprisal(lm, words, mode="exact", t5="sideways")


def test_t5_study_read_out_sees_the_word_it_predicts(tiny_models):
    """Change only the last word and look at the decoder position just before it: in the study's
    read-out its logits change (the encoder reads the whole context, the word included); in the
    shifted read-out they do not (nothing after the position reaches it)."""
    import torch

    from brainalign.surprisal.readout import make_scorer

    lm = lm_for(tiny_models, "t5")
    prefix = "the function returns a list of"
    for mode, leaks in [("study", True), ("shifted", False)]:
        scorer = make_scorer(lm, t5=mode)
        before = scorer.tokens(prefix)
        position = len(before.ids) - before.n_suffix - 1  # the last prefix token
        logits = []
        for last in ("values", "strings"):
            ids = scorer.tokens(f"{prefix} {last}").ids
            with torch.no_grad():
                logits.append(scorer.logits(torch.tensor([ids]), len(ids))[0, position])
        assert (not torch.allclose(logits[0], logits[1], atol=1e-5)) == leaks


def test_empty_words_add_nothing(tiny_models):
    lm = lm_for(tiny_models, "gpt2", max_length=10)
    words = WORDS[:6] + ["", "  "] + WORDS[6:14]
    exact = word_surprisal(lm, words, mode="exact").bits
    np.testing.assert_allclose(exact, brainscore_reference(lm, words), rtol=1e-5, atol=1e-4)
    assert exact[6] == exact[7] == 0.0
    fast = word_surprisal(lm, words, mode="fast", stride=1).bits
    np.testing.assert_allclose(fast, exact, rtol=1e-4, atol=1e-4)


def test_exact_over_a_slice_equals_the_same_words_of_the_whole_run(tiny_models):
    from brainalign.surprisal.exact import exact_surprisal
    from brainalign.surprisal.readout import make_scorer

    lm = lm_for(tiny_models, "llama", max_length=12)  # short window: the slice starts past truncation
    scorer = make_scorer(lm)
    whole = exact_surprisal(scorer, WORDS)
    for start, stop in ((0, 3), (5, 9), (len(WORDS) - 2, len(WORDS))):
        np.testing.assert_allclose(exact_surprisal(scorer, WORDS, start=start, stop=stop), whole[start:stop],
                                   rtol=1e-6, equal_nan=True)
