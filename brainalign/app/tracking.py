"""Weights & Biases: every run is one W&B run (offline by default), a mirror of result.json.

What a run shows: per-layer history rows stepped on relative depth (`layer/depth`), so W&B's line panels
overlay models; every protocol in the summary; a name, group and tags to sort a sweep by; a failed or
interrupted job ends its run with a non-zero exit code."""

import contextlib
import logging
import math
import os
from pathlib import Path

from omegaconf import OmegaConf

from brainalign.app import results
from brainalign.app.comparison_files import comparison_files
from brainalign.app.results import SUMMARY_KEYS, layer_depths
from brainalign.config.weights import weights_of

log = logging.getLogger(__name__)
MODES = ("offline", "online", "disabled")
MACHINE_LOCAL = ("paths", "results_dir", "cache_dir", "results")   # where things are on this machine


def run_config(cfg, settings_key: str | None = None, replaces: str | None = None) -> dict:
    """The resolved config without machine-local paths, plus flat keys to group and filter by in W&B's run table."""
    from brainalign import __version__, registry

    full = OmegaConf.to_container(cfg, resolve=True)
    for key in ("hydra", *MACHINE_LOCAL):
        full.pop(key, None)
    full.get("model", {}).pop("path", None)
    if cfg.get("task") == "score" and cfg.dataset.get("benchmark"):
        for key in registry.benchmark(str(cfg.dataset.benchmark)).locations:
            full.get("dataset", {}).pop(key, None)
    m = cfg.model   # a partial config (a test's, a script's) may lack the model's descriptive keys
    flat = {"model_name": m.name, **{k: m.get(k) for k in ("family", "instruction_tuned", "params", "pair")},
            "pair_key": pair_key(m), "log10_params": math.log10(m.params) if m.get("params") else None,
            "dataset": cfg.dataset.name, "metric": cfg.metric.name, "task": cfg.task, "version": __version__,
            "settings_key": settings_key, "surprisal_mode": surprisal_mode(cfg)}
    if replaces:
        flat["replaces"] = replaces
    if cfg.task == "score":
        from brainalign.config.subset import subset_of

        subset = subset_of(cfg.dataset)
        flat.update(subset=subset is not None, subset_of=subset)
    return {**flat, "config": full}


def pair_key(model_cfg) -> str | None:
    """The same key on both members of an IT/vanilla pair: the vanilla model's name; none for a baseline."""
    if model_cfg.get("family") == "baseline":
        return None
    return model_cfg.get("pair") if model_cfg.get("instruction_tuned") else model_cfg.name


def surprisal_mode(cfg) -> str | None:
    surprisal = cfg.dataset.get("surprisal") if OmegaConf.is_dict(cfg.dataset) else None
    return str(surprisal.mode) if surprisal is not None and surprisal.get("mode") is not None else None


def run_name(cfg) -> str:
    """model/dataset[subset]/metric[protocols][surprisal mode]: two runs that differ say how in their names."""
    from brainalign.config.subset import subset_of

    dataset = cfg.dataset.name
    subset = subset_of(cfg.dataset) if cfg.get("task") == "score" else None
    if subset:
        dataset += "[" + ",".join(f"{k}={v}" for k, v in subset.items()) + "]"
    name = f"{weights_of(cfg.model)['name']}/{dataset}/{cfg.metric.name}"
    cv = cfg.metric.get("cv") if OmegaConf.is_dict(cfg.metric) else None
    cv = "+".join(cv) if OmegaConf.is_list(cv) else cv
    if cv and cv not in str(cfg.metric.name):   # a metric named for its protocols says them already
        name += f"/{cv}"
    if (mode := surprisal_mode(cfg)) is not None:
        name += f"/{mode}"
    return name


