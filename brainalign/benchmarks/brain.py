"""fMRI benchmarks scored with a cross-validated linear map per layer (Pereira2018, Blank2014, synthetic).

One benchmark may have several parts (Pereira's two experiments): each part is scored per layer and
ceiling-normalised, and the benchmark's per-layer score is the mean over parts, as Brain-Score's
parent benchmark averages its children.
"""

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.errors import ConfigError, DataMismatch
from brainalign.models.baselines import baseline_values
from brainalign.plumbing.profiling import Stages

CONFOUNDS = {"oasm": {"kind": "oasm", "sigma": 1.0}, "position": {"kind": "position"},
             "length": {"kind": "n_words"}, "n_words": {"kind": "n_words"}, "n_chars": {"kind": "n_chars"},
             "random_embedding": {"kind": "random_embedding"}}


def confound_bands(data, names) -> dict:
    """name -> [stimuli, d] confound features (baselines: from the text alone) in `data`'s row order."""
    unknown = [n for n in names if n not in CONFOUNDS]
    if unknown:
        raise ConfigError(f"metric.confounds={names}: {unknown} unknown; choose from {', '.join(CONFOUNDS)}")
    texts, order = passage_texts(data)
    return {name: in_row_order(baseline_values(passages=texts, **CONFOUNDS[name])[0], order) for name in names}


def passage_texts(data) -> tuple[list[list[str]], np.ndarray]:
    """The stimuli's texts passage by passage (what a model is fed) and, in that order, their rows."""
    rows = data.passages()
    texts = [[str(data.stimuli["text"].iloc[r]) for r in passage] for passage in rows]
    order = np.concatenate([np.asarray(p, dtype=int) for p in rows])
    if len(order) != len(data.stimuli) or len(np.unique(order)) != len(order):
        raise DataMismatch(f"{data.name}: the passages cover {len(np.unique(order))} of {len(data.stimuli)} stimuli")
    return texts, order


