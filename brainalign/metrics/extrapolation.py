"""Brain-Score's extrapolation ceiling: how well would infinitely many subjects predict one subject?

For every pool size n = 2..S, subsets of n subjects are drawn; within each subset every (Blank2014)
or a few bootstrapped (Pereira2018) subjects are held out in turn and their neuroids predicted from
the pooled neuroids of the others with the benchmark's own metric. Per neuroid, the scores are
bootstrapped per n, v(n) = v0 (1 - exp(-n / tau)) is fitted to each bootstrap (v0 in [0, 1]), and the
neuroid's ceiling is the median v0. The ceiling is the median over neuroids (Brain-Score's
ExtrapolationCeiling).

`metric(source, target)` gets the responses [n_stimuli, n_pool_neuroids] and [n_stimuli, n_target]
and returns the per-split x per-neuroid scores [n_splits, n_target] (a 1-D array counts as one
split, and an object with `.per_split_neuroid` is accepted too).
"""

import hashlib
import itertools
import json
import warnings
from dataclasses import dataclass, field
from math import perm
from typing import Callable

import numpy as np
from numpy.random import RandomState
from scipy.optimize import OptimizeWarning, curve_fit

VARIANTS = ("blank", "pereira")


def saturation(x, v0, tau0):
    return v0 * (1 - np.exp(-x / tau0))


@dataclass
class Ceiling:
    ceiling: float  # median over neuroids of the per-neuroid ceilings
    per_neuroid: np.ndarray  # [n_neuroids] median v0 over bootstraps; NaN where a fit failed
    subjects: np.ndarray  # [n_neuroids] subject of each neuroid
    sizes: np.ndarray  # [n_sizes] pool sizes n that were scored
    mean_by_size: np.ndarray  # [n_sizes, n_neuroids] mean inter-subject score at each n
    bootstrap_v0: np.ndarray  # [n_neuroids, n_bootstraps]
    bootstrap_tau: np.ndarray  # [n_neuroids, n_bootstraps]
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(ceiling=self.ceiling, settings=self.settings, sizes=self.sizes.tolist())


def _scores(result) -> np.ndarray:
    values = getattr(result, "per_split_neuroid", result)
    values = np.asarray(values, dtype=np.float64)
    return values[None, :] if values.ndim == 1 else values


def subject_subsets(subjects, size: int, variant: str, rng: RandomState, n_subsets: int = 10) -> list[tuple]:
    """Blank: all combinations of the sorted subjects. Pereira: `n_subsets` distinct random ordered
    draws without replacement (Brain-Score's `_random_combinations`; capped at the number possible)."""
    subjects = sorted(subjects)
    if variant == "blank":
        return list(itertools.combinations(subjects, size))
    wanted = min(n_subsets, perm(len(subjects), size))
    seen: dict[tuple, None] = {}
    while len(seen) < wanted:
        seen[tuple(rng.choice(subjects, size=size, replace=False).tolist())] = None
    return list(seen)


def collect(responses: np.ndarray, subjects, metric: Callable, *, variant: str = "blank", n_subsets: int = 10,
            n_heldout: int = 5, seed: int = 0, progress: bool = False) -> dict[int, np.ndarray]:
    """Inter-subject scores: {n: [n_subsets * n_splits, n_neuroids]}, NaN where the neuroid's subject
    was not held out in that subset."""
    if variant not in VARIANTS:
        raise ValueError(f"extrapolation variant {variant!r}; choose one of {VARIANTS}")
    responses = np.asarray(responses)
    subjects = np.asarray(subjects)
    names = sorted(set(subjects.tolist()))
    if len(names) < 3:
        raise ValueError(f"an extrapolation ceiling needs at least 3 subjects (2 pool sizes), got {names}")
    subset_rng, holdout_rng = RandomState(seed), RandomState(seed)
    collected = {}
    sizes = range(2, len(names) + 1)
    if progress:
        from tqdm import tqdm

        sizes = tqdm(sizes, desc="ceiling: pool sizes")
    for size in sizes:
        rows = []
        for subset in subject_subsets(names, size, variant, subset_rng, n_subsets):
            held = (subset if variant == "blank"
                    else sorted(set(holdout_rng.choice(list(subset), size=n_heldout).tolist())))
            block = None
            for target in held:
                pool = np.isin(subjects, [s for s in subset if s != target])
                own = subjects == target
                scores = _scores(metric(responses[:, pool], responses[:, own]))
                if block is None:
                    block = np.full((scores.shape[0], len(subjects)), np.nan)
                block[:, own] = scores
            rows.append(block)
        collected[size] = np.concatenate(rows)
    return collected


