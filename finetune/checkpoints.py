"""Score every checkpoint of a run with the configured benchmarks; one result file per checkpoint and benchmark.

    run_dir/scores/<dataset>-<metric>/step-000120.json

A file that exists is never recomputed, so scoring can be interrupted, rerun, or extended later
with another benchmark (a follow-up sweep: `finetune.stage=score dataset=...`). Step 0 is the model
before fine-tuning. LoRA checkpoints are merged into a plain model folder first.
"""

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from brainalign.config import CONF_DIR
from brainalign.errors import ConfigError
from finetune.train import checkpoint_dirs
from brainalign.plumbing.io import write_text

log = logging.getLogger(__name__)
SCORES = "scores"
MERGED = "merged"


# ---------------------------------------------------------------------------------------------
# Which benchmarks


@dataclass
class Bench:
    key: str          # folder name and table column, e.g. "pereira2018-linear"
    kind: str         # brain | behavioral | mmlu | bbh | other: the aggregate column it joins
    value: str        # result key to table and plot
    dataset: DictConfig
    metric: DictConfig


def _group_config(group: str, ref) -> DictConfig:
    """A dataset/metric config given inline, or by its name in conf/<group>/ (its defaults list applied:
    brainalign.config.presets)."""
    if isinstance(ref, (dict, DictConfig)):
        return OmegaConf.create(OmegaConf.to_container(ref, resolve=True) if isinstance(ref, DictConfig) else ref)
    from brainalign.config.presets import load_preset

    try:
        node = load_preset(group, str(ref), conf_dir=CONF_DIR)
    except ConfigError as e:
        raise ConfigError(f"finetune.score.benchmarks names {group} {ref!r}: {e}") from None
    try:
        return OmegaConf.create(OmegaConf.to_container(node, resolve=True))
    except Exception:  # interpolations into the rest of the app config: keep them as written
        return OmegaConf.create(OmegaConf.to_container(node, resolve=False))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "x"


def benchmarks(cfg) -> list[Bench]:
    """The benchmarks to score checkpoints with: the composed dataset + metric and finetune.score.benchmarks."""
    sc = cfg.finetune.score
    entries = []
    if sc.get("main_benchmark", True) and cfg.get("dataset") is not None and cfg.get("metric") is not None:
        entries.append({"dataset": cfg.dataset, "metric": cfg.metric})
    entries += list(sc.get("benchmarks") or [])
    out = []
    for entry in entries:
        if "dataset" not in entry or "metric" not in entry:
            raise ConfigError(f"finetune.score.benchmarks entry {entry} needs `dataset` and `metric`")
        d, m = _group_config("dataset", entry["dataset"]), _group_config("metric", entry["metric"])
        dname = str(d.get("name") or entry["dataset"])
        key = _slug(f"{dname}-{m.get('name') or 'metric'}")
        kind = str(entry.get("kind") or (sc.get("kinds") or {}).get(dname) or "other")
        if key not in {b.key for b in out}:
            out.append(Bench(key=key, kind=kind, value=str(entry.get("value") or sc.get("value", "raw")),
                             dataset=d, metric=m))
    _check_registered(out)
    return out


def _check_registered(benches: list[Bench]) -> None:
    """Unknown benchmark names fail now, not after hours of training."""
    from brainalign import registry

    known = registry.benchmarks()
    for b in benches:
        if b.dataset.get("benchmark") not in known:
            raise ConfigError(f"dataset {b.dataset.get('name')!r} names benchmark {b.dataset.get('benchmark')!r}; "
                              f"known: {sorted(known)}")


# ---------------------------------------------------------------------------------------------
# Scoring one model


def score_model(model_cfg, dataset_cfg, metric_cfg, cache_dir, device: str = "cpu") -> dict:
    """The app's own scoring: benchmarks.build(dataset, metric).run(ModelProvider(model), RunContext(cache))."""
    from brainalign.scoring import score_model as app_score_model

    return app_score_model(model_cfg, dataset_cfg, metric_cfg, Path(cache_dir), device=device, progress=False)


# ---------------------------------------------------------------------------------------------
# Checkpoints: step, epoch, train loss, a loadable model config


@dataclass
class Point:
    step: int
    epoch: float
    train_loss: float | None
    path: Path | None       # None: the base model


def points(run_dir: Path, include_base: bool = True) -> list[Point]:
    """The base model (step 0) and every complete checkpoint, with its epoch and the mean training
    loss logged since the previous checkpoint (from the checkpoint's own trainer_state.json)."""
    out = [Point(0, 0.0, None, None)] if include_base else []
    prev = 0
    for ckpt in checkpoint_dirs(run_dir):
        state = json.loads((ckpt / "trainer_state.json").read_text())
        step = int(state["global_step"])
        losses = [h["loss"] for h in state.get("log_history", []) if "loss" in h and prev < h.get("step", 0) <= step]
        out.append(Point(step, float(state.get("epoch") or 0.0), sum(losses) / len(losses) if losses else None, ckpt))
        prev = step
    return out