def run_tags(cfg) -> list[str]:
    m = cfg.model
    tags = [str(m.family)] if m.get("family") else []
    if m.get("family") == "baseline":
        tags.append("baseline")
    elif m.get("instruction_tuned") is not None:
        tags.append("instruction-tuned" if m.instruction_tuned else "vanilla")
    if cfg.dataset.get("synthetic") or cfg.dataset.name == "synthetic":
        tags.append("synthetic")
    if cfg.get("task") == "score":
        from brainalign.config.subset import subset_of

        if subset_of(cfg.dataset) is not None:
            tags.append("subset")
    return list(dict.fromkeys(tags))   # a baseline's family is "baseline"


def sweep_group() -> str | None:
    """The running sweep's id (its record folder's name), so one sweep's runs group together."""
    from brainalign.app.sweep import ENV

    record = os.environ.get(ENV)
    return f"sweep-{Path(record).name}" if record else None


def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def layer_rows(result: dict) -> list[dict]:
    """Per-layer rows in depth order: layer, depth, block, kind, raw, ceiled and each protocol's raw."""
    layers = result.get("per_layer") or []
    protocols = result.get("protocols") or {}
    rows = []
    for i, (row, place) in enumerate(zip(layers, layer_depths([r["layer"] for r in layers]))):
        rows.append({"layer": row["layer"], **place, "raw": row["raw"], "ceiled": row["ceiled"],
                     **{f"{name}/raw": p["per_layer"][i]["raw"] for name, p in protocols.items()}})
    return sorted(rows, key=lambda r: (r["depth"] is None, r["depth"] or 0.0))


def summary(result: dict) -> dict:
    """The run's summary: the shared keys, every protocol, where the ceiling came from, the data's size."""
    out = {key: result[key] for key in SUMMARY_KEYS + ("ceiled_cv", "mad_over_subjects", "rvalue", "pvalue",
                                                       "n_words", "surprisal_mode", "protocol") if key in result}
    for name, p in (result.get("protocols") or {}).items():
        out.update({f"protocol/{name}/{k}": p.get(k) for k in ("raw", "ceiled", "best_layer")})
    out["ceiling_source"] = _text(result.get("ceiling_source"))
    out["subset"] = _text(result.get("subset"))
    parts = result.get("parts") or []
    if parts:
        out["n_stimuli"] = sum(p["n_stimuli"] for p in parts)
    for key, value in (result.get("timings") or {}).items():
        out[f"time/{key}"] = value
    for key, value in (result.get("per_suite") or {}).items():  # SyntaxGym's accuracy per suite
        out[f"suite/{key}"] = value
    for key, value in (result.get("resources") or {}).items():  # peak memory, device (brainalign.plumbing.profiling)
        out[f"resources/{key}"] = value
    voxels = result.get("voxel_summary") or {}   # voxelwise results: counts and means per subject
    for key in ("score_over", "n_voxels", "n_significant", "fdr_q"):
        if key in voxels:
            out[f"voxelwise/{key}"] = voxels[key]
    for subject, numbers in (voxels.get("per_subject") or {}).items():
        out.update({f"voxelwise/{subject}/{k}": v for k, v in numbers.items()})
    return out


def result_artifact(out_dir: Path, result: dict | None = None):
    """The files of one result (result.json, layers.csv, comparison_<protocol>.npz) as a W&B artifact named
    for its folder (<model>/<dataset>/<metric>), the cache files it names by reference: a recomputation is its
    next version."""
    import re

    import wandb

    out_dir = Path(out_dir)
    result = result if result is not None else results.read(out_dir) or {}
    name = "result-" + re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(out_dir.parts[-3:]))
    meta = {"settings_key": result.get("settings_key"), "wandb_id": result.get("wandb_id"),
            "model": (result.get("model") or {}).get("name"), "dataset": result.get("dataset"),
            "metric": result.get("metric"), "subset": result.get("subset"), "synthetic": result.get("synthetic")}
    art = wandb.Artifact(name, type="result", metadata=meta)
    for path in [out_dir / results.RESULT, out_dir / results.LAYERS, *comparison_files(out_dir).values()]:
        if path.exists():
            art.add_file(str(path))
    for key, value in result.items():   # caches the result names (surprisal_file): by reference, never copied
        if key.endswith("_file") and isinstance(value, str) and Path(value).is_file():
            art.add_reference(Path(value).resolve().as_uri(), name=f"cache/{Path(value).name}", checksum=False)
    return art


