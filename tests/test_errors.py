"""Bad input is one line naming the key, before any work: types, choices, ranges, devices, dataset and
metric pairs, files that are not what they claim, corrupt downloads offline, unreachable hubs."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brainalign.app.cli import one_line
from brainalign.errors import ConfigError, DataMismatch, DataUnavailable

REPO = Path(__file__).resolve().parents[1]


def composition_error(make_config, *overrides) -> str:
    with pytest.raises(Exception) as e:
        make_config(*overrides)
    message = one_line(e.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("override, expected", [
    ("metric.n_splits=ten", "metric.n_splits=ten: expected an integer"),
    ("force=maybe", "force=maybe: expected true or false"),
    ("dataset.noise=high", "dataset.noise=high: expected a number"),
    ("progress=often", "progress=often: expected true or false"),
    ("model.params=big", "model.params=big: expected a number"),
    ("metric.nope=1", "metric.nope: no such setting"),
])
def test_wrong_types_and_keys_are_one_line(make_config, override, expected):
    assert composition_error(make_config, override) == expected


def test_unknown_config_lists_the_choices(make_config):
    message = composition_error(make_config, "dataset=nope")
    assert message.startswith("dataset=nope: no such config; choose one of:") and "pereira" in message


@pytest.mark.parametrize("overrides, expected", [
    (["metric.n_splits=1"], "metric.n_splits=1: must be >= 2"),
    (["metric.train_size=1.5"], "metric.train_size=1.5: must be between 0.0 and 1.0"),
    (["dataset.noise=-1"], "dataset.noise=-1.0: must be >= 0.0"),
    (["model.dtype=float8"], "model.dtype=float8: choose one of float32, bfloat16, float16"),
    (["tracking.mode=loud"], "tracking.mode=loud: choose one of offline, online, disabled"),
    (["dataset=futrell", "metric=linear"], "dataset=futrell cannot be scored with metric=linear; it supports: pearsonr"),
    (["dataset=pereira", "metric=pearsonr"], "dataset=pereira cannot be scored with metric=pearsonr; it supports: "
                                             "linear, ridge, cka, rdm, banded"),
    (["dataset=syntaxgym", "metric=linear"], "dataset=syntaxgym cannot be scored with metric=linear; it supports: "
                                             "accuracy"),
    (["model.batch_size=0"], "model.batch_size=0: must be >= 1"),
    (["model.localize=-1"], "model.localize=-1.0: must be > 0"),
    (["results_dir="], "results_dir is empty: results would go under /; give a folder (results_dir=outputs)"),
    (["results_dir=/"], "results_dir=/: the file system's root; give a folder (results_dir=outputs)"),
    (["model.name=../../x"], "model.name='../../x': it names a folder of the results and the cache; "
                             "use a plain name without '/', '\\' or '..'"),
    (["dataset.name=a\\b"], "dataset.name='a\\\\b': it names a folder of the results and the cache; "
                            "use a plain name without '/', '\\' or '..'"),
    (["metric.name=.."], "metric.name='..': it names a folder of the results and the cache; "
                         "use a plain name without '/', '\\' or '..'"),
    (["task=finetune"], "task=finetune needs an arm: finetune=alpaca_instruction or finetune=alpaca_no_instruction"),
])
def test_values_are_checked_before_any_work(make_config, overrides, expected):
    from brainalign.config.checks import check

    with pytest.raises(ConfigError) as e:
        check(make_config(*overrides))
    assert str(e.value) == expected


@pytest.mark.parametrize("overrides, expected", [
    (["results_dir="], "results_dir is empty: results would go under /; give a folder (results_dir=outputs)"),
    (["model.name=../x"], "model.name='../x': it names a folder"),
    (["task=finetune", "finetune=alpaca_instruction", "finetune.name=../x"], "finetune.name='../x': it names a folder"),
    (["metric.cv=[shuffle,bogus]"], "metric.cv: bogus is not a protocol; choose from shuffle, group, contiguous"),
    (["metric.cv=[]"], "metric.cv=[]: give at least one protocol (shuffle, group, contiguous)"),
    (["task=finetune"], "task=finetune needs an arm: finetune=alpaca_instruction or finetune=alpaca_no_instruction"),
])
def test_the_job_folder_is_refused_before_hydra_makes_it(make_config, overrides, expected):
    from omegaconf import OmegaConf

    cfg = make_config(*overrides, hydra=True)
    for key in ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir"):
        if overrides == ["results_dir="] or key != "hydra.sweep.dir":
            with pytest.raises(Exception) as e:
                OmegaConf.select(cfg, key)
            assert one_line(e.value).startswith(expected)


def test_metric_auto_and_study_pick_the_datasets_metric(make_config):
    from brainalign.config.checks import check

    for overrides, name in ((["dataset=futrell"], "pearsonr"), (["dataset=pereira", "metric=study"], "linear-2023"),
                            (["dataset=wehbe", "metric=auto"], "wehbe"), (["dataset=blank", "metric=auto"], "linear")):
        cfg = make_config(*overrides)
        check(cfg)
        assert cfg.metric.name == name
    cfg = make_config("dataset=pereira", "metric=study")
    check(cfg)
    assert cfg.metric.correlation == "scipy"   # the study's 2023 convention, loaded with its preset


def test_device(make_config, monkeypatch):
    import torch

    from brainalign.config.checks import check

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = make_config()
    check(cfg)
    assert cfg.device == "cpu"   # auto without CUDA
    with pytest.raises(ConfigError, match="device=cuda: CUDA is not available"):
        check(make_config("device=cuda"))
    with pytest.raises(ConfigError, match="device=tpu: choose auto, cpu, cuda"):
        check(make_config("device=tpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = make_config()
    check(cfg)
    assert cfg.device == "cuda"


def test_a_file_that_is_not_a_netcdf_says_so(make_config, tiny_gpt2, tmp_path):
    from brainalign.app.run import run

    bad = tmp_path / "assy.nc"
    bad.write_text("not a netCDF file\n")
    with pytest.raises(DataMismatch) as e:
        run(make_config(*tiny_gpt2, "dataset=pereira_243", f"dataset.path={bad}"))
    assert str(bad) in str(e.value) and "netCDF" in str(e.value) and "\n" not in str(e.value)


def test_an_unknown_layer_is_one_line_naming_the_key(tiny_models):
    from transformers import AutoModelForCausalLM

    from brainalign.models.layers import resolve_layers

    model = AutoModelForCausalLM.from_pretrained(tiny_models["gpt2"])
    with pytest.raises(ConfigError, match=r"^model.layers: unknown layer 'nope'; use a module name or one of: emb"):
        resolve_layers(model, ["blocks", "nope"])


def test_corrupt_cached_download_offline_says_corrupt_and_where(tmp_path, monkeypatch):
    from brainalign.datasets.store import fetch

    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    (tmp_path / "assy.nc").write_bytes(b"truncated")
    with pytest.raises(DataUnavailable) as e:
        fetch("https://example.invalid/assy.nc", "0" * 40, tmp_path, "assy.nc")
    message = str(e.value)
    assert "corrupt" in message and str(tmp_path / "assy.nc") in message and "\n" not in message


def test_unreachable_hub_fails_fast_with_the_offline_hint(monkeypatch):
    from brainalign.errors import ModelUnavailable
    from brainalign.models import load

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(load, "hub_reachable", lambda timeout_s=3.0: False)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="offline"):
        load.load_model({"name": "x", "family": "gpt2", "hf_id": "no-such-org/no-such-model-brainalign"})
    assert time.monotonic() - started < 5
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_tiny_stand_in_is_built_on_first_use(preset, tmp_path, monkeypatch):
    from brainalign.models.load import load_model

    monkeypatch.setenv("BRAINALIGN_TINY", str(tmp_path / "tiny"))
    cfg = preset("model", "tiny-llama")
    assert cfg.path == str(tmp_path / "tiny" / "llama")
    lm = load_model(cfg)
    assert (tmp_path / "tiny" / "llama" / "config.json").exists() and lm.max_length > 0


def test_a_cache_that_cannot_be_written_is_one_line(make_config, tiny_gpt2, tmp_path, capsys):
    from brainalign.app.run import main_job

    (tmp_path / "a-file").write_text("")   # as root nothing is read-only: a file where a folder must go
    with pytest.raises(SystemExit) as e:
        main_job(make_config(*tiny_gpt2, f"cache_dir={tmp_path / 'a-file' / 'cache'}"))
    assert e.value.code == 2
    folder = tmp_path / "a-file" / "cache" / "features" / "tiny-gpt2"
    assert capsys.readouterr().err == (f"[brainalign] error: {folder}: Not a directory; results_dir and cache_dir "
                                       "must be folders you can write\n")


def test_hydra_failing_to_make_the_job_folder_or_its_log_is_one_line(capsys, monkeypatch):
    from brainalign.app.cli import guarded

    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")   # guarded sets it to 1; monkeypatch puts it back

    def log_in_a_read_only_folder():
        try:
            raise PermissionError(13, "Permission denied", "/ro/model/dataset/metric/main.log")
        except PermissionError as e:   # as logging.config reports it
            raise ValueError("Unable to configure handler 'file'") from e

    with pytest.raises(SystemExit) as e:
        guarded(log_in_a_read_only_folder)
    assert e.value.code == 2
    assert capsys.readouterr().err == ("[brainalign] error: /ro/model/dataset/metric/main.log: Permission denied; "
                                       "results_dir and cache_dir must be folders you can write\n")

    def a_bug():
        raise ValueError("not about files")

    with pytest.raises(ValueError, match="not about files"):   # anything else keeps its traceback
        guarded(a_bug)


@pytest.mark.slow
def test_results_dir_that_cannot_be_written_is_one_line_for_a_new_and_a_finished_run(tmp_path, tiny_models):
    from tests.sweep_helpers import SMALL, sweep_env

    env = {**sweep_env(tiny_models, tmp_path / "cache"), "HYDRA_FULL_ERROR": "0"}
    (tmp_path / "a-file").write_text("")

    def main(results):
        return subprocess.run([sys.executable, "main.py", f"results_dir={results}", "model=tiny-gpt2", *SMALL],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=300)

    proc = main(tmp_path / "a-file" / "out")   # a new run
    assert proc.returncode == 2 and proc.stderr.splitlines()[-1].startswith(
        f"[brainalign] error: {tmp_path / 'a-file' / 'out'}/tiny-gpt2/"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert main(tmp_path / "out").returncode == 0   # a finished run, whose log file cannot be opened any more
    log = next((tmp_path / "out").rglob("main.log"))
    log.unlink()
    log.mkdir()
    proc = main(tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.splitlines()[-1] == (
        f"[brainalign] error: {log}: Is a directory; results_dir and cache_dir must be folders you can write")


@pytest.mark.slow
def test_command_line_errors_are_one_line_with_exit_2(tmp_path):
    for args, expected in ((["metric.n_splits=ten"], "metric.n_splits=ten: expected an integer"),
                           (["force=maybe"], "force=maybe: expected true or false"),
                           (["device=cuda"], "device=cuda: CUDA is not available"),
                           (["dataset=futrell", "metric=linear"], "cannot be scored with metric=linear")):
        proc = subprocess.run([sys.executable, "main.py", *args, f"results_dir={tmp_path}", "tracking=disabled"],
                              cwd=REPO, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        assert lines[-1].startswith("[brainalign] error: ") and expected in lines[-1], proc.stderr
        assert "Traceback" not in proc.stderr


def test_tracking_online_without_network_falls_back_to_offline_in_seconds(monkeypatch, caplog):
    import socket

    from brainalign.plumbing import network

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", no_network)
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="brainalign.plumbing.network"):
        assert network.wandb_mode("online") == "offline"
    assert time.monotonic() - started < 5
    assert caplog.messages == ["W&B unreachable (https://api.wandb.ai); tracking=offline keeps the run: "
                               "`wandb sync` it later"]
    assert network.wandb_mode("disabled") == "disabled" and network.wandb_mode("offline") == "offline"
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: socket.socket())   # W&B answers
    assert network.wandb_mode("online") == "online"
