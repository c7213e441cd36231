"""What a sweep did: every job finished, skipped or failed (and why), summed up when the sweep ends.

`SweepSummary` is a Hydra callback (registered in conf/config.yaml). When a multirun starts it makes a
record folder `<sweep dir>/.sweeps/<time>-<pid>/`; each job writes `jobs/<n>.json` there when it starts
and again when it ends, wherever it runs (this process, a joblib worker, a SLURM node: the callback
travels to the job with Hydra's context). A job that was killed writes no end record; the SLURM
launcher fills in SLURM's reason (brainalign's launchers.py), anything else counts as failed with "no
end record". When the sweep ends the summary is printed and written to `summary.json`, and the
process exits with status 1 if a job failed, unless `sweep_fail=ignore`.

The job itself says how it ended with `note()`: brainalign.app.run marks a skipped result and a failure
(main_job catches errors so that one bad job does not stop the others).
"""

import json
import logging
import os
import sys
import time
from pathlib import Path

from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback

from brainalign.errors import ConfigError
from brainalign.plumbing.io import atomic_file

log = logging.getLogger(__name__)

ENV = "BRAINALIGN_SWEEP_RECORD"  # the record folder, for the launchers in the sweep's own process
FAIL_MODES = ("error", "ignore")
_job: dict = {}  # how the current job of this process ended, from note()
_running: list = []  # the record folder of the sweep this process runs, until its summary is printed


def note(status: str, reason: str | None = None) -> None:
    """Record how this process's current job ended: "skipped" or "failed" (with a reason)."""
    _job.update(status=status, reason=reason)


def note_failure(err: BaseException) -> None:
    note("failed", explain(err))


def explain(err: BaseException) -> str:
    """One line for the summary; submitit's time-out names the time limit and the key that raises it."""
    if type(err).__name__ == "UncompletedJobError" and "timed-out" in str(err):
        job = os.environ.get("SLURM_JOB_ID", "?")
        return (f"time limit: SLURM signalled job {job} (USR2, hydra.launcher.signal_delay_s before its time limit) "
                "before it finished; raise model.resources.time_min (or hydra.launcher.timeout_min)")
    return f"{type(err).__name__}: {one_line(err)}"


def one_line(text) -> str:
    lines = [s.strip() for s in str(text).strip().splitlines() if s.strip()]
    return (lines[0] if lines else "") + (" ..." if len(lines) > 1 else "")


def write_record(record_dir, num: int, **fields) -> None:
    path = Path(record_dir) / "jobs" / f"{int(num)}.json"
    with atomic_file(path, "w") as f:
        json.dump({"num": int(num), "time": time.time(), **fields}, f, indent=1, default=str)


def read_records(record_dir) -> list[dict]:
    out = []
    for path in sorted((Path(record_dir) / "jobs").glob("*.json"), key=lambda p: int(p.stem)):
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            out.append({"num": int(path.stem), "status": "failed", "reason": "unreadable job record"})
    return out


def record_lost_jobs(job_overrides, initial_job_idx: int, reason: str) -> list:
    """A launcher lost its jobs' results (a joblib worker was killed, say): jobs without an end record
    are recorded as failed with `reason`; returns placeholder JobReturns so the sweep reaches its summary."""
    from hydra.core.utils import JobReturn, filter_overrides

    record = os.environ.get(ENV)
    ended = {r["num"]: r.get("status") for r in read_records(record)} if record else {}
    returns = []
    for i, overrides in enumerate(job_overrides):
        num = initial_job_idx + i
        if record and ended.get(num) not in ("finished", "skipped", "failed"):
            write_record(record, num, status="failed", reason=reason, overrides=" ".join(filter_overrides(overrides)))
        ret = JobReturn()
        ret.overrides, ret.status, ret.return_value = list(overrides), JobStatus.COMPLETED, None
        returns.append(ret)
    return returns


def summarize(records: list[dict]) -> dict:
    jobs = []
    for r in records:
        status = r.get("status")
        if status not in ("finished", "skipped", "failed"):  # started, never ended
            status, r = "failed", {**r, "reason": r.get("reason") or "the job ended without an end record (killed?)"}
        jobs.append({**r, "status": status})
    counts = {s: sum(j["status"] == s for j in jobs) for s in ("finished", "skipped", "failed")}
    return {"jobs": len(jobs), **counts, "failures": [j for j in jobs if j["status"] == "failed"]}


