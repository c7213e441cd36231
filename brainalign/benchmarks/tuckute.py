"""Tuckute2024 (Brain-Score's Tuckute2024-<metric>): 1,000 drive/suppress sentences, each alone, the language
network as one neuroid, no ceiling: ceiled scores are null (conf/dataset/tuckute2024.yaml)."""

from brainalign.benchmarks.brain import BrainBenchmark
from brainalign.benchmarks.cost import passage_cost
from brainalign.config.schema import TuckuteConfig
from brainalign.registry import PERTURBATIONS, BenchmarkSpec, declare

SENTENCES, WORDS_PER_SENTENCE = 1000, 12


def build(dataset_cfg, metric_cfg) -> BrainBenchmark:
    from brainalign.datasets.tuckute import load_tuckute

    def load():
        return [load_tuckute(path=dataset_cfg.path, url=dataset_cfg.url, sha1=dataset_cfg.sha1,
                             cache_dir=dataset_cfg.cache_dir)]
    return BrainBenchmark(str(dataset_cfg.name), load, metric_cfg, ceiled=False)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    groups = [[WORDS_PER_SENTENCE * tokens_per_word] for _ in range(SENTENCES)]
    return passage_cost(groups, causal, window, "documented sizes (~12 words a sentence)")


SPEC = declare(BenchmarkSpec(
    name="tuckute2024", kind="brain", schema=TuckuteConfig, build=build,
    default_metric="linear", exclude_metrics=("banded",),
    ceiling="none", ceiling_missing="no ceiling: ceiled is null, raw is the score",
    locations=("path", "url", "cache_dir"), data_files=("path",), cost=cost,
    perturbations=tuple(p for p in PERTURBATIONS if p != "shuffle-sentences")))  # each sentence is alone
