"""Wehbe2014 benchmark: Harry Potter chapter 9 fMRI scored with the study's own pipeline.

dataset (brainalign/datasets/wehbe.py) -> word features of every layer, each word with its context
(brainalign/activations/words.py, cached) -> the pipeline per layer (brainalign/metrics/wehbe.py)
-> ceiling (stored 0.104, or Brain-Score's extrapolation over subjects) -> result.
"""

import logging
import time
from dataclasses import fields
from types import SimpleNamespace

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.config.subset import subset_of
from brainalign.errors import ConfigError
from brainalign.config.schema import WehbeConfig, WehbeMetricConfig
from brainalign.plumbing.profiling import Stages
from brainalign.registry import BenchmarkSpec, MetricSpec, declare, declare_metric

log = logging.getLogger(__name__)
WORDS = 5176  # Wehbe2014 chapter 9 words (task=plan when the words are not on disk)



def _ceiled(raw: float, ceiling: float | None) -> float | None:
    """raw / ceiling clipped to [0, 1] (Brain-Score); None without a ceiling."""
    from brainalign.metrics import ceiling_normalize

    return None if ceiling is None else ceiling_normalize(raw, ceiling)[0]


def pipeline_settings(cfg):
    """The WehbeSettings of `dataset.pipeline` (a config or dict; unknown keys are a ConfigError)."""
    from brainalign.metrics.wehbe import WehbeSettings

    cfg = dict(cfg or {})
    known = {f.name for f in fields(WehbeSettings)}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ConfigError(f"wehbe pipeline: unknown setting(s) {unknown}; known: {sorted(known)}")
    for key in ("delays", "alphas"):
        if key in cfg:
            if isinstance(cfg[key], str):
                raise ConfigError(f"wehbe pipeline: give {key} as a list of numbers, not {cfg[key]!r}")
            cfg[key] = tuple(cfg[key])
    return WehbeSettings(**cfg)


class InterSubjectMetric:
    """One subject's voxels predicted from other subjects' voxels at the same TRs, with the pipeline's
    folds, trims, z-scoring and nested-CV ridge: [n_folds, n_target_voxels] Pearson r."""

    def __init__(self, timing, settings):
        from brainalign.metrics.wehbe import outer_folds

        self.folds, self.settings = outer_folds(timing.kept_runs, settings), settings

    def __call__(self, source, target):
        from brainalign.metrics.ridge_per_target import pearson_columns, ridge_nested_cv, zscore_columns

        out = []
        for fold in self.folds:
            fit = ridge_nested_cv(zscore_columns(source[fold.train]), zscore_columns(target[fold.train]),
                                  zscore_columns(source[fold.test]), alphas=self.settings.alphas,
                                  n_splits=self.settings.inner_folds)
            out.append(pearson_columns(fit.predictions, zscore_columns(target[fold.test])))
        return np.array(out)


