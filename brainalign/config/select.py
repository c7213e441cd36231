"""One rule for dataset and metric: a dataset declares the metrics it supports (first = its default)."""

from brainalign.errors import ConfigError

AUTO, STUDY = "auto", "study"


def select_metric(metric: str, supported: list[str] | None, study_metric: str | None = None,
                  dataset: str = "this dataset") -> str:
    """The metric that will run: auto = the dataset's default, study = what Aw et al. (2024) used."""
    if not supported:
        return metric
    if metric == AUTO:
        return supported[0]
    if metric == STUDY:
        if not study_metric:
            raise ConfigError(f"metric=study: {dataset} has no study metric; choose one of {', '.join(supported)}")
        return study_metric
    if metric not in supported:
        raise ConfigError(f"{dataset} cannot be scored with metric={metric}; it supports: {', '.join(supported)}")
    return metric
