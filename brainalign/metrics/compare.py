"""Is model A more brain-like than model B? Paired comparison of two results on one benchmark.

Both results must come from the same benchmark, protocol and splits, so every test stimulus and
every neuroid is scored by both models: the comparison is paired.

* difference: score(A) - score(B), each score computed as the benchmark does (per split the median
  r over neuroids, mean over splits, divided by the part's ceiling, mean over parts).
* 95 % interval and p_bootstrap: a bootstrap over stimuli. In each replicate the test stimuli of
  every split are resampled with replacement (the same draw for A and B), both models' r are
  recomputed per neuroid from the stored test predictions, and the difference is recomputed.
  Percentile interval; p = 2 x the smaller tail of the replicates around 0 (floored at 1 / n_boot).
* p_permutation: a paired permutation (sign-flip) test over subjects on the per-subject
  differences (each subject's score under A minus under B, mean over parts): exact over all 2^S
  sign patterns up to 16 subjects, random flips beyond.

What a result must keep for this (ComparisonArrays; brainalign/app/comparison_files.py writes them
beside result.json, one comparison_<protocol>.npz per protocol): per part and split x neuroid the
test r of every layer (or another per-neuroid quantity, e.g. the banded metric's unique variance),
the best layer, the subjects, the ceiling, the test indices of each split and, for the bootstrap,
the best layer's test predictions and the test targets (float32).
"""

import itertools
from dataclasses import dataclass, field

import numpy as np

from brainalign.errors import DataMismatch

BOOT_CHUNK = 64


@dataclass
class ComparisonPart:
    name: str
    r: np.ndarray                 # [layers, splits, neuroids] test r of every layer
    subjects: np.ndarray          # [neuroids]
    ceiling: float
    tests: list                   # [splits] test row indices
    predictions: list | None = None  # [splits] [n_test, neuroids] best layer's test predictions
    targets: list | None = None      # [splits] [n_test, neuroids] responses on the test rows


@dataclass
class ComparisonArrays:
    benchmark: str
    protocol: str
    layers: list
    best_layer: int
    parts: list = field(default_factory=list)
    quantity: str = "r"           # what `r` holds: test r, or e.g. "unique_variance"


@dataclass
class Comparison:
    difference: float             # score(A) - score(B) (ceiled, mean over parts)
    low: float | None             # 95 % bootstrap interval over stimuli
    high: float | None
    p_bootstrap: float | None
    p_permutation: float | None   # sign-flip test over subjects
    n_subjects: int
    n_stimuli: int                # distinct test stimuli (all parts)
    n_neuroids: int
    per_subject: dict             # subject -> difference
    score_a: float
    score_b: float

    def as_dict(self):
        return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in self.__dict__.items()}


def split_predictions(x, Y, splits, rcond=None, **reduction):
    """[splits] test predictions [n_test, neuroids] of one layer x [n, d], as the linear metric makes
    them (prediction = S (Y_train - mean) + mean, the min-norm OLS smoother), for the comparison arrays.
    reduction: n_components, reduce, reduce_seed, as for linear_predictivity."""
    from .backend import get_backend
    from .linear import default_rcond, linear_smoothers

    be = get_backend("numpy")
    smoothers = linear_smoothers(np.asarray(x, dtype=np.float64)[None], default_rcond() if rcond is None else rcond,
                                 be, **reduction)
    Y = np.asarray(Y, dtype=np.float64)
    out = []
    for k, (train, test) in enumerate(splits):
        mean_y = Y[train].mean(axis=0)
        S = np.asarray(smoothers(k, train, test))[0]
        out.append((S @ (Y[train] - mean_y) + mean_y).astype(np.float32))
    return out


def _score(r, ceiling):
    """Benchmark score of r [..., splits, neuroids]: median over neuroids, mean over splits, / ceiling."""
    return np.nanmean(np.nanmedian(r, axis=-1), axis=-1) / ceiling


def _subject_scores(r, subjects, ceiling):
    return {s: float(_score(r[:, subjects == s], ceiling)) for s in np.unique(subjects)}


def _check_paired(a: ComparisonArrays, b: ComparisonArrays):
    if (a.benchmark, a.protocol, a.quantity) != (b.benchmark, b.protocol, b.quantity):
        raise DataMismatch(f"cannot pair {a.benchmark}/{a.protocol}/{a.quantity} with {b.benchmark}/{b.protocol}/"
                           f"{b.quantity}: compare results of the same benchmark and protocol")
    if [p.name for p in a.parts] != [p.name for p in b.parts]:
        raise DataMismatch("the two results have different benchmark parts")
    for pa, pb in zip(a.parts, b.parts):
        if pa.r.shape[1:] != pb.r.shape[1:] or not np.array_equal(pa.subjects, pb.subjects):
            raise DataMismatch(f"{pa.name}: the results have different splits or neuroids")
        if any(not np.array_equal(ta, tb) for ta, tb in zip(pa.tests, pb.tests)):
            raise DataMismatch(f"{pa.name}: the results used different splits (test stimuli differ)")


