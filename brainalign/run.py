"""What `python main.py` runs: score a model on a benchmark, analyse results, or fine-tune."""

import hashlib
import json
import logging
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from omegaconf import OmegaConf

from brainalign import results, tracking
from brainalign.benchmarks import ModelProvider, RunContext, build
from brainalign.errors import BrainalignError, ConfigError

log = logging.getLogger("brainalign")


def output_dir(cfg) -> Path:
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # not under Hydra (tests, notebooks)
        from brainalign.config import run_subdir, tag

        fin = (cfg.get("finetune") or {}).get("name")
        model = tag(cfg.model.name, cfg.model.get("chat_template") or "none", "none", "chat-")
        return Path(cfg.results_dir) / run_subdir(cfg.task, model, cfg.dataset.name, cfg.metric.name, fin)


def cache_dir(cfg) -> Path:
    import os

    return Path(os.path.expanduser(str(cfg.cache_dir)))


def score_model(model_cfg, dataset_cfg, metric_cfg, cache: Path, device: str = "cpu", progress: bool = True,
                loaded=None) -> dict:
    """Score one model on one benchmark and return the result dict (no files, no tracking)."""
    bench = build(dataset_cfg, metric_cfg)
    t0 = time.monotonic()
    result = bench.run(ModelProvider(model_cfg, device=device, loaded=loaded),
                       RunContext(cache_dir=Path(cache), device=device, progress=progress))
    result.setdefault("timings", {})["total_s"] = time.monotonic() - t0
    return result


def describe(cfg) -> dict:
    """Who and what a result is about: model identity, dataset, metric settings, versions."""
    import numpy
    import sklearn
    import torch
    import transformers

    from brainalign import __version__
    from brainalign.models.load import fingerprint

    m = cfg.model
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    for key in ("path", "cache_dir"):
        dataset.pop(key, None)
    if dataset.get("benchmark") == "nwp":  # any text can be scored: the text itself is a setting
        from brainalign.datasets.wikitext import load_wikitext2

        dataset["text_sha256"] = hashlib.sha256(load_wikitext2(cfg.dataset)[0].encode()).hexdigest()[:16]
    return {
        "model": {"name": m.name, "hf_id": m.get("hf_id"), "family": m.get("family"), "arch": m.get("arch"),
                  "instruction_tuned": m.get("instruction_tuned"), "pair": m.get("pair"), "params": m.get("params"),
                  "add_bos": m.get("add_bos"), "chat_template": m.get("chat_template") or "none", "layers": list(m.get("layers") or []), "fingerprint": fingerprint(m)},
        "dataset": cfg.dataset.name, "benchmark": cfg.dataset.get("benchmark"), "metric": cfg.metric.name,
        "settings": {"metric": OmegaConf.to_container(cfg.metric, resolve=True), "dataset": dataset},
        "versions": {"brainalign": __version__, "python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": numpy.__version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def settings_key(info: dict) -> str:
    """What makes two results comparable: the model's weights and settings, dataset and metric settings."""
    blob = json.dumps({"model": info["model"]["fingerprint"], "layers": info["model"]["layers"],
                       "settings": info["settings"]}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def score(cfg) -> dict:
    out = output_dir(cfg)
    info = describe(cfg)
    info["settings_key"] = settings_key(info)
    stored = results.read(out)
    if stored is not None and not cfg.get("force", False):
        if stored.get("settings_key") != info["settings_key"]:
            raise ConfigError(f"{out / results.RESULT} holds a result computed with other settings; "
                              "force=true overwrites it, or choose another results_dir")
        print(f"[brainalign] {out / results.RESULT} exists; skipping (force=true recomputes)")
        return stored
    with tracking.start(cfg, out, job_type="score") as tracker:
        result = score_model(cfg.model, cfg.dataset, cfg.metric, cache_dir(cfg), cfg.get("device", "cpu"),
                             cfg.get("progress", True))
        result = {**info, **result}
        results.write(out, result)
        tracker.log_result(result)
    print(summary_text(result, out))
    return result


def summary_text(result: dict, out: Path) -> str:
    lines = [f"\n{result['model']['name']} on {result['dataset']} ({result['metric']})"
             + ("  [SYNTHETIC data]" if result.get("synthetic") else "")]
    layers = result.get("per_layer") or []
    if layers:
        lines.append(f"  {'layer':<44} {'raw r':>8} {'ceiled':>8}")
        for i, row in enumerate(layers):
            mark = " <- best" if i == result["best_layer_index"] else ""
            lines.append(f"  {row['layer']:<44} {row['raw']:>8.4f} {row['ceiled']:>8.4f}{mark}")
        lines.append(f"  best layer: {result['best_layer']} (raw {result['raw']:.4f}, ceiled {result['ceiled']:.4f}, "
                     f"ceiling {result['ceiling']:.4f}); cross-validated choice: raw {result['raw_cv']:.4f}")
    else:
        def fmt(v):
            return "n/a" if v is None else f"{v:.4f}"
        lines.append(f"  raw {fmt(result['raw'])}, ceiled {fmt(result.get('ceiled'))}, ceiling {fmt(result.get('ceiling'))}"
                     + (f"  ({result['unit']})" if result.get("unit") else ""))
    if "planted_layer" in result:
        lines.append(f"  planted signal in {result['planted_layer']} (raw {result['planted_raw']:.4f}; best layer before "
                     f"it {result['best_raw_before_planted']:.4f}; shuffled responses {result['shuffled_control_raw']:.4f}): "
                     f"{'recovered' if result['recovered'] else 'NOT recovered'}")
    lines.append(f"  results: {out / results.RESULT}")
    return "\n".join(lines)


def run(cfg):
    task = cfg.get("task", "score")
    if task == "score":
        return score(cfg)
    if task == "analyze":
        from brainalign.analysis import run as analyze

        return analyze(cfg)
    if task == "finetune":
        import finetune

        return finetune.run(cfg, output_dir(cfg))
    raise ConfigError(f"task={task!r}; choose one of score, analyze, finetune")


def main_job(cfg):
    """Run one job; a user error is printed without traceback and recorded, and a sweep goes on."""
    from brainalign.config import quiet_libraries

    quiet_libraries()
    multirun = _is_multirun()
    try:
        return run(cfg)
    except BrainalignError as e:
        _record(cfg, e, with_traceback=False)
        print(f"[brainalign] error: {e}", file=sys.stderr)
        if not multirun:
            sys.exit(2)
    except Exception as e:
        _record(cfg, e, with_traceback=True)
        if not multirun:
            raise
        log.exception("job failed; the sweep goes on")
    return None


def _is_multirun() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except (ValueError, ImportError):
        return False


def _record(cfg, err: Exception, with_traceback: bool) -> None:
    try:
        info = {"error": type(err).__name__, "message": str(err),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if with_traceback:
            info["traceback"] = traceback.format_exc()
        results.write_failure(output_dir(cfg), info)
    except Exception:  # recording must never hide the error itself
        pass
