"""Sweeps through a real SLURM cluster (`sbatch`, `squeue`, `scancel`): the single-node cluster of
scripts/slurm-cluster.sh, started here if it is not up (and stopped again), skipped where SLURM is not
installed.

A sweep over three tiny models with their own resources (one with a 1-minute time limit, so two job
arrays): two jobs finish, one is cancelled with scancel while it runs; the summary names it with SLURM's
state and the sweep exits 1. The rerun resumes: the finished results are skipped (not recomputed), the
cancelled one is computed, exit 0. Meanwhile a second sweep's job runs past its time limit and is
recorded as failed with SLURM's TIMEOUT.

The two jobs that must still be running when SLURM ends them wait on their result folder's lock, which
this test holds (brainalign.plumbing.locks): a job SLURM can end at a known moment without burning CPU.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from brainalign.plumbing.locks import folder_lock
from runif import run_if
from tests.sweep_helpers import REPO, SUBSET, main_cmd, run_sweep, summary_line, sweep_env

SCRIPT = REPO / "scripts" / "slurm-cluster.sh"
SHORT = """\
# tiny-t5 with a 1-minute time limit and less memory: its own resources, so its own job array
defaults:
  - tiny-t5
  - _self_
name: tiny-t5-1min
resources: {gpus: 0, mem_gb: 2, time_min: 1}
"""


def _sinfo_ok(env) -> bool:
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and any(s in r.stdout for s in ("idle", "mixed", "allocated"))


@pytest.fixture(scope="module")
def slurm_conf():
    conf = os.environ.get("SLURM_CONF")
    if conf and _sinfo_ok(os.environ):
        yield conf
        return
    if os.geteuid() != 0:
        pytest.skip(f"no SLURM cluster answers and the local one ({SCRIPT.name}) needs root")
    out = subprocess.run([str(SCRIPT), "env"], capture_output=True, text=True, check=True).stdout
    conf = out.strip().split("=", 1)[1]
    started = not _sinfo_ok({**os.environ, "SLURM_CONF": conf})
    if started:
        subprocess.run([str(SCRIPT), "start"], check=True, timeout=120)
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = conf
    try:
        yield conf
    finally:
        if old is None:
            os.environ.pop("SLURM_CONF")
        else:
            os.environ["SLURM_CONF"] = old
        if started:
            subprocess.run([str(SCRIPT), "stop"], timeout=60)


def _squeue(job_id, env) -> str:
    r = subprocess.run(["squeue", "-h", "-r", "-t", "all", "-j", job_id.split("_")[0], "-o", "%i|%T"], env=env,
                       capture_output=True, text=True)
    return dict(line.split("|") for line in r.stdout.split()).get(job_id, "")


def _wait(what, ok, timeout, proc=None):
    t0 = time.monotonic()
    while not ok():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the sweep ended while waiting for {what}:\n{proc.stdout.read()[-4000:]}")
        assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
        time.sleep(0.5)


def _identity(path: Path):
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.mark.slow
@run_if(slurm=True)
def test_slurm_sweep_cancel_time_limit_summary_and_resume(tmp_path, tiny_models, slurm_conf, record_property):
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "tiny-t5-1min.yaml").write_text(SHORT)
    env = {**sweep_env(tiny_models, tmp_path / "cache"), "SLURM_CONF": slurm_conf}
    out, out_limit = tmp_path / "out", tmp_path / "out-limit"
    folder = {m: out / m / f"synthetic{SUBSET}" / "linear" for m in ("tiny-gpt2", "tiny-llama", "tiny-t5-1min")}
    common = ["hydra/launcher=slurm", "hydra.launcher.partition=debug", "hydra.launcher.cpus_per_task=1",
              # SLURM's own time limit (not submitit's USR2 120 s ahead of it, which a 1-min job gets at once)
              "hydra.launcher.signal_delay_s=0", f"hydra.searchpath=[file://{conf}]"]
    sweep = [*common, "model=tiny-gpt2,tiny-llama,tiny-t5-1min"]
    t0 = time.monotonic()
    with folder_lock(out_limit / "tiny-t5-1min" / f"synthetic{SUBSET}" / "linear"):
        # a job past its time limit (its own sweep: SLURM ends it 60-90 s after it started, meanwhile ...)
        limit = subprocess.Popen(main_cmd(out_limit, *common, "model=tiny-t5-1min"), cwd=REPO, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # ... the sweep over three models with their own resources; tiny-llama is cancelled while it runs
        with folder_lock(folder["tiny-llama"]):
            proc = subprocess.Popen(main_cmd(out, *sweep), cwd=REPO, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            groups_file = out / "slurm_groups.json"
            _wait("the submission", groups_file.exists, 300, proc)
            groups = json.loads(groups_file.read_text())
            ids = {job.split("model=")[1].split()[0]: jid for g in groups for job, jid in zip(g["jobs"], g["job_ids"])}

            def llama_waits():
                logs = list((out / ".submitit" / ids["tiny-llama"]).glob("*_log.out"))
                return (_squeue(ids["tiny-llama"], env) == "RUNNING"
                        and any("waiting for it" in p.read_text() for p in logs))

            _wait("tiny-llama running (waiting for its folder)", llama_waits, 300, proc)
            subprocess.run(["scancel", ids["tiny-llama"]], env=env, check=True)
            output, _ = proc.communicate(timeout=400)
        first_wall = time.monotonic() - t0
        assert proc.returncode == 1, output[-4000:]
        assert summary_line(output) == "[brainalign] sweep of 3 job(s): 2 finished, 0 skipped, 1 failed"
        assert f"SLURM job {ids['tiny-llama']} ended CANCELLED" in output
        assert "CANCELLED" in json.loads((folder["tiny-llama"] / "failed.json").read_text())["message"]
        assert "sacct" not in output.replace("sacct does not answer on this cluster", "")  # no sacct warnings
        # per-model resources: two job arrays, as SLURM itself has them
        by_time = {g["resources"]["timeout_min"]: g for g in groups}
        assert sorted(by_time) == [1, 10] and by_time[1]["resources"]["mem_gb"] == 2
        shown = subprocess.run(["scontrol", "show", "job", ids["tiny-t5-1min"]], env=env, capture_output=True,
                               text=True).stdout
        assert "TimeLimit=00:01:00" in shown and "MinMemoryNode=2G" in shown, shown
        done = {m: _identity(folder[m] / "result.json") for m in ("tiny-gpt2", "tiny-t5-1min")}

        # the rerun resumes: the cancelled job is computed, the finished ones are skipped, not recomputed
        t1 = time.monotonic()
        r = run_sweep(env, out, *sweep, timeout=400)
        rerun_wall = time.monotonic() - t1
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
        assert summary_line(r.stdout) == "[brainalign] sweep of 3 job(s): 1 finished, 2 skipped, 0 failed"
        assert {m: _identity(folder[m] / "result.json") for m in done} == done
        for m in folder:
            assert json.loads((folder[m] / "result.json").read_text())["model"]["name"] == m
            assert not (folder[m] / "failed.json").exists()

        limit_output, _ = limit.communicate(timeout=400)
    limit_wall = time.monotonic() - t0
    assert limit.returncode == 1, limit_output[-4000:]
    assert summary_line(limit_output) == "[brainalign] sweep of 1 job(s): 0 finished, 0 skipped, 1 failed"
    assert "ended TIMEOUT (TimeLimit): past its time limit; raise model.resources.time_min" in limit_output
    failed = json.loads((out_limit / "tiny-t5-1min" / f"synthetic{SUBSET}" / "linear" / "failed.json").read_text())
    assert "TIMEOUT" in failed["message"]
    figures = (f"SLURM: sweep of 3 jobs via sbatch (2 job arrays), 1 scancelled: {first_wall:.0f} s; "
               f"rerun 1 computed + 2 skipped: {rerun_wall:.0f} s; a job past its 1-min limit "
               f"recorded TIMEOUT after {limit_wall:.0f} s")
    print(figures)
    record_property("figures", figures)


# --- without a cluster: reading squeue, naming SLURM's reason ---------------------------------------

def test_squeue_watcher_reads_states_and_jobs_that_left_the_queue():
    from brainalign.app.slurm import SqueueWatcher

    w = SqueueWatcher(delay_s=10)
    for job in ("7_0", "7_1", "8", "9"):
        w.register_job(job)
    info = w.read_info(b"7_0|COMPLETED|None|vm\n7_1|TIMEOUT|TimeLimit|vm\n8|RUNNING|None|vm\n")
    assert info["7_1"]["State"] == "TIMEOUT" and info["7_1"]["Reason"] == "TimeLimit"
    assert info["8"]["State"] == "RUNNING"
    assert info["9"]["State"] == "NOT_IN_QUEUE"   # gone: done, so that nobody waits for it forever
    w._info_dict.update(info)
    assert w.is_done("7_1", mode="cache") and w.is_done("9", mode="cache") and not w.is_done("8", mode="cache")


class _Job:
    def __init__(self, job_id, info):
        self.job_id, self._info = job_id, info
        self.watcher = self

    def get_info(self, job_id, mode="force"):
        return self._info


def test_ended_reason_names_slurms_state_and_the_fix():
    from brainalign.app.slurm import ended_reason

    err = RuntimeError("has not produced any output")
    text = ended_reason(_Job("7_1", {"State": "TIMEOUT", "Reason": "TimeLimit"}), err)
    assert text == ("SLURM job 7_1 ended TIMEOUT (TimeLimit): past its time limit; "
                    "raise model.resources.time_min (or hydra.launcher.timeout_min)")
    assert ended_reason(_Job("3", {"State": "CANCELLED by 0", "Reason": "None"}), err).startswith(
        "SLURM job 3 ended CANCELLED: cancelled (scancel)")
    assert ended_reason(_Job("4", {"State": "COMPLETED"}), err) == \
        "SLURM job 4: RuntimeError: has not produced any output"


# --- the cluster's folder (scripts/slurm-cluster.sh dir), without SLURM ---------------------------------

def _script(tmp_path, *args, **env):
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp"),
            "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(["bash", str(SCRIPT), *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=30)


def test_script_parses():
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0


def test_cluster_folder_is_private_recorded_and_found_again(tmp_path):
    r = _script(tmp_path, "dir")
    assert r.returncode == 0, r.stderr
    folder = Path(r.stdout.strip())
    assert folder.parent == tmp_path / "tmp" and folder.name.startswith("brainalign-slurm.")
    st = folder.stat()
    assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o700
    assert (tmp_path / "run" / "brainalign-slurm.dir").read_text().strip() == str(folder)
    assert _script(tmp_path, "dir").stdout.strip() == str(folder)   # found again, not made again
    assert _script(tmp_path, "env").stdout.strip() == f"export SLURM_CONF={folder}/slurm.conf"
    r = _script(tmp_path, "status")
    assert r.returncode == 1 and "not up" in r.stdout
    shutil.rmtree(folder)   # a /tmp cleaned since: a new private folder
    again = Path(_script(tmp_path, "dir").stdout.strip())
    assert again != folder and again.stat().st_mode & 0o777 == 0o700


def test_cluster_folder_others_may_write_or_own_is_refused(tmp_path):
    folder = Path(_script(tmp_path, "dir").stdout.strip())
    folder.chmod(0o777)
    for command in ("dir", "start", "status", "stop", "env"):
        r = _script(tmp_path, command)
        assert r.returncode == 1 and r.stderr.strip() == f"refusing {folder}: group or others may write it (mode 777)"
    made = tmp_path / "made-by-someone"
    made.mkdir(mode=0o700)
    if os.geteuid() == 0:   # as root, a folder another user owns (root can give it away)
        os.chown(made, 65534, 65534)
        r = _script(tmp_path, "start", BRAINALIGN_SLURM_DIR=str(made))
        assert r.returncode == 1 and f"refusing {made}: owned by uid 65534, not by you (0)" in r.stderr
        assert list(made.iterdir()) == []   # nothing written into it
    state = tmp_path / "run" / "brainalign-slurm.dir"
    state.chmod(0o666)
    r = _script(tmp_path, "dir")
    assert r.returncode == 1 and r.stderr.strip() == f"refusing {state}: group or others may write it (mode 666)"
    new = tmp_path / "new"
    r = _script(tmp_path, "dir", BRAINALIGN_SLURM_DIR=str(new))
    assert r.stdout.strip() == str(new) and new.stat().st_mode & 0o777 == 0o700


def test_slurm_launcher_without_slurm_is_one_line(tmp_path, tiny_models):
    env = {**sweep_env(tiny_models, tmp_path / "cache"), "HYDRA_FULL_ERROR": "0", "PATH": str(tmp_path)}  # no srun
    r = subprocess.run(main_cmd(tmp_path / "out", "model=tiny-gpt2", "hydra/launcher=slurm"), cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines()[-1].startswith("[brainalign] error: hydra/launcher=slurm: no SLURM cluster took the "
                                                "jobs (Could not detect \"srun\"")
    assert "sweep of" not in r.stdout   # no job ran: no summary
