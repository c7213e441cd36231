"""Features are computed once: a cache hit never loads the model; a killed run resumes."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from brainalign.activations import cache as fcache
from brainalign.benchmarks import ModelProvider
from brainalign.plumbing.interrupt import Interrupted

PASSAGES = [["One sentence here.", "Another one."], ["A second passage.", "With two.", "Or three."]]


def provider(path):
    return ModelProvider(OmegaConf.create({"name": "tiny", "path": str(path), "dtype": "float32", "add_bos": None,
                                           "layers": ["embedding", "blocks"]}))


def test_second_call_is_a_hit_without_loading(tiny_models, tmp_path):
    first, hit = fcache.cached_extract(provider(tiny_models["gpt2"]), PASSAGES, tmp_path, progress=False)
    assert not hit
    again = provider(tiny_models["gpt2"])
    second, hit = fcache.cached_extract(again, PASSAGES, tmp_path, progress=False)
    assert hit and not again.loaded
    np.testing.assert_array_equal(first.values, second.values)
    assert first.layers == second.layers


def test_key_changes_with_stimuli_and_layers():
    a = fcache.feature_key("m", PASSAGES, ["blocks"], True)
    assert a != fcache.feature_key("m", PASSAGES[:1], ["blocks"], True)
    assert a != fcache.feature_key("m", PASSAGES, ["embedding", "blocks"], True)
    assert a != fcache.feature_key("other", PASSAGES, ["blocks"], True)


def test_corrupted_cache_file_is_recomputed(tiny_models, tmp_path):
    feats, _ = fcache.cached_extract(provider(tiny_models["gpt2"]), PASSAGES, tmp_path, progress=False)
    (path,) = (tmp_path / "features" / "tiny").glob("*.npz")
    path.write_bytes(path.read_bytes()[:100])
    again, hit = fcache.cached_extract(provider(tiny_models["gpt2"]), PASSAGES, tmp_path, progress=False)
    assert not hit
    np.testing.assert_allclose(again.values, feats.values, rtol=1e-6)


def test_killed_run_resumes_from_checkpointed_passages(tiny_models, tmp_path, monkeypatch):
    model = provider(tiny_models["llama"])
    full, _ = fcache.cached_extract(model, PASSAGES, tmp_path / "ref", progress=False)
    calls = []
    real = fcache.extract

    def dying(lm, passages, done=None, on_passage=None, **kw):
        def once(i, rows):
            on_passage(i, rows)
            calls.append(i)
            raise KeyboardInterrupt  # killed after the first passage
        return real(lm, passages, done=done, on_passage=once, **kw)

    monkeypatch.setattr(fcache, "extract", dying)
    with pytest.raises(Interrupted):   # Ctrl-C: the finished passage is saved, then the job stops
        fcache.cached_extract(model, PASSAGES, tmp_path / "run", progress=False, checkpoint_seconds=0)
    assert list((tmp_path / "run" / "features" / "tiny").glob("*.partial.npz"))
    seen = []
    monkeypatch.setattr(fcache, "extract", lambda lm, passages, done=None, **kw: seen.append(len(done)) or real(lm, passages, done=done, **kw))
    resumed, hit = fcache.cached_extract(model, PASSAGES, tmp_path / "run", progress=False)
    assert seen == [1] and not hit
    np.testing.assert_allclose(resumed.values, full.values, rtol=1e-6)
    assert not list((tmp_path / "run" / "features" / "tiny").glob("*.partial.npz"))


def test_atomic_writes_follow_the_umask_without_changing_it(tmp_path, monkeypatch):
    import os
    import stat

    from brainalign.plumbing import io

    old = os.umask(0o027)
    try:
        def no_umask(mask):
            raise AssertionError("the umask was changed")

        monkeypatch.setattr(os, "umask", no_umask)
        path = io.write_text(tmp_path / "a" / "result.json", "{}")
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]
