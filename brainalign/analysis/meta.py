"""Across model pairs: a random-effects mean of per-pair differences, each with its own uncertainty.

DerSimonian & Laird (1986) estimate the between-pair variance tau^2; the interval and p use the
Hartung-Knapp-Sidik-Jonkman variance with a t on k - 1 degrees of freedom (IntHout et al. 2014,
BMC Med Res Methodol 14:25: it keeps its level with few studies, where the plain DL z-interval does
not), with the scale kept at or above 1 (Röver, Knapp & Friede 2015). The unit is the model pair: it generalises to other pairs like these, each pair weighted by
how precisely its own difference is known. tests/test_meta.py checks its level by simulation.
"""

import numpy as np
from scipy import stats


def random_effects(d, se, confidence=0.95) -> dict:
    """k, mean, low, high, p, tau2 of differences d with standard errors se (pairs with no finite se
    or a zero se are left out: they carry no weight a weighted mean can use)."""
    d, se = np.asarray(d, dtype=float), np.asarray(se, dtype=float)
    keep = np.isfinite(d) & np.isfinite(se) & (se > 0)
    d, v = d[keep], se[keep] ** 2
    k = len(d)
    out = {"k": k, "mean": np.nan, "low": np.nan, "high": np.nan, "p": np.nan, "tau2": np.nan}
    if k < 2:
        return out
    w = 1 / v
    mu0 = np.sum(w * d) / np.sum(w)
    q = np.sum(w * (d - mu0) ** 2)
    tau2 = max(0.0, (q - (k - 1)) / (np.sum(w) - np.sum(w ** 2) / np.sum(w)))
    w = 1 / (v + tau2)
    mu = np.sum(w * d) / np.sum(w)
    # the HKSJ scale, not allowed below 1 (Röver, Knapp & Friede 2015: the plain one undercovers when the
    # pairs agree more than their standard errors say)
    var = max(1.0, np.sum(w * (d - mu) ** 2) / (k - 1)) / np.sum(w)
    half = stats.t.ppf(0.5 + confidence / 2, k - 1) * np.sqrt(var)
    p = float(2 * stats.t.sf(abs(mu) / np.sqrt(var), k - 1)) if var > 0 else float(mu == 0)
    out.update(mean=float(mu), low=float(mu - half), high=float(mu + half), p=p, tau2=float(tau2))
    return out