def print_summary(record_dir, records: list[dict]) -> dict:
    """Write summary.json and print the summary."""
    summary = summarize(records)
    with atomic_file(Path(record_dir) / "summary.json", "w") as f:
        json.dump(summary, f, indent=1, default=str)
    print(summary_text(summary, record_dir), flush=True)
    return summary


def summary_if_stopped() -> None:
    """The sweep of this process stopped before its end (Ctrl-C, SIGTERM, an error out of the launcher): the
    summary of the jobs that started, those without an end record counted as interrupted."""
    if not _running:
        return
    record_dir = _running.pop()
    records = [r if r.get("status") in ("finished", "skipped", "failed") else
               {**r, "status": "failed", "reason": "interrupted"} for r in read_records(record_dir)]
    if not records:   # no job started (the launcher refused them): nothing to sum up
        return
    print_summary(record_dir, records)
    print("[brainalign] the sweep stopped before its end; rerun the same command to resume: finished results "
          "are skipped", file=sys.stderr, flush=True)


def summary_text(summary: dict, record_dir) -> str:
    lines = [f"[brainalign] sweep of {summary['jobs']} job(s): {summary['finished']} finished, "
             f"{summary['skipped']} skipped, {summary['failed']} failed"]
    for j in summary["failures"]:
        lines.append(f"  failed #{j['num']} {j.get('overrides', '')}: {one_line(j.get('reason'))}")
    lines.append(f"  record: {Path(record_dir) / 'summary.json'}")
    return "\n".join(lines)


class SweepSummary(Callback):
    """Hydra callback: per-job records and the end-of-sweep summary (module docstring)."""

    def __init__(self, fail: str = "error") -> None:
        if fail not in FAIL_MODES:
            raise ConfigError(f"sweep_fail={fail!r}; choose one of {', '.join(FAIL_MODES)}")
        self.fail = fail
        self.record_dir: str | None = None

    def on_multirun_start(self, config, **kwargs) -> None:
        from omegaconf.errors import InterpolationResolutionError

        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
        except InterpolationResolutionError:   # results_dir refused: the launcher says why, in one line
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = sweep_dir / ".sweeps" / f"{stamp}-{os.getpid()}"
        (folder / "jobs").mkdir(parents=True, exist_ok=True)
        self.record_dir = str(folder.resolve())
        os.environ[ENV] = self.record_dir
        _running[:] = [self.record_dir]

    def on_job_start(self, config, **kwargs) -> None:
        _job.clear()
        if self.record_dir:
            write_record(self.record_dir, config.hydra.job.num, status="started", overrides=_overrides(config),
                         output_dir=str(config.hydra.runtime.output_dir), pid=os.getpid())

    def on_job_end(self, config, job_return, **kwargs) -> None:
        if not self.record_dir:
            return
        failed = job_return.status == JobStatus.FAILED
        status = _job.get("status") or ("failed" if failed else "finished")
        reason = _job.get("reason") or (explain(job_return._return_value) if failed else None)
        write_record(self.record_dir, config.hydra.job.num, status=status, reason=reason,
                     overrides=_overrides(config), output_dir=str(config.hydra.runtime.output_dir), pid=os.getpid())

    def on_multirun_end(self, config, **kwargs) -> None:
        if not self.record_dir:
            return
        _running.clear()
        if os.environ.get(ENV) == self.record_dir:   # the sweep is over: later runs of this process are not in it
            del os.environ[ENV]
        summary = print_summary(self.record_dir, read_records(self.record_dir))
        if summary["failed"] and self.fail == "error":
            print("[brainalign] some jobs failed (sweep_fail=ignore exits 0 anyway); rerun the same command "
                  "to retry them: finished results are skipped", file=sys.stderr, flush=True)
            sys.exit(1)


def _overrides(config) -> str:
    return " ".join(str(o) for o in config.hydra.overrides.task)
