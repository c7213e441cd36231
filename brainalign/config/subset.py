"""Runs on part of a data set: named, so they never sit beside full-data results under one name.
Which keys select part of the data is each benchmark's declaration (BenchmarkSpec.subset_keys)."""

import hashlib
import json

from omegaconf import DictConfig, OmegaConf

from brainalign import registry


def subset_of(dataset) -> dict | None:
    """{key: value} of the subset settings that differ from the full data, or None for the full data."""
    if isinstance(dataset, DictConfig):
        dataset = OmegaConf.to_container(dataset, resolve=True)
    benchmark = (dataset or {}).get("benchmark")
    full = registry.benchmark(benchmark).subset_keys if benchmark else {}
    picked = {k: dataset.get(k) for k, v in full.items() if k in dataset and dataset.get(k) != v}
    return picked or None


def subset_tag(dataset) -> str:
    """'' for the full data, else '-subset-<hash>' appended to the dataset's folder name."""
    picked = subset_of(dataset)
    if not picked:
        return ""
    return "-subset-" + hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()[:8]
