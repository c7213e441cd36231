"""Dual bootstrap over subjects and stimulus units, the cross-validation redone in every sample.

The uncertainty of a paired score difference that generalises to new subjects AND new stimuli
(docs/statistics.md), after Schütt et al. 2023 (eLife 12:e82566; rsatoolbox's eval_dual_bootstrap).
A unit is a group of stimuli that share context (Pereira's passage, a story): the model reads each
group as one context, so units, not sentences, are the independent draws.

Per result, `replicates` draws (with one seed, so every result of a benchmark draws the same
samples) B samples of units (within each part) and of subjects, and for each sample and each of
n_cv fresh cross-validation assignments scores the benchmark three ways: units resampled (the map
refit on the sample's rows), subjects resampled (their neuroids, no refit), both. Copies of a
stimulus stay together in one fold, so a copy never predicts itself. A pair's difference A - B is
then a subtraction of two results' tables, and its variance is

  V = max(2 (V_units + V_subjects) - V_both, 0) + V_assignment

V_x: the variance over samples of the difference averaged over its n_cv assignments, with the
variance the assignments add taken off ((n_cv var(mean) - mean var) / (n_cv - 1), Schütt et al.'s
correction for cross-validation inside the bootstrap); the dual combination removes the subject x
unit variance that the both-factors bootstrap counts twice (their formula): together they estimate
the variance of the assignment-averaged score over new subjects and units. V_assignment: the
variance of the score over N_ASSIGN fresh cross-validation assignments of the data itself, because
the benchmark's score uses one fixed assignment. Interval and p: t whose degrees of freedom are
Welch-Satterthwaite's for that sum (subjects, units and assignments each estimate their share).
Measured calibration and power: docs/statistics.md.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

from brainalign.errors import DataMismatch

from .protocols import score_protocol
from .refit import Refit
from .score import _nanmean, _nanmedian
from .splits import group_splits, shuffle_splits

N_BOOT, N_CV, N_ASSIGN, SEED = 100, 2, 20, 0


@dataclass
class Design:
    """What a refit needs for one benchmark part: the best layer's features in a reduced form (their
    row geometry, brainalign.metrics.crossval.row_basis: the linear and ridge maps depend on nothing
    else), the responses, a unit label per row and the protocol's splits."""
    basis: np.ndarray      # [n, <= n]
    responses: np.ndarray  # [n, neuroids]
    units: np.ndarray      # [n]
    splits: list           # [(train, test)] row indices


@dataclass
class Replicates:
    """One result's bootstrap table (all on the scale of its benchmark score)."""
    full: np.ndarray        # [] the score (the protocol's own splits)
    assignments: np.ndarray  # [n_assign] the score with each fresh assignment of the data itself
    units: np.ndarray       # [B, n_cv] units resampled
    subjects: np.ndarray    # [B, n_cv] subjects resampled
    both: np.ndarray        # [B, n_cv] both resampled
    subject_labels: np.ndarray  # [S]
    unit_labels: np.ndarray     # [U] "part/label"
    seed: np.ndarray        # [] the seed of the draws (equal draws for equal seeds and labels)


def is_kfold(splits, n) -> bool:
    """Do the test sets partition the rows (k-fold: group or contiguous), or overlap (ShuffleSplit)?"""
    tests = np.concatenate([test for _, test in splits])
    return len(tests) == n and len(np.unique(tests)) == n


def resplit(splits, n, rows, units, seed):
    """The protocol's splits redone on a sample: rows [m] original row of each sample row, units [m]
    its unit. k-fold protocols: as many folds over the sample's units (copies of a unit in one fold);
    ShuffleSplit: as many splits, the same train share, over the sample's distinct stimuli (copies of
    a stimulus on one side)."""
    if is_kfold(splits, n):
        k = min(len(splits), len(np.unique(units)))
        return group_splits(units, k, seed) if k >= 2 else []
    distinct, which = np.unique(rows, return_inverse=True)
    share = len(splits[0][0]) / n
    out = []
    for _, test in shuffle_splits(len(distinct), len(splits), share, seed):
        held = np.isin(which, test)
        out.append((np.flatnonzero(~held), np.flatnonzero(held)))
    return out


def _score(r, columns, ceiling):
    """The benchmark's score of r [splits, neuroids] over the neuroid columns given (repeats allowed)."""
    if len(columns) == 0 or r is None:
        return np.nan
    return _nanmean(_nanmedian(r[:, columns], axis=1)) / ceiling


def _refit(design, refit, rows, units, seed):
    splits = resplit(design.splits, len(design.units), rows, units, seed)
    return refit(rows, splits) if splits else None


def _part_tables(design, subjects, ceiling, metric, draws_units, draws_subjects, order, n_cv, n_assign, seed):
    """[B, n_cv] x 3 (units, subjects, both) and [n_assign] assignments of one part."""
    labels = np.unique(design.units)
    rows_of = [np.flatnonzero(design.units == u) for u in labels]
    cols_of = {s: np.flatnonzero(subjects == s) for s in order}
    everyone = np.arange(len(subjects))
    every_row = np.arange(len(design.units))
    refit = Refit(design.basis, design.responses, metric)
    fresh = [_refit(design, refit, every_row, design.units, seed + 1 + c) for c in range(max(n_cv, n_assign))]
    assignments = np.array([_score(r, everyone, ceiling) for r in fresh])
    B = len(draws_units)
    units, subj, both = (np.empty((B, n_cv)) for _ in range(3))
    for b in range(B):
        rows = np.concatenate([rows_of[k] for k in draws_units[b]])
        columns = np.concatenate([cols_of[order[k]] for k in draws_subjects[b]])
        for c in range(n_cv):
            r = _refit(design, refit, rows, design.units[rows], seed + 1000 * (b + 1) + c)
            units[b, c] = _score(r, everyone, ceiling)
            both[b, c] = _score(r, columns, ceiling)
            subj[b, c] = _score(fresh[c], columns, ceiling)
    full = _score(score_protocol(design.basis, design.responses, design.splits, **metric)[0].per_split_neuroid,
                  everyone, ceiling)
    return full, assignments, units, subj, both, labels


