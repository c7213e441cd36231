"""End to end on CPU: a tiny Llama trains a few steps on the project's 16-sample Alpaca-format file, in
both arms and both modes; its checkpoints are scored by real (tiny) benchmarks; table, figure, resume,
W&B, and the errors that must come before any training."""

import json
import math
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

import finetune
from dataclasses import dataclass

from brainalign.config.schema import DatasetConfig
from brainalign.registry import BenchmarkSpec, declare
from brainalign.errors import ConfigError, ModelUnavailable
from finetune import checks, report
from finetune import train as train_mod
from finetune.sample import SAMPLES, write_sample

REPO = Path(__file__).resolve().parents[1]
PROBE_SENTENCES = [SAMPLES[2]["output"], SAMPLES[9]["output"], SAMPLES[12]["output"]]
CALLS: list[tuple[str, str]] = []  # (model name, metric) of every benchmark run


def _probe(dataset_cfg, metric_cfg):
    """A tiny benchmark computed from the model: mean log-probability of a few training responses
    ('logprob'), or the Pearson r between token surprisal and token length ('surprisal_length')."""

    class Probe:
        def run(self, model, ctx):
            lm = model.get()
            CALLS.append((model.name, str(metric_cfg.name)))
            logps, lengths = [], []
            for text in PROBE_SENTENCES:
                ids = torch.tensor([lm.encode(text)])
                with torch.no_grad():
                    lp = lm.model(ids.to(lm.device)).logits.log_softmax(-1)[0, :-1]
                logps += lp.gather(1, ids[0, 1:, None].to(lm.device))[:, 0].tolist()
                lengths += [len(lm.tokenizer.decode([t])) for t in ids[0, 1:].tolist()]
            if metric_cfg.name == "logprob":
                raw = sum(logps) / len(logps)
            else:
                s, n = torch.tensor([-x for x in logps]), torch.tensor(lengths, dtype=torch.float)
                raw = torch.corrcoef(torch.stack([s, n]))[0, 1].item()
            return {"raw": raw, "ceiled": None, "n_tokens": len(logps)}

    return Probe()


@dataclass
class ProbeConfig(DatasetConfig):
    pass


declare(BenchmarkSpec(name="finetune_probe", kind="brain", schema=ProbeConfig, build=_probe, default_metric="logprob",
                      metrics=("logprob", "surprisal_length")))


BRAIN = {"dataset": {"name": "probe", "benchmark": "finetune_probe"}, "metric": {"name": "logprob"}}
BEHAVIOR = {"dataset": {"name": "probe_reading", "benchmark": "finetune_probe"}, "metric": {"name": "surprisal_length"}}
KINDS = {"probe": "brain", "probe_more": "brain", "probe_reading": "behavioral"}


def make_cfg(tmp_path: Path, model_path: Path, arm: str, mode: str = "full", **over):
    """The composed app config as main.py would pass it, shrunk to a few CPU steps."""
    base = OmegaConf.load(REPO / "conf" / "finetune" / "_base.yaml")
    arm_cfg = OmegaConf.load(REPO / "conf" / "finetune" / f"alpaca_{arm}.yaml")
    arm_cfg.pop("defaults")
    data = tmp_path / "sample_alpaca.json"
    if not data.exists():
        tmp_path.mkdir(parents=True, exist_ok=True)
        write_sample(data)
    cfg = OmegaConf.create({
        "task": "finetune",
        "model": {"name": "tiny-llama", "hf_id": None, "path": str(model_path), "gguf": None, "dtype": "float32",
                  "revision": None, "add_bos": None, "max_length": None},
        "dataset": BRAIN["dataset"], "metric": BRAIN["metric"],
        "tracking": {"mode": "disabled", "project": "brainalign", "entity": None},
        "cache_dir": str(tmp_path / "cache"),
        "finetune": OmegaConf.merge(base, arm_cfg),
    })
    ft = cfg.finetune
    ft.mode = mode
    ft.run_dir = str(tmp_path / "runs" / mode / ft.arm)
    ft.data.path, ft.data.max_length = str(data), 256
    ft.train.precision, ft.train.epochs = "fp32", 2
    ft.train.effective_batch_size, ft.train.per_device_batch_size = 4, 2
    ft.train.learning_rate, ft.lora.learning_rate = 3e-3, 3e-2
    ft.lora.target_modules = ["q_proj", "v_proj"]
    ft.checkpoints.every_epochs = 0.5
    ft.score.benchmarks = [BEHAVIOR]
    ft.score.kinds = KINDS
    for key, value in over.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


