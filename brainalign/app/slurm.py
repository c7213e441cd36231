"""SLURM helpers for brainalign's submitit launcher (hydra_plugins/brainalign_launchers/launchers.py).

- Job states without accounting: submitit asks `sacct` for the state of every job it waits for. On
  a cluster without slurmdbd (a workstation, the test cluster of scripts/slurm-cluster.sh) sacct
  fails on every poll and submitit warns each time; and a job SLURM killed (time limit, scancel)
  never gets a final state, so its sweep waits forever. `use_squeue_without_sacct` switches the
  poller to `squeue --states=all`, which the controller answers for MinJobAge seconds (default 300)
  after a job ended.
- A job SLURM ended is recorded as failed, with SLURM's state and reason, in the job's own folder
  (failed.json) and in the sweep's record, so the end-of-sweep summary names it (brainalign.app.sweep).
"""

import functools
import getpass
import logging
import os
import subprocess
from pathlib import Path

from submitit.slurm.slurm import SlurmInfoWatcher, SlurmJob

log = logging.getLogger(__name__)

FIELDS = "JobID|State|Reason|NodeList"


class SqueueWatcher(SlurmInfoWatcher):
    """submitit's job-state poller, reading `squeue` instead of `sacct`."""

    def _make_command(self):
        if not self._registered - self._finished:
            return None
        return ["squeue", "--noheader", "--array", "--states=all", f"--user={getpass.getuser()}",
                "--format=%i|%T|%r|%N"]

    def read_info(self, string) -> dict:
        if not isinstance(string, str):
            string = string.decode()
        info = {}
        for line in string.splitlines():
            values = line.strip().split("|")
            if len(values) == 4:
                info[values[0]] = dict(zip(FIELDS.split("|"), values))
        for job_id in self._registered - self._finished:   # left the queue: nothing more will happen to it
            if job_id not in info:
                info[job_id] = {"JobID": job_id, "State": "NOT_IN_QUEUE", "Reason": "not listed by squeue"}
        return info


@functools.cache
def sacct_works() -> bool:
    try:
        r = subprocess.run(["sacct", "--noheader", "-X", "-j", "1", "-o", "JobID"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def use_squeue_without_sacct() -> None:
    """Poll job states with squeue when sacct cannot answer (no accounting storage)."""
    if not isinstance(SlurmJob.watcher, SqueueWatcher) and not sacct_works():
        log.info("sacct does not answer on this cluster (no accounting storage): polling job states with squeue")
        SlurmJob.watcher = SqueueWatcher(delay_s=10)  # squeue is cheap; a killed job is seen within 10 s


def ended_reason(job, err: Exception) -> str:
    """One line: how SLURM ended `job` (state and reason), or the error submitit reported."""
    try:
        info = job.watcher.get_info(job.job_id, mode="force")
    except Exception:
        info = {}
    state = (info.get("State") or "").split()[0] if info.get("State") else ""
    if not state or state in ("COMPLETED", "UNKNOWN"):  # SLURM says it ended well: the error is the job's
        from brainalign.app.sweep import one_line

        return f"SLURM job {job.job_id}: {type(err).__name__}: {one_line(err)}"
    reason = info.get("Reason") or ""
    text = f"SLURM job {job.job_id} ended {state}" + (f" ({reason})" if reason and reason != "None" else "")
    if state == "TIMEOUT":
        text += ": past its time limit; raise model.resources.time_min (or hydra.launcher.timeout_min)"
    elif state.startswith("CANCELLED"):
        text += ": cancelled (scancel); rerun the sweep to resume it"
    return text


def record_ended_job(job, err: Exception, idx: int, overrides: str, out_dir: Path) -> str:
    """failed.json in the job's folder and a failed record in the sweep's; returns the reason."""
    from datetime import datetime, timezone

    from brainalign.app import results, sweep

    reason = ended_reason(job, err)
    info = {"error": "SlurmJobEnded", "message": reason, "slurm_job_id": str(job.job_id),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        if not results.done(out_dir):
            results.write_failure(out_dir, info)
    except OSError as e:
        log.warning("could not write %s: %s", Path(out_dir) / results.FAILED, e)
    record = os.environ.get(sweep.ENV)
    ended = {r["num"]: r.get("status") for r in sweep.read_records(record)} if record else {}
    if record and ended.get(idx) not in ("finished", "skipped"):
        sweep.write_record(record, idx, status="failed", reason=reason, overrides=overrides,
                           output_dir=str(out_dir), slurm_job_id=str(job.job_id))
    return reason


def no_cluster(err: Exception):
    """The one-line error for a submission that SLURM refused or that found no SLURM here."""
    from brainalign.app.sweep import one_line
    from brainalign.errors import ConfigError

    return ConfigError(f"hydra/launcher=slurm: no SLURM cluster took the jobs ({one_line(err)}); start one "
                       "(scripts/slurm-cluster.sh start; eval \"$(scripts/slurm-cluster.sh env)\") or use "
                       "hydra/launcher=joblib")
