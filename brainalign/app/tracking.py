"""Weights & Biases: every run is one W&B run (offline by default), a mirror of result.json."""

import contextlib
import logging
from pathlib import Path

from omegaconf import OmegaConf

from brainalign.app.results import SUMMARY_KEYS

log = logging.getLogger(__name__)
MODES = ("offline", "online", "disabled")


def run_config(cfg) -> dict:
    """The resolved config, plus flat keys to group and filter by in W&B's run table."""
    full = OmegaConf.to_container(cfg, resolve=True)
    full.pop("hydra", None)
    m = cfg.model   # a partial config (a test's, a script's) may lack the model's descriptive keys
    flat = {"model_name": m.name, **{k: m.get(k) for k in ("family", "instruction_tuned", "params", "pair")},
            "dataset": cfg.dataset.name, "metric": cfg.metric.name, "task": cfg.task}
    if cfg.task == "score":
        from brainalign.config.subset import subset_of

        subset = subset_of(cfg.dataset)
        flat.update(subset=subset is not None, subset_of=subset)
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
        for key, value in (result.get("per_suite") or {}).items():  # SyntaxGym's accuracy per suite
            self.run.summary[f"suite/{key}"] = value
        for key, value in (result.get("resources") or {}).items():  # peak memory, device (brainalign.plumbing.profiling)
            self.run.summary[f"resources/{key}"] = value
        layers = result.get("per_layer") or []
        if layers:
            table = wandb.Table(columns=["index", "layer", "raw", "ceiled"],
                                data=[[i, r["layer"], r["raw"], r["ceiled"]] for i, r in enumerate(layers)])
            self.run.log({"per_layer": table,
                          "per_layer_plot": wandb.plot.line(table, "index", "ceiled" if layers[0]["ceiled"] is not None
                                                            else "raw", title="score per layer")})


@contextlib.contextmanager
def start(cfg, out_dir: Path, job_type: str = "score", run_id: str | None = None):
    """A W&B run whose files live under `out_dir/wandb`; always finished, so a sweep's next job starts clean.

    run_id (the result's settings key) makes an interrupted and resumed job the same W&B run."""
    from brainalign.config import schema, typed

    t = typed(cfg.tracking, schema.TrackingConfig)
    if t.mode not in MODES:
        from brainalign.errors import ConfigError

        raise ConfigError(f"tracking.mode={t.mode!r}; choose one of {', '.join(MODES)}")
    import wandb

    from brainalign.plumbing.network import wandb_mode

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    name = f"{cfg.model.name}/{cfg.dataset.name}/{cfg.metric.name}"
    run = wandb.init(project=t.project, entity=t.entity, group=t.group, name=name, job_type=job_type,
                     tags=list(t.tags), dir=str(out_dir), mode=wandb_mode(t.mode), config=run_config(cfg),
                     id=run_id, resume="allow" if run_id else None, reinit="finish_previous")
    try:
        yield Tracker(run)
    finally:
        run.finish()
