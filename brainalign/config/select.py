"""One rule for dataset and metric: a dataset declares the metrics it supports (first = its default)."""

import re

from brainalign.errors import ConfigError

AUTO, STUDY = "auto", "study"
PROTOCOL_SUFFIX = re.compile(r"-(shuffle|group|contiguous)(\+(shuffle|group|contiguous))*$")


def base_metric(name: str) -> str:
    """The metric without the protocol suffix its name carries (linear-shuffle+group -> linear)."""
    return PROTOCOL_SUFFIX.sub("", name)


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
    if metric not in supported and base_metric(metric) not in supported:
        raise ConfigError(f"{dataset} cannot be scored with metric={metric}; it supports: {', '.join(supported)}")
    return metric
