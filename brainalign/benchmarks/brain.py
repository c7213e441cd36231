"""fMRI benchmarks scored with a cross-validated linear map per layer (Pereira2018, Blank2014, synthetic).

One benchmark may have several parts (Pereira's two experiments): each part is scored per layer and
ceiling-normalised, and the benchmark's per-layer score is the mean over parts, as Brain-Score's
parent benchmark averages its children.
"""

import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext, register
from brainalign.errors import ConfigError, DataMismatch
from brainalign.models.baselines import model_features

def features_for(data, model: ModelProvider, ctx: RunContext):
    """[layers, stimuli, d] aligned to `data.stimuli` rows, plus layer names and whether it was cached."""
    rows = data.passages()
    texts = [[str(data.stimuli["text"].iloc[r]) for r in passage] for passage in rows]
    feats, hit = model_features(model, texts, ctx.cache_dir, progress=ctx.progress)
    order = np.concatenate([np.asarray(p, dtype=int) for p in rows])
    if len(order) != len(data.stimuli) or len(np.unique(order)) != len(order):
        raise DataMismatch(f"{data.name}: the passages cover {len(np.unique(order))} of {len(data.stimuli)} stimuli")
    X = np.empty_like(feats.values)
    X[:, order] = feats.values
    return X, feats.layers, hit


def score_layers(X: np.ndarray, data, metric_cfg, protocol: str | None = None) -> list:
    """One Score per layer with the configured metric under one protocol (default: the first of metric.cv)."""
    from brainalign.metrics.protocols import protocol_names, protocol_splits, score_protocol

    protocol = protocol or protocol_names(metric_cfg)[0]
    splits = protocol_splits(protocol, data, metric_cfg)
    return score_protocol(X, data.responses, splits, metric_cfg, np.asarray(data.neuroids["subject"], dtype=str))


def summarize(parts: list[dict], layers: list[str]) -> dict:
    """Combine per-part layer scores into the benchmark's result (shared flat keys).

    With several protocols (metric.cv) the flat keys are the first protocol's and
    result["protocols"][name] holds each protocol's own summary."""
    result = _summarize(parts, layers)
    if all("protocols" in p for p in parts):
        result["protocols"] = {name: _summarize([{**p, **p["protocols"][name]} for p in parts], layers)
                               for name in parts[0]["protocols"]}
        for name, summary in result["protocols"].items():
            summary["splits"] = parts[0]["protocols"][name]["splits"]
            summary.pop("n_layers", None)
        result["protocol"] = next(iter(result["protocols"]))
    sources = [p["ceiling_source"] for p in parts if p.get("ceiling_source")]
    if sources:
        result["ceiling_source"] = sources[0] if len(sources) == 1 else sources
    return result


def _summarize(parts: list[dict], layers: list[str]) -> dict:
    from brainalign.metrics import best_layer

    ceiled = np.mean([p["ceiled"] for p in parts], axis=0)
    raw = np.mean([p["raw"] for p in parts], axis=0)
    # per layer x split: ceiling-normalised score, averaged over parts, for the cross-validated choice
    per_split = np.mean([np.asarray([s.per_split for s in p["scores"]]) / p["ceiling"] for p in parts], axis=0)
    best = best_layer([SimpleNamespace(raw=float(c), per_split=ps) for c, ps in zip(ceiled, per_split)])
    i = int(best.index)
    per_subject: dict[str, list[float]] = {}
    for p in parts:
        for subject, value in (p["scores"][i].per_subject or {}).items():
            per_subject.setdefault(str(subject), []).append(float(value))
    per_subject_mean = {s: float(np.mean(v)) for s, v in per_subject.items()}
    mad = None
    if len(per_subject_mean) > 1:
        from scipy.stats import median_abs_deviation

        mad = float(median_abs_deviation(list(per_subject_mean.values())))
    ceiling = float(np.mean([p["ceiling"] for p in parts]))
    return {
        "raw": float(raw[i]), "ceiled": float(ceiled[i]), "ceiling": ceiling,
        "best_layer": layers[i], "best_layer_index": i,
        "raw_cv": float(best.cv_raw) * ceiling, "ceiled_cv": float(best.cv_raw),
        "n_layers": len(layers),
        "per_layer": [{"layer": name, "raw": float(r), "ceiled": float(c)} for name, r, c in zip(layers, raw, ceiled)],
        "per_subject": per_subject_mean, "mad_over_subjects": mad,
        "parts": [{"name": p["name"], "ceiling": p["ceiling"], "n_stimuli": p["n_stimuli"], "n_neuroids": p["n_neuroids"],
                   "raw_per_layer": [float(x) for x in p["raw"]], "unclipped_per_layer": [float(x) for x in p["unclipped"]]}
                  for p in parts],
    }


