"""Pereira2018 (Brain-Score's Pereira2018.<experiment>-linear / -ridge): sentences in passages, language
voxels; the benchmark's score is the mean over its experiments (conf/dataset/pereira*.yaml)."""

from brainalign.benchmarks.brain import BrainBenchmark
from brainalign.benchmarks.cost import documented_groups, passage_cost
from brainalign.config.schema import PereiraConfig
from brainalign.registry import PERTURBATIONS, BenchmarkSpec, declare

# documented sizes (Brain-Score's assemblies) when the stimuli are not on disk
SIZES = {"243sentences": dict(groups=24, parts=243, words=3193), "384sentences": dict(groups=96, parts=384, words=4537)}


def build(dataset_cfg, metric_cfg) -> BrainBenchmark:
    from brainalign.benchmarks.ceilings import ceiling_mode, pereira_ceiling
    from brainalign.datasets.pereira import load_pereira

    ceiling_mode(dataset_cfg, metric_cfg)  # a bad dataset.ceiling stops before any work

    def load():
        datas = []
        for exp in dataset_cfg.experiments:
            data = load_pereira(exp, path=dataset_cfg.get("path"), url=dataset_cfg.url, sha1=dataset_cfg.sha1,
                                cache_dir=dataset_cfg.get("cache_dir"), group_by=dataset_cfg.get("group_by", "passage_label"))
            data.ceiling, data.ceiling_source = pereira_ceiling(exp, data, dataset_cfg, metric_cfg)
            datas.append(data)
        return datas
    return BrainBenchmark(str(dataset_cfg.name), load, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    """Tokens per passage from the stimulus set on disk (../shared), else the documented sizes."""
    from brainalign.config.paths import shared_dir

    csv = shared_dir() / "data" / "pereira2018" / "Pereira2018_stimulus_set.csv"
    groups = []
    if csv.exists():
        import pandas as pd

        table = pd.read_csv(csv)
        for exp in d.experiments:
            rows = table[table.experiment == exp]
            for _, g in rows.groupby("passage_label", sort=True):
                groups.append([len(str(s).split()) * tokens_per_word for s in g.sentence])
        return passage_cost(groups, causal, window, "stimuli on disk")
    for exp in d.experiments:
        groups += documented_groups(**SIZES[str(exp)], tokens_per_word=tokens_per_word)
    return passage_cost(groups, causal, window, "documented sizes")


SPEC = declare(BenchmarkSpec(
    name="pereira", kind="brain", schema=PereiraConfig, build=build,
    default_metric="linear", study_metric="linear-2023",
    ceiling="stored", ceiling_missing="linear: Brain-Score's stored ceilings; ridge: its stored ridge ceiling files, "
                                      "downloaded or from dataset.ridge_ceiling_dir; one that cannot be had leaves "
                                      "the raw score with ceiled null, the reason and how to get it "
                                      "(dataset.ceiling=brainscore|stored|compute|none|<value>)",
    locations=("path", "url", "cache_dir", "ridge_ceiling_dir"), data_files=("path", "ridge_ceiling_dir"),
    cost=cost, study_column=0, perturbations=PERTURBATIONS))
