"""Which ceiling a brain benchmark divides by, and where it came from (result["ceiling_source"]).

Brain-Score 2.3 pairs each metric with its own ceiling:
* Pereira2018 "-linear-shuffle": the stored values 0.35378928 / 0.36343748 (extrapolated with the
  linear metric); "-ridge": ceilings extrapolated with the ridge metric, stored in the same bucket
  as `ceiling_Pereira2018_<experiment>-ridge.nc` (fetched by version id, SHA-1 checked).
* Blank2014: the ceiling is always computed from the data with the benchmark's own metric; the
  linear one is 0.21026591 (kept as a constant), the ridge one is computed (about 0.1446).

`dataset.ceiling` chooses, with one vocabulary for both: brainscore (Brain-Score's, the default) |
stored | compute (from the data, with the metric) | none (ceiled is null) | a number in (0, 1].
"""

import json
import logging
import os
import urllib.parse
from pathlib import Path

import numpy as np

from brainalign.errors import ConfigError, DataMismatch, DataUnavailable

log = logging.getLogger(__name__)

MODES = ("brainscore", "stored", "compute", "none")


def _store_folder(dataset_cfg) -> str:
    """The folder of the dataset's own url (the assemblies and the ceilings share it)."""
    return str(dataset_cfg.url).rsplit("/", 1)[0]


def read_ceiling_file(path) -> float:
    """The value of a stored Brain-Score ceiling (a scalar Score written with write_netcdf)."""
    import xarray as xr

    try:
        with xr.open_dataarray(path) as stored:
            values = np.asarray(stored.load().values, dtype=float).ravel()
    except (ValueError, OSError) as e:
        raise DataMismatch(f"cannot read the ceiling file {path}: {e}") from e
    if values.size != 1 or not np.isfinite(values[0]):
        raise DataMismatch(f"the ceiling file {path} holds {values.size} values, expected one finite number")
    return float(values[0])


def ceiling_mode(dataset_cfg, metric_cfg):
    """dataset.ceiling checked: a mode of MODES, or (value, source) for one the user chose outright
    (a number, or none)."""
    kind = str(metric_cfg.get("kind"))
    mode = dataset_cfg.get("ceiling", "brainscore")
    if isinstance(mode, (int, float)) and not isinstance(mode, bool):  # a value the user gives
        if not 0 < mode <= 1:
            raise ConfigError(f"dataset.ceiling={mode}: a given ceiling must be in (0, 1]")
        return float(mode), {"kind": "given", "metric": kind, "value": float(mode),
                             "note": "dataset.ceiling set by the user"}
    mode = str(mode)
    if mode not in MODES:
        raise ConfigError(f"dataset.ceiling={mode!r}; choose one of {', '.join(MODES)} or a number")
    if mode == "none":
        return None, {"kind": "none", "metric": kind, "note": "dataset.ceiling=none: ceiled is null"}
    return mode


def pereira_ceiling(experiment: str, data, dataset_cfg, metric_cfg) -> tuple[float | None, dict]:
    """Pereira2018's ceiling for one experiment: (value or None, source). Brain-Score's stored one by default;
    a stored ridge ceiling that cannot be had leaves the score without one (ceiled null) and says why."""
    mode = ceiling_mode(dataset_cfg, metric_cfg)
    if isinstance(mode, tuple):
        return mode
    if mode == "compute":
        return data_ceiling(data, dataset_cfg, metric_cfg, variant="pereira")
    if metric_cfg.kind != "ridge":
        return float(data.ceiling), {"kind": "stored", "metric": "linear", "value": float(data.ceiling),
                                     "note": "Brain-Score's Pereira2018-linear ceiling"}
    try:
        return pereira_ridge_ceiling(experiment, dataset_cfg)
    except DataUnavailable as e:
        if mode == "stored":
            raise
        reason = (f"{e}; or dataset.ceiling=compute to compute it from the data (then force=true)")
        log.warning("no ridge ceiling for %s: ceiled is null (%s)", experiment, reason)
        return None, {"kind": "missing", "metric": "ridge", "file": str(dataset_cfg.ridge_ceilings[experiment].file),
                      "reason": reason}


def pereira_ridge_ceiling(experiment: str, dataset_cfg, progress: bool = True) -> tuple[float, dict]:
    """Brain-Score's stored ridge ceiling of one Pereira2018 experiment: (value, source)."""
    from brainalign.datasets.store import fetch

    spec = (dataset_cfg.get("ridge_ceilings") or {}).get(experiment)
    if not spec:
        raise ConfigError(f"dataset.ridge_ceilings has no entry for {experiment}")
    folder = dataset_cfg.get("ridge_ceiling_dir")
    local = Path(os.path.expanduser(str(folder))) / str(spec.file) if folder else None
    if local is not None and not local.exists():
        raise DataUnavailable(f"dataset.ridge_ceiling_dir={folder} has no {spec.file}")
    url = f"{_store_folder(dataset_cfg)}/{spec.file}"
    if spec.get("version_id"):
        url += "?" + urllib.parse.urlencode({"versionId": spec.version_id})
    path = local or fetch(url, spec.sha1, dataset_cfg.get("cache_dir"), filename=spec.file, progress=progress,
                          config_key="dataset.ridge_ceiling_dir", config_value="/path/to/its/folder")
    value = read_ceiling_file(path)
    return value, {"kind": "stored", "metric": "ridge", "file": str(spec.file), "url": url,
                   "version_id": spec.get("version_id"), "sha1": spec.sha1, "local_path": str(local) if local else None,
                   "value": value}


