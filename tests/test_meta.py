"""The across-pairs random-effects mean keeps its level and covers the true mean."""

import numpy as np

from brainalign.analysis.meta import random_effects


def test_random_effects_mean_holds_its_level_and_coverage_by_simulation():
    rng = np.random.default_rng(0)
    reps, k, hits, covered = 2000, 8, 0, 0
    for _ in range(reps):
        se = rng.uniform(0.005, 0.03, k)                  # pairs known to different precision
        truth = rng.normal(0.0, 0.01, k)                  # true pair effects around a mean of 0
        d = truth + se * rng.standard_normal(k)
        out = random_effects(d, se)
        hits += out["p"] < 0.05
        covered += out["low"] <= 0.0 <= out["high"]
    # 2000 replicates: the binomial sd of a 5 % rate is 0.5 %
    assert 0.035 <= hits / reps <= 0.065 and 0.935 <= covered / reps <= 0.965


def test_a_shifted_mean_is_found_and_unusable_pairs_are_left_out():
    rng = np.random.default_rng(1)
    se = np.full(10, 0.01)
    out = random_effects(0.05 + se * rng.standard_normal(10), se)
    assert out["k"] == 10 and out["low"] > 0 and out["p"] < 0.001
    assert random_effects([0.1, 0.2, np.nan], [0.01, np.nan, 0.01])["k"] == 1
    assert np.isnan(random_effects([0.1], [0.01])["mean"])
