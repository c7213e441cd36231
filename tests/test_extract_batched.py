"""Batched extraction (padded, attention-masked) gives the features of one sequence per forward pass."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from brainalign.activations.extract import auto_batch_size, batch_size_for, extract
from brainalign.errors import ConfigError
from brainalign.models.load import load_model
from brainalign.models.presentation import contexts

# passages of very different lengths, so that a batch pads most of its rows
PASSAGES = [
    ["The function returns a list of values.", "It is called once per item.", "An exception is raised on error!"],
    ["Short one."],
    ["A class defines a new type of object .", "", "Instances keep their own state; methods share it.",
     "Every method takes the instance as its first argument, which is called self by convention."],
    ["Two parts.", "And a second one."],
    ["The module is imported once; later imports find it in sys.modules and return it at once."],
]


def tiny(path, **kw):
    return load_model(OmegaConf.create({"name": path.name, "path": str(path), "dtype": "float32", "add_bos": None,
                                        "layers": ["embedding", "blocks"], **kw}))


def per_context(lm, parts):
    """Independent reference: every context on its own, batch of one, all hidden states of the full model."""
    rows = []
    for ctx in contexts(parts):
        ids = torch.tensor([lm.encode(ctx)])
        with torch.no_grad():
            if lm.is_encoder_decoder:
                out = lm.model(input_ids=ids, decoder_input_ids=ids, output_hidden_states=True)
                hidden = out.encoder_hidden_states[:-1] + out.decoder_hidden_states[:-1]
            else:
                hidden = lm.model(input_ids=ids, output_hidden_states=True).hidden_states[:-1]
        rows.append(np.stack([h[0, -1].numpy() for h in hidden]))  # the last entry of each stack is normed
    return np.stack(rows, axis=1)


def close(got, expected):
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() <= 1e-5 * scale, np.abs(got - expected).max() / scale


@pytest.mark.parametrize("family", ["gpt2", "llama", "t5"])
@pytest.mark.parametrize("padding", ["right", "left"])
def test_batched_equals_one_sequence_per_pass(tiny_models, family, padding):
    lm = tiny(tiny_models[family])
    single = extract(lm, PASSAGES, progress=False, batch_size=1)
    for size in (3, 64):
        batched = extract(lm, PASSAGES, progress=False, batch_size=size, padding=padding)
        assert batched.layers == single.layers
        close(batched.values, single.values)
    expected = np.concatenate([per_context(lm, p) for p in PASSAGES], axis=1)
    keep = [i for i, n in enumerate(single.layers) if not n.endswith(("block.1", "layers.1", "h.1"))]
    close(batched.values[keep], expected)


def test_left_padding_needs_position_ids(tiny_models):
    """Without position ids counted from the first real token, left padding would shift GPT-2's positions."""
    lm = tiny(tiny_models["gpt2"])
    ids = lm.encode("Short one.")
    padded = torch.tensor([[lm.tokenizer.eos_token_id] * 5 + ids])
    mask = torch.tensor([[0] * 5 + [1] * len(ids)])
    with torch.no_grad():
        alone = lm.model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[1][0, -1]
        naive = lm.model(input_ids=padded, attention_mask=mask, output_hidden_states=True).hidden_states[1][0, -1]
    assert not torch.allclose(alone, naive, atol=1e-4)  # so the left-padding test above is not vacuous
    feats = extract(lm, [["Short one."], PASSAGES[0]], progress=False, batch_size=2, padding="left")
    close(feats.values[1, 0], alone.numpy())


def test_checkpoints_come_in_passage_order(tiny_models):
    lm = tiny(tiny_models["llama"])
    seen = []
    feats = extract(lm, PASSAGES, progress=False, batch_size=2, on_passage=lambda i, rows: seen.append((i, rows.shape)))
    assert [i for i, _ in seen] == list(range(len(PASSAGES)))
    assert [shape[1] for _, shape in seen] == [len(p) for p in PASSAGES]
    resumed = extract(lm, PASSAGES, progress=False, batch_size=3,
                      done=[feats.values[:, :len(PASSAGES[0])]])  # as after a kill after passage 0
    close(resumed.values, feats.values)


def test_batch_size_from_free_memory():
    # 7B-like shapes at 2048 tokens in bf16: about 2 * 2048 * (8*4096 + 3*11008 + 2*32*2048) = 0.8 GB per sequence
    per_seq = 2 * 2048 * (8 * 4096 + 3 * 11008 + 2 * 32 * 2048)
    assert batch_size_for(80 * 2**30, 2048, 4096, 32, 11008, 2) == int(0.5 * 80 * 2**30 // per_seq)
    assert batch_size_for(80 * 2**30, 2048, 4096, 32, 11008, 2) > batch_size_for(20 * 2**30, 2048, 4096, 32, 11008, 2)
    assert batch_size_for(80 * 2**30, 128, 4096, 32, 11008, 2) > batch_size_for(80 * 2**30, 2048, 4096, 32, 11008, 2)
    assert batch_size_for(10**6, 4096, 8192, 64) == 1  # never below one
    assert batch_size_for(10**15, 16, 64, 4) == 256  # capped


def test_configured_batch_size_wins_and_bad_one_is_a_config_error(tiny_models):
    lm = tiny(tiny_models["gpt2"], batch_size=3)
    assert auto_batch_size(lm, 100) == 3
    with pytest.raises(ConfigError, match="batch_size"):
        auto_batch_size(tiny(tiny_models["gpt2"], batch_size=0), 100)
    with pytest.raises(ConfigError, match="padding_side"):
        extract(tiny(tiny_models["gpt2"]), PASSAGES[:1], progress=False, padding="middle")


@pytest.mark.slow
def test_smollm2_batched_equals_per_passage(smollm2):
    from tests.fixtures_data import pereira_stimuli

    stim = pereira_stimuli()
    passages = [g["sentence"].tolist() for _, g in stim.groupby(["experiment", "passage_label"], sort=True)][:12]
    single = extract(smollm2, passages, progress=False, batch_size=1)
    batched = extract(smollm2, passages, progress=False, batch_size=8)
    close(batched.values, single.values)
