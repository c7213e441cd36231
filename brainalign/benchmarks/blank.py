"""Blank2014 (Brain-Score's Blank2014-linear / -ridge): 8 stories, 1,317 TRs, 60 language fROIs; its ceiling
is computed from the data with the benchmark's own metric (conf/dataset/blank.yaml)."""

from brainalign.benchmarks.brain import BrainBenchmark
from brainalign.benchmarks.cost import documented_groups, passage_cost
from brainalign.config.schema import BlankConfig
from brainalign.registry import PERTURBATIONS, BenchmarkSpec, declare

SIZE = dict(groups=8, parts=1317, words=4 * 1317)  # 8 stories; ~4 words per 2 s fragment (estimate)


def build(dataset_cfg, metric_cfg) -> BrainBenchmark:
    from brainalign.benchmarks.ceilings import blank_ceiling
    from brainalign.datasets.blank import load_blank

    def load():
        data = load_blank(path=dataset_cfg.get("path"), url=dataset_cfg.url, sha1=dataset_cfg.sha1,
                          cache_dir=dataset_cfg.get("cache_dir"), order=dataset_cfg.get("order", "stored"))
        data.ceiling, data.ceiling_source = blank_ceiling(data, dataset_cfg, metric_cfg)
        return [data]
    return BrainBenchmark(str(dataset_cfg.name), load, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    return passage_cost(documented_groups(**SIZE, tokens_per_word=tokens_per_word), causal, window, "documented sizes")


SPEC = declare(BenchmarkSpec(
    name="blank", kind="brain", schema=BlankConfig, build=build,
    default_metric="linear", study_metric="linear-2023",
    ceiling="computed", ceiling_missing="computed from the data (dataset.ceiling=brainscore|stored|compute|none|<value>)",
    locations=("path", "url", "cache_dir"), data_files=("path",), cost=cost, study_column=1,
    perturbations=PERTURBATIONS))
