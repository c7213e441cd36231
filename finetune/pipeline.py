"""`task=finetune`: check everything, train one arm, score its checkpoints, report all arms."""

import json
import logging
import os
from functools import partial
from pathlib import Path

from omegaconf import OmegaConf

from brainalign.app.tracking import FinetuneTracker
from brainalign.errors import ConfigError
from finetune import checkpoints, checks, report
from finetune.data import Collator, PromptFormat, SupervisedDataset, build_examples, load_records
from finetune.train import checkpoint_dirs, train
from brainalign.plumbing.io import write_text

log = logging.getLogger(__name__)
STAGES = ("all", "train", "score", "report")
# Keys that do not change what is trained: a run may be resumed or rescored with other values.
UNTRAINED_KEYS = ("stage", "resume", "run_dir", "score", "checks")


def resolve_run_dir(cfg, out_dir: Path | None) -> Path:
    """finetune.run_dir (deterministic, so a restart finds its checkpoints), else the caller's out_dir."""
    run_dir = cfg.finetune.get("run_dir")
    if not run_dir:
        if out_dir is None:
            raise ConfigError("set finetune.run_dir (or pass out_dir) to say where the run is kept")
        return Path(out_dir)
    path = Path(os.path.expanduser(str(run_dir)))
    if not path.is_absolute():
        try:
            from hydra.utils import get_original_cwd

            path = Path(get_original_cwd()) / path
        except ValueError:  # not inside a Hydra app
            path = Path.cwd() / path
    return path


def trained_settings(cfg) -> dict:
    """Everything that decides the weights of this arm: compared when a run is resumed."""
    ft = OmegaConf.to_container(cfg.finetune, resolve=True)
    for k in UNTRAINED_KEYS:
        ft.pop(k, None)
    model = {k: cfg.model.get(k) for k in ("name", "hf_id", "path", "revision")}
    model["gguf"] = OmegaConf.to_container(cfg.model.gguf) if cfg.model.get("gguf") else None
    return {"model": model, "finetune": ft}


def _check_same_run(run_dir: Path, settings: dict) -> None:
    meta_file = run_dir / "run.json"
    if not meta_file.exists():
        return
    before = json.loads(meta_file.read_text()).get("settings")
    if before is None or before == settings or not checkpoint_dirs(run_dir):
        return
    diffs = _diff(before, settings)
    raise ConfigError(f"{run_dir} holds checkpoints trained with other settings ({'; '.join(diffs[:6])}); "
                      "resume with the same settings, or choose another finetune.run_dir")


