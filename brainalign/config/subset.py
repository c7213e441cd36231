"""Runs on part of a data set, or with a setting that changes the score: named, so they never sit beside
other results under one name. Which keys select part of the data, and which settings name the folder, is
each benchmark's declaration (BenchmarkSpec.subset_keys, BenchmarkSpec.folder_keys)."""

import hashlib
import json

from omegaconf import DictConfig, OmegaConf

from brainalign import registry


def _declared(dataset, field: str) -> tuple[dict, dict]:
    """The dataset config as a plain dict, and its benchmark's declared `field` ({} without a benchmark)."""
    if isinstance(dataset, DictConfig):
        dataset = OmegaConf.to_container(dataset, resolve=True)
    dataset = dataset or {}
    benchmark = dataset.get("benchmark")
    return dataset, getattr(registry.benchmark(benchmark), field) if benchmark else {}


def subset_of(dataset) -> dict | None:
    """{key: value} of the subset settings that differ from the full data, or None for the full data."""
    dataset, full = _declared(dataset, "subset_keys")
    picked = {k: dataset.get(k) for k, v in full.items() if k in dataset and dataset.get(k) != v}
    return picked or None


def subset_tag(dataset) -> str:
    """'' for the full data, else '-subset-<hash>' appended to the dataset's folder name."""
    picked = subset_of(dataset)
    if not picked:
        return ""
    return "-subset-" + hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()[:8]


def _select(dataset: dict, key: str):
    for part in key.split("."):
        dataset = dataset.get(part) if isinstance(dataset, dict) else None
    return dataset


def settings_tag(dataset) -> str:
    """'' when every folder key has its default, else '-<name>-<value>' for each that differs (futrell-mode-fast)."""
    dataset, keys = _declared(dataset, "folder_keys")
    return "".join(f"-{key.rsplit('.', 1)[-1]}-{_select(dataset, key)}" for key, default in keys.items()
                   if _select(dataset, key) != default)


def perturb_tag(dataset) -> str:
    """'' for intact stimuli, else '-perturb-<perturbation>-s<seed>' (dataset.perturb, docs/controls.md); one the
    benchmark does not take is refused here, before its folder is made."""
    from brainalign.datasets.perturb import perturbation_of

    perturbation = perturbation_of(dataset)
    return "" if perturbation is None else f"-perturb-{perturbation.name}-s{perturbation.seed}"


def dataset_dir(dataset) -> str:
    """The dataset's folder name: its name, its subset's tag, its folder settings' tags and its perturbation's."""
    return f"{dataset['name']}{subset_tag(dataset)}{settings_tag(dataset)}{perturb_tag(dataset)}"
