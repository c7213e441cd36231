"""Fedorenko2016 (Brain-Score's Fedorenko2016-linear-shuffle / -ridge): ECoG, 52 sentences read word by
word, ceiled by the extrapolation ceiling of the data under the same metric (conf/dataset/fedorenko2016.yaml)."""

from brainalign.benchmarks.brain import BrainBenchmark, metric_ceiling
from brainalign.benchmarks.cost import passage_cost
from brainalign.config.schema import FedorenkoConfig
from brainalign.registry import WORD_PERTURBATIONS, BenchmarkSpec, declare

SENTENCES, WORDS_PER_SENTENCE = 52, 8


def build(dataset_cfg, metric_cfg) -> BrainBenchmark:
    from brainalign.datasets.fedorenko import load_fedorenko

    def load():
        data = load_fedorenko(path=dataset_cfg.path, url=dataset_cfg.url, sha1=dataset_cfg.sha1,
                              cache_dir=dataset_cfg.cache_dir)
        data.ceiling = metric_ceiling(data, metric_cfg, dataset_cfg.cache_dir, fit=dataset_cfg.ceiling_fit)
        return [data]
    return BrainBenchmark(str(dataset_cfg.name), load, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    """Each word read with the words before it in its sentence."""
    groups = [[tokens_per_word] * WORDS_PER_SENTENCE for _ in range(SENTENCES)]
    return passage_cost(groups, causal, window, "documented sizes (52 sentences x 8 words)")


SPEC = declare(BenchmarkSpec(
    name="fedorenko2016", kind="brain", schema=FedorenkoConfig, build=build,
    default_metric="linear", exclude_metrics=("banded",),
    ceiling="computed", ceiling_missing="computed from the data with the benchmark's metric (extrapolation, cached)",
    locations=("path", "url", "cache_dir"), data_files=("path",), cost=cost,
    perturbations=WORD_PERTURBATIONS, stimulus_unit="word"))
