"""A reduced bench/calibration.py: under a null where subjects share a stimulus signal, the dual
bootstrap's p rejects at about its nominal rate; the older bootstrap over test stimuli does not."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPS = 100


def bench():
    path = Path(__file__).resolve().parents[1] / "bench" / "calibration.py"
    spec = importlib.util.spec_from_file_location("calibration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_comparison_holds_its_level_where_the_older_bootstrap_does_not():
    module = bench()
    rows = np.array([module.replicate(("random", "shuffle-linear", seed, 300, 50)) for seed in range(REPS)])
    older, new = np.sum(rows[:, 3] < 0.05), np.sum(rows[:, 8] < 0.05)
    # at a true 5 %, more than 9 of 100 happens with probability 0.03; the older p_bootstrap makes ~ 15 %
    assert new <= 9, f"dual bootstrap: {new} of {REPS} false positives"
    assert older > 9, f"older bootstrap: {older} of {REPS} false positives"
