"""Concurrent runs: one result folder or cache entry is written by one process at a time, computed once."""

import multiprocessing as mp
import time

import numpy as np
from omegaconf import OmegaConf

from brainalign.plumbing import locks
from brainalign.errors import ConfigError

fork = mp.get_context("fork")


def _hold(folder, seconds, ready):
    with locks.folder_lock(folder):
        ready.set()
        time.sleep(seconds)


def test_folder_lock_waits_for_the_holder_and_says_so(tmp_path, capsys):
    ready = fork.Event()
    holder = fork.Process(target=_hold, args=(tmp_path / "run", 1.0, ready))
    holder.start()
    assert ready.wait(30)
    t0 = time.monotonic()
    with locks.folder_lock(tmp_path / "run"):
        waited = time.monotonic() - t0
    holder.join()
    assert waited > 0.5
    assert "being written by another run; waiting" in capsys.readouterr().out


def test_a_killed_holder_releases_the_lock(tmp_path):
    ready = fork.Event()
    holder = fork.Process(target=_hold, args=(tmp_path / "run", 60, ready))
    holder.start()
    assert ready.wait(30)
    holder.kill()  # SIGKILL: no cleanup runs in the holder
    holder.join()
    with locks.folder_lock(tmp_path / "run", timeout=5):
        pass


def test_stale_temporary_files_of_a_killed_writer_are_removed(tmp_path):
    entry = tmp_path / "features" / "abc.npz"
    entry.parent.mkdir(parents=True)
    stale = [entry.parent / ".abc.npz.x1.tmp", entry.parent / ".abc.partial.npz.x2.tmp"]
    other = entry.parent / ".abd.npz.x3.tmp"  # another entry's, possibly being written now
    for p in (*stale, other):
        p.write_bytes(b"half")
    with locks.entry_lock(entry):
        pass
    assert not any(p.exists() for p in stale) and other.exists()
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".result.json.x4.tmp").write_text("{")
    with locks.folder_lock(folder):
        pass
    assert not (folder / ".result.json.x4.tmp").exists()


# --- two runs of one result folder at once (brainalign.app.run.score) -----------------------------------

def _fake_score(cfg, log_path):
    """run.score with the model and the benchmark replaced by a slow stand-in that records each call."""
    from brainalign.app import run

    def describe(c):
        return {"model": {"name": "m", "fingerprint": "f", "layers": []}, "dataset": "d", "metric": "linear",
                "settings": {"noise": float(c.dataset.noise)}}

    def score_model(*args, **kwargs):
        with open(log_path, "a") as f:
            f.write("computed\n")
        time.sleep(1.0)
        return {"raw": float(cfg.dataset.noise), "ceiled": None, "ceiling": None, "best_layer": None,
                "best_layer_index": None, "raw_cv": None, "n_layers": 0, "synthetic": True}

    run.describe, run.score_model = describe, score_model
    try:
        return "ok", run.score(cfg)["raw"]
    except ConfigError as e:
        return "refused", str(e)


def _child(cfg_yaml, log_path, queue):
    queue.put(_fake_score(OmegaConf.create(cfg_yaml), log_path))


def _two_runs(tmp_path, noise_a, noise_b):
    out = tmp_path / "results"
    cfgs = [OmegaConf.to_yaml(OmegaConf.create({
        "task": "score", "results_dir": str(out), "cache_dir": str(tmp_path / "cache"), "force": False,
        "device": "cpu", "progress": False,
        "tracking": {"mode": "disabled"}, "model": {"name": "m"}, "metric": {"name": "linear"},
        "dataset": {"name": "d", "noise": n}})) for n in (noise_a, noise_b)]
    log_path = tmp_path / "calls.txt"
    queue = fork.Queue()
    procs = [fork.Process(target=_child, args=(c, log_path, queue)) for c in cfgs]
    for p in procs:
        p.start()
    outcomes = sorted(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join()
    return outcomes, log_path.read_text().count("computed"), out


def test_two_runs_with_the_same_settings_compute_once(tmp_path):
    outcomes, computed, _ = _two_runs(tmp_path, 1.0, 1.0)
    assert computed == 1
    assert outcomes == [("ok", 1.0), ("ok", 1.0)]  # the second waited, then read the stored result


def test_two_runs_with_other_settings_one_refuses(tmp_path):
    outcomes, computed, out = _two_runs(tmp_path, 1.0, 2.0)
    assert computed == 1
    assert [o[0] for o in outcomes] == ["ok", "refused"]
    assert "other settings" in outcomes[1][1]
    stored = OmegaConf.load(next(out.rglob("result.json")))
    assert stored.raw == outcomes[0][1]  # what the successful run reported is what is on disk


# --- a cache entry asked for by two jobs at once ------------------------------------------------------

def _ceiling_child(cache, log_path, queue):
    from brainalign.benchmarks.ceilings import cached_ceiling  # imported by the parent before the fork

    rng = np.random.RandomState(0)
    responses = rng.randn(30, 6)
    subjects = np.repeat(["a", "b", "c"], 2)

    def metric(source, target):
        with open(log_path, "a") as f:
            f.write("x\n")
        time.sleep(0.05)
        return np.abs(np.corrcoef(source.mean(1), target.T)[0, 1:])

    queue.put(cached_ceiling(cache, responses, subjects, metric, metric_name="toy", n_bootstraps=5).ceiling)


def test_a_ceiling_asked_for_by_two_jobs_is_computed_once(tmp_path):
    import brainalign.benchmarks.ceilings  # noqa: F401  (once, not in each child)
    import brainalign.metrics.extrapolation  # noqa: F401

    log_path = tmp_path / "metric_calls.txt"
    queue = fork.Queue()
    procs = [fork.Process(target=_ceiling_child, args=(tmp_path / "cache", log_path, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    values = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    assert values[0] == values[1]
    calls_one_computation = log_path.read_text().count("x")
    log_path.unlink()
    _ceiling_child(tmp_path / "cache2", log_path, queue)   # alone, on a fresh cache: the calls of one computation
    assert queue.get(timeout=60) == values[0]
    assert calls_one_computation == log_path.read_text().count("x")
    assert len(list((tmp_path / "cache" / "ceilings").glob("*.npz"))) == 1