class WehbeBenchmark:
    def __init__(self, dataset_cfg, metric_cfg=None):
        self.cfg, self.metric_cfg = dataset_cfg, metric_cfg
        self.settings = pipeline_settings(dataset_cfg.pipeline)
        self.ceiling_cfg = dataset_cfg.ceiling
        if self.ceiling_cfg.mode not in ("stored", "compute"):
            raise ConfigError(f"dataset.ceiling.mode={self.ceiling_cfg.mode!r}; choose stored or compute")
        self.context_words = int(dataset_cfg.context_words)
        if self.context_words < 0:
            raise ConfigError("dataset.context_words must be >= 0")

    def ceiling(self, data, ctx: RunContext) -> tuple[float, dict]:
        c = self.ceiling_cfg
        if c.mode == "stored":
            subset = subset_of(self.cfg)
            if subset:
                return None, {"mode": "none", "why": f"the stored ceiling is for all voxels and subjects; this run "
                              f"scores a subset ({subset}); dataset.ceiling.mode=compute computes one on it"}
            return float(c.value), {"mode": "stored"}
        from brainalign.benchmarks.ceilings import cached_ceiling

        cols = _subsample(data.subjects, c.max_voxels)
        kwargs = dict(variant=c.variant, n_bootstraps=int(c.n_bootstraps), fit=c.fit, seed=0)
        result = cached_ceiling(ctx.cache_dir, data.responses[:, cols], data.subjects[cols],
                                InterSubjectMetric(data.timing, self.settings),
                                metric_name=f"wehbe-intersubject:{self.settings.as_dict()}",
                                progress=ctx.progress, **kwargs)
        return result.ceiling, {"mode": "compute", "n_voxels": int(len(cols)), **kwargs}

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.activations.words import cached_word_features
        from brainalign.datasets.wehbe import load_wehbe
        from brainalign.metrics import best_layer
        from brainalign.metrics.wehbe import aggregate, score_layer

        timings = {}
        t0 = time.perf_counter()
        data = load_wehbe(self.cfg)
        log.info("%s", data)
        t1 = time.perf_counter()
        layers = self.cfg.layers or model.cfg.layers
        feats = cached_word_features(model, data.words, context_words=self.context_words, layers=list(layers),
                                     cache_dir=ctx.cache_dir, batch_size=int(self.cfg.batch_size),
                                     progress=ctx.progress)
        t2 = time.perf_counter()
        per_layer, per_fold = [], []
        for i, name in enumerate(feats.layers):
            agg = aggregate(score_layer(feats.values[i], data.responses, data.timing, self.settings), data.subjects)
            per_layer.append(agg)
            per_fold.append(agg.per_fold)
            log.info("layer %s: r = %.4f", name, agg.raw)
        t3 = time.perf_counter()
        ceiling, ceiling_settings = self.ceiling(data, ctx)
        stages = Stages()
        for name, seconds in (("load", t1 - t0), ("extraction", t2 - t1), ("metric", t3 - t2),
                              ("ceiling", time.perf_counter() - t3)):
            stages.add(name, seconds)
        report = stages.report(ctx.device, model)
        timings.update(report["timings"], stages_total_s=round(time.perf_counter() - t0, 3))
        raws = np.array([a.raw for a in per_layer])
        best = int(np.nanargmax(raws))
        # the layer chosen for each outer fold on the other folds (one fold when r_over=concatenated)
        raw_cv = (best_layer([SimpleNamespace(raw=r, per_split=f) for r, f in zip(raws, per_fold)]).cv_raw
                  if len(per_fold[0]) > 1 else float(raws[best]))
        return dict(
            raw=float(raws[best]), ceiled=_ceiled(raws[best], ceiling), ceiling=ceiling,
            best_layer=feats.layers[best], best_layer_index=best, raw_cv=raw_cv,
            ceiled_cv=_ceiled(raw_cv, ceiling),
            n_layers=len(feats.layers), synthetic=bool(data.synthetic),
            per_layer=[dict(layer=name, raw=a.raw, ceiled=_ceiled(a.raw, ceiling), mad=a.mad)
                       for name, a in zip(feats.layers, per_layer)],
            per_subject=per_layer[best].per_subject, mad_over_subjects=per_layer[best].mad,
            settings=dict(  # what run.py records (dataset, metric) plus what was resolved here
                dataset=_plain(self.cfg, drop=("path", "cache_dir", "words_path")), metric=_plain(self.metric_cfg),
                resolved=dict(pipeline=self.settings.as_dict(), context_words=self.context_words,
                              layers=list(layers), roi=data.roi, subjects=data.subject_names,
                              n_voxels=int(data.responses.shape[1]), n_trs=int(data.responses.shape[0]),
                              ceiling=ceiling_settings,
                              metric="the study's pipeline: PCA-10, TR means, delays, nested-CV ridge, Pearson r")),
            timings=timings, resources=report["resources"],
        )


def _plain(cfg, drop=()) -> dict:
    """A config (DictConfig or dict) as a plain dict without machine-specific keys."""
    if cfg is None:
        return {}
    try:
        from omegaconf import OmegaConf

        out = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    except ImportError:
        out = dict(cfg)
    return {k: v for k, v in out.items() if k not in drop}


def _subsample(subjects: np.ndarray, per_subject) -> np.ndarray:
    """Column indices: at most `per_subject` evenly spaced voxels of each subject (None: all)."""
    cols = []
    for s in dict.fromkeys(subjects.tolist()):
        idx = np.flatnonzero(subjects == s)
        if per_subject and len(idx) > per_subject:
            idx = idx[np.linspace(0, len(idx) - 1, int(per_subject)).round().astype(int)]
        cols.append(idx)
    return np.concatenate(cols)


def build(dataset_cfg, metric_cfg=None) -> WehbeBenchmark:
    return WehbeBenchmark(dataset_cfg, metric_cfg)


def cost(d, m, tokens_per_word: float, window: int, causal: bool) -> tuple:
    """Each word read with its `context_words` before it: the words on disk (../shared), else the documented count."""
    from brainalign.config.paths import shared_dir

    path = shared_dir() / "data" / "wehbe2014" / "stimuli_words.npy"
    n = WORDS
    if path.exists():
        n = len(np.load(path, allow_pickle=False))
    ctx = int(d.get("context_words") or 20) + 1
    return int(n * ctx * tokens_per_word), n, "words on disk" if path.exists() else "documented sizes"


WEHBE = declare_metric(MetricSpec("wehbe", WehbeMetricConfig, kinds=()))
SPEC = declare(BenchmarkSpec(
    name="wehbe", kind="brain", schema=WehbeConfig, build=build,
    default_metric="wehbe", metrics=("wehbe",), study_metric="wehbe",
    subset_keys={"max_voxels": None, "subjects": list("FHIJKLMN")},
    ceiling="stored", ceiling_missing="the study's stored 0.104, or computed over subjects (dataset.ceiling.mode=compute)",
    locations=("path", "words_path"), data_files=("path", "words_path"), cost=cost, study_column=2))