def replicates(designs, subjects, ceilings, metric, n_boot=None, n_cv=N_CV, n_assign=None, seed=SEED) -> Replicates:
    """The bootstrap table of one result; designs / subjects ([neuroids] labels) / ceilings per part.
    metric: keyword arguments of brainalign.metrics.protocols.score_protocol (kind, correlation,
    rcond, alphas, backend). n_boot: samples (default N_BOOT); n_cv: assignments per sample;
    n_assign: fresh assignments of the whole data (default N_ASSIGN). The draws depend on the
    seed and the labels only."""
    n_boot = N_BOOT if n_boot is None else n_boot
    n_assign = N_ASSIGN if n_assign is None else n_assign
    subjects = [np.asarray(s).astype(str) for s in subjects]
    order = np.unique(np.concatenate(subjects))
    rng = np.random.default_rng(seed)
    draws_subjects = rng.integers(0, len(order), (n_boot, len(order)))
    tables = []
    for design, subj, ceiling in zip(designs, subjects, ceilings):
        n_units = len(np.unique(design.units))
        draws_units = rng.integers(0, n_units, (n_boot, n_units))
        tables.append(_part_tables(design, subj, ceiling, metric, draws_units, draws_subjects, order, n_cv, n_assign,
                                   seed))
    mean = lambda k: np.mean([t[k] for t in tables], axis=0)   # noqa: E731 (the score: mean over parts)
    return Replicates(full=np.array(mean(0)), assignments=mean(1), units=mean(2), subjects=mean(3), both=mean(4),
                      subject_labels=order,
                      unit_labels=np.concatenate([[f"{k}/{u}" for u in t[5]] for k, t in enumerate(tables)]),
                      seed=np.array(seed))


@dataclass
class Interval:
    difference: float
    low: float
    high: float
    p: float
    df: float
    se: float
    components: dict   # the variances it is made of


def cv_variance(x):
    """The variance over samples (rows) of the mean over assignments (columns), with what the finite
    number of assignments adds taken off (Schütt et al. 2023); samples with NaN (a fold could not be
    made) dropped."""
    x = x[np.isfinite(x).all(axis=1)]
    if len(x) < 2:
        return np.nan
    n_cv = x.shape[1]
    var_mean = np.var(x.mean(axis=1), ddof=1)
    if n_cv == 1:
        return var_mean
    var_single = np.mean(np.var(x, axis=0, ddof=1))
    return (n_cv * var_mean - var_single) / (n_cv - 1)


def satterthwaite(dual, v_subjects, v_assignment, n_subjects, n_units, n_assignments):
    """Degrees of freedom of dual + v_assignment (Welch-Satterthwaite): the dual variance's subject
    share (at most v_subjects) is estimated from n_subjects, the rest from n_units, the assignment
    variance from n_assignments scores. Where the variance rests on a few subjects the t is wide;
    where it rests on many units and assignments it is close to the normal."""
    subject_part = min(max(v_subjects, 0.0), dual)
    shares = ((subject_part, n_subjects - 1), (dual - subject_part, n_units - 1), (v_assignment, n_assignments - 1))
    spread = sum(v * v / max(k, 1) for v, k in shares)
    total = dual + v_assignment
    return max(total * total / spread, 1.0) if spread > 0 else np.nan


def dual_interval(a: Replicates, b: Replicates, confidence=0.95) -> Interval:
    """Difference score(a) - score(b), its interval and two-sided p from the two results' tables."""
    if not (np.array_equal(a.unit_labels, b.unit_labels) and np.array_equal(a.subject_labels, b.subject_labels)
            and int(a.seed) == int(b.seed) and a.units.shape == b.units.shape):
        raise DataMismatch("the two results' bootstrap tables differ in their subjects, units or draws: "
                           "they were not computed on the same data")
    v_units, v_subjects, v_both = (cv_variance(getattr(a, f) - getattr(b, f)) for f in ("units", "subjects", "both"))
    # Schütt et al.'s combination (it removes the subject x unit variance the both-factors bootstrap
    # counts twice); a negative estimate (Monte-Carlo noise around a small variance) counts as 0
    dual = max(2 * (v_units + v_subjects) - v_both, 0.0)
    spread = np.concatenate([[a.full - b.full], a.assignments - b.assignments])
    v_assignment = float(np.var(spread, ddof=1))
    var = dual + v_assignment
    n_subjects, n_units = len(a.subject_labels), len(a.unit_labels)
    df = satterthwaite(dual, v_subjects, v_assignment, n_subjects, n_units, len(spread))
    components = {"units": float(v_units), "subjects": float(v_subjects), "both": float(v_both),
                  "dual": float(dual), "assignment": v_assignment, "df": float(df)}
    diff = float(a.full - b.full)
    se = float(np.sqrt(var))
    if se == 0:
        p = 1.0 if diff == 0 else 0.0
        return Interval(diff, diff, diff, p, float(df), 0.0, components)
    if not np.isfinite(se) or not np.isfinite(df):   # too few usable samples: no interval, no p
        return Interval(diff, np.nan, np.nan, np.nan, float(df), np.nan, components)
    q = stats.t.ppf(0.5 + confidence / 2, df)
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return Interval(diff, diff - q * se, diff + q * se, p, float(df), se, components)
