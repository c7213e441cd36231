"""One forward pass per passage gives Brain-Score's per-sentence re-run features."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from brainalign.activations.extract import extract
from brainalign.models.load import load_model
from brainalign.models.presentation import contexts, prepare_context

PASSAGES = [
    ["The function returns a list of values.", "It is called once per item.", "An exception is raised on error!"],
    ["A class defines a new type of object .", "", "Instances keep their own state; methods share it."],
    ["Short one."],
]


def tiny(path, **kw):
    return load_model(OmegaConf.create({"name": path.name, "path": str(path), "dtype": "float32", "add_bos": None,
                                        "layers": ["embedding", "blocks"], **kw}))


def reference(lm, parts):
    """Brain-Score's way, computed independently: re-run every context, read hidden_states at its last token."""
    rows = []
    for ctx in contexts(parts):
        ids = torch.tensor([lm.encode(ctx)])
        with torch.no_grad():
            out = lm.model(input_ids=ids, output_hidden_states=True)
        rows.append(np.stack([h[0, -1].numpy() for h in out.hidden_states[:-1]]))  # last entry has the final norm
    return np.stack(rows, axis=1)


def test_prepare_context_matches_brainscore_rule():
    assert prepare_context(["Hello", "", "  ", "world !", "Again ,and"]) == "Hello world! Again,and"
    # any whitespace before .,!?;: only (tabs, newlines, several); other spaces, even double, are kept
    assert prepare_context(["Hi", ", you", "\t;", "and\n !", "a  (b)", "'c' ?"]) == "Hi, you; and! a  (b) 'c'?"
    assert contexts(["a", "b ."]) == ["a", "a b."]


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_one_pass_equals_per_sentence_rerun(tiny_models, family):
    lm = tiny(tiny_models[family])
    feats = extract(lm, PASSAGES, progress=False)
    expected = np.concatenate([reference(lm, p) for p in PASSAGES], axis=1)
    n_blocks = len(feats.layers) - 1
    got = feats.values[:n_blocks]  # embedding + all blocks but the last (whose hidden state is normed)
    assert got.shape == expected.shape == (n_blocks, sum(map(len, PASSAGES)), 64)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_one_pass_equals_per_part_passes_on_every_layer(tiny_models):
    lm = tiny(tiny_models["llama"])
    fast = extract(lm, PASSAGES, progress=False)
    slow = extract(lm, PASSAGES, progress=False, one_pass=False)
    assert fast.layers == slow.layers == ["embedding", "model.layers.0", "model.layers.1"]
    np.testing.assert_allclose(fast.values, slow.values, rtol=1e-4, atol=1e-6)


def test_truncated_contexts_fall_back_to_their_own_pass(tiny_models):
    lm = tiny(tiny_models["gpt2"], max_length=12)
    long = [["word " * 5 + ".", "more words here and there .", "and the last sentence of all ."]]
    fast = extract(lm, long, progress=False)
    slow = extract(lm, long, progress=False, one_pass=False)
    np.testing.assert_allclose(fast.values, slow.values, rtol=1e-4, atol=1e-6)
    assert len(lm.encode(prepare_context(long[0]))) == 12  # left-truncated to the window


def test_seq2seq_layers_and_shapes(tiny_models):
    lm = tiny(tiny_models["t5"])
    feats = extract(lm, PASSAGES, progress=False)
    assert feats.layers == ["encoder.embedding", "encoder.block.0", "encoder.block.1",
                            "decoder.embedding", "decoder.block.0", "decoder.block.1"]
    assert feats.values.shape == (6, 7, 64) and np.isfinite(feats.values).all()
    # the decoder is fed the unshifted input, so its embedding at the last token is that token's embedding
    ids = lm.encode(prepare_context(PASSAGES[2]))
    emb = lm.model.get_input_embeddings().weight[ids[-1]].detach().numpy()
    np.testing.assert_allclose(feats.values[3, -1], emb, rtol=1e-5)


def test_post_attention_layernorm_is_a_layer(tiny_models):
    lm = tiny(tiny_models["llama"], layers=["blocks", "post_attention_layernorm"])
    feats = extract(lm, PASSAGES[:1], progress=False)
    assert feats.layers[-1] == "model.layers.1.post_attention_layernorm"
    assert not np.allclose(feats.values[0], feats.values[2])
