"""Weights & Biases: every run is one W&B run (offline by default), a mirror of result.json."""

import contextlib
import logging
from pathlib import Path

from omegaconf import OmegaConf

from brainalign.results import SUMMARY_KEYS

log = logging.getLogger(__name__)
MODES = ("offline", "online", "disabled")


def run_config(cfg) -> dict:
    """The resolved config, plus flat keys to group and filter by in W&B's run table."""
    full = OmegaConf.to_container(cfg, resolve=True)
    full.pop("hydra", None)
    m = cfg.get("model") or {}
    flat = {"model_name": m.get("name"), "family": m.get("family"), "instruction_tuned": m.get("instruction_tuned"),
            "params": m.get("params"), "pair": m.get("pair"), "dataset": cfg.get("dataset", {}).get("name"),
            "metric": cfg.get("metric", {}).get("name"), "task": cfg.get("task")}
    return {**flat, "config": full}


class Tracker:
    def __init__(self, run):
        self.run = run

    def log_result(self, result: dict) -> None:
        import wandb

        if self.run is None:
            return
        for key in SUMMARY_KEYS + ("ceiled_cv", "mad_over_subjects", "rvalue", "pvalue"):
            if key in result:
                self.run.summary[key] = result[key]
        for key, value in (result.get("timings") or {}).items():
            self.run.summary[f"time/{key}"] = value
        layers = result.get("per_layer") or []
        if layers:
            table = wandb.Table(columns=["index", "layer", "raw", "ceiled"],
                                data=[[i, r["layer"], r["raw"], r["ceiled"]] for i, r in enumerate(layers)])
            self.run.log({"per_layer": table,
                          "per_layer_plot": wandb.plot.line(table, "index", "ceiled" if layers[0]["ceiled"] is not None
                                                            else "raw", title="score per layer")})


@contextlib.contextmanager
def start(cfg, out_dir: Path, job_type: str = "score"):
    """A W&B run whose files live under `out_dir/wandb`; always finished, so a sweep's next job starts clean."""
    t = cfg.get("tracking") or {"mode": "disabled"}
    mode = t.get("mode", "offline")
    if mode not in MODES:
        from brainalign.errors import ConfigError

        raise ConfigError(f"tracking.mode={mode!r}; choose one of {', '.join(MODES)}")
    import wandb

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    m, d, me = cfg.get("model", {}), cfg.get("dataset", {}), cfg.get("metric", {})
    run = wandb.init(project=t.get("project", "brainalign"), entity=t.get("entity"), group=t.get("group"),
                     name=f"{m.get('name')}/{d.get('name')}/{me.get('name')}", job_type=job_type,
                     tags=list(t.get("tags") or []), dir=str(out_dir), mode=mode, config=run_config(cfg),
                     reinit="finish_previous")
    try:
        yield Tracker(run)
    finally:
        run.finish()