def _diff(a, b, prefix="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [f"{prefix.rstrip('.')}: {a!r} -> {b!r}"]


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def run(cfg, out_dir: Path | None = None) -> dict:
    """Train one arm (cfg.finetune) of cfg.model, score its checkpoints, and write the report.

    Returns {run_dir, arm, mode, data, train, scored, table, figure}. Every error the user can fix is
    raised as a BrainalignError before training starts.
    """
    ft = cfg.finetune
    stage = str(ft.get("stage", "all"))
    if stage not in STAGES:
        raise ConfigError(f"finetune.stage={stage!r}; choose one of {', '.join(STAGES)}")
    if str(ft.score.get("when", "end")) not in ("end", "save", "never"):
        raise ConfigError(f"finetune.score.when={ft.score.when!r}; choose end, save or never")
    run_dir = resolve_run_dir(cfg, out_dir)
    out = {"run_dir": str(run_dir), "arm": str(ft.arm), "mode": str(ft.mode)}
    scoring = stage in ("all", "score") and (stage == "score" or ft.score.get("when", "end") != "never")
    benches = checkpoints.benchmarks(cfg) if scoring else []
    if scoring and not benches:
        log.warning("no benchmark to score checkpoints with (no dataset/metric and finetune.score.benchmarks is empty)")

    prepared = _prepare_training(cfg, run_dir) if stage in ("all", "train") else None
    if stage in ("score", "report") and not (run_dir / "run.json").exists():
        raise ConfigError(f"no fine-tuning run in {run_dir}: run finetune.stage=train (or all) first")

    settings = trained_settings(cfg)
    tracker = FinetuneTracker(cfg.get("tracking"), run_dir, name=f"{cfg.model.name}-{ft.mode}-{ft.arm}",
                      config=settings) if _is_main_process() else None
    try:
        if prepared is not None:
            on_save = (partial(_score_saved, cfg, run_dir, benches, tracker)
                       if scoring and ft.score.get("when") == "save" else None)
            out["data"] = prepared["stats"]
            out["train"] = train(cfg.model, ft, prepared["source"], prepared["tokenizer"], prepared["dataset"],
                                 prepared["collator"], run_dir, report_to=tracker.report_to() if tracker else [],
                                 run_name=f"{cfg.model.name}-{ft.mode}-{ft.arm}", on_checkpoint=on_save)
            out["train"].pop("log_history", None)
            prepared = None
        if not _is_main_process():
            return out
        if scoring and benches:
            out["scored"] = len(checkpoints.score_run(cfg, run_dir, benches, tracker))
        if stage != "train" and ft.score.get("report", True):
            csv, png = report.write_report(run_dir.parent)
            out["table"], out["figure"] = str(csv), str(png)
            if tracker:
                tracker.log_report(csv, png)
            print(f"[brainalign] fine-tuning done: table {csv}, figure {png}", flush=True)
        else:
            print(f"[brainalign] fine-tuning done: {run_dir}; `python -m finetune.report {run_dir.parent}` writes "
                  "the table and figure", flush=True)
    except BaseException as err:   # the W&B run says the job failed or was interrupted
        if tracker:
            tracker.finish(err)
        raise
    if tracker:
        tracker.finish()
    return out


def _score_saved(cfg, run_dir, benches, tracker, ckpt) -> None:
    """Score the checkpoint the trainer has just saved (finetune.score.when=save)."""
    for point in checkpoints.points(run_dir, include_base=False):
        if point.path == ckpt:
            checkpoints.score_point(cfg, run_dir, benches, point, tracker)


def _prepare_training(cfg, run_dir: Path) -> dict:
    """All the checks, then the tokenised data. Nothing is trained and no weights are loaded here."""
    from transformers import AutoTokenizer

    from brainalign.models.load import model_source

    ft = cfg.finetune
    name = str(cfg.model.get("name"))
    fmt = PromptFormat.from_cfg(ft.format)
    records = load_records(ft.data)
    source = model_source(cfg.model)
    checks.check_source(source, name)
    facts = checks.model_facts(cfg.model, source)
    checks.check_mode(ft, facts, name)
    checks.check_batch(ft, checks.world_size())
    kwargs = {"gguf_file": source["gguf_file"]} if source["gguf_file"] else {}
    if source["hub"] and cfg.model.get("revision"):
        kwargs["revision"] = cfg.model.revision
    tokenizer = AutoTokenizer.from_pretrained(source["path"] or source["hub"], **kwargs)
    tokenizer.padding_side = "right"
    checks.check_tokenizer(tokenizer, name)
    settings = trained_settings(cfg)
    _check_same_run(run_dir, settings)

    examples, stats = build_examples(records, fmt, tokenizer, int(ft.data.max_length))
    log.info("%s arm: %s", ft.arm, stats.as_dict())
    run_dir.mkdir(parents=True, exist_ok=True)
    if _is_main_process():
        meta = {"arm": str(ft.arm), "mode": str(ft.mode), "model": name, "n_params": facts.n_params,
                "data": stats.as_dict(), "settings": settings}
        write_text(run_dir / "run.json", json.dumps(meta, indent=1, default=str))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return {"source": source, "tokenizer": tokenizer, "dataset": SupervisedDataset(examples),
            "collator": Collator(pad_id=pad), "stats": stats.as_dict()}
