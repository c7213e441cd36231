"""The dual bootstrap's variance and degrees of freedom (brainalign.metrics.dual_bootstrap.dual_interval)
on hand-made tables whose variances are known."""

import numpy as np
import pytest
from scipy import stats

from brainalign.metrics.dual_bootstrap import Replicates, dual_interval, satterthwaite

B, N_CV = 4000, 2


def table(units, subjects, both, assignments, full=0.0, n_subjects=6, n_units=40):
    return Replicates(full=np.array(full), assignments=np.asarray(assignments, dtype=float), units=units,
                      subjects=subjects, both=both, subject_labels=np.array([f"s{i}" for i in range(n_subjects)]),
                      unit_labels=np.array([f"0/{i}" for i in range(n_units)]), seed=np.array(0))


def simulated(rng, var_units, var_subjects, var_interaction, var_cv):
    """Tables of a difference with known unit, subject and subject x unit variances, and a per-assignment
    noise: as Schütt et al.'s model, a one-factor bootstrap holds the interaction once, the
    both-factors bootstrap three times."""
    draw = lambda v, k=1: np.sqrt(v) * rng.standard_normal((B, k))  # noqa: E731
    u, s = draw(var_units), draw(var_subjects)
    return (u + draw(var_interaction) + draw(var_cv, N_CV), s + draw(var_interaction) + draw(var_cv, N_CV),
            u + s + draw(3 * var_interaction) + draw(var_cv, N_CV))


def test_the_dual_variance_removes_the_assignment_noise_and_the_double_counted_interaction():
    rng = np.random.default_rng(0)
    units, subjects, both = simulated(rng, 4e-4, 1e-4, 1e-4, 5e-4)
    zero = table(np.zeros_like(units), np.zeros_like(units), np.zeros_like(units), np.zeros(20))
    assign = rng.standard_normal(20) * np.sqrt(2e-4)
    c = dual_interval(table(units, subjects, both, assign, full=0.01), zero)
    assert c.components["units"] == pytest.approx(5e-4, rel=0.15)      # the assignment noise taken off
    assert c.components["subjects"] == pytest.approx(2e-4, rel=0.25)
    assert c.components["dual"] == pytest.approx(6e-4, rel=0.25)       # u + s + interaction once
    assert c.components["assignment"] == pytest.approx(np.var(np.r_[0.01, assign], ddof=1))
    assert c.se ** 2 == pytest.approx(c.components["dual"] + c.components["assignment"])
    q = stats.t.ppf(0.975, c.df)
    assert (c.low, c.high) == pytest.approx((0.01 - q * c.se, 0.01 + q * c.se))
    assert c.p == pytest.approx(2 * stats.t.sf(0.01 / c.se, c.df))


def test_a_negative_dual_estimate_counts_as_zero_and_leaves_the_assignment_variance():
    rng = np.random.default_rng(1)
    units, subjects, both = simulated(rng, 0.0, 0.0, 0.0, 1e-3)
    both = both + 0.05 * rng.standard_normal((B, 1))   # a both-factors variance larger than 2 (u + s)
    zero = table(np.zeros_like(units), np.zeros_like(units), np.zeros_like(units), np.zeros(20))
    c = dual_interval(table(units, subjects, both, np.linspace(-0.01, 0.01, 20)), zero)
    assert c.components["dual"] == 0.0 and c.se ** 2 == pytest.approx(c.components["assignment"]) and c.se > 0


def test_degrees_of_freedom_follow_where_the_variance_comes_from():
    # all from subjects: S - 1; all from units: U - 1; all from the assignments: their number - 1
    assert satterthwaite(1.0, 1.0, 0.0, 6, 40, 21) == pytest.approx(5)
    assert satterthwaite(1.0, 0.0, 0.0, 6, 40, 21) == pytest.approx(39)
    assert satterthwaite(0.0, 0.0, 1.0, 6, 40, 21) == pytest.approx(20)
    mixed = satterthwaite(1.0, 0.3, 1.0, 6, 40, 21)
    assert 5 < mixed < 39 + 20
    # the subject share is at most the dual variance (a noisy subject estimate cannot exceed it)
    assert satterthwaite(0.5, 2.0, 0.0, 6, 40, 21) == pytest.approx(5)
    assert np.isnan(satterthwaite(0.0, 0.0, 0.0, 6, 40, 21))


def test_identical_results_have_no_variance_and_p_one():
    x = np.ones((10, N_CV))
    c = dual_interval(table(x, x, x, np.ones(20), full=1.0), table(x, x, x, np.ones(20), full=1.0))
    assert (c.difference, c.low, c.high, c.p, c.se) == (0.0, 0.0, 0.0, 1.0, 0.0)
