"""One rule for dataset and metric: a benchmark's declaration says which metric kinds it takes,
its default (metric=auto) and the study's (metric=study)."""

from brainalign.errors import ConfigError

AUTO, STUDY = "auto", "study"


def select_metric(metric: str, kind: str | None, spec, dataset: str = "this dataset") -> str:
    """The name of the metric that will run: auto = the benchmark's default, study = what Aw et al. (2024) used;
    any other metric must be of a kind the benchmark takes."""
    if metric == AUTO:
        return spec.default_metric
    if metric == STUDY:
        if not spec.study_metric:
            raise ConfigError(f"metric=study: {dataset} has no study metric; choose one of {', '.join(spec.accepted())}")
        return spec.study_metric
    if kind is not None and not spec.accepts(kind):
        raise ConfigError(f"{dataset} cannot be scored with metric={metric}; it supports: {', '.join(spec.accepted())}")
    return metric