def _fit(xs, ys) -> tuple[float, float]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params, _ = curve_fit(saturation, xs, ys, bounds=([0, -np.inf], [1, np.inf]))
        return float(params[0]), float(params[1])
    except (RuntimeError, ValueError):  # no optimum found / degenerate input: a failed bootstrap
        return np.nan, np.nan


def _sse(Y, xs, tau):
    """Best v0 in [0, 1] for each curve (row of Y) at its own tau, and the squared error."""
    F = 1 - np.exp(-xs[None, :] / tau[:, None])
    yf, ff = (Y * F).sum(axis=1), (F * F).sum(axis=1)
    v0 = np.clip(np.nan_to_num(yf / ff), 0, 1)
    return v0, (Y * Y).sum(axis=1) - 2 * v0 * yf + v0 * v0 * ff


def fit_vectorized(xs: np.ndarray, Y: np.ndarray, grid: int = 200, iterations: int = 40):
    """Least-squares v0 (1 - exp(-x/tau)), v0 in [0, 1], for many curves Y [m, n_sizes] at once.

    v0 has a closed form for a given tau, so only tau is searched: a log grid of tau in [1e-2, 1e4]
    and of -tau in [max(x)/300, 1e4] (beyond that exp overflows), then a golden-section refinement
    around each curve's best grid point. It finds the best fit of the problem curve_fit solves
    locally, and is meant for many neuroids.
    """
    xs, Y = np.asarray(xs, dtype=float), np.asarray(Y, dtype=float)
    bounds = {1.0: (-2.0, 4.0), -1.0: (np.log10(xs.max() / 300), 4.0)}
    signs = np.r_[np.ones(grid), -np.ones(grid)]
    exps = np.r_[np.linspace(*bounds[1.0], grid), np.linspace(*bounds[-1.0], grid)]
    best_sse = np.full(len(Y), np.inf)
    best = np.zeros(len(Y), dtype=int)
    for i, (sgn, e) in enumerate(zip(signs, exps)):
        _, sse = _sse(Y, xs, np.full(len(Y), sgn * 10.0 ** e))
        better = sse < best_sse
        best_sse[better], best[better] = sse[better], i
    sign = signs[best]
    floor = np.where(sign > 0, bounds[1.0][0], bounds[-1.0][0])
    step = (4.0 - floor) / (grid - 1)  # one grid step on either side of the best point
    lo, hi = np.maximum(exps[best] - step, floor), np.minimum(exps[best] + step, 4.0)
    g = (np.sqrt(5) - 1) / 2
    for _ in range(iterations):  # golden section on log10|tau|, all curves together
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        left = _sse(Y, xs, sign * 10.0 ** a)[1] < _sse(Y, xs, sign * 10.0 ** b)[1]
        hi, lo = np.where(left, b, hi), np.where(left, lo, a)
    tau = sign * 10.0 ** ((lo + hi) / 2)
    v0, sse = _sse(Y, xs, tau)
    grid_tau = sign * 10.0 ** exps[best]
    keep_grid = best_sse < sse
    return np.where(keep_grid, _sse(Y, xs, grid_tau)[0], v0), np.where(keep_grid, grid_tau, tau)