def in_row_order(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """[..., stimuli, d] values in passage order put back in the rows of the data."""
    X = np.empty_like(values)
    X[..., order, :] = values
    return X


def features_for(data, model: ModelProvider, ctx: RunContext, layers=None):
    """[layers, stimuli, d] aligned to `data.stimuli` rows, plus layer names and whether it was cached.
    `layers`: selectors or names; default the model config's."""
    from brainalign.activations.model import model_features

    texts, order = passage_texts(data)
    feats, hit = model_features(model, texts, ctx.cache_dir, layers=layers, progress=ctx.progress)
    return in_row_order(feats.values, order), feats.layers, hit


def score_layers(X: np.ndarray, data, metric_cfg, protocol: str | None = None, device: str | None = None) -> list:
    """One Score per layer with the configured metric (its declaration's `score`) under one protocol
    (default: the first of metric.cv)."""
    from brainalign import registry

    spec = registry.metric(metric_cfg.kind)
    if spec.score is None:
        raise ConfigError(f"metric={metric_cfg.name} does not score brain data")
    return spec.score(X, data, metric_cfg, protocol, device)


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

    raw = np.mean([p["raw"] for p in parts], axis=0)
    ceiled_parts = all(p["ceiling"] is not None for p in parts)  # no ceiling (Tuckute2024): ceiled is null
    ceiled = np.mean([p["ceiled"] for p in parts], axis=0) if ceiled_parts else None
    # per layer x split: the (ceiling-normalised) score, averaged over parts, for the cross-validated choice
    per_split = np.mean([np.asarray([s.per_split for s in p["scores"]]) / (p["ceiling"] or 1.0) for p in parts], axis=0)
    chosen = ceiled if ceiled_parts else raw
    best = best_layer([SimpleNamespace(raw=float(c), per_split=ps) for c, ps in zip(chosen, per_split)])
    i = int(best.index)
    per_subject_mean = subject_means(parts, i)
    mad = subject_mad(per_subject_mean)
    layer_mads = [subject_mad(subject_means(parts, j)) for j in range(len(layers))]
    ceiling = float(np.mean([p["ceiling"] for p in parts])) if ceiled_parts else None
    per_layer_ceiled = [float(c) for c in ceiled] if ceiled_parts else [None] * len(layers)
    return {
        "raw": float(raw[i]), "ceiled": per_layer_ceiled[i], "ceiling": ceiling,
        "best_layer": layers[i], "best_layer_index": i,
        "raw_cv": float(best.cv_raw) * (ceiling or 1.0), "ceiled_cv": float(best.cv_raw) if ceiled_parts else None,
        "n_layers": len(layers),
        "per_layer": [{"layer": name, "raw": float(r), "ceiled": c, "mad": m}
                      for name, r, c, m in zip(layers, raw, per_layer_ceiled, layer_mads)],
        "per_subject": per_subject_mean, "mad_over_subjects": mad,
        "parts": [{"name": p["name"], "ceiling": p["ceiling"], "n_stimuli": p["n_stimuli"], "n_neuroids": p["n_neuroids"],
                   "raw_per_layer": [float(x) for x in p["raw"]],
                   "unclipped_per_layer": None if p["unclipped"] is None else [float(x) for x in p["unclipped"]]}
                  for p in parts],
    }


def subject_means(parts: list[dict], layer: int) -> dict:
    """subject -> the layer's raw score for that subject, averaged over the parts the subject is in."""
    per_subject: dict[str, list[float]] = {}
    for p in parts:
        for subject, value in (p["scores"][layer].per_subject or {}).items():
            per_subject.setdefault(str(subject), []).append(float(value))
    return {s: float(np.mean(v)) for s, v in per_subject.items()}


def subject_mad(per_subject: dict) -> float | None:
    """The median absolute deviation over subjects (None for fewer than two)."""
    if len(per_subject) < 2:
        return None
    from scipy.stats import median_abs_deviation

    return float(median_abs_deviation(list(per_subject.values())))


def score_part(data, X, metric_cfg, ceiled: bool = True, device: str | None = None, score=None) -> dict:
    """Score every layer of X ([layers, n, d], or a list of such blocks of different widths, e.g. the
    layers and the localized `language_network`); ceiled=False for a benchmark without a ceiling.
    score: what scores a block (default `score_layers`; the brain-to-brain reference has its own)."""
    from brainalign.benchmarks.protocols import protocol_names, protocol_splits
    from brainalign.metrics import ceiling_normalize
    from brainalign.metrics.protocols import describe_splits

    from brainalign import registry

    spec = registry.metric(metric_cfg.kind)
    ceiling = data.ceiling if spec.ceiled else 1.0
    ceiled = ceiled and ceiling is not None  # none to be had (data.ceiling_source says why): ceiled is null
    blocks = X if isinstance(X, list) else [X]
    names = protocol_names(metric_cfg) if spec.protocols else [None]
    protocols = {}
    for name in names:  # every protocol from the same features
        scores = [s for block in blocks for s in (score or score_layers)(block, data, metric_cfg, name, device)]
        raw = np.array([s.raw for s in scores])
        entry = {"scores": scores, "raw": raw, "ceiled": None, "unclipped": None}
        if ceiled:
            c, unclipped = ceiling_normalize(raw, ceiling)
            entry.update(ceiled=np.asarray(c), unclipped=np.asarray(unclipped))
        if name is not None:
            entry["splits"] = describe_splits(protocol_splits(name, data, metric_cfg))
        protocols[name] = entry
    first = protocols[names[0]]
    out = {"name": data.name, **{k: first[k] for k in ("scores", "raw", "ceiled", "unclipped")},
           "ceiling": float(ceiling) if ceiled else None, "ceiling_source": getattr(data, "ceiling_source", None),
           "n_stimuli": int(data.responses.shape[0]), "n_neuroids": int(data.responses.shape[1])}
    if names != [None]:
        out["protocols"] = protocols
    return out


@dataclass
class BrainBenchmark:
    name: str
    load: object  # () -> list[BrainData]
    metric_cfg: object
    ceiled: bool = True  # False: the benchmark has no ceiling (Tuckute2024); ceiled scores are null
    perturb: object = None  # a datasets.perturb.Perturbation of the stimuli (dataset.perturb), or None

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.benchmarks.brain_reference import is_reference

        if is_reference(model.cfg):
            return self.run_reference(model, ctx.device)
        from brainalign.models.localize import with_language_network

        stages = Stages()
        with stages("load"):  # data, and a computed ceiling (Blank's) when configured
            datas = self.load()
            if self.perturb is not None:   # the texts changed before presentation, the responses kept
                datas = [self.perturb.apply(d) for d in datas]
        parts, layers, hits, localizer, inputs = [], None, [], None, []
        for data in datas:
            with stages("extraction"):
                X, layers, hit = features_for(data, model, ctx)
                X, layers, localizer = with_language_network(  # model.localize: one more pseudo-layer
                    X, layers, model, ctx.cache_dir, lambda names, data=data: features_for(data, model, ctx, names)[:2])
            hits.append(hit)
            with stages("metric"):
                parts.append(score_part(data, X, self.metric_cfg, ceiled=self.ceiled, device=ctx.device))
            inputs.append((data, X))
        result = summarize(parts, layers)
        if "protocols" in result:   # what a paired comparison of two results needs (brainalign.metrics.compare)
            result["comparison"] = comparison_arrays(self.name, inputs, parts, result, layers, self.metric_cfg)
        result["synthetic"] = any(d.synthetic for d in datas)
        if localizer:
            result["localizer"] = localizer
        if self.perturb is not None:
            result["perturb"] = self.perturb.describe()
        result.update(stages.report(ctx.device, model, features_cached=all(hits)))
        return result

    def run_reference(self, model: ModelProvider, device: str) -> dict:
        """model=brain-to-brain: each subject predicted from the others (brainalign/benchmarks/brain_reference.py)."""
        from brainalign.benchmarks.brain_reference import LAYER, other_subjects_scores

        stages = Stages()
        with stages("load"):
            datas = self.load()
        with stages("metric"):
            parts = [score_part(data, data.responses[None], self.metric_cfg, ceiled=self.ceiled, device=device,
                                score=other_subjects_scores) for data in datas]
        result = summarize(parts, [LAYER])
        result["synthetic"] = any(d.synthetic for d in datas)
        result.update(stages.report(device, model, features_cached=True))
        return result


def comparison_arrays(benchmark, inputs, parts, result, layers, metric_cfg) -> dict:
    """protocol -> the keyword arguments of `save_comparison_arrays`: every layer's split x neuroid r,
    the splits and the best layer's design (its features reduced to their row geometry, the responses,
    a unit per stimulus: its group) that the dual bootstrap refits with the metric's settings."""
    from brainalign.benchmarks.protocols import metric_arguments, protocol_splits
    from brainalign.metrics.crossval import row_basis
    from brainalign.metrics.dual_bootstrap import Design
    from brainalign.metrics.reduce import random_projection

    metric = {**metric_arguments(metric_cfg), "backend": "numpy"}   # only metrics with protocols come here
    if metric["alphas"] is not None:
        metric["alphas"] = [float(a) for a in metric["alphas"]]       # a config list, stored as JSON
    # a random projection is fixed, not fitted: the design holds the projected features instead
    projection = (metric["n_components"], metric["reduce_seed"]) if metric["reduce"] == "random-projection" else None
    if projection:
        metric.update(n_components=None, reduce=None)
    out = {}
    for name, summary in result["protocols"].items():
        best = int(summary["best_layer_index"])
        cparts = []
        for (data, X), part in zip(inputs, parts):
            splits = protocol_splits(name, data, metric_cfg)
            scores = part["protocols"][name]["scores"]
            entry = {"name": part["name"], "r": np.stack([s.per_split_neuroid for s in scores]),
                     "subjects": np.asarray(data.neuroids["subject"], dtype=str),
                     "ceiling": part["ceiling"] if part["ceiling"] is not None else 1.0,
                     "tests": [test for _, test in splits]}
            block = X if not isinstance(X, list) else None
            if block is not None and best < len(block):
                features = block[best] if not projection else random_projection(block[best][None], *projection)[0]
                entry["design"] = Design(row_basis(features), data.responses,
                                         data.stimuli[data.group_by].astype(str).to_numpy(), splits)
            cparts.append(entry)
        out[name] = dict(benchmark=benchmark, protocol=name, layers=layers, best_layer=best, parts=cparts,
                         metric=metric)
    return out


def metric_ceiling(data, metric_cfg, cache_dir, fit="curve_fit") -> float:
    """Brain-Score's ExtrapolationCeiling (all subject subsets, every subject held out) of the data,
    scored with the benchmark's own metric; cached by a hash of the data, the metric and the settings."""
    from types import SimpleNamespace as Row

    from omegaconf import OmegaConf

    from brainalign.benchmarks.ceilings import cached_ceiling
    from brainalign.benchmarks.reduction import without_reduction

    metric_cfg = without_reduction(metric_cfg)   # the data's ceiling, whatever the model's features
    settings = OmegaConf.to_container(metric_cfg, resolve=True) if OmegaConf.is_config(metric_cfg) else dict(metric_cfg)

    def metric(source, target):
        pool = Row(name=data.name, stimuli=data.stimuli, responses=target,
                   neuroids={"subject": np.zeros(target.shape[1], dtype=str)})
        return score_layers(source[None], pool, metric_cfg)[0]

    name = "brain.score_layers:" + ",".join(f"{k}={settings[k]}" for k in sorted(settings))
    return cached_ceiling(cache_dir, data.responses, data.subjects, metric, metric_name=name, variant="blank",
                          n_bootstraps=100, fit=fit).ceiling