def ckpt_steps(run_dir: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in train_mod.checkpoint_dirs(run_dir)]


@pytest.fixture
def llama(tiny_models) -> Path:
    return tiny_models["llama"]


# ---------------------------------------------------------------------------------------------
# Both arms, both modes


@pytest.mark.parametrize("mode", [pytest.param("full", marks=pytest.mark.slow), "lora"])  # full: slow tier
def test_both_arms_train_and_every_checkpoint_is_scored(tmp_path, llama, mode):
    CALLS.clear()
    outs = {arm: finetune.run(make_cfg(tmp_path, llama, arm, mode)) for arm in ("instruction", "no_instruction")}
    for arm, out in outs.items():
        run_dir = Path(out["run_dir"])
        # 16 samples, batch 4, 2 epochs = 8 steps; a checkpoint every half epoch
        assert out["train"]["global_step"] == 8 and out["train"]["gradient_accumulation_steps"] == 2
        assert ckpt_steps(run_dir) == [2, 4, 6, 8]
        assert out["data"]["samples"] == 16 and out["data"]["dropped"] == 0
        assert out["scored"] == 10  # (base + 4 checkpoints) x 2 benchmarks
        logged = [h["loss"] for h in out["train"]["log_history"]] if "log_history" in out["train"] else None
        assert logged is None  # the history stays in train_done.json, not in the returned summary
        history = json.loads((run_dir / "train_done.json").read_text())["log_history"]
        losses = [h["loss"] for h in history if "loss" in h]
        assert len(losses) == 8 and all(math.isfinite(x) for x in losses)
        # only the newest checkpoint keeps what resuming needs
        ckpts = train_mod.checkpoint_dirs(run_dir)
        assert (ckpts[-1] / "optimizer.pt").exists()
        assert not any((c / "optimizer.pt").exists() for c in ckpts[:-1])
        if mode == "lora":
            assert all((c / "adapter_config.json").exists() and not (c / "model.safetensors").exists() for c in ckpts)
            assert not (run_dir / "merged").exists()  # merged folders are removed after scoring
            assert out["train"]["trainable_parameters"] < out["train"]["parameters"] / 10
        else:
            assert losses[-1] < losses[0]
    # every checkpoint loaded under its own name (LoRA: merged first); the base model once per arm
    names = {n for n, _ in CALLS}
    assert {f"tiny-llama__{arm}__step-{s}" for arm in outs for s in (2, 4, 6, 8)} | {"tiny-llama"} == names

    table = pd.read_csv(outs["instruction"]["table"])
    assert outs["instruction"]["table"] == outs["no_instruction"]["table"]
    assert list(table.columns) == ["arm", "step", "epoch", "train_loss", "brain", "behavioral",
                                   "probe-logprob", "probe_reading-surprisal_length"]
    assert table.groupby("arm")["step"].apply(list).to_dict() == \
        {"instruction": [0, 2, 4, 6, 8], "no_instruction": [0, 2, 4, 6, 8]}
    assert table.groupby("arm")["epoch"].apply(list).to_dict()["instruction"] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert table["brain"].equals(table["probe-logprob"])
    base = table[table.step == 0]
    assert base["brain"].nunique() == 1 and base["train_loss"].isna().all()  # same base model in both arms
    for arm, sub in table.groupby("arm"):
        sub = sub.set_index("step")
        assert sub.loc[8, "brain"] != sub.loc[0, "brain"]  # the model changed
        if mode == "full":
            assert sub.loc[8, "brain"] > sub.loc[0, "brain"]  # it learnt the responses the probe reads
        history = json.loads((Path(outs[arm]["run_dir"]) / "train_done.json").read_text())["log_history"]
        steps_3_4 = [h["loss"] for h in history if "loss" in h and h["step"] in (3, 4)]
        assert sub.loc[4, "train_loss"] == pytest.approx(sum(steps_3_4) / 2)
    png = Path(outs["instruction"]["figure"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# Resume, no rescoring, follow-up scoring


class Interrupt(Exception):
    pass


@pytest.mark.slow  # ~5 s: trains, is killed, resumes
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, llama, monkeypatch):
    from transformers import TrainerCallback

    class KillAtStep5(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 5:
                raise Interrupt

    reference = finetune.run(make_cfg(tmp_path / "ref", llama, "instruction"))

    cfg = make_cfg(tmp_path, llama, "instruction", **{"finetune.score.when": "save"})
    run_dir = Path(cfg.finetune.run_dir)
    monkeypatch.setattr(train_mod, "extra_callbacks", lambda: [KillAtStep5()])
    CALLS.clear()
    with pytest.raises(Interrupt):
        finetune.run(cfg)
    assert ckpt_steps(run_dir) == [2, 4] and not (run_dir / "train_done.json").exists()
    assert len(CALLS) == 4  # checkpoints 2 and 4 were scored as they were saved, by both benchmarks

    monkeypatch.setattr(train_mod, "extra_callbacks", lambda: [])
    out = finetune.run(cfg)
    assert out["train"]["resumed_from"].endswith("checkpoint-4")
    assert out["train"]["global_step"] == 8 and ckpt_steps(run_dir) == [2, 4, 6, 8]
    assert len(CALLS) == 10  # each (step, benchmark) exactly once: 2, 4 before; 6, 8, base after
    assert sorted(p.name for p in (run_dir / "scores" / "probe-logprob").iterdir()) == \
        [f"step-{s:06d}.json" for s in (0, 2, 4, 6, 8)]

    # same result as the run that was never interrupted
    ref_hist = json.loads((Path(reference["run_dir"]) / "train_done.json").read_text())["log_history"]
    hist = json.loads((run_dir / "train_done.json").read_text())["log_history"]
    loss = lambda h: {x["step"]: x["loss"] for x in h if "loss" in x}  # noqa: E731
    assert loss(hist) == pytest.approx(loss(ref_hist), rel=1e-4)
    from safetensors.torch import load_file

    a = load_file(run_dir / "checkpoints" / "checkpoint-8" / "model.safetensors")
    b = load_file(Path(reference["run_dir"]) / "checkpoints" / "checkpoint-8" / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)

    # a finished run is neither retrained nor rescored
    again = finetune.run(cfg)
    assert again["scored"] == 0 and len(CALLS) == 10 and again["train"]["global_step"] == 8

    # a follow-up scoring sweep adds only the new benchmark
    follow = make_cfg(tmp_path, llama, "instruction", **{"finetune.stage": "score"})
    follow.dataset = {"name": "probe_more", "benchmark": "finetune_probe"}
    out = finetune.run(follow)
    assert out["scored"] == 5 and len(CALLS) == 15
    table = pd.read_csv(out["table"])
    assert "probe_more-logprob" in table.columns
    assert table["brain"].tolist() == pytest.approx(((table["probe-logprob"] + table["probe_more-logprob"]) / 2).tolist())

    # resuming with other trained settings is refused, with the difference named
    changed = make_cfg(tmp_path, llama, "instruction", **{"finetune.train.learning_rate": 1e-4})
    with pytest.raises(ConfigError, match=r"train\.learning_rate: 0\.003 -> 0\.0001"):
        finetune.run(changed)
    fresh = make_cfg(tmp_path, llama, "instruction", **{"finetune.resume": False})
    (run_dir / "train_done.json").unlink()
    with pytest.raises(ConfigError, match="finetune.resume=false"):
        finetune.run(fresh)


@pytest.mark.slow
def test_killed_lora_run_resumes_to_the_same_adapter(tmp_path, llama, monkeypatch):
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    class KillAtStep3(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                raise Interrupt

    over = {"finetune.score.when": "never", "finetune.train.epochs": 1}
    reference = finetune.run(make_cfg(tmp_path / "ref", llama, "instruction", "lora", **over))
    cfg = make_cfg(tmp_path, llama, "instruction", "lora", **over)
    monkeypatch.setattr(train_mod, "extra_callbacks", lambda: [KillAtStep3()])
    with pytest.raises(Interrupt):
        finetune.run(cfg)
    monkeypatch.setattr(train_mod, "extra_callbacks", lambda: [])
    out = finetune.run(cfg)
    assert out["train"]["resumed_from"].endswith("checkpoint-2") and out["train"]["global_step"] == 4
    adapter = "checkpoints/checkpoint-4/adapter_model.safetensors"
    a, b = load_file(Path(out["run_dir"]) / adapter), load_file(Path(reference["run_dir"]) / adapter)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_report_is_rebuilt_from_stored_files(tmp_path, llama, capsys):
    cfg = make_cfg(tmp_path, llama, "no_instruction", **{"finetune.train.epochs": 1,
                                                          "finetune.score.report": False})
    out = finetune.run(cfg)
    assert "table" not in out
    root = Path(out["run_dir"]).parent
    assert f"`python -m finetune.report {root}` writes the table and figure" in capsys.readouterr().out
    assert report.main([str(root)]) == 0
    csv, png = capsys.readouterr().out.split()
    df = pd.read_csv(csv)
    assert df["arm"].unique().tolist() == ["no_instruction"] and df["step"].tolist() == [0, 2, 4]
    assert Path(png).stat().st_size > 1000
    assert report.main([str(tmp_path / "nothing")]) == 1


@pytest.mark.slow
def test_wandb_offline_gets_curves_and_scores(tmp_path, llama, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = make_cfg(tmp_path, llama, "instruction", **{"tracking.mode": "offline", "finetune.train.epochs": 1})
    out = finetune.run(cfg)
    run_dir = Path(out["run_dir"])
    logs = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1
    keys = (b"train/loss", b"score/probe-logprob", b"score/probe_reading-surprisal_length", b"finetune/table")
    # wandb-core (a separate process) may still be writing the log when finish() returns
    for _ in range(300):
        blob = logs[0].read_bytes()
        if all(key in blob for key in keys):
            break
        time.sleep(0.1)
    for key in keys:
        assert key in blob, key
    run_id = (run_dir / "wandb_id.txt").read_text()
    assert run_id in logs[0].name
    # a later command on the same arm (here a follow-up scoring stage) continues the same W&B run id
    finetune.run(make_cfg(tmp_path, llama, "instruction", **{"tracking.mode": "offline", "finetune.train.epochs": 1,
                                                              "finetune.stage": "score"}))
    assert len(list((run_dir / "wandb").glob(f"offline-run-*-{run_id}"))) == 2


# ---------------------------------------------------------------------------------------------
# Errors before training


def _fails_before_training(cfg, exc, match):
    with pytest.raises(exc, match=match):
        finetune.run(cfg)
    assert not (Path(cfg.finetune.run_dir) / "checkpoints").exists()


def test_data_with_missing_fields(tmp_path, llama):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([SAMPLES[0], {"instruction": "x", "input": ""}]))
    _fails_before_training(make_cfg(tmp_path, llama, "instruction", **{"finetune.data.path": str(bad)}),
                           ConfigError, "sample 1 lacks output")


def test_lora_targets_absent_from_the_model(tmp_path, llama):
    cfg = make_cfg(tmp_path, llama, "instruction", "lora", **{"finetune.lora.target_modules": ["c_attn"]})
    _fails_before_training(cfg, ConfigError, r"\['c_attn'\] are not modules of tiny-llama .*q_proj")


def test_qlora_without_cuda(tmp_path, llama, monkeypatch):
    monkeypatch.setattr(checks, "cuda_available", lambda: False)
    _fails_before_training(make_cfg(tmp_path, llama, "instruction", "qlora"), ConfigError, "needs a CUDA GPU")


def test_bf16_on_a_cpu_without_it(tmp_path, llama, monkeypatch):
    monkeypatch.setattr(checks, "cuda_available", lambda: False)
    monkeypatch.setattr(checks, "cpu_has_native_bf16", lambda: False)
    cfg = make_cfg(tmp_path, llama, "instruction", **{"finetune.train.precision": "bf16"})
    _fails_before_training(cfg, ConfigError, "no native bf16.*precision=fp32")


def test_full_finetuning_that_does_not_fit_in_memory(tmp_path, llama):
    cfg = make_cfg(tmp_path, llama, "instruction", **{"finetune.checks.memory_gib": 0.001})
    _fails_before_training(cfg, ConfigError, r"x 16 bytes .* offers 0\.0 GiB.*finetune.mode=lora")
    cfg = make_cfg(tmp_path, llama, "instruction", "lora", **{"finetune.checks.memory_gib": 0.01})
    assert checks.memory_needed(300_000, cfg.finetune) == 4 * 300_000  # LoRA: only the fp32 weights here


def test_encoder_decoder_model(tmp_path, tiny_models):
    _fails_before_training(make_cfg(tmp_path, tiny_models["t5"], "instruction"), ConfigError, "encoder-decoder")


def test_gguf_model_is_refused_with_the_way_out(tmp_path, llama):
    cfg = make_cfg(tmp_path, llama, "instruction", "lora",
                   **{"model.name": "smollm2-135m", "model.gguf": {"package": None, "file": "x.Q4_1.gguf"}})
    _fails_before_training(cfg, ConfigError, r"GGUF file x\.Q4_1\.gguf.*python -m finetune.dequantize smollm2-135m")


def test_sequence_longer_than_the_model(tmp_path, llama):
    cfg = make_cfg(tmp_path, llama, "instruction", **{"finetune.data.max_length": 512})
    _fails_before_training(cfg, ConfigError, "exceeds the 256 positions")


def test_batch_that_does_not_divide(tmp_path, llama):
    cfg = make_cfg(tmp_path, llama, "instruction", **{"finetune.train.effective_batch_size": 5})
    _fails_before_training(cfg, ConfigError, "not a multiple")


def test_unknown_benchmark_and_missing_model(tmp_path, llama):
    cfg = make_cfg(tmp_path, llama, "instruction")
    cfg.dataset = {"name": "nope", "benchmark": "no_such_benchmark"}
    _fails_before_training(cfg, ConfigError, "no_such_benchmark")
    cfg = make_cfg(tmp_path, llama, "instruction", **{"finetune.score.benchmarks": [{"dataset": "nope_x",
                                                                                      "metric": "y"}]})
    _fails_before_training(cfg, ConfigError, "dataset=nope_x: no such config")
    _fails_before_training(make_cfg(tmp_path, tmp_path / "no-model", "instruction"), ModelUnavailable, "does not exist")


def test_benchmarks_named_by_config_compose_with_their_defaults(tmp_path, llama, monkeypatch):
    from finetune import checkpoints

    conf = tmp_path / "conf"
    (conf / "dataset").mkdir(parents=True)
    (conf / "metric").mkdir()
    (conf / "dataset" / "probe.yaml").write_text("name: probe\nbenchmark: finetune_probe\n")
    (conf / "dataset" / "probe_reading.yaml").write_text("defaults:\n  - probe\n  - _self_\nname: probe_reading\n")
    (conf / "dataset" / "probe_other.yaml").write_text("defaults:\n  - probe\n  - _self_\nname: probe_other\n")
    (conf / "metric" / "surprisal_length.yaml").write_text("name: surprisal_length\n")
    monkeypatch.setattr(checkpoints, "CONF_DIR", conf)
    cfg = make_cfg(tmp_path, llama, "instruction", **{"finetune.score.benchmarks": [
        {"dataset": "probe_reading", "metric": "surprisal_length"},
        {"dataset": "probe_other", "metric": "surprisal_length"},
        {"dataset": "probe", "metric": "surprisal_length", "kind": "behavioral", "value": "n_tokens"}]})
    benches = checkpoints.benchmarks(cfg)
    assert [(b.key, b.kind, b.value) for b in benches] == [
        ("probe-logprob", "brain", "raw"), ("probe_reading-surprisal_length", "behavioral", "raw"),
        ("probe_other-surprisal_length", "other", "raw"), ("probe-surprisal_length", "behavioral", "n_tokens")]
    assert benches[1].dataset.benchmark == "finetune_probe"  # from the defaults list


def test_the_app_dispatches_task_finetune(make_config, tmp_path, llama, capsys):
    """python main.py task=finetune ... through the app's own run(): composed config, results_dir, and the
    project's own synthetic brain benchmark (activations, linear predictivity) on every checkpoint."""
    from brainalign.app.run import run as app_run

    data = write_sample(tmp_path / "sample.json")
    cfg = make_config(
        "task=finetune", "finetune=alpaca_no_instruction",
        "model=gpt2", f"model.path={llama}", "model.name=tiny-llama",
        "dataset=synthetic", "dataset.n_passages=16", "metric=linear",
        f"finetune.data.path={data}", "finetune.data.max_length=256", "finetune.train.precision=fp32",
        "finetune.train.effective_batch_size=4", "finetune.train.per_device_batch_size=2",
        "finetune.train.epochs=1", "finetune.checkpoints.every_epochs=0.5")
    out = app_run(cfg)
    assert out["run_dir"] == str(tmp_path / "out" / "finetune" / "tiny-llama" / "full" / "no_instruction")
    assert f"fine-tuning done: table {out['table']}, figure {out['figure']}" in capsys.readouterr().out
    table = pd.read_csv(out["table"])
    assert table["step"].tolist() == [0, 2, 4]
    assert table["brain"].tolist() == table["synthetic-linear"].tolist() and table["brain"].between(-1, 1).all()
    stored = json.loads((Path(out["run_dir"]) / "scores" / "synthetic-linear" / "step-000004.json").read_text())
    assert stored["result"]["synthetic"] is True and stored["result"]["per_layer"]  # the benchmark's full result