def extrapolate(collected: dict[int, np.ndarray], n_bootstraps: int = 100, seed: int = 0, fit: str = "curve_fit"):
    """Per neuroid: bootstrap the scores at each n, fit v(n), return (median v0, v0s, taus, means).

    fit="curve_fit" is Brain-Score's scipy fit per bootstrap; fit="vectorized" solves the same
    least-squares problem for all bootstraps of a neuroid at once (fit_vectorized), much faster.
    """
    if fit not in ("curve_fit", "vectorized"):
        raise ValueError(f"fit={fit!r}; choose curve_fit or vectorized")
    sizes = np.array(sorted(collected))
    n_neuroids = next(iter(collected.values())).shape[1]
    v0s = np.full((n_neuroids, n_bootstraps), np.nan)
    taus = np.full((n_neuroids, n_bootstraps), np.nan)
    means = np.full((len(sizes), n_neuroids), np.nan)
    for j in range(n_neuroids):
        pools = [collected[n][:, j][~np.isnan(collected[n][:, j])] for n in sizes]
        have = np.array([len(p) > 0 for p in pools])
        means[have, j] = [p.mean() for p in pools if len(p)]
        if have.sum() < 2:
            continue
        xs, pools = sizes[have].astype(float), [p for p in pools if len(p)]
        rng = RandomState(seed)  # one generator per neuroid, as Brain-Score
        curves = np.array([[rng.choice(p, size=len(p), replace=True).mean() for p in pools]
                           for _ in range(n_bootstraps)])
        if fit == "vectorized":
            v0s[j], taus[j] = fit_vectorized(xs, curves)
        else:
            for b, ys in enumerate(curves):
                v0s[j, b], taus[j, b] = _fit(xs, ys)
    per_neuroid = np.median(v0s, axis=1)  # NaN if any bootstrap failed, as np.median in Brain-Score
    return per_neuroid, v0s, taus, means


def extrapolation_ceiling(responses: np.ndarray, subjects, metric: Callable, *, variant: str = "blank",
                          n_bootstraps: int = 100, n_subsets: int = 10, n_heldout: int = 5, seed: int = 0,
                          fit: str = "curve_fit", progress: bool = False) -> Ceiling:
    """The ceiling of `responses` [n_stimuli, n_neuroids] whose columns belong to `subjects`.

    variant="blank": all subject subsets of every size, every subject of a subset held out
    (Blank2014's ceiling.py). variant="pereira": `n_subsets` random subsets per size and
    `n_heldout` held-out draws with replacement (Pereira2018's ceiling_packaging.py).
    fit: "curve_fit" (Brain-Score) or "vectorized" (same least squares, for thousands of neuroids).
    """
    collected = collect(responses, subjects, metric, variant=variant, n_subsets=n_subsets,
                        n_heldout=n_heldout, seed=seed, progress=progress)
    per_neuroid, v0s, taus, means = extrapolate(collected, n_bootstraps=n_bootstraps, seed=seed, fit=fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(np.nanmedian(per_neuroid)) if np.isfinite(per_neuroid).any() else float("nan")
    return Ceiling(ceiling=value, per_neuroid=per_neuroid, subjects=np.asarray(subjects),
                   sizes=np.array(sorted(collected)), mean_by_size=means, bootstrap_v0=v0s, bootstrap_tau=taus,
                   settings=dict(variant=variant, n_bootstraps=n_bootstraps, n_subsets=n_subsets,
                                 n_heldout=n_heldout, seed=seed, fit=fit))


# ---- cache ---------------------------------------------------------------------------------------

def data_key(responses: np.ndarray, subjects, **settings) -> str:
    """A hash of the responses, their subject labels and the settings (metric name included by the caller)."""
    h = hashlib.sha256()
    a = np.ascontiguousarray(responses, dtype=np.float64)
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    h.update("\x00".join(map(str, np.asarray(subjects).tolist())).encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()[:20]
