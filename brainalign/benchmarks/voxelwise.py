"""Story listening scored voxel by voxel (LeBel2023, Narratives): the field's encoding pipeline.

data (datasets/lebel.py, datasets/narratives.py) -> every layer's features at each word (its last token,
read with `context_words` words before it: activations/words.py, cached) -> per layer and subject:
Lanczos to TRs, trims, z-score, delays, ridge per voxel with penalties chosen over whole stories
(metrics/voxelwise.py) -> per-voxel r on held-out stories -> result + voxelwise.npz.

Per layer, the mean over voxels (then subjects) of the held-out r chooses the best layer (`raw_cv`: the
layer the validation folds choose). At the best layer, per-voxel ceilings, block-permutation p and BH FDR
(benchmarks/voxelwise_results.py) give the summary score: raw and ceiled are means over the
FDR-significant voxels. voxelwise.npz keeps the per-voxel arrays; the maps are drawn beside it (`draw`).
"""

import logging
import time
from dataclasses import dataclass, field
from functools import partial
from typing import List

import numpy as np

from brainalign.benchmarks import ModelProvider, RunContext
from brainalign.config.schema import MetricConfig
from brainalign.errors import ConfigError
from brainalign.registry import MetricSpec, declare_metric

log = logging.getLogger(__name__)


@dataclass
class VoxelwiseRidgeConfig(MetricConfig):
    kind: str = "voxelwise-ridge"
    delays: List[int] = field(default_factory=lambda: [1, 2, 3, 4])   # FIR delays, in TRs
    alphas: List[float] = field(default_factory=lambda: [10.0 ** k for k in range(0, 8)])
    inner_folds: int = 5                 # groups of whole training stories left out to choose the penalties
    outer_folds: int = 5                 # folds over stories when the data set names no test story
    lanczos_window: int = 3
    backend: str = "numpy"               # numpy | torch (float64; on CUDA with device=cuda) | auto
    voxel_batch: int = 4096              # voxels held in float64 at once
    block: int = 10                      # TRs per block of the permutation test (~20 s at LeBel's TR 2 s)
    n_perm: int = 1000                   # block permutations per voxel (smallest p 1 / (n_perm + 1))
    fdr_q: float = 0.05                  # Benjamini-Hochberg level across voxels; the maps' threshold too
    perm_seed: int = 0


def check_metric(m) -> None:
    if not list(m.delays):
        raise ConfigError("metric.delays is empty; give TRs, e.g. [1,2,3,4]")
    if not list(m.alphas) or min(m.alphas) <= 0:
        raise ConfigError(f"metric.alphas={list(m.alphas)}: give positive penalties")
    for key in ("inner_folds", "outer_folds", "voxel_batch", "lanczos_window"):
        if int(getattr(m, key)) < (2 if key.endswith("folds") else 1):
            raise ConfigError(f"metric.{key}={getattr(m, key)} is too small")
    if m.backend not in ("numpy", "torch", "auto"):
        raise ConfigError(f"metric.backend={m.backend!r}; choose numpy, torch or auto")
    if int(m.block) < 1 or int(m.n_perm) < 1:
        raise ConfigError(f"metric.block={m.block}, metric.n_perm={m.n_perm}: both must be >= 1")
    if not 0 < float(m.fdr_q) < 1:
        raise ConfigError(f"metric.fdr_q={m.fdr_q}: the false discovery rate must be between 0 and 1")


def check_dataset(d) -> None:
    if int(d.trim_start) < 0 or int(d.trim_end) < 0:
        raise ConfigError("dataset.trim_start and dataset.trim_end must be >= 0")
    if int(d.context_words) < 0:
        raise ConfigError("dataset.context_words must be >= 0")
    if d.word_time not in ("onset", "middle"):
        raise ConfigError(f"dataset.word_time={d.word_time!r}; choose onset or middle")


