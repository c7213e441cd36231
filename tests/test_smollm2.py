"""Integration with the real SmolLM2-135M on the real Pereira2018 sentences."""

import numpy as np
import pandas as pd
import pytest

from brainalign.activations.extract import extract
from brainalign.config.presets import load_preset


@pytest.fixture
def pereira_passages(shared_data):
    stim = pd.read_csv(shared_data / "pereira2018" / "Pereira2018_stimulus_set.csv")
    groups = [g["sentence"].tolist() for _, g in stim.groupby(["experiment", "passage_label"], sort=True)]
    return groups[:3] + groups[-2:]  # 243-topic groups of ~10 sentences and 384 passages of 4


pytestmark = pytest.mark.slow   # every test here loads the real SmolLM2


def test_smollm2_layers_and_tokenisation(smollm2):
    assert type(smollm2.model).__name__ == "LlamaForCausalLM"
    assert smollm2.cfg.add_bos is False and smollm2.encode("Hello world.")[0] != smollm2.tokenizer.bos_token_id
    assert smollm2.max_length == 8192


def test_one_pass_matches_per_sentence_rerun_on_real_passages(smollm2, pereira_passages):
    fast = extract(smollm2, pereira_passages, progress=False, one_pass=True)
    slow = extract(smollm2, pereira_passages, progress=False, one_pass=False)
    assert fast.values.shape == (31, sum(map(len, pereira_passages)), 576)
    scale = np.abs(slow.values).max(axis=(1, 2), keepdims=True)  # per layer
    assert (np.abs(fast.values - slow.values) / scale).max() < 1e-4


def test_default_demo_finds_the_planted_layer(smollm2, tmp_path):
    """The embedded default (`python main.py`): SmolLM2 on the synthetic demo recovers the planted signal."""
    from brainalign.scoring import score_model

    dataset = load_preset("dataset", "synthetic", resolve_paths=True)
    metric = load_preset("metric", "linear")
    result = score_model(smollm2.cfg, dataset, metric, tmp_path, progress=False, loaded=smollm2)
    assert result["synthetic"] is True and result["n_layers"] == 31
    assert result["recovered"] and result["best_layer"] == result["planted_layer"] == "model.layers.14"
    assert result["planted_raw"] > result["best_raw_before_planted"] + 0.02
    assert abs(result["shuffled_control_raw"]) < 0.1 and 0.3 < result["ceiled"] <= 1
