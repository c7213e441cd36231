"""A long computation that is interrupted saves what it has and resumes to exactly the uninterrupted
result: exact and fast surprisal, NWP windows, feature extraction; and the command line's contract
(one line, exit 130 / 143, the same command resumes)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from brainalign.plumbing.cache import Cache, Checkpoint
from brainalign.plumbing.interrupt import Interrupted

REPO = Path(__file__).resolve().parents[1]
WORDS = ("The function returns a list of the values in the dictionary. If the object is not a string, a "
         "TypeError exception is raised. Beekeepers often go beekeeping quickly then stop for tea.").split() * 3


def lm_for(tiny_models, family="llama", **cfg):
    from brainalign.models.load import load_model

    return load_model(OmegaConf.create({"name": f"tiny-{family}", "path": str(tiny_models[family]), **cfg}))


def interrupt_after(monkeypatch, module, name, calls: int, error=KeyboardInterrupt):
    """Make module.name raise `error` on its (calls + 1)-th call."""
    real, count = getattr(module, name), [0]

    def wrapped(*args, **kwargs):
        count[0] += 1
        if count[0] > calls:
            raise error()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return lambda: monkeypatch.setattr(module, name, real)


def always_due(cache, key):
    return Checkpoint(cache, key, every_s=0.0)


def test_exact_surprisal_resumes_to_the_uninterrupted_result(tiny_models, tmp_path, monkeypatch):
    from brainalign.surprisal import exact, word_surprisal

    lm = lm_for(tiny_models)
    full = word_surprisal(lm, WORDS, mode="exact", window=24).bits
    cache = Cache(tmp_path, "surprisal", 1)
    restore = interrupt_after(monkeypatch, exact, "_one_word", 17)
    with pytest.raises(Interrupted) as stopped:
        word_surprisal(lm, WORDS, mode="exact", window=24, checkpoint=always_due(cache, "k"))
    assert stopped.value.done == 17 and stopped.value.total == len(WORDS) and stopped.value.code == 130
    assert "interrupted after 17 of" in stopped.value.message()
    saved = cache.read_partial("k")
    assert int(saved["next"]) == 17 and np.isnan(saved["bits"][17:]).all()
    restore()
    resumed = word_surprisal(lm, WORDS, mode="exact", window=24, checkpoint=always_due(cache, "k")).bits
    np.testing.assert_array_equal(resumed, full)


def test_fast_surprisal_and_nwp_resume_after_sigterm(tiny_models, tmp_path, monkeypatch):
    from brainalign.surprisal.loss import nwp_loss
    from brainalign.surprisal import fast, word_surprisal

    lm = lm_for(tiny_models)
    full = word_surprisal(lm, WORDS, mode="fast", window=24, stride=4).bits
    cache = Cache(tmp_path, "surprisal", 1)
    restore = interrupt_after(monkeypatch, fast, "_score_batch", 5, error=lambda: Interrupted(143))
    with pytest.raises(Interrupted) as stopped:
        word_surprisal(lm, WORDS, mode="fast", window=24, stride=4, checkpoint=always_due(cache, "f"))
    assert stopped.value.code == 143 and stopped.value.unit == "windows" and stopped.value.done == 5
    restore()
    resumed = word_surprisal(lm, WORDS, mode="fast", window=24, stride=4, checkpoint=always_due(cache, "f")).bits
    np.testing.assert_array_equal(resumed, full)

    text = " ".join(WORDS)
    whole = nwp_loss(lm, text, context=16, stride=4).loss
    restore = interrupt_after(monkeypatch, fast, "_score_batch", 3)
    with pytest.raises(Interrupted):
        nwp_loss(lm, text, context=16, stride=4, checkpoint=always_due(cache, "n"))
    restore()
    assert nwp_loss(lm, text, context=16, stride=4, checkpoint=always_due(cache, "n")).loss == whole


def test_interrupted_extraction_keeps_finished_passages(tiny_models, tmp_path, monkeypatch):
    from brainalign.activations import cache as feature_cache
    from brainalign.benchmarks import ModelProvider

    model = ModelProvider(OmegaConf.create({"name": "tiny", "path": str(tiny_models["gpt2"])}))
    passages = [[f"Sentence {i} of passage {p}." for i in range(3)] for p in range(6)]
    full, _ = feature_cache.cached_extract(model, passages, tmp_path / "a", progress=False)
    real = feature_cache.extract

    def stop_after_three(lm, passages, done, on_passage, **kw):
        def hook(i, rows):
            on_passage(i, rows)
            if i == 2:
                raise KeyboardInterrupt
        return real(lm, passages, done=done, on_passage=hook, **kw)

    monkeypatch.setattr(feature_cache, "extract", stop_after_three)
    with pytest.raises(Interrupted) as stopped:
        feature_cache.cached_extract(model, passages, tmp_path / "b", progress=False, checkpoint_seconds=1e9)
    assert stopped.value.done == 3 and stopped.value.unit == "passages"
    monkeypatch.setattr(feature_cache, "extract", real)
    again, hit = feature_cache.cached_extract(model, passages, tmp_path / "b", progress=False)
    assert not hit
    np.testing.assert_allclose(again.values, full.values, rtol=1e-6, atol=1e-6)


def sigint_as_at_a_terminal() -> None:
    """For Popen's preexec_fn: the job gets SIGINT's default action, as a foreground job at a terminal does. A
    process started with SIGINT ignored (a background job of a non-interactive shell: `pytest &` in a CI
    script) passes that on, and Python then never turns SIGINT into KeyboardInterrupt: the job ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(proc, marker: bytes, timeout: float) -> bytes:
    """Read proc's stderr (a bytes pipe) until `marker` appears; what was read. Raw reads, so a progress
    bar's line (ending in a carriage return) is seen at once; fails if the process ends first."""
    import selectors

    seen, deadline = b"", time.monotonic() + timeout
    tail = lambda: seen[-2000:].decode(errors="replace")  # noqa: E731
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while marker not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                proc.kill()
                pytest.fail(f"no {marker!r} on stderr within {timeout:.0f} s: {tail()}")
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                pytest.fail(f"the job ended (rc {proc.wait()}) before {marker!r}: {tail()}")
            seen += chunk
    return seen


