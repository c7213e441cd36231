"""Runs on part of a data set: named, so they never sit beside full-data results under one name."""

import hashlib
import json

from omegaconf import DictConfig, OmegaConf

# benchmark -> the dataset keys that select part of the data, with their full-data values
SUBSET_KEYS = {
    "futrell": {"stories": None, "max_words": None},
    "wehbe": {"max_voxels": None, "subjects": list("FHIJKLMN")},
    "synthetic": {"n_passages": 40},
    "syntaxgym": {"max_items": None},
}


def subset_of(dataset) -> dict | None:
    """{key: value} of the subset settings that differ from the full data, or None for the full data."""
    if isinstance(dataset, DictConfig):
        dataset = OmegaConf.to_container(dataset, resolve=True)
    full = SUBSET_KEYS.get((dataset or {}).get("benchmark"), {})
    picked = {k: dataset.get(k) for k, v in full.items() if k in dataset and dataset.get(k) != v}
    return picked or None


def subset_tag(dataset) -> str:
    """'' for the full data, else '-subset-<hash>' appended to the dataset's folder name."""
    picked = subset_of(dataset)
    if not picked:
        return ""
    return "-subset-" + hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()[:8]
