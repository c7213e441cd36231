"""The scoring core: one model on one benchmark, what a result is about, and where it is stored.

Used by the app (brainalign/app/run.py), fine-tuning (finetune/) and anyone scripting brainalign; it prints
nothing and knows nothing of Hydra's command line beyond the output folder it was given.
"""

import hashlib
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from omegaconf import OmegaConf

from brainalign import registry
from brainalign.benchmarks import ModelProvider, RunContext, build
from brainalign.benchmarks.reduction import result_settings
from brainalign.config import dataset_config, metric_config, model_config, model_dir, run_subdir
from brainalign.config.subset import dataset_dir, subset_of
from brainalign.config.weights import weights_of
from brainalign.plumbing.datahash import data_hashes


def output_dir(cfg) -> Path:
    """The job's result folder: Hydra's, or <results_dir>/<model>/<dataset>/<metric> outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # not under Hydra (tests, notebooks)
        fin = (cfg.get("finetune") or {}).get("name")
        model = model_dir(cfg.model.name, OmegaConf.select(cfg, "model.chat_template", default="none"),
                          OmegaConf.select(cfg, "model.localize", default=None),
                          OmegaConf.select(cfg, "model.init", default="pretrained"),
                          OmegaConf.select(cfg, "model.init_seed", default=0),
                          OmegaConf.select(cfg, "model.revision", default=None))
        return Path(cfg.results_dir) / run_subdir(cfg.task, model, dataset_dir(cfg.dataset), cfg.metric.name, fin)


def cache_dir(cfg) -> Path:
    """Where features, surprisals, ceilings and downloads are cached (paths.cache, or cache_dir=)."""
    return Path(os.path.expanduser(str(cfg.cache_dir)))


def score_model(model_cfg, dataset_cfg, metric_cfg, cache: Path, device: str = "cpu", progress: bool = True,
                loaded=None) -> dict:
    """Score one model on one benchmark and return the result dict (no files, no tracking)."""
    bench = build(dataset_config(dataset_cfg), metric_config(metric_cfg))
    t0 = time.monotonic()
    result = bench.run(ModelProvider(model_config(model_cfg), device=device, loaded=loaded),
                       RunContext(cache_dir=Path(cache), device=device, progress=progress))
    result.setdefault("timings", {})["total_s"] = time.monotonic() - t0
    return result


def dataset_settings(dataset_cfg, spec, cache=None) -> dict:
    """The dataset's settings as a result records them: its locations (paths, URLs, cache folders) left
    out, the content hash of each data file it reads put in (`data_sha256`), so a moved file keeps a
    finished result and a changed one never returns the old score."""
    dataset = OmegaConf.to_container(dataset_cfg, resolve=True)
    hashes = data_hashes(dataset, spec.data_files, cache)
    for key in spec.locations:
        dataset.pop(key, None)
    if (dataset.get("perturb") or "none") == "none":   # intact: the key of results from before dataset.perturb
        dataset.pop("perturb", None)
        dataset.pop("perturb_seed", None)
    if hashes:
        dataset["data_sha256"] = hashes
    return dataset


def describe(cfg) -> dict:
    """Who and what a result is about: model identity, dataset, metric settings, subset, versions."""
    import numpy
    import sklearn
    import torch
    import transformers

    from brainalign import __version__
    from brainalign.models.load import fingerprint

    m = cfg.model
    spec = registry.benchmark(str(cfg.dataset.benchmark))
    return {
        "model": {**weights_of(m), "hf_id": m.hf_id, "family": m.family, "arch": m.arch,
                  "instruction_tuned": m.instruction_tuned, "pair": m.pair, "params": m.params,
                  "add_bos": m.add_bos, "chat_template": m.chat_template, "layers": list(m.layers),
                  "fingerprint": fingerprint(m),
                  "localize": m.localize},
        "dataset": cfg.dataset.name, "benchmark": cfg.dataset.benchmark, "kind": spec.kind, "metric": cfg.metric.name,
        "subset": subset_of(cfg.dataset),
        "settings": {"metric": result_settings(OmegaConf.to_container(cfg.metric, resolve=True)),
                     "dataset": dataset_settings(cfg.dataset, spec, cache_dir(cfg))},
        "versions": {"brainalign": __version__, "python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": numpy.__version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def settings_key(info: dict) -> str:
    """What makes two results comparable: the model's weights and settings, dataset and metric settings."""
    key = {"model": info["model"]["fingerprint"], "layers": info["model"]["layers"], "settings": info["settings"]}
    if info["model"].get("localize") is not None:  # only then, so results from before the localizer keep their key
        key["localize"] = info["model"]["localize"]
    blob = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
