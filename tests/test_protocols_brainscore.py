"""OASM and randomembedding-100 features, metric=ridge scores and Blank2014's ridge ceiling against
Brain-Score 2.3's own benchmark classes (bench/crosscheck_protocols.py), on files written with
Brain-Score's write_netcdf. Needs the Brain-Score venv: BRAINSCORE_PYTHON=/path/to/its/python."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures_data import PEREIRA_CSV
from runif import brainscore_python, run_if

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, run_if(brainscore=True, shared=PEREIRA_CSV)]


@pytest.mark.parametrize("extra", [["--skip-blank", "--sigma", "0.5"], []], ids=["pereira", "pereira+blank"])
def test_baselines_ridge_and_ceiling_equal_brainscore(extra):
    done = subprocess.run([sys.executable, str(REPO / "bench" / "crosscheck_protocols.py"), "--tol", "1e-6", *extra],
                          env={**os.environ, "PYTHONPATH": str(REPO), "BRAINSCORE_PYTHON": brainscore_python()},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "within tolerance" in done.stdout
