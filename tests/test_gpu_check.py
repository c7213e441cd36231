"""bench/gpu_check.py runs end to end on a tiny Llama on the CPU (the GPU run uses LLaMA-7B's shapes)."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # builds a tokenizer and runs every stage: ~10 s on an idle core, minutes on a busy one
def test_gpu_check_tiny_on_cpu(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import gpu_check

    rc = gpu_check.main(["--tiny", "--device", "cpu", "--sentences", "48", "--neuroids", "300", "--words", "600",
                         "--check-passages", "3"])
    out = capsys.readouterr().out
    for name in ("[build]", "[extract]", "[metric]", "[futrell]", "[check] batched vs one sequence"):
        assert name in out
    assert "12 passages, 48 sentences, 3 layers x 64" in out
    assert rc == 0 and "all checks ok" in out
    sys.modules.pop("gpu_check", None)