class VoxelwiseBenchmark:
    def __init__(self, dataset_cfg, metric_cfg, load):
        from brainalign.config import metric_config

        self.cfg, self.load = dataset_cfg, load
        self.metric_cfg = metric_config(metric_cfg) if metric_cfg is not None else \
            metric_config({"name": "voxelwise-ridge", "kind": "voxelwise-ridge"})
        check_dataset(dataset_cfg)
        check_metric(self.metric_cfg)

    def features(self, model, data, ctx):
        from brainalign.activations.words import cached_word_features

        layers = list(self.cfg.layers or model.cfg.layers)
        out = {}
        for story, table in data.words.items():
            out[story] = cached_word_features(model, table["word"].tolist(), context_words=int(self.cfg.context_words),
                                              layers=layers, cache_dir=ctx.cache_dir,
                                              batch_size=int(self.cfg.batch_size), progress=ctx.progress, token="last")
        return out

    def run(self, model: ModelProvider, ctx: RunContext) -> dict:
        from brainalign.analysis.voxel_maps import write_maps
        from brainalign.benchmarks.voxelwise_results import significance
        from brainalign.metrics.voxelwise import fit_voxels, story_design, story_folds

        m, t0 = self.metric_cfg, time.perf_counter()
        data = self.load(self.cfg)
        t1 = time.perf_counter()
        folds = ([([s for s in data.stories if s not in data.test_stories], list(data.test_stories))]
                 if data.test_stories else [(tr, te) for tr, te in story_folds(data.stories, int(m.outer_folds))])
        subjects = list(data.responses)
        held = sum(len(data.responses[subjects[0]][s]) for _, test in folds for s in test)
        if int(m.block) > held // 2:   # before any work: the permutation test needs two blocks to shuffle
            raise ConfigError(f"metric.block={m.block}: the {held} held-out TRs allow blocks of at most {held // 2}")
        feats = self.features(model, data, ctx)
        names = next(iter(feats.values())).layers
        t2 = time.perf_counter()
        r = {s: np.zeros((len(names), len(data.responses[s][data.stories[0]][0]))) for s in subjects}
        cv = {s: np.zeros_like(r[s]) for s in subjects}
        best = dict(raw=-np.inf)
        for i, name in enumerate(names):
            X = {story: story_design(feats[story].values[i], data.words[story]["time"].to_numpy(), data.n_trs[story],
                                     data.tr, trim_start=data.trim_start, trim_end=data.trim_end,
                                     delays=list(m.delays), window=int(m.lanczos_window)) for story in data.stories}
            layer = {}
            for subject in subjects:
                Y = {story: _zscore32(v) for story, v in data.responses[subject].items()}
                for story in data.stories:
                    if len(X[story]) != len(Y[story]):
                        from brainalign.errors import DataMismatch

                        raise DataMismatch(f"{data.name} {story}: {len(Y[story])} response TRs after trimming but "
                                           f"{len(X[story])} feature TRs (n_trs {data.n_trs[story]}, trims "
                                           f"{data.trim_start}/{data.trim_end})")
                fits = [fit_voxels(X, Y, train, test, alphas=list(m.alphas), inner_folds=int(m.inner_folds),
                                   backend=m.backend, device=ctx.device, voxel_batch=int(m.voxel_batch))
                        for train, test in folds]
                r[subject][i] = np.mean([f.r for f in fits], axis=0)
                cv[subject][i] = np.mean([f.cv_score for f in fits], axis=0)
                layer[subject] = fits
            raw = float(np.mean([r[s][i].mean() for s in subjects]))
            log.info("layer %s: mean voxel r = %.4f", name, raw)
            if raw > best["raw"]:
                best = dict(raw=raw, index=i, fits=layer)
        t3 = time.perf_counter()
        raws = [float(np.mean([r[s][i].mean() for s in subjects])) for i in range(len(names))]
        chosen = int(np.argmax([np.mean([cv[s][i].mean() for s in subjects]) for i in range(len(names))]))
        arrays = _arrays(data, names, r, cv, best, folds)
        stats = significance(data, arrays, folds, m)
        t4 = time.perf_counter()
        title = f"{model.cfg.name} on {data.name}"
        return dict(
            raw=stats["raw"], ceiled=stats["ceiled"], ceiling=stats["ceiling"], best_layer=names[best["index"]],
            best_layer_index=best["index"], raw_cv=raws[chosen], n_layers=len(names), synthetic=bool(data.synthetic),
            per_layer=[dict(layer=n, raw=v, ceiled=None) for n, v in zip(names, raws)],
            per_subject={s: v["mean_r_significant"] for s, v in stats["voxel_summary"]["per_subject"].items()},
            ceiling_source=stats["ceiling_source"], score_over=stats["voxel_summary"]["score_over"],
            voxel_summary=stats["voxel_summary"],
            voxelwise=dict(file="voxelwise.npz", n_voxels={s: int(r[s].shape[1]) for s in subjects},
                           folds=[dict(train=tr, test=te) for tr, te in folds],
                           summary=stats["voxel_summary"]["score_over"], per_layer="mean r over all voxels",
                           best_layer_per_voxel="by the validation score (not the test r)",
                           layers=list(names), tr=data.tr, subjects=subjects, stories=data.stories,
                           test_stories=data.test_stories),
            arrays={"voxelwise": arrays},
            draw=partial(write_maps, arrays=arrays, space=data.space, title=title, q=float(m.fdr_q)),
            timings=dict(load_s=round(t1 - t0, 3), extraction_s=round(t2 - t1, 3), metric_s=round(t3 - t2, 3),
                         significance_s=round(t4 - t3, 3)),
        )


def _zscore32(v: np.ndarray) -> np.ndarray:
    sd = v.std(0)
    return ((v - v.mean(0)) / np.where(sd > 0, sd, 1)).astype(np.float32)


def _arrays(data, names, r, cv, best, folds) -> dict:
    """What the ceilings, the permutation tests and the maps need, per subject (keys '<subject>/<what>')."""
    out = {"layers": np.asarray(names), "tr": np.array(data.tr), "best_layer": np.array(best["index"])}
    for subject in r:
        out[f"{subject}/r"] = r[subject].astype(np.float32)                    # [layers, voxels]
        out[f"{subject}/cv_score"] = cv[subject].astype(np.float32)
        out[f"{subject}/best_layer_per_voxel"] = cv[subject].argmax(0)
        out[f"{subject}/voxels"] = np.asarray(data.voxels.get(subject, np.arange(r[subject].shape[1])))
        for k, fit in enumerate(best["fits"][subject]):
            out[f"{subject}/alpha/fold{k}"] = fit.alpha
            for story, pred in fit.predictions.items():                        # the best layer's held-out stories
                out[f"{subject}/prediction/{story}"] = pred
                out[f"{subject}/response/{story}"] = _zscore32(data.responses[subject][story])
        for story, reps in data.repeats.get(subject, {}).items():
            out[f"{subject}/repeats/{story}"] = reps                            # [repeats, TRs, voxels]
    for story, per in data.by_subject.items():
        for subject, values in per.items():                                   # Narratives: each subject's own
            out[f"subjects/{subject}/{story}"] = values
    return out


def cost_words(n_words: int, d, tokens_per_word: float, window: int) -> int:
    """Tokens through the model: each word read with its `context_words` words before it (capped by the window)."""
    per = min((int(d.get("context_words") or 0) + 1) * tokens_per_word, window)
    return int(n_words * per)


VOXELWISE = declare_metric(MetricSpec("voxelwise-ridge", VoxelwiseRidgeConfig, kinds=(), ceiling_per_model=True))
