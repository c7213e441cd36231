"""Crossed jackknife over subjects and stimulus units, cross-validation refit in every replicate.

The uncertainty of a paired score difference that generalises to new subjects AND new stimuli
(docs/statistics.md). A unit is a group of stimuli that share context (Pereira's passage, a
story): the model sees each group alone, so units, not sentences, are independent draws.

Per result (model), `replicates` computes the benchmark's score (median r over neuroids per split,
mean over splits, / ceiling, mean over parts) with each subject left out (its neuroids leave every
median; no refit) and with each unit left out (its rows leave every split's train and test set; the
map is refit with the metric's own code on the rows that remain), and each subject's own score
(its neuroids only) with each unit left out. From the differences A - B of those, as the two-way
random-effects ANOVA does for a mean ((MS_subject + MS_unit - MS_residual) / (S U)):
  V = V_subject + sum over parts of (V_unit - V_residual),
V_subject and V_unit the delete-one jackknife variances over subjects and over units, V_residual the
subject x unit variance that both of them count, estimated from the subjects' own unit jackknives
(Schütt et al. 2023 correct their two-factor bootstrap for the same double count). The interval
and p use a t distribution with Welch-Satterthwaite degrees of freedom.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .protocols import score_protocol
from .score import _nanmean, _nanmedian


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
    by_unit: np.ndarray    # [1 + units] score with unit u left out (0: nothing left out)
    by_subject: np.ndarray  # [subjects] score with subject s left out
    own: np.ndarray        # [subjects, 1 + units] the subject's own score (its neuroids only) on the
                           # part of unit u, u left out; column 0 unused (NaN); NaN where it has none
    subjects: np.ndarray   # [subjects]
    units: np.ndarray      # [units] "part/label"
    unit_part: np.ndarray  # [units] part index of each unit


def _remap(splits, keep):
    """The splits restricted to rows `keep` (bool), in the new row numbering; empty ones dropped."""
    new = np.cumsum(keep) - 1
    out = []
    for train, test in splits:
        train, test = train[keep[train]], test[keep[test]]
        if len(test) and len(train) >= 2:
            out.append((new[train], new[test]))
    return out


def _aggregate(r, mask, ceiling):
    """The benchmark's score of r [splits, neuroids] over the neuroids in mask."""
    return _nanmean(_nanmedian(r[:, mask], axis=1)) / ceiling if mask.any() else np.nan


def _part(design, subjects, order, ceiling, metric):
    """One part: score with each of its units left out [1 + units], with each subject left out
    [subjects], each subject's own score with each unit left out [subjects, units], unit labels."""
    labels = np.unique(design.units)
    by_unit, own = np.empty(1 + len(labels)), np.full((len(order), len(labels)), np.nan)
    everyone = np.ones(len(subjects), bool)
    for j, left_out in enumerate([None, *labels]):
        keep = np.ones(len(design.units), bool) if left_out is None else design.units != left_out
        r = score_protocol(design.basis[keep], design.responses[keep], _remap(design.splits, keep),
                           **metric)[0].per_split_neuroid
        by_unit[j] = _aggregate(r, everyone, ceiling)
        if left_out is None:
            by_subject = np.array([_aggregate(r, subjects != s, ceiling) for s in order])
            continue
        for i, s in enumerate(order):
            if (subjects == s).any():
                own[i, j - 1] = _aggregate(r, subjects == s, ceiling)
    return by_unit, by_subject, own, labels


def replicates(designs, subjects, ceilings, metric) -> Replicates:
    """The jackknife table of one result; designs / subjects ([neuroids] labels) / ceilings per part.
    metric: keyword arguments of brainalign.metrics.protocols.score_protocol (kind, correlation,
    rcond, alphas, backend)."""
    order = np.unique(np.concatenate([np.asarray(s).astype(str) for s in subjects]))
    parts = [_part(d, np.asarray(s).astype(str), order, c, metric) for d, s, c in zip(designs, subjects, ceilings)]
    n = len(parts)
    full = np.array([p[0][0] for p in parts])
    by_unit = [full.mean()] + [(full.sum() - full[k] + value) / n for k, p in enumerate(parts) for value in p[0][1:]]
    by_subject = np.mean([p[1] for p in parts], axis=0)
    own = np.concatenate([np.full((len(order), 1), np.nan)] + [p[2] / n for p in parts], axis=1)
    units = np.concatenate([[f"{k}/{u}" for u in p[3]] for k, p in enumerate(parts)])
    unit_part = np.concatenate([np.full(len(p[3]), k) for k, p in enumerate(parts)])
    return Replicates(np.asarray(by_unit), by_subject, own, order, units, unit_part)


@dataclass
class Interval:
    difference: float
    low: float
    high: float
    p: float
    df: float
    se: float
    components: dict   # variance: subject, unit, interaction (what the total is made of)


def _jack_var(values):
    """Delete-one jackknife variance from the leave-one-out values."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    return (n - 1) / n * np.sum((values - values.mean()) ** 2) if n > 1 else 0.0


def crossed_interval(a: Replicates, b: Replicates, confidence=0.95) -> Interval:
    """Difference score(a) - score(b), its interval and two-sided p from the two results' tables."""
    by_unit, by_subject, own = a.by_unit - b.by_unit, a.by_subject - b.by_subject, a.own - b.own
    v_subject = _jack_var(by_subject)
    terms = [(v_subject, len(by_subject) - 1)]
    v_unit = v_inter = 0.0
    for p in np.unique(a.unit_part):
        cols = 1 + np.flatnonzero(a.unit_part == p)
        vu = _jack_var(by_unit[cols])
        terms.append((vu, len(cols) - 1))
        v_unit += vu
        x = own[:, cols][np.isfinite(own[:, cols]).all(axis=1)]   # the part's subjects x its units
        if len(x) > 1 and len(cols) > 1:
            # each subject's own unit jackknife holds the residual variance in full, their mean's only
            # 1 / S of it: the difference is (S - 1) / S of it, the double-counted share is 1 / S
            vi = max(0.0, (np.mean([_jack_var(row) for row in x]) - _jack_var(x.mean(axis=0))) / (len(x) - 1))
            terms.append((vi, (len(x) - 1) * (len(cols) - 1)))
            v_inter += vi
    # the ANOVA combination can fall below what either factor alone shows (noise in the
    # interaction estimate); it never truly can, so it is floored there
    var = max(v_subject + v_unit - v_inter, v_subject, v_unit)
    df = var ** 2 / sum(v ** 2 / k for v, k in terms if k > 0 and v > 0) if var > 0 else np.inf
    se = float(np.sqrt(var))
    diff = float(by_unit[0])
    if se == 0:
        p = 1.0 if diff == 0 else 0.0
        return Interval(diff, diff, diff, p, float(df), 0.0,
                        {"subject": v_subject, "unit": v_unit, "interaction": v_inter})
    q = stats.t.ppf(0.5 + confidence / 2, df)
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return Interval(diff, diff - q * se, diff + q * se, p, float(df), se,
                    {"subject": float(v_subject), "unit": float(v_unit), "interaction": float(v_inter)})