def use_results(run, folders) -> None:
    """Record that `run` read these results: W&B's lineage graph then links it to the runs that made them."""
    for folder in folders:
        art = result_artifact(folder)
        if run.offline:   # offline, use_artifact refuses; this is what it does for a new artifact, kept for sync
            run._log_artifact(art, is_user_created=True, use_after_commit=True)
        else:
            run.use_artifact(art)


class Tracker:
    def __init__(self, run):
        self.run = run

    def log_result(self, result: dict, out_dir: Path | None = None) -> None:
        """Summary, per-layer rows and table; the result's files as an artifact when out_dir is given."""
        import wandb

        if self.run is None:
            return
        self.run.summary.update(summary(result))
        rows = layer_rows(result)
        for row in rows:
            if row["depth"] is not None:
                self.run.log({f"layer/{k}": v for k, v in row.items() if k not in ("layer", "block", "kind")})
        if rows:
            m = result["model"]
            columns = ["model", "family", "instruction_tuned", "layer", "depth", "block", "kind", "ceiling",
                       *[k for k in rows[0] if k not in ("layer", "depth", "block", "kind")]]
            table = wandb.Table(columns=columns, data=[
                [m["name"], m.get("family"), m.get("instruction_tuned"), r["layer"], r["depth"], r["block"], r["kind"],
                 result.get("ceiling"), *[r[c] for c in columns[8:]]] for r in rows])
            self.run.log({"per_layer": table})
        self._log_tables(result)
        if out_dir is not None:
            images = {f"maps/{Path(name).stem}": wandb.Image(str(Path(out_dir) / name))
                      for name in result.get("figures") or [] if (Path(out_dir) / name).is_file()}
            if images:
                self.run.log(images)
            self.run.log_artifact(result_artifact(out_dir, result))

    def _log_tables(self, result: dict) -> None:
        """A reading-time result's per-word table and surprisal-RT scatter; a per-suite table."""
        import pandas as pd
        import wandb

        words = Path(result.get("surprisal_file") or "")
        if words.suffix == ".csv" and words.exists():
            table = wandb.Table(dataframe=pd.read_csv(words))
            self.run.log({"words": table})
            if {"surprisal_bits", "mean_rt"} <= set(table.columns):
                self.run.log({"surprisal_rt": wandb.plot.scatter(table, "surprisal_bits", "mean_rt",
                                                                 title="surprisal (bits) vs mean reading time")})
        suites = result.get("per_suite") or {}
        if suites:
            self.run.log({"per_suite": wandb.Table(columns=["suite", "accuracy"],
                                                   data=[[k, v] for k, v in suites.items()])})



def mark_failed(run, err: BaseException) -> int:
    """Say in the run why it stopped (`error`, tag failed or interrupted); returns its exit code."""
    from brainalign.plumbing import interrupt

    if isinstance(err, (KeyboardInterrupt, interrupt.Interrupted)):
        stopped = interrupt.as_interrupted(err)
        code, tag, message = stopped.code, "interrupted", stopped.message()
    else:
        code, tag, message = 1, "failed", f"{type(err).__name__}: {err}"
    run.summary["error"] = message
    run.tags = tuple(run.tags or ()) + (tag,)
    return code


