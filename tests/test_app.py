"""The Hydra application end to end, with tiny models: configs, results, resume, sweeps, errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brainalign.app.run import run

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # composes every config of every group: ~30 s
def test_every_config_group_composes(make_config, tmp_path):
    for group in ("model", "dataset", "metric", "tracking"):
        for f in sorted((REPO / "conf" / group).glob("*.yaml")):
            cfg = make_config(f"{group}={f.stem}")
            assert cfg[group].name if group != "tracking" else cfg.tracking.mode


def test_pereira_alias_and_experiments(make_config, tmp_path):
    assert list(make_config("dataset=pereira2018").dataset.experiments) == ["243sentences", "384sentences"]
    assert list(make_config("dataset=pereira_243").dataset.experiments) == ["243sentences"]
    assert make_config("metric=linear-2023").metric.correlation == "scipy"
    assert make_config("metric=ridge", "dataset=blank").metric.n_splits == 8


def test_synthetic_run_recovers_planted_layer_and_resumes(make_config, tiny_gpt2, tmp_path, capsys):
    # a random tiny model's layers are near-linear maps of each other: at the default noise (1.0) the
    # planted layer ties with its neighbours (SmolLM2's test checks the real model there); at 0.1 it
    # is the best layer, by 0.007 (0.992 against 0.985)
    cfg = make_config(*tiny_gpt2, "dataset.noise=0.1")
    result = run(cfg)
    out = tmp_path / "out" / "tiny-gpt2" / "synthetic" / "linear"
    stored = json.loads((out / "result.json").read_text())
    assert stored["synthetic"] is True and stored["dataset"] == "synthetic"
    assert stored["best_layer"] == stored["planted_layer"] == "transformer.h.0" and stored["recovered"] is True
    assert stored["raw"] == stored["planted_raw"] > stored["best_raw_before_planted"] + 0.003
    assert abs(stored["shuffled_control_raw"]) < 0.1
    assert stored["ceiled"] <= 1.0 and stored["n_layers"] == 3
    assert (out / "layers.csv").read_text().splitlines()[0] == "index,layer,raw,ceiled,mad"
    assert stored["model"]["family"] == "gpt2" and stored["model"]["fingerprint"]
    # every result records its stages' wall time and peak memory (brainalign.plumbing.profiling)
    assert {"load_s", "extraction_s", "metric_s", "model_load_s", "total_s"} <= set(stored["timings"])
    assert stored["timings"]["model_load_s"] > 0 and stored["resources"]["peak_host_mb"] > 0
    assert "SYNTHETIC" in capsys.readouterr().out
    # a second run finds the result and does nothing
    again = run(cfg)
    printed = capsys.readouterr().out   # the stored score line, not just "skipping"
    assert "already done" in printed and f"raw {stored['raw']:.4f}" in printed and stored["best_layer"] in printed
    assert again == stored == json.loads(json.dumps(result, default=str))


def test_force_recomputes_from_cached_features(make_config, tiny_gpt2, tmp_path):
    first = run(make_config(*tiny_gpt2))
    path = tmp_path / "out" / "tiny-gpt2" / "synthetic" / "linear" / "result.json"
    path.write_text(json.dumps({**first, "raw": -1.0}, default=str))   # a stored score no run computes
    assert run(make_config(*tiny_gpt2))["raw"] == -1.0   # without force: the stored result, as it is
    result = run(make_config(*tiny_gpt2, "force=true"))
    assert result["raw"] == json.loads(path.read_text())["raw"] == first["raw"]   # recomputed and stored
    assert first["timings"]["features_cached"] is False and result["timings"]["features_cached"] is True


def test_result_with_other_settings_is_not_reused(make_config, tiny_gpt2, tmp_path):
    from brainalign.errors import ConfigError

    run(make_config(*tiny_gpt2))
    with pytest.raises(ConfigError, match="other settings"):
        run(make_config(*tiny_gpt2, "dataset.noise=2.0"))


def test_nwp_result_is_tied_to_its_text(make_config, tiny_gpt2, tmp_path):
    """Where the data live is not a setting, but which text NWP scores is: another file is refused."""
    from brainalign.errors import ConfigError

    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("The cat sat on the mat. " * 20)
    second.write_text("A dog ran in the park. " * 20)
    nwp = [*tiny_gpt2, "dataset=wikitext2", "metric.context=16", "metric.stride=8"]
    result = run(make_config(*nwp, f"dataset.path={first}"))
    assert result["unit"] == "nats/token" and result["data_source"] == f"file:{first}"
    moved = tmp_path / "moved.txt"
    moved.write_text(first.read_text())
    assert run(make_config(*nwp, f"dataset.path={moved}"))["raw"] == result["raw"]  # same text: reused
    with pytest.raises(ConfigError, match="other settings"):
        run(make_config(*nwp, f"dataset.path={second}"))


def test_unknown_model_lists_valid_names():
    proc = subprocess.run([sys.executable, "main.py", "model=no-such-model"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "WANDB_MODE": "disabled"})
    assert proc.returncode != 0
    assert "no-such-model" in proc.stderr and "smollm2-135m" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow  # a fresh interpreter through main.py: ~7 s
def test_missing_weights_fail_cleanly_offline(tmp_path):
    proc = subprocess.run([sys.executable, "main.py", "model=flan-t5-xl", "dataset=synthetic", "tracking=disabled",
                           f"results_dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}"], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2, proc.stderr
    assert "cannot load model 'flan-t5-xl'" in proc.stderr and "model.path" in proc.stderr
    assert "Traceback" not in proc.stderr
    failed = json.loads((tmp_path / "flan-t5-xl" / "synthetic" / "linear" / "failed.json").read_text())
    assert failed["error"] == "ModelUnavailable"


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_multirun_sweep_writes_every_job_and_resumes(tiny_models, tmp_path, launcher):
    args = [sys.executable, "main.py", "-m", "model=gpt2", f"model.path={tiny_models['gpt2']}",
            "model.name=tiny-gpt2", "dataset=synthetic", "dataset.n_passages=16", "metric=linear,linear-2023",
            f"results_dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}", "tracking=offline", "progress=false"]
    if launcher == "joblib":
        args.append("hydra/launcher=joblib")
    env = {**os.environ, "WANDB_MODE": "offline"}
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dataset, = (tmp_path / "tiny-gpt2").glob("synthetic-subset-*")   # 16 of the 40 passages: a subset
    outs = sorted(dataset.glob("*/result.json"))
    assert [p.parent.name for p in outs] == ["linear", "linear-2023"]
    assert list((dataset / "linear" / "wandb").glob("offline-run-*"))
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0 and proc.stdout.count("already done") == 2
