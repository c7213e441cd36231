"""Load test: 2 sweeps of the same 20 tiny-model jobs at once, SIGKILLed at random moments and rerun
until both finish. Afterwards every result is there exactly once, no partial file is left, the feature
cache holds one entry per model, and nothing that was complete was computed again.

The figures (jobs, kills survived, files checked) are printed in the `figures` section of pytest's
summary (tests/conftest.py) and quoted in docs/sweeps.md.
"""

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.sweep_helpers import REPO, SUBSET, main_cmd, summary_line, sweep_env

MODELS = ("tiny-gpt2", "tiny-llama")
NAMES = [f"s{i}" for i in range(10)]  # dataset.name: 10 result folders per model, one feature file per model
KILLS = 4
DEADLINE_S = 400


class Worker:
    def __init__(self, i, env, results, log_dir):
        self.i, self.env, self.results, self.log_dir = i, env, results, log_dir
        self.proc, self.attempts, self.kill_at, self.done, self.log = None, 0, None, False, None

    def start(self):
        self.attempts += 1
        self.log = self.log_dir / f"worker{self.i}-attempt{self.attempts}.log"
        cmd = main_cmd(self.results, f"model={','.join(MODELS)}", f"dataset.name={','.join(NAMES)}")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.kill_at, self.killed = None, False

    def jobs_started(self) -> int:
        return self.log.read_text(errors="replace").count("\t#") if self.log.exists() else 0

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.killed = True


def _identity(path: Path):
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


@pytest.mark.slow
def test_two_workers_twenty_jobs_random_kills(tmp_path, tiny_models, record_property):
    results, cache = tmp_path / "results", tmp_path / "cache"
    env = sweep_env(tiny_models, cache)
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    workers = [Worker(i, env, results, tmp_path) for i in range(2)]
    first_seen: dict[Path, tuple] = {}   # each complete file, as first seen
    kills = 0
    t0 = time.monotonic()

    def watch():
        for path in [*results.rglob("result.json"), *(cache / "features").rglob("*.npz")]:
            if path.name.endswith(".partial.npz"):
                continue
            try:
                first_seen.setdefault(path, _identity(path))
            except FileNotFoundError:
                pass

    while not all(w.done for w in workers):
        assert time.monotonic() - t0 < DEADLINE_S, "load test ran past its deadline"
        for w in workers:
            if w.done:
                continue
            if w.proc is None or (w.proc.poll() is not None and w.killed):
                w.start()
                continue
            rc = w.proc.poll()
            if rc is not None:
                assert rc == 0, f"worker {w.i} failed (rc {rc}):\n{w.log.read_text()[-4000:]}"
                w.done = True
                continue
            started = w.jobs_started()
            if kills < KILLS and started and w.kill_at is None:
                # a random moment while it works through the jobs: the first one or a later one
                w.kill_at = time.monotonic() + rng.uniform(0.0, 3.0)
            if w.kill_at is not None and time.monotonic() >= w.kill_at and kills < KILLS:
                w.kill()
                kills += 1
        watch()
        time.sleep(0.05)
    watch()
    wall = time.monotonic() - t0

    # every result exactly once, where it belongs, readable
    found = sorted(results.rglob("result.json"))
    assert len(found) == len(MODELS) * len(NAMES)
    scores = {}
    for m in MODELS:
        for n in NAMES:
            r = json.loads((results / m / f"{n}{SUBSET}" / "linear" / "result.json").read_text())
            assert (r["model"]["name"], r["dataset"]) == (m, n)
            scores.setdefault(m, []).append([row["raw"] for row in r["per_layer"]])
    # one feature file per model; every result of a model computed from the same features
    feature_files = sorted((cache / "features").rglob("*.npz"))
    assert [f.parent.name for f in feature_files] == sorted(MODELS)
    for f in feature_files:
        with np.load(f) as z:
            assert np.isfinite(z["values"]).all()
    for m in MODELS:
        assert np.allclose(scores[m], scores[m][0]), f"{m}: results disagree, the cache is not consistent"
    # no partial, temporary or failure file anywhere
    everything = [p for p in [*results.rglob("*"), *cache.rglob("*")] if p.is_file()]
    # (a killed sweep's own diary, <results>/.sweeps/<attempt>/, is not a result and is not checked)
    leftovers = [p for p in everything if ".sweeps" not in p.parts
                 and (p.name.endswith((".tmp", ".partial.npz")) or p.name == "failed.json")]
    assert not leftovers, leftovers
    for p in everything:
        if p.suffix == ".json" and ".sweeps" not in p.parts:
            json.loads(p.read_text())
    # nothing complete was computed again: each file is still the one first seen
    rewritten = [p for p, ident in first_seen.items() if p.exists() and _identity(p) != ident]
    assert not rewritten, rewritten
    # both workers' last attempts: all 20 jobs accounted for, none failed
    for w in workers:
        line = summary_line(w.log.read_text())
        assert line.startswith("[brainalign] sweep of 20 job(s)") and line.endswith(" 0 failed"), line

    figures = (f"{len(workers)} workers x {len(MODELS) * len(NAMES)} jobs, {kills} SIGKILLs survived "
               f"({sum(w.attempts for w in workers)} sweep attempts), {len(everything)} files checked "
               f"({len(found)} results, {len(feature_files)} feature files), {wall:.0f} s, seed {seed}")
    print(figures)
    record_property("figures", figures)