class FinetuneTracker:
    """W&B mirror of a fine-tuning run: the Trainer logs its curves into the run opened here, and the
    per-checkpoint scores, the table and the figure are added to it. The files in run_dir stay the record.

    One run per arm, with its id kept in run_dir/wandb_id.txt, so a resumed or follow-up command
    continues the same W&B run."""

    def __init__(self, tracking_cfg, run_dir: Path, name: str, config: dict):
        import uuid

        from brainalign.plumbing.io import write_text

        self.mode = str((tracking_cfg or {}).get("mode", "disabled"))
        self.run = None
        if self.mode == "disabled" or int(os.environ.get("RANK", "0")) != 0:
            return
        import wandb

        from brainalign.plumbing.network import wandb_mode

        self.mode = wandb_mode(self.mode)
        id_file = run_dir / "wandb_id.txt"
        run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:12]
        write_text(id_file, run_id)
        # resume="allow" continues an online run; offline (wandb 0.31) it leaves an empty log, so an
        # offline restart writes a second offline-run-*-<id> folder, and `wandb sync` joins them in order.
        resume = {"resume": "allow"} if self.mode == "online" else {}
        self.run = wandb.init(project=tracking_cfg.get("project", "brainalign"), entity=tracking_cfg.get("entity"),
                              mode=self.mode, dir=str(run_dir), name=name, id=run_id, job_type="finetune",
                              group=tracking_cfg.get("group") or sweep_group(),
                              tags=list(tracking_cfg.get("tags") or []), config=config, **resume)
        self.run.define_metric("train/global_step")
        self.run.define_metric("score/*", step_metric="train/global_step")
        self.run.define_metric("score_epoch", step_metric="train/global_step")

    @property
    def enabled(self) -> bool:
        return self.run is not None

    def report_to(self) -> list[str]:
        """For TrainingArguments: the Trainer's WandbCallback reuses the run opened here."""
        return ["wandb"] if self.enabled else []

    def log_score(self, step: int, epoch: float, values: dict) -> None:
        if self.enabled:
            self.run.log({**{f"score/{k}": v for k, v in values.items()}, "score_epoch": epoch,
                          "train/global_step": step})

    def log_report(self, table_csv: Path | None, figure_png: Path | None) -> None:
        if not self.enabled:
            return
        import pandas as pd
        import wandb

        if table_csv and table_csv.exists():
            self.run.log({"finetune/table": wandb.Table(dataframe=pd.read_csv(table_csv))})
        if figure_png and figure_png.exists():
            self.run.log({"finetune/figure": wandb.Image(str(figure_png))})

    def finish(self, err: BaseException | None = None) -> None:
        """End the run; with the error that stopped the job, non-zero and saying why."""
        if self.run is not None:
            self.run.finish(exit_code=mark_failed(self.run, err) if err is not None else 0)
            self.run = None


@contextlib.contextmanager
def start(cfg, out_dir: Path, job_type: str = "score", run_id: str | None = None, replaces: str | None = None):
    """A W&B run whose files live under `out_dir/wandb`; always finished, so a sweep's next job starts clean;
    a job that raises ends it with a non-zero exit code.

    run_id (the result's settings key) makes an interrupted and resumed job the same W&B run;
    replaces names the run a recomputation (force=true) supersedes."""
    from brainalign.config import schema, typed

    t = typed(cfg.tracking, schema.TrackingConfig)
    if t.mode not in MODES:
        from brainalign.errors import ConfigError

        raise ConfigError(f"tracking.mode={t.mode!r}; choose one of {', '.join(MODES)}")
    import wandb

    from brainalign.plumbing.network import wandb_mode

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=t.project, entity=t.entity, group=t.group or sweep_group(), name=run_name(cfg),
                     job_type=job_type, tags=list(dict.fromkeys([*run_tags(cfg), *t.tags])), dir=str(out_dir),
                     mode=wandb_mode(t.mode), config=run_config(cfg, run_id, replaces),
                     id=run_id, resume="allow" if run_id else None, reinit="finish_previous")
    run.define_metric("layer/depth")
    run.define_metric("layer/*", step_metric="layer/depth")
    tracker = Tracker(run)
    code = 0
    try:
        yield tracker
    except BaseException as err:
        code = mark_failed(run, err)
        raise
    finally:
        run.finish(exit_code=code)