def score_part(data, X: np.ndarray, metric_cfg) -> dict:
    from brainalign.metrics import ceiling_normalize

    from brainalign.metrics.protocols import describe_splits, protocol_names, protocol_splits, score_protocol

    if data.ceiling is None:
        raise ConfigError(f"{data.name} has no ceiling")
    subjects = np.asarray(data.neuroids["subject"], dtype=str)
    protocols = {}
    for name in protocol_names(metric_cfg):  # every protocol from the same features
        splits = protocol_splits(name, data, metric_cfg)
        scores = score_protocol(X, data.responses, splits, metric_cfg, subjects)
        raw = np.array([s.raw for s in scores])
        ceiled, unclipped = ceiling_normalize(raw, data.ceiling)
        protocols[name] = {"scores": scores, "raw": raw, "ceiled": np.asarray(ceiled),
                           "unclipped": np.asarray(unclipped), "splits": describe_splits(splits)}
    first = protocols[next(iter(protocols))]
    return {"name": data.name, **{k: first[k] for k in ("scores", "raw", "ceiled", "unclipped")},
            "protocols": protocols, "ceiling": float(data.ceiling),
            "ceiling_source": getattr(data, "ceiling_source", None),
            "n_stimuli": int(data.responses.shape[0]), "n_neuroids": int(data.responses.shape[1])}


@dataclass
class BrainBenchmark:
    name: str
    load: object  # () -> list[BrainData]
    metric_cfg: object

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        t0 = time.monotonic()
        datas = self.load()
        t_data = time.monotonic()
        parts, layers, hits = [], None, []
        for data in datas:
            X, layers, hit = features_for(data, model, ctx)
            hits.append(hit)
            parts.append(score_part(data, X, self.metric_cfg))
        t_feat = time.monotonic()
        result = summarize(parts, layers)
        result["synthetic"] = any(d.synthetic for d in datas)
        result["timings"] = {"data_s": t_data - t0, "features_and_metric_s": t_feat - t_data,
                             "features_cached": all(hits)}
        return result


@register("pereira")
def build_pereira(dataset_cfg, metric_cfg) -> BrainBenchmark:
    from brainalign.benchmarks.ceilings import pereira_ridge_ceiling
    from brainalign.datasets.pereira import load_pereira
    from brainalign.metrics.protocols import metric_kind

    def load():
        datas = []
        for exp in dataset_cfg.experiments:
            data = load_pereira(exp, path=dataset_cfg.get("path"), url=dataset_cfg.url, sha1=dataset_cfg.sha1,
                                cache_dir=dataset_cfg.get("cache_dir"), group_by=dataset_cfg.get("group_by", "passage_label"))
            if metric_kind(metric_cfg) == "ridge":  # Pereira2018.<exp>-ridge: its own stored ceiling
                data.ceiling, data.ceiling_source = pereira_ridge_ceiling(exp, dataset_cfg)
            else:
                data.ceiling_source = {"kind": "stored", "metric": "linear", "value": float(data.ceiling),
                                       "note": "Brain-Score's Pereira2018-linear ceiling"}
            datas.append(data)
        return datas
    return BrainBenchmark(str(dataset_cfg.name), load, metric_cfg)


@register("blank")
def build_blank(dataset_cfg, metric_cfg) -> BrainBenchmark:
    from brainalign.benchmarks.ceilings import blank_ceiling
    from brainalign.datasets.blank import load_blank

    def load():
        data = load_blank(path=dataset_cfg.get("path"), url=dataset_cfg.url, sha1=dataset_cfg.sha1,
                          cache_dir=dataset_cfg.get("cache_dir"), order=dataset_cfg.get("order", "stored"))
        data.ceiling, data.ceiling_source = blank_ceiling(data, dataset_cfg, metric_cfg)
        return [data]
    return BrainBenchmark(str(dataset_cfg.name), load, metric_cfg)


def computed_ceiling(data, cache_dir) -> float:
    """Brain-Score's extrapolation ceiling (spec 2.4) of the data itself, cached by a hash of the data."""
    from brainalign.metrics import linear_predictivity
    from brainalign.metrics.extrapolation import cached_ceiling

    return cached_ceiling(cache_dir, data.responses, data.subjects,
                          lambda s, t: linear_predictivity(s, t, n_splits=10, train_size=0.9, random_state=1),
                          metric_name="linear_pearsonr-shufflesplit-10x0.9-seed1", variant="blank",
                          n_bootstraps=100, fit="curve_fit").ceiling
