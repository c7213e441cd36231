"""Is model A more brain-like than model B? Paired comparison of two results on one benchmark.

Both results must come from the same benchmark, protocol and splits, so every test stimulus and
every neuroid is scored by both models: the comparison is paired.

* difference: score(A) - score(B), each score computed as the benchmark does (per split the median
  r over neuroids, mean over splits, divided by the part's ceiling, mean over parts).
* 95 % interval and p (results that keep their best layer's design): the dual bootstrap of
  brainalign/metrics/dual_bootstrap.py, over subjects and stimulus units with the cross-validation
  redone in every sample; it generalises to new subjects and new stimuli (docs/statistics.md, which
  gives its measured calibration).
* Older results (written with test predictions instead of the design) get the older, uncalibrated
  method, with a note saying so: the interval and p_bootstrap of a bootstrap over each split's test
  stimuli with the fitted maps held fixed, p_permutation of a sign-flip test over subjects, and p
  the larger of the two. Under a true null their p < 0.05 in 6 % to 15 % of cases, and the interval
  covers the true difference 84 % to 93 % of the time (bench/calibration.py).

What a result keeps for this (ComparisonArrays; brainalign/app/comparison_files.py writes them
beside result.json, one comparison_<protocol>.npz per protocol): per part and split x neuroid the
test r of every layer (or another per-neuroid quantity, e.g. the banded metric's unique variance),
the best layer, the subjects, the ceiling, the splits and, for the dual bootstrap, the best layer's
design (brainalign.metrics.dual_bootstrap.Design) and the metric's settings.
"""

import itertools
from dataclasses import dataclass, field

import numpy as np

from brainalign.errors import DataMismatch

from .dual_bootstrap import Design, Replicates, dual_interval, replicates

BOOT_CHUNK = 64
METHOD = "dual bootstrap"
OLDER = ("older, uncalibrated method (a bootstrap over test stimuli with the maps held fixed, and a sign-flip "
         "test over subjects): the result keeps no design to refit; score it again for the dual bootstrap")


@dataclass
class ComparisonPart:
    name: str
    r: np.ndarray                 # [layers, splits, neuroids] test r of every layer
    subjects: np.ndarray          # [neuroids]
    ceiling: float
    tests: list                   # [splits] test row indices
    predictions: list | None = None  # [splits] [n_test, neuroids] best layer's test predictions (older files)
    targets: list | None = None      # [splits] [n_test, neuroids] responses on the test rows (older files)
    design: Design | None = None     # the best layer's design, for the dual bootstrap


@dataclass
class ComparisonArrays:
    benchmark: str
    protocol: str
    layers: list
    best_layer: int
    parts: list = field(default_factory=list)
    quantity: str = "r"           # what `r` holds: test r, or e.g. "unique_variance"
    metric: dict | None = None    # score_protocol's keyword arguments (kind, correlation, rcond, alphas)

    def can_refit(self) -> bool:
        return self.metric is not None and all(p.design is not None for p in self.parts)

    def replicates(self) -> Replicates:
        """The dual bootstrap table of this result (brainalign.metrics.dual_bootstrap)."""
        return replicates([p.design for p in self.parts], [p.subjects for p in self.parts],
                          [p.ceiling for p in self.parts], self.metric)


@dataclass
class Comparison:
    difference: float             # score(A) - score(B) (ceiled, mean over parts)
    low: float | None             # 95 % interval
    high: float | None
    p: float | None               # the one p: dual bootstrap, or the older rule (max of the two below)
    method: str                   # METHOD or "older, uncalibrated"
    note: str | None
    p_bootstrap: float | None     # older results only: bootstrap over test stimuli, maps fixed
    p_permutation: float | None   # older results only: sign-flip test over subjects
    n_subjects: int
    n_stimuli: int                # distinct test stimuli (all parts)
    n_units: int | None           # stimulus units the bootstrap draws (passages, stories)
    n_neuroids: int
    per_subject: dict             # subject -> difference
    score_a: float
    score_b: float
    se: float | None = None       # the difference's standard error (dual bootstrap only)

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
        da, db = pa.design, pb.design
        if da is not None and db is not None and not (np.array_equal(da.units, db.units)
                                                      and np.array_equal(da.responses, db.responses)):
            raise DataMismatch(f"{pa.name}: the results were scored against different responses or stimulus units")


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
                    seed=0, replicates=None) -> Comparison:
    """Paired comparison of results a and b (brainalign.app.comparison_files.compare_files reads them from files).

    layer: "best" (each result's own best layer, the benchmark's score) or a layer index used for
    both; the interval and p need the best layer's design (or, older results, its predictions), so
    they exist for "best" only. replicates: (a's, b's) bootstrap tables when already computed
    (ComparisonArrays.replicates; brainalign.app.comparison_files caches them). n_boot, n_perm, seed:
    the older method's."""
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
    n_stimuli = sum(len(np.unique(np.concatenate(p.tests))) for p in a.parts)
    n_neuroids = sum(p.r.shape[-1] for p in a.parts)
    score_a, score_b = float(np.mean(scores_a)), float(np.mean(scores_b))
    common = dict(difference=score_a - score_b, n_subjects=len(per_subject), n_stimuli=n_stimuli,
                  n_neuroids=n_neuroids, per_subject=per_subject, score_a=score_a, score_b=score_b)
    if layer != "best":
        return Comparison(low=None, high=None, p=None, method="none", p_bootstrap=None, p_permutation=None,
                          n_units=None, note="an interval and p exist for each result's best layer only", **common)
    if a.can_refit() and b.can_refit():
        ra, rb = replicates if replicates is not None else (a.replicates(), b.replicates())
        c = dual_interval(ra, rb)
        return Comparison(low=c.low, high=c.high, p=c.p, se=c.se, method=METHOD, note=None, p_bootstrap=None,
                          p_permutation=None, n_units=len(ra.unit_labels), **common)
    replicates = bootstrap_differences(a, b, n_boot, seed)
    low = high = p_boot = None
    if replicates is not None:
        low, high = (float(x) for x in np.nanpercentile(replicates, [2.5, 97.5]))
        tail = min(np.mean(replicates <= 0), np.mean(replicates >= 0))
        p_boot = float(min(1.0, max(2 * tail, 1.0 / n_boot)))
    p_perm = sign_flip_p(list(per_subject.values()), n_perm, seed)
    p = p_perm if p_boot is None else max(p_boot, p_perm or 0.0)
    return Comparison(low=low, high=high, p=p, method="older, uncalibrated", note=OLDER, p_bootstrap=p_boot,
                      p_permutation=p_perm, n_units=None, **common)
