"""Baseline models without weights (OASM, position, lengths, random embedding) and the sigma sweep."""

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy.ndimage import gaussian_filter1d

from brainalign.activations.model import baseline_features
from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.benchmarks.brain import CONFOUNDS, confound_bands, features_for
from brainalign.datasets.brain import BrainData
from brainalign.errors import ConfigError
from brainalign.models.baselines import oasm_features, random_embedding, word_embedding
from brainalign.models.load import fingerprint
from brainalign.app.run import run

PASSAGES = [["The cat sat.", "It was happy's"], ["A dog, barking!", "Then it slept.", "Quietly: now"]]


def test_oasm_is_a_smoothed_identity_per_block_at_its_own_offset():
    X = oasm_features([2, 3], sigma=1.0, max_features=8)
    assert X.shape == (5, 8) and not X[:, 5:].any()
    assert np.array_equal(X[:2, :2], gaussian_filter1d(np.eye(2), 1.0, axis=1))
    assert np.array_equal(X[2:, 2:5], gaussian_filter1d(np.eye(3), 1.0, axis=1))
    assert not X[:2, 2:].any() and not X[2:, :2].any()  # blocks are orthogonal
    assert np.array_equal(oasm_features([2, 3], sigma=0.0, max_features=5), np.eye(5))
    with pytest.raises(ConfigError, match="max_features"):
        oasm_features([2, 3], max_features=4)


def test_baseline_features_from_the_passages_the_benchmark_feeds():
    def feats(**cfg):
        return baseline_features(OmegaConf.create(cfg), PASSAGES)

    oasm = feats(baseline="oasm", sigma=0.5, max_features=2000)
    assert oasm.layers == ["oasm_sigma0.5"] and oasm.values.shape == (1, 5, 2000)
    assert feats(baseline="position").values[0, :, 0].tolist() == [0, 1, 0, 1, 2]
    assert feats(baseline="n_words").values[0, :, 0].tolist() == [3, 3, 3, 3, 2]
    assert feats(baseline="n_chars").values[0, :, 0].tolist() == [len(t) for p in PASSAGES for t in p]
    emb = feats(baseline="random_embedding", dim=100).values[0]
    # Brain-Score's word clean-up: punctuation .?!,: removed, trailing ' and s stripped ("happy's" -> "happy")
    assert np.array_equal(emb[1], np.mean([word_embedding(w, 100) for w in ["It", "wa", "happy"]], axis=0))
    assert np.array_equal(random_embedding("A dog, barking!"), np.mean([word_embedding(w, 100) for w in
                                                                        ["A", "dog", "barking"]], axis=0))
    with pytest.raises(ConfigError, match="model.baseline"):
        feats(baseline="bag_of_words")


def test_confound_bands_are_the_baseline_models_features_in_row_order(tmp_path):
    """Built from the text alone (no model, no cache), equal to what each baseline model config gives."""
    texts = [t for p in PASSAGES for t in p]
    stimuli = pd.DataFrame({"stimulus_id": range(len(texts)), "text": texts,
                            "passage_label": [i for i, p in enumerate(PASSAGES) for _ in p]}).iloc[::-1]
    data = BrainData("toy", stimuli, np.zeros((len(texts), 1)), pd.DataFrame({"neuroid_id": [0], "subject": ["s"]}))
    bands = confound_bands(data, list(CONFOUNDS))
    assert bands["n_chars"][:, 0].tolist() == [len(t) for t in texts[::-1]]  # rows stored in reverse
    assert bands["position"][:, 0].tolist() == [0, 1, 2, 0, 1]  # within a passage: in stored order
    for name, settings in CONFOUNDS.items():
        model = ModelProvider({"name": name, "family": "baseline", "baseline": settings["kind"],
                               **{k: v for k, v in settings.items() if k != "kind"}})
        X, _, _ = features_for(data, model, RunContext(cache_dir=tmp_path, progress=False))
        np.testing.assert_array_equal(bands[name], X[0])
    assert not any(tmp_path.iterdir())  # nothing cached
    with pytest.raises(ConfigError, match="metric.confounds"):
        confound_bands(data, ["oasm", "syntax"])


def test_sigma_sweep_gets_one_folder_and_one_fingerprint_per_sigma(make_config, tmp_path):
    cfgs = [make_config("model=oasm", f"model.sigma={s}").model for s in (0, 0.5, 1.0)]
    assert [c.name for c in cfgs] == ["oasm-sigma0.0", "oasm-sigma0.5", "oasm-sigma1.0"]   # sigma is a float
    assert len({fingerprint(c) for c in cfgs}) == 3
    assert make_config("model=randomembedding-100").model.name == "randomembedding-100"


@pytest.mark.parametrize("model", ["oasm", "position", "n-words", "n-chars", "randomembedding-100"])
def test_baselines_score_like_any_model_without_loading_weights(make_config, tmp_path, model, monkeypatch):
    monkeypatch.setattr(ModelProvider, "get", lambda self: pytest.fail("a baseline loaded a model"))
    cfg = make_config(f"model={model}", "dataset.n_passages=16", "dataset.voxels_per_subject=10",
                 "metric.cv=[shuffle,group]")
    result = run(cfg)
    assert result["model"]["family"] == "baseline" and result["n_layers"] == 1
    assert set(result["protocols"]) == {"shuffle", "group"} and np.isfinite(result["raw"])
    # 16 of the 40 passages: a subset, in its own folder
    assert list((tmp_path / "out" / cfg.model.name).glob("synthetic-subset-*/linear-shuffle+group/result.json"))