def _layer(arrays, layer):
    return arrays.best_layer if layer == "best" else int(layer)


def _weighted_r(weights, pred, target):
    """Pearson r per neuroid for each row of multiplicities weights [boot, n] over pred, target [n, m]."""
    total = weights.sum(axis=1, keepdims=True)
    mp, mt = weights @ pred / total, weights @ target / total
    cov = weights @ (pred * target) / total - mp * mt
    vp = weights @ (pred * pred) / total - mp ** 2
    vt = weights @ (target * target) / total - mt ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt(np.clip(vp, 0, None) * np.clip(vt, 0, None))


def bootstrap_differences(a, b, n_boot=1000, seed=0):
    """[n_boot] replicate differences score(A) - score(B), resampling each split's test stimuli.

    Uses the stored best-layer predictions; None if either result lacks them."""
    if any(p.predictions is None or p.targets is None for arrays in (a, b) for p in arrays.parts):
        return None
    rng = np.random.default_rng(seed)
    per_part = []
    for pa, pb in zip(a.parts, b.parts):
        medians = np.empty((2, n_boot, len(pa.tests)))
        for k, test in enumerate(pa.tests):
            n = len(test)
            weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]).astype(float)
            for start in range(0, n_boot, BOOT_CHUNK):  # bounds memory: [chunk, neuroids] per moment
                rows = slice(start, start + BOOT_CHUNK)
                for side, part in enumerate((pa, pb)):
                    r = _weighted_r(weights[rows], part.predictions[k], part.targets[k])
                    medians[side, rows, k] = np.nanmedian(r, axis=1)
        scores = np.nanmean(medians, axis=2) / pa.ceiling  # [2, n_boot]
        per_part.append(scores[0] - scores[1])
    return np.mean(per_part, axis=0)


def sign_flip_p(differences, n_perm=10000, seed=0):
    """Two-sided paired permutation p for the mean of per-subject differences (exact up to 16)."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return None
    observed = abs(d.mean())
    if len(d) <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    else:
        signs = np.random.default_rng(seed).choice((1.0, -1.0), size=(n_perm, len(d)))
    null = np.abs(signs @ d / len(d))
    return float(np.mean(null >= observed - 1e-12))


def compare_results(a: ComparisonArrays, b: ComparisonArrays, *, layer="best", n_boot=1000, n_perm=10000,
                    seed=0) -> Comparison:
    """Paired comparison of results a and b (brainalign.app.comparison_files.compare_files reads them from files).

    layer: "best" (each result's own best layer, the benchmark's score) or a layer index used for
    both; the bootstrap over stimuli needs the stored predictions, so it runs for "best" only."""
    _check_paired(a, b)
    la, lb = _layer(a, layer), _layer(b, layer)
    scores_a = [_score(pa.r[la], pa.ceiling) for pa in a.parts]
    scores_b = [_score(pb.r[lb], pb.ceiling) for pb in b.parts]
    per_subject: dict = {}
    for pa, pb in zip(a.parts, b.parts):
        sa, sb = _subject_scores(pa.r[la], pa.subjects, pa.ceiling), _subject_scores(pb.r[lb], pb.subjects, pb.ceiling)
        for s in sa:
            per_subject.setdefault(str(s), []).append(sa[s] - sb[s])
    per_subject = {s: float(np.mean(v)) for s, v in per_subject.items()}
    replicates = bootstrap_differences(a, b, n_boot, seed) if layer == "best" else None
    low = high = p_boot = None
    if replicates is not None:
        low, high = (float(x) for x in np.nanpercentile(replicates, [2.5, 97.5]))
        tail = min(np.mean(replicates <= 0), np.mean(replicates >= 0))
        p_boot = float(min(1.0, max(2 * tail, 1.0 / n_boot)))
    n_stimuli = sum(len(np.unique(np.concatenate(p.tests))) for p in a.parts)
    n_neuroids = sum(p.r.shape[-1] for p in a.parts)
    score_a, score_b = float(np.mean(scores_a)), float(np.mean(scores_b))
    return Comparison(difference=score_a - score_b, low=low, high=high, p_bootstrap=p_boot,
                      p_permutation=sign_flip_p(list(per_subject.values()), n_perm, seed),
                      n_subjects=len(per_subject), n_stimuli=n_stimuli, n_neuroids=n_neuroids,
                      per_subject=per_subject, score_a=score_a, score_b=score_b)
