"""dataset=wehbe end to end: a tiny model's own features planted in a simulated release over the real
words must be recovered; the same features shuffled over words must score about 0."""

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from brainalign.activations.words import cached_word_features
from brainalign.config.presets import load_preset
from brainalign.benchmarks import ModelProvider, RunContext, build
from brainalign.metrics.wehbe import WehbeSettings
from fixtures_wehbe import write_release

REPO = Path(__file__).resolve().parents[1]
KEYS = {"raw", "ceiled", "ceiling", "best_layer", "best_layer_index", "raw_cv", "n_layers", "synthetic",
        "per_layer", "per_subject", "mad_over_subjects", "settings"}


class CountingProvider(ModelProvider):
    loads = 0

    def get(self):
        CountingProvider.loads += 1
        return super().get()


@pytest.fixture(scope="module")
def tiny(tiny_models, tmp_path_factory, words):
    """The tiny GPT-2, a cache holding its word features, and those features."""
    cache = tmp_path_factory.mktemp("cache")
    cfg = OmegaConf.create({"name": "tiny-gpt2", "path": str(tiny_models["gpt2"])})
    feats = cached_word_features(ModelProvider(cfg), words, context_words=3, layers=["blocks"], cache_dir=cache,
                                 batch_size=128)
    return cfg, cache, feats


def dataset_cfg(path, **ceiling):
    cfg = load_preset("dataset", "wehbe", resolve_paths=True)
    cfg.path, cfg.context_words, cfg.layers, cfg.batch_size = str(path), 3, ["blocks"], 128
    cfg.ceiling.update(ceiling)
    return cfg


def test_config_builds_through_the_registry():
    cfg = load_preset("dataset", "wehbe", resolve_paths=True)
    bench = build(cfg, None)
    assert bench.settings == WehbeSettings() and bench.context_words == 20
    assert bench.ceiling_cfg["value"] == pytest.approx(0.104)


def test_recovers_the_planted_layer(tiny, words, tmp_path):
    cfg, cache, feats = tiny
    release = write_release(tmp_path / "hp", words, np.asarray(feats.values[1]), noise=1.0, n_voxels=10, n_language=6)
    CountingProvider.loads = 0
    result = build(dataset_cfg(release), None).run(CountingProvider(cfg), RunContext(cache_dir=cache, progress=False))
    assert CountingProvider.loads == 0  # the features were cached: no weights loaded
    assert KEYS <= set(result) and result["synthetic"] is True
    assert result["n_layers"] == 2 and [p["layer"] for p in result["per_layer"]] == feats.layers
    assert result["best_layer"] == feats.layers[1] and result["best_layer_index"] == 1
    assert 0.5 < result["raw"] <= 1 / np.sqrt(2) + 0.02  # r of the noiseless signal: 1/sqrt(2)
    assert abs(result["raw_cv"] - result["raw"]) < 0.05
    assert result["ceiling"] == pytest.approx(0.104) and result["ceiled"] == 1.0  # clipped
    assert set(result["per_subject"]) == set("FHIJKLMN")
    assert result["mad_over_subjects"] < 0.05
    resolved = result["settings"]["resolved"]
    assert resolved["pipeline"]["variant"] == "code" and resolved["n_voxels"] == 48
    assert result["settings"]["dataset"]["context_words"] == 3 and "path" not in result["settings"]["dataset"]


def test_shuffled_control_scores_about_zero(tiny, words, tmp_path):
    cfg, cache, feats = tiny
    shuffled = np.asarray(feats.values[1])[np.random.default_rng(1).permutation(len(words))]
    release = write_release(tmp_path / "hp", words, shuffled, noise=1.0, n_voxels=10, n_language=6)
    result = build(dataset_cfg(release), None).run(ModelProvider(cfg), RunContext(cache_dir=cache, progress=False))
    assert all(abs(p["raw"]) < 0.05 for p in result["per_layer"])


def test_computed_ceiling_is_cached(tiny, words, tmp_path):
    cfg, cache, feats = tiny
    subjects = ["F", "H", "I"]
    release = write_release(tmp_path / "hp", words, np.asarray(feats.values[1]), subjects=subjects, noise=1.0,
                            n_voxels=4, n_language=3)
    dcfg = dataset_cfg(release, mode="compute", max_voxels=2, n_bootstraps=20)
    dcfg.subjects = subjects
    result = build(dcfg, None).run(ModelProvider(cfg), RunContext(cache_dir=cache, progress=False))
    assert 0.3 < result["ceiling"] < 1.0 and result["settings"]["resolved"]["ceiling"]["n_voxels"] == 6
    files = list((cache / "ceilings").iterdir())
    again = build(dcfg, None).run(ModelProvider(cfg), RunContext(cache_dir=cache, progress=False))
    assert list((cache / "ceilings").iterdir()) == files and again["ceiling"] == result["ceiling"]


def test_main_app_writes_the_result(make_config, tiny, words, tmp_path):
    """`python main.py model=... dataset=wehbe dataset.path=...` through the Hydra app (compose API)."""
    import json

    from brainalign.app.run import run

    cfg_model, cache, feats = tiny
    release = write_release(tmp_path / "hp", words, np.asarray(feats.values[0]), noise=1.0, n_voxels=6, n_language=4)
    cfg = make_config("model=gpt2", f"model.path={cfg_model.path}", "model.name=tiny-gpt2", "dataset=wehbe",
                      f"dataset.path={release}", "dataset.context_words=3", "dataset.layers=[blocks]",
                      f"cache_dir={cache}")
    result = run(cfg)
    stored = json.loads((tmp_path / "out" / "tiny-gpt2" / "wehbe" / "wehbe" / "result.json").read_text())
    assert stored["best_layer"] == feats.layers[0] == result["best_layer"] and stored["synthetic"] is True
    assert stored["dataset"] == "wehbe" and stored["raw"] > 0.5 and len(stored["per_layer"]) == 2
