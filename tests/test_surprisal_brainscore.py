"""`exact` surprisal against Brain-Score's own HuggingfaceSubject, on the real SmolLM2 and real words.

Brain-Score runs in its separate venv (paths.brainscore_python, from $BRAINSCORE_PYTHON; it needs
`gguf` and `accelerate` there to read the GGUF; see docs/behavior.md).
"""

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import requires_smollm2

from brainalign.config.paths import path, shared_dir

REPO = Path(__file__).resolve().parents[1]
BS_PYTHON = str(path("brainscore_python") or "")


def brainscore_reads_gguf():
    if not BS_PYTHON or not Path(BS_PYTHON).exists():
        return False
    probe = "import brainscore_language, gguf, accelerate"
    return subprocess.run([BS_PYTHON, "-c", probe], capture_output=True).returncode == 0


pytestmark = [pytest.mark.slow, requires_smollm2(), pytest.mark.skipif(
    not brainscore_reads_gguf(),
    reason=f"no Brain-Score venv with gguf + accelerate at {BS_PYTHON} (set BRAINSCORE_PYTHON; docs/behavior.md)")]


def load_crosscheck():
    spec = importlib.util.spec_from_file_location("crosscheck_surprisal", REPO / "bench" / "crosscheck_surprisal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("bos", [False, True])
def test_exact_equals_brainscore_with_truncation(shared_data, bos):
    from brainalign.datasets.futrell import load_futrell
    from brainalign.models.load import load_model
    from brainalign.surprisal import word_surprisal

    crosscheck = load_crosscheck()
    words = load_futrell({"path": str(shared_dir() / "data" / "futrell2018")}).words.word.tolist()[:60]
    window = 24  # truncation starts after ~20 words
    theirs = crosscheck.reference_bits(BS_PYTHON, words, window, bos, threads=1)
    lm = load_model(crosscheck.smollm2(bos))
    ours = word_surprisal(lm, words, mode="exact", window=window).bits
    assert np.isnan(theirs[0]) == np.isnan(ours[0]) == (not bos)
    np.testing.assert_allclose(ours[1:], theirs[1:], atol=1e-3)
