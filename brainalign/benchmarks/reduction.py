"""The feature-count control's settings (metric.n_components, metric.reduce, metric.reduce_seed) turned
into the metrics' arguments, the metric's folder name and the result's settings.

The maths is in brainalign/metrics/reduce.py; docs/controls.md says what it is for."""

from brainalign.errors import ConfigError
from brainalign.metrics.reduce import METHODS, check_reduction

KEYS = ("n_components", "reduce", "reduce_seed")


def _get(cfg, key, default=None):
    value = cfg.get(key) if hasattr(cfg, "get") else getattr(cfg, key, None)
    return default if value is None else value


def reduction_arguments(metric_cfg) -> dict:
    """n_components, reduce, reduce_seed for brainalign.metrics; a bad combination is one ConfigError."""
    k, method = _get(metric_cfg, "n_components"), _get(metric_cfg, "reduce")
    try:
        method = check_reduction(k, method)
    except ValueError:
        if k is None:
            raise ConfigError(f"metric.reduce={method} needs metric.n_components=<k> (the features kept per layer)") \
                from None
        if method is not None and method not in METHODS:
            raise ConfigError(f"metric.reduce={method}: choose one of {', '.join(METHODS)}") from None
        raise ConfigError(f"metric.n_components={k}: must be a positive integer (or null: off)") from None
    return {"n_components": None if k is None else int(k), "reduce": method,
            "reduce_seed": int(_get(metric_cfg, "reduce_seed", 0))}


def reduce_label(name: str, n_components=None, reduce=None, reduce_seed=0) -> str:
    """The metric's folder: linear, linear-pca64, ridge-rp64 (random-projection, seed 0), ridge-rp64-seed3."""
    args = reduction_arguments({"n_components": n_components, "reduce": reduce, "reduce_seed": reduce_seed})
    if args["reduce"] is None:
        return name
    if args["reduce"] == "pca":
        return f"{name}-pca{args['n_components']}"
    seed = "" if args["reduce_seed"] == 0 else f"-seed{args['reduce_seed']}"
    return f"{name}-rp{args['n_components']}{seed}"


def without_reduction(metric_cfg):
    """The metric config with the control off (a data set's own ceiling is never reduced)."""
    from omegaconf import OmegaConf, open_dict

    if _get(metric_cfg, "n_components") is None:
        return metric_cfg
    if OmegaConf.is_config(metric_cfg):
        out = metric_cfg.copy()
        with open_dict(out):
            out.n_components, out.reduce = None, None
        return out
    return {**dict(metric_cfg), "n_components": None, "reduce": None}


def result_settings(metric_settings: dict) -> dict:
    """The metric's settings as a result keys them: with the control off its keys are left out, so that
    results from before it keep their settings key."""
    if metric_settings.get("n_components") is None and metric_settings.get("reduce") is None:
        return {k: v for k, v in metric_settings.items() if k not in KEYS}
    return metric_settings
