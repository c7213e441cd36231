"""A brain data set brought to brainalign from outside its code (docs/extending.md): one CSV file with a
`passage` and a `sentence` column and one column per voxel named `<subject>:<voxel>`, ceiled by a
split-half reliability over subjects. Declared once, at the end of this file."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from brainalign.benchmarks.brain import BrainBenchmark
from brainalign.benchmarks.cost import passage_cost
from brainalign.config.schema import DatasetConfig
from brainalign.datasets.brain import BrainData
from brainalign.errors import DataMismatch, DataUnavailable
from brainalign.registry import BenchmarkSpec, declare


@dataclass
class ToyConfig(DatasetConfig):
    path: Optional[str] = None           # the CSV file
    max_voxels: Optional[int] = None     # the first N voxel columns: a subset


def split_half_ceiling(responses, subjects, seed=0) -> float:
    """Median over voxels of the Spearman-Brown corrected correlation between the mean response of two
    random halves of the subjects."""
    names = np.unique(subjects)
    if len(names) < 2:
        raise DataMismatch("toy: a ceiling needs at least two subjects")
    half = np.random.default_rng(seed).permutation(names)[: len(names) // 2]
    a = responses[:, np.isin(subjects, half)].mean(axis=1)
    b = responses[:, ~np.isin(subjects, half)].mean(axis=1)
    r = float(np.corrcoef(a, b)[0, 1])
    return 2 * r / (1 + r)


def load(cfg) -> BrainData:
    if not cfg.path:
        raise DataUnavailable("dataset=toy needs dataset.path=<the CSV file>")
    table = pd.read_csv(cfg.path)
    voxels = [c for c in table.columns if ":" in c][: cfg.max_voxels]
    stimuli = pd.DataFrame({"stimulus_id": np.arange(len(table)), "text": table["sentence"],
                            "passage_label": table["passage"]})
    neuroids = pd.DataFrame({"neuroid_id": voxels, "subject": [v.split(":")[0] for v in voxels]})
    data = BrainData("toy", stimuli, table[voxels].to_numpy(float), neuroids)
    data.ceiling = split_half_ceiling(data.responses, data.subjects)
    data.ceiling_source = {"kind": "computed", "method": "split-half over subjects, Spearman-Brown",
                           "value": data.ceiling}
    return data


def build(dataset_cfg, metric_cfg) -> BrainBenchmark:
    return BrainBenchmark(str(dataset_cfg.name), lambda: [load(dataset_cfg)], metric_cfg)


def cost(d, m, tokens_per_word, window, causal):
    table = pd.read_csv(d.path)
    groups = [[len(s.split()) * tokens_per_word for s in g["sentence"]] for _, g in table.groupby("passage")]
    return passage_cost(groups, causal, window, "stimuli on disk")


SPEC = declare(BenchmarkSpec(
    name="toy", kind="brain", schema=ToyConfig, build=build, default_metric="linear",
    subset_keys={"max_voxels": None}, ceiling="computed", ceiling_missing="computed from the data (two subjects at least)",
    locations=("path",), data_files=("path",), cost=cost))