def is_adapter(path: Path) -> bool:
    return (path / "adapter_config.json").exists()


def merge_adapter(base_cfg, ckpt: Path, out: Path, dtype: str) -> Path:
    """Base weights + LoRA adapter -> a plain model folder (with the tokenizer) that load_model reads."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from brainalign.models.load import model_source

    if (out / "config.json").exists():
        return out
    src = model_source(base_cfg)
    kwargs = {"gguf_file": src["gguf_file"]} if src["gguf_file"] else {}
    if src["hub"] and base_cfg.get("revision"):
        kwargs["revision"] = base_cfg.revision
    base = AutoModelForCausalLM.from_pretrained(src["path"] or src["hub"], dtype=getattr(torch, dtype), **kwargs)
    merged = PeftModel.from_pretrained(base, str(ckpt)).merge_and_unload()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(str(ckpt)).save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    del base, merged
    return out


def checkpoint_model_cfg(model_cfg, folder: Path, arm: str, step: int):
    """A copy of the zoo config that loads the checkpoint folder instead of the original weights."""
    cfg = OmegaConf.create(OmegaConf.to_container(model_cfg, resolve=True))
    cfg.name = f"{model_cfg.name}__{arm}__step-{step}"
    cfg.path = str(folder)
    cfg.hf_id = None
    cfg.gguf = None
    cfg.revision = None
    cfg.finetuned_from = str(model_cfg.name)
    cfg.finetune_arm = arm
    cfg.finetune_step = step
    return cfg


# ---------------------------------------------------------------------------------------------
# Scoring all checkpoints


def result_path(run_dir: Path, bench: Bench, step: int) -> Path:
    return Path(run_dir) / SCORES / bench.key / f"step-{step:06d}.json"


def _jsonable(x):
    try:
        import numpy as np

        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
    except ImportError:
        pass
    if isinstance(x, Path):
        return str(x)
    return str(x)


def _write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=1, default=_jsonable))


def _device(sc) -> str:
    wanted = str(sc.get("device", "auto"))
    if wanted != "auto":
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cache_dir(cfg) -> Path:
    from brainalign.scoring import cache_dir as app_cache_dir

    return app_cache_dir(cfg)


def score_point(cfg, run_dir: Path, benches: list[Bench], point: Point, tracker=None) -> list[dict]:
    """Score one checkpoint with every benchmark not yet scored for it; returns the new records."""
    ft = cfg.finetune
    todo = [b for b in benches if not result_path(run_dir, b, point.step).exists()]
    if not todo:
        return []
    merged_dir = None
    if point.path is None:
        model_cfg = OmegaConf.create(OmegaConf.to_container(cfg.model, resolve=True))
        where = "base model"
    else:
        folder = point.path
        if is_adapter(point.path):
            dtype = str(ft.score.get("merge_dtype") or cfg.model.get("dtype") or "float32")
            merged_dir = merge_adapter(cfg.model, point.path, Path(run_dir) / MERGED / point.path.name, dtype)
            folder = merged_dir
        model_cfg = checkpoint_model_cfg(cfg.model, folder, str(ft.arm), point.step)
        where = str(point.path)
    new = []
    try:
        for b in todo:
            log.info("scoring %s at step %d (%s) with %s", ft.arm, point.step, where, b.key)
            result = score_model(model_cfg, b.dataset, b.metric, cache_dir(cfg), device=_device(ft.score))
            if b.value not in result:
                raise ConfigError(f"benchmark {b.key} returned no {b.value!r} (finetune.score.value); "
                                  f"its keys: {sorted(result)}")
            record = {"arm": str(ft.arm), "mode": str(ft.mode), "model": str(cfg.model.name), "step": point.step,
                      "epoch": point.epoch, "train_loss": point.train_loss, "benchmark": b.key, "kind": b.kind,
                      "value_key": b.value, "value": float(result[b.value]),
                      "checkpoint": str(point.path) if point.path else None, "result": result}
            _write_json(result_path(run_dir, b, point.step), record)
            new.append(record)
            if tracker is not None:
                tracker.log_score(point.step, point.epoch, {b.key: record["value"]})
    finally:
        if merged_dir is not None and not ft.score.get("keep_merged", False):
            shutil.rmtree(merged_dir, ignore_errors=True)
            if not any(merged_dir.parent.iterdir()):
                merged_dir.parent.rmdir()
    return new


def score_run(cfg, run_dir: Path, benches: list[Bench], tracker=None) -> list[dict]:
    """Score the base model and every checkpoint of run_dir that lacks a result file."""
    new = []
    for point in points(run_dir, include_base=bool(cfg.finetune.score.get("base", True))):
        new += score_point(cfg, run_dir, benches, point, tracker)
    return new


def load_scores(run_dir: Path) -> list[dict]:
    """Every stored per-checkpoint result of one run."""
    out = []
    for f in sorted((Path(run_dir) / SCORES).glob("*/step-*.json")):
        rec = json.loads(f.read_text())
        rec.pop("result", None)
        out.append(rec)
    return out