@pytest.mark.slow
def test_sigint_and_sigterm_print_one_line_exit_130_143_and_the_same_command_resumes(tiny_models, shared_data,
                                                                                     tmp_path):
    """`python main.py ... dataset=futrell` on the real Natural Stories words, stopped twice while its words are
    being scored, then finished. The signal goes once the exact-surprisal bar is on stderr (its loop has begun,
    all 2,000 words ahead of it) plus a second, so it can neither arrive while loading nor after the end."""
    args = [sys.executable, "main.py", "model=tiny-llama", f"paths.tiny={Path(tiny_models['llama']).parent}",
            "dataset=futrell", f"dataset.path={shared_data / 'futrell2018'}", "dataset.max_words=2000",
            "dataset.surprisal.window=32", f"results_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'cache'}",
            "tracking=disabled", "progress=true"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    scored_before = 0
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                preexec_fn=sigint_as_at_a_terminal)
        seen = wait_for(proc, b"surprisal (exact)", timeout=300)
        time.sleep(1)  # score some words first, so that the next run has something to resume from
        proc.send_signal(sig)
        _, rest = proc.communicate(timeout=300)
        err = (seen + rest).decode(errors="replace")
        assert proc.returncode == code, err[-2000:]
        assert "Traceback" not in err
        line = [l for l in err.splitlines() if "interrupted" in l]
        assert len(line) == 1 and "rerun the same command to resume" in line[0], err[-2000:]
        assert "of 2,000 words" in line[0], line  # stopped while scoring, not while loading
        scored = int(line[0].split("interrupted after ")[1].split(" of")[0].replace(",", ""))
        (partial,) = (tmp_path / "cache").rglob("*.partial.npz")  # what the line says is what was saved
        assert int(np.load(partial)["next"]) == scored >= scored_before, (scored, scored_before)
        scored_before = scored
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "tiny-llama").exists()
    assert not list((tmp_path / "cache").rglob("*.partial.npz"))  # finished: the checkpoint is gone


@pytest.mark.slow  # two fresh interpreters through main.py's imports: ~5 s
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_main_py_is_starting_is_one_line_too(tmp_path, sig, code):
    """Before, Ctrl-C while main.py imported (its first seconds) printed Python's traceback, and SIGTERM killed it
    without a word."""
    plugin = tmp_path / "stops_its_process.py"  # loaded by setup_or_exit, before Hydra or any job
    plugin.write_text(f"import os\nos.kill(os.getpid(), {int(sig)})\n")
    proc = subprocess.run([sys.executable, "main.py", "tracking=disabled", f"results_dir={tmp_path / 'out'}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300, preexec_fn=sigint_as_at_a_terminal,
                          env={**os.environ, "BRAINALIGN_PLUGINS": str(plugin)})
    assert proc.returncode == code, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["[brainalign] interrupted; rerun the same command to resume"]
    assert not (tmp_path / "out").exists()
