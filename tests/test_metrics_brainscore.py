"""Cross-check against Brain-Score's own metric code, run in its separate venv.

Brain-Score needs numpy<2 and an old xarray, so it lives outside the project venv (see
docs/metrics.md). Point BRAINSCORE_PYTHON at that venv's python.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from runif import brainscore_python, run_if

REPO = Path(__file__).resolve().parents[1]

pytestmark = run_if(brainscore=True)


def load_crosscheck():
    spec = importlib.util.spec_from_file_location("crosscheck_metric",
                                                  REPO / "bench" / "crosscheck_metric.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # Brain-Score in its own interpreter: ~6 s
def test_agrees_with_brainscore_on_a_small_problem():
    crosscheck = load_crosscheck()
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2, 40, 60))  # n_train = 36 < d = 60; two layers
    Y = X[1, :, :6] @ rng.standard_normal((6, 10)) + rng.standard_normal((40, 10))
    problem = dict(X=X, Y=Y, groups=np.arange(40) % 10, subjects=np.repeat(["a", "b"], 5))
    reference = crosscheck.run_reference(brainscore_python(), problem)
    for metric in crosscheck.METRICS:
        diff = crosscheck.compare(crosscheck.run_ours(problem, metric), reference["results"][metric])
        assert diff["raw"] < 1e-6 and diff["per_split_neuroid"] < 1e-6, (metric, diff)
        assert diff["nan_mismatch"] == 0 and diff["alpha_mismatch"] == 0, (metric, diff)
