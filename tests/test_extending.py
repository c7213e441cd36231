"""docs/extending.md, done as a user would: a new data set (with its ceiling) and a new metric from a
folder outside brainalign/, each in two files (a declaration and a config), scored end to end."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plugin"
WORDS = "the a cat dog saw ran under over quickly house river old new green".split()


def write_toy_csv(path: Path, n_passages=4, per_passage=6, subjects=3, voxels=5, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    rows = []
    signal = rng.standard_normal((n_passages * per_passage, voxels))   # shared by every subject
    for i in range(n_passages * per_passage):
        row = {"passage": f"p{i // per_passage}", "sentence": " ".join(rng.choice(WORDS, 6)) + "."}
        for s in range(subjects):
            for v in range(voxels):
                row[f"s{s}:v{v}"] = signal[i, v] + 0.5 * rng.standard_normal()
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def plugin(tmp_path) -> Path:
    """The example plugin copied to a folder of the user's own."""
    folder = shutil.copytree(EXAMPLE, tmp_path / "my_plugin")
    write_toy_csv(folder / "toy.csv")
    return folder


def test_without_the_plugin_brainalign_knows_neither(monkeypatch):
    """The toy data set and metric live only in the user's folder: brainalign alone declares neither."""
    from brainalign import registry

    monkeypatch.delenv("BRAINALIGN_PLUGINS", raising=False)
    assert "toy" not in registry.benchmarks() and "nearest" not in registry.metrics()
    assert not list((REPO / "conf").rglob("toy.yaml")) and not list((REPO / "conf").rglob("nearest.yaml"))


def test_declared_plugin_scores_in_process(plugin, tiny_models, monkeypatch, tmp_path):
    """The registry loads the two declarations from BRAINALIGN_PLUGINS; the toy data set is scored with the
    toy metric and with a built-in one, its computed ceiling divides the scores."""
    from brainalign import registry
    from brainalign.scoring import score_model

    monkeypatch.setenv("BRAINALIGN_PLUGINS", f"{plugin / 'toy.py'},{plugin / 'nearest.py'}")
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "BENCHMARKS", dict(registry.BENCHMARKS))
    monkeypatch.setattr(registry, "METRICS", dict(registry.METRICS))
    spec = registry.benchmark("toy")
    assert spec.accepts("nearest") and spec.accepts("linear") and not spec.accepts("pearsonr")
    assert str(plugin / "conf") in registry.plugin_conf_dirs()
    model = {"name": "tiny-gpt2", "family": "gpt2", "path": str(tiny_models["gpt2"])}
    dataset = {"name": "toy", "benchmark": "toy", "path": str(plugin / "toy.csv")}
    ours = score_model(model, dataset, {"name": "nearest", "kind": "nearest"}, tmp_path / "cache", progress=False)
    linear = score_model(model, dataset, {"name": "linear", "kind": "linear"}, tmp_path / "cache", progress=False)
    table = pd.read_csv(plugin / "toy.csv")
    responses = table[[c for c in table.columns if ":" in c]].to_numpy(float)
    subjects = np.array([c.split(":")[0] for c in table.columns if ":" in c])
    ceiling = sys.modules["brainalign_plugin_toy"].split_half_ceiling(responses, subjects)
    for result in (ours, linear):
        assert result["n_layers"] == 3 and result["ceiling"] == pytest.approx(ceiling)
        assert result["ceiled"] == pytest.approx(result["raw"] / ceiling, rel=1e-9) or result["ceiled"] == 1.0
    assert ours["per_layer"] != linear["per_layer"]


@pytest.mark.slow  # two fresh interpreters through main.py (~20 s)
def test_plugin_end_to_end_through_main(plugin, tiny_models, tmp_path):
    env = {**os.environ, "BRAINALIGN_PLUGINS": f"{plugin / 'toy.py'},{plugin / 'nearest.py'}"}
    out = tmp_path / "out"
    args = [sys.executable, "main.py", "model=tiny-gpt2", f"model.path={tiny_models['gpt2']}", "dataset=toy",
            f"dataset.path={plugin / 'toy.csv'}", "metric=nearest", "tracking=disabled", f"results_dir={out}"]
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "tiny-gpt2" / "toy" / "nearest" / "result.json").read_text())
    assert result["benchmark"] == "toy" and result["kind"] == "brain" and result["metric"] == "nearest"
    assert "path" not in result["settings"]["dataset"] and set(result["settings"]["dataset"]["data_sha256"]) == {"path"}
    # a metric the toy data set does not take, and the toy data set without its plugin: one line each
    bad = subprocess.run(args[:-3] + ["metric=pearsonr", "tracking=disabled", f"results_dir={out}"], cwd=REPO,
                         capture_output=True, text=True, env=env, timeout=600)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "[brainalign] error: dataset=toy cannot be scored with metric=pearsonr; it supports: linear, ridge, cka, rdm, "
        "banded, nearest"]
    plain = {k: v for k, v in env.items() if k != "BRAINALIGN_PLUGINS"}
    missing = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=plain, timeout=600)
    assert missing.returncode == 2 and "dataset=toy: no such config" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_plugin_that_cannot_load_is_one_line(tmp_path, monkeypatch):
    from brainalign import registry
    from brainalign.errors import ConfigError

    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    for given, message in ((tmp_path / "absent.py", "is not a file"), (broken, "RuntimeError: boom"),
                           ("no_such_plugin_module", "No module named 'no_such_plugin_module'")):
        monkeypatch.setenv("BRAINALIGN_PLUGINS", str(given))
        monkeypatch.setattr(registry, "_loaded", False)
        with pytest.raises(ConfigError, match=message):
            registry.load()


def test_layers_of_a_model_without_a_block_list_are_given_by_module_name():
    """(c) of docs/extending.md: a family whose blocks go by other names is read by module names."""
    import torch
    from torch import nn

    from brainalign.models.layers import resolve_layers

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.stack = nn.ModuleDict({"first": nn.Linear(4, 4), "second": nn.Linear(4, 4)})

        def forward(self, x):
            return self.stack["second"](self.stack["first"](x))

    model = Odd()
    assert resolve_layers(model, ["stack.first", "stack.second"]) == ["stack.first", "stack.second"]
    with pytest.raises(ValueError, match="give its layers as module names"):
        resolve_layers(model, ["blocks"])
    assert model(torch.zeros(1, 4)).shape == (1, 4)


def test_an_installed_package_declares_through_its_entry_point(plugin, tmp_path, monkeypatch):
    """A package naming its module in the `brainalign.plugins` entry point group needs no variable."""
    from brainalign import registry

    site = tmp_path / "site"
    (site / "mytoy").mkdir(parents=True)
    shutil.copy(plugin / "toy.py", site / "mytoy" / "toy.py")
    (site / "mytoy" / "__init__.py").write_text("")
    shutil.copytree(plugin / "conf", site / "mytoy" / "conf")
    info = site / "mytoy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mytoy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[brainalign.plugins]\ntoy = mytoy.toy\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("BRAINALIGN_PLUGINS", raising=False)
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "BENCHMARKS", dict(registry.BENCHMARKS))
    assert "mytoy.toy" in registry.plugin_names()
    assert registry.benchmark("toy").kind == "brain"
    assert str(site / "mytoy" / "conf") in registry.plugin_conf_dirs()
