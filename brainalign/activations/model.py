"""A model's features for the stimuli: a baseline's computed at once from the text (no weights, nothing
to cache), a language model's extracted through the feature cache (brainalign/activations/cache.py)."""

from brainalign.activations.features import Features
from brainalign.models.baselines import baseline_values, is_baseline

BASELINE_SETTINGS = ("sigma", "max_features", "dim")  # the model config's keys `baseline_values` takes


def baseline_features(cfg, passages: list[list[str]]) -> Features:
    """Features [1, parts, d] of a baseline model config, in passage order (as `extract`)."""
    settings = {k: cfg[k] for k in BASELINE_SETTINGS if cfg.get(k) is not None}
    values, layer = baseline_values(str(cfg.get("baseline")), passages, **settings)
    return Features(values=values[None], layers=[layer])


def model_features(model, passages: list[list[str]], cache_dir, layers=None, progress: bool = True):
    """(Features, cached) of a model provider: baselines computed at once, language models via the cache."""
    if is_baseline(model.cfg):
        return baseline_features(model.cfg, passages), True
    from brainalign.activations.cache import cached_extract

    return cached_extract(model, passages, cache_dir, layers=layers, progress=progress)