def native_metric(data, metric_cfg):
    """(data, responses, subjects) -> Score under the metric's own protocol: the benchmark's metric."""
    from brainalign.benchmarks.protocols import metric_arguments, metric_kind, protocol_splits
    from brainalign.metrics.protocols import NATIVE, score_protocol

    splits = protocol_splits(NATIVE[metric_kind(metric_cfg)], data, metric_cfg)
    arguments = metric_arguments(metric_cfg)
    return lambda source, target: score_protocol(source, target, splits, **arguments)[0]


def blank_ceiling(data, dataset_cfg, metric_cfg) -> tuple[float, dict]:
    """Blank2014's ceiling for the configured metric and dataset.ceiling mode: (value, source)."""
    from brainalign.benchmarks.protocols import metric_kind

    mode = ceiling_mode(dataset_cfg, metric_cfg)
    if isinstance(mode, tuple):
        return mode
    kind = metric_kind(metric_cfg)
    if mode == "stored" or (mode == "brainscore" and kind == "linear"):
        if kind != "linear":
            raise ConfigError("dataset.ceiling=stored: Brain-Score stores no Blank2014 ceiling for metric=ridge "
                              "(its Blank2014-ridge computes it); use dataset.ceiling=brainscore or compute")
        return float(data.ceiling), {"kind": "stored", "metric": "linear", "value": float(data.ceiling),
                                     "note": "Brain-Score's Blank2014-linear ceiling, extrapolated with the linear metric"}
    if kind == "linear":  # the linear ceiling as before (same cache entry)
        value = computed_ceiling(data, dataset_cfg.cache_dir)
        return value, {"kind": "computed", "metric": "linear", "protocol": "shuffle", "value": value,
                       "method": "Brain-Score's ExtrapolationCeiling (blank variant), cached"}
    return data_ceiling(data, dataset_cfg, metric_cfg, variant="blank")


def data_ceiling(data, dataset_cfg, metric_cfg, variant: str) -> tuple[float, dict]:
    """Brain-Score's ExtrapolationCeiling of the data with the metric under its own protocol, cached:
    (value, source). `variant`: blank (every subject subset) or pereira (random subsets)."""
    from brainalign.benchmarks.protocols import metric_kind, protocol_settings
    from brainalign.metrics.protocols import NATIVE

    kind = metric_kind(metric_cfg)
    protocol = NATIVE[kind]
    settings = protocol_settings(metric_cfg, protocol)
    name = f"{kind}-{protocol}-" + "-".join(f"{k}={v}" for k, v in sorted(settings.items()))
    if kind == "ridge":
        name += "-alphas=" + ",".join(f"{a:g}" for a in np.asarray(metric_cfg.get("alphas", []), float))
    ceiling = cached_ceiling(dataset_cfg.cache_dir, data.responses, data.subjects, native_metric(data, metric_cfg),
                             metric_name=name, variant=variant, n_bootstraps=100, fit="curve_fit")
    method = f"Brain-Score's ExtrapolationCeiling ({variant} variant), cached"
    return float(ceiling.ceiling), {"kind": "computed", "metric": kind, "protocol": protocol, "settings": settings,
                                    "method": method, "value": float(ceiling.ceiling)}


def computed_ceiling(data, cache_dir) -> float:
    """Brain-Score's extrapolation ceiling (Blank2014) of the data itself, cached by a hash of the data."""
    from brainalign.metrics import linear_predictivity

    return cached_ceiling(cache_dir, data.responses, data.subjects,
                          lambda s, t: linear_predictivity(s, t, n_splits=10, train_size=0.9, random_state=1),
                          metric_name="linear_pearsonr-shufflesplit-10x0.9-seed1", variant="blank",
                          n_bootstraps=100, fit="curve_fit").ceiling


def _arrays(ceiling) -> dict:
    return dict(ceiling=ceiling.ceiling, per_neuroid=ceiling.per_neuroid, subjects=ceiling.subjects.astype(str),
                sizes=ceiling.sizes, mean_by_size=ceiling.mean_by_size, bootstrap_v0=ceiling.bootstrap_v0,
                bootstrap_tau=ceiling.bootstrap_tau, settings=json.dumps(ceiling.settings, default=str))


def _ceiling(z: dict):
    from brainalign.metrics.extrapolation import Ceiling

    return Ceiling(ceiling=float(z["ceiling"]), per_neuroid=z["per_neuroid"], subjects=z["subjects"],
                   sizes=z["sizes"], mean_by_size=z["mean_by_size"], bootstrap_v0=z["bootstrap_v0"],
                   bootstrap_tau=z["bootstrap_tau"], settings=json.loads(str(z["settings"])))


def cached_ceiling(cache_dir, responses: np.ndarray, subjects, metric, *, metric_name: str, **kwargs):
    """extrapolation_ceiling (a Ceiling), kept in `<cache_dir>/ceilings/<hash of data + metric + settings>.npz`."""
    from brainalign.plumbing.cache import Cache
    from brainalign.metrics.extrapolation import data_key, extrapolation_ceiling

    settings = {k: v for k, v in kwargs.items() if k != "progress"}
    cache = Cache(cache_dir, "ceilings", version=1)
    key = data_key(responses, subjects, metric=metric_name, **settings)
    with cache.lock(key):  # computed once when two jobs ask for it
        if (hit := cache.read(key)) is not None:
            return _ceiling(hit)
        ceiling = extrapolation_ceiling(responses, subjects, metric, **kwargs)
        ceiling.settings["metric"] = metric_name
        cache.write(key, **_arrays(ceiling))
        log.info("ceiling %.4f cached in %s", ceiling.ceiling, cache.path(key))
        return ceiling
