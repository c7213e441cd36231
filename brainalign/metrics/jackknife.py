"""Crossed jackknife over subjects and stimulus units, cross-validation refit in every replicate.

The uncertainty of a paired score difference that generalises to new subjects AND new stimuli
(docs/statistics.md). A unit is a group of stimuli that share context (Pereira's passage, a
story): the model sees each group alone, so units, not sentences, are independent draws.

Per result (model), `replicates` computes the benchmark's score (median r over neuroids per split,
mean over splits, / ceiling, mean over parts; in the left-out replicates a smoothed median, see
`_smoothed_median`) with each subject left out (its neuroids leave every
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
from scipy import special, stats

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


def _bandwidth(r):
    """[splits] Silverman's bandwidth of each split's r [splits, neuroids] (NaN r ignored)."""
    n = np.isfinite(r).sum(axis=1)
    if not n.any():   # no neuroids (a subject the part lacks)
        return np.full(len(r), np.nan)
    with np.errstate(invalid="ignore"):
        q75, q25 = np.nanpercentile(r, [75, 25], axis=1)
        spread = np.fmin(np.nanstd(r, axis=1), (q75 - q25) / 1.34)
    return 0.9 * spread * np.maximum(n, 1) ** -0.2


def _smoothed_median(r, h, steps=20):
    """[splits] the root m of sum_v (Phi((m - r_v) / h) - 1/2) = 0: the median with its step smoothed
    over a bandwidth h [splits]. The delete-one jackknife of a median is inconsistent (it jumps between
    neighbouring values); of this smooth stand-in it is not, and both have the same first-order
    variance. Where h is 0 or undefined, the median itself."""
    m = _nanmedian(r, axis=1)
    ok = np.isfinite(h) & (h > 0) & np.isfinite(m)
    if not ok.any():
        return m
    x, hh, mm = r[ok], h[ok][:, None], m[ok]
    valid = np.isfinite(x)
    x = np.where(valid, x, 0.0)
    for _ in range(steps):  # Newton; the function is increasing in m, the median is a close start
        z = (mm[:, None] - x) / hh
        g = np.sum(valid * (special.ndtr(z) - 0.5), axis=1)
        d = np.sum(valid * np.exp(-0.5 * z * z), axis=1) / (np.sqrt(2 * np.pi) * hh[:, 0])
        mm = mm - g / np.maximum(d, 1e-300)
    m[ok] = mm
    return m


def _aggregate(r, mask, ceiling, h=None):
    """The benchmark's score of r [splits, neuroids] over the neuroids in mask; with bandwidths h
    [splits], the smoothed median's in place of the median's."""
    if not mask.any():
        return np.nan
    medians = _nanmedian(r[:, mask], axis=1) if h is None else _smoothed_median(r[:, mask], h)
    return _nanmean(medians) / ceiling


def _part(design, subjects, order, ceiling, metric):
    """One part: score with each of its units left out [1 + units] (0: nothing left out), with each
    subject left out [subjects], each subject's own score with each unit left out [subjects, units],
    unit labels. Every left-out value uses smoothed medians, bandwidths from the full data."""
    labels = np.unique(design.units)
    by_unit, own = np.empty(1 + len(labels)), np.full((len(order), len(labels)), np.nan)
    sets = {s: subjects == s for s in order}
    everyone = np.ones(len(subjects), bool)
    for j, left_out in enumerate([None, *labels]):
        keep = np.ones(len(design.units), bool) if left_out is None else design.units != left_out
        splits = _remap(design.splits, keep)
        r = score_protocol(design.basis[keep], design.responses[keep], splits, **metric)[0].per_split_neuroid
        if left_out is None:
            full = {s: _bandwidth(r[:, mask]) for s, mask in sets.items()}
            h = _bandwidth(r)
            by_unit[0] = _aggregate(r, everyone, ceiling)
            by_subject = np.array([_aggregate(r, ~mask, ceiling, _bandwidth(r[:, ~mask])) for mask in sets.values()])
            continue
        if len(splits) != len(design.splits):   # a split lost its test rows: its bandwidth goes with it
            kept = [k for k, (train, test) in enumerate(design.splits) if keep[test].any() and keep[train].sum() >= 2]
        else:
            kept = slice(None)
        by_unit[j] = _aggregate(r, everyone, ceiling, h[kept])
        for i, (s, mask) in enumerate(sets.items()):
            if mask.any():
                own[i, j - 1] = _aggregate(r, mask, ceiling, full[s][kept])
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
