"""The end-of-sweep summary: finished / skipped / failed with reasons, exit 1 on a failure unless
sweep_fail=ignore; with the basic and the joblib launcher (the SLURM one: tests/test_slurm.py)."""

import pytest
from omegaconf import OmegaConf

from brainalign.app import sweep
from brainalign.errors import ConfigError
from tests.sweep_helpers import run_sweep, summary_line, sweep_env


def _config(tmp_path):
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "job": {"num": 0},
                                       "overrides": {"task": ["model=a"]}, "runtime": {"output_dir": str(tmp_path / "a")}}})


class _Return:
    def __init__(self, status, value=None):
        self.status, self._return_value = status, value


def test_records_and_summary_of_a_sweep(tmp_path, capsys):
    from hydra.core.utils import JobStatus

    cb = sweep.SweepSummary()
    cfg = _config(tmp_path)
    cb.on_multirun_start(cfg)
    outcomes = [("finished", None, JobStatus.COMPLETED), ("skipped", None, JobStatus.COMPLETED),
                ("failed", ValueError("bad value\nsecond line"), JobStatus.COMPLETED),
                (None, RuntimeError("raised out of the job"), JobStatus.FAILED), ("killed", None, None)]
    for num, (status, err, job_status) in enumerate(outcomes):
        cfg.hydra.job.num = num
        cb.on_job_start(cfg)
        if status in ("skipped",):
            sweep.note(status)
        elif status == "failed":
            sweep.note_failure(err)
        if job_status is not None:  # "killed": no end record
            cb.on_job_end(cfg, _Return(job_status, err))
    with pytest.raises(SystemExit) as exit_:
        cb.on_multirun_end(cfg)
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "sweep of 5 job(s): 1 finished, 1 skipped, 3 failed" in out
    assert "failed #2 model=a: ValueError: bad value ..." in out  # one line per failure
    assert "failed #3 model=a: RuntimeError: raised out of the job" in out
    assert "failed #4 model=a: the job ended without an end record (killed?)" in out


def test_sweep_fail_ignore_exits_zero_and_bad_values_are_refused(tmp_path, capsys):
    cb = sweep.SweepSummary(fail="ignore")
    cfg = _config(tmp_path)
    cb.on_multirun_start(cfg)
    cb.on_job_start(cfg)  # never ends
    cb.on_multirun_end(cfg)
    assert "0 finished, 0 skipped, 1 failed" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="sweep_fail='sometimes'"):
        sweep.SweepSummary(fail="sometimes")


def test_a_sweep_stopped_by_ctrl_c_prints_its_summary(tmp_path, capsys, monkeypatch):
    from hydra.core.utils import JobStatus

    from brainalign.app.cli import guarded

    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")   # guarded sets it to 1; monkeypatch puts it back
    monkeypatch.setattr(sweep, "_running", [])

    def stopped_sweep():
        cb = sweep.SweepSummary()
        cfg = _config(tmp_path)
        cb.on_multirun_start(cfg)
        cb.on_job_start(cfg)
        cb.on_job_end(cfg, _Return(JobStatus.COMPLETED))
        cfg.hydra.job.num = 1
        cb.on_job_start(cfg)
        raise KeyboardInterrupt   # Ctrl-C during job 1: on_multirun_end never comes

    with pytest.raises(SystemExit) as exit_:
        guarded(stopped_sweep)
    assert exit_.value.code == 130
    out, err = capsys.readouterr()
    assert "[brainalign] sweep of 2 job(s): 1 finished, 0 skipped, 1 failed" in out
    assert "failed #1 model=a: interrupted" in out
    assert "interrupted; rerun the same command to resume" in err and "the sweep stopped before its end" in err
    assert not sweep._running
    guarded(lambda: None)   # a later run prints no summary of its own
    assert capsys.readouterr().out == ""


def test_a_job_that_crashes_in_a_sweep_is_one_line_and_keeps_its_traceback(make_config, tmp_path, capsys,
                                                                          monkeypatch):
    import json

    from brainalign.app import run as app_run

    def crash(cfg):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(app_run, "run", crash)
    monkeypatch.setattr(app_run, "_is_multirun", lambda: True)
    cfg = make_config()
    assert app_run.main_job(cfg) is None   # the sweep goes on
    failed = app_run.output_dir(cfg) / "failed.json"
    assert capsys.readouterr().err == f"[brainalign] error: RuntimeError: boom ... (its traceback: {failed})\n"
    assert "Traceback" in json.loads(failed.read_text())["traceback"]


def test_submitit_time_out_is_explained():
    from submitit.core.utils import UncompletedJobError

    text = sweep.explain(UncompletedJobError("Job not requeued because: timed-out too many times."))
    assert text.startswith("time limit:") and "model.resources.time_min" in text


@pytest.mark.slow
def test_basic_launcher_summary_and_exit_code(tmp_path, tiny_models):
    env = sweep_env(tiny_models, tmp_path / "cache")
    # two settings for one result folder: the second job refuses (ConfigError), the sweep goes on
    r = run_sweep(env, tmp_path / "out", "model=tiny-gpt2", "dataset.noise=1.0,2.0")
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert summary_line(r.stdout) == "[brainalign] sweep of 2 job(s): 1 finished, 0 skipped, 1 failed"
    assert "failed #1 " in r.stdout and "holds a result computed with other settings" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    r = run_sweep(env, tmp_path / "out", "model=tiny-gpt2", "dataset.noise=1.0,2.0", "sweep_fail=ignore")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert summary_line(r.stdout) == "[brainalign] sweep of 2 job(s): 0 finished, 1 skipped, 1 failed"


@pytest.mark.slow
def test_joblib_launcher_summary_two_jobs_on_one_folder(tmp_path, tiny_models):
    env = sweep_env(tiny_models, tmp_path / "cache")
    # both jobs write tiny-gpt2/synthetic/linear at the same time: one computes, the other waits, refuses
    r = run_sweep(env, tmp_path / "out", "hydra/launcher=joblib", "model=tiny-gpt2", "dataset.noise=1.0,2.0")
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert summary_line(r.stdout) == "[brainalign] sweep of 2 job(s): 1 finished, 0 skipped, 1 failed"
    assert "holds a result computed with other settings" in r.stdout
    assert len(list((tmp_path / "out").rglob("result.json"))) == 1


# A stand-in application (no model, no torch): the summary callback and brainalign's joblib launcher.
APP_CONFIG = """\
out: ???
n: 0
sweep_fail: error
hydra:
  sweep: {dir: "${out}", subdir: "job${n}"}
  job: {chdir: false}
  callbacks:
    sweep_summary: {_target_: brainalign.app.sweep.SweepSummary, fail: "${sweep_fail}"}
"""
APP = """\
import os, signal
from pathlib import Path
import hydra

@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg):
    if cfg.n == 1:
        os.kill(os.getpid(), signal.SIGKILL)   # as the kernel's out-of-memory killer would
    Path(cfg.out, f"job{cfg.n}.done").write_text("ok")

if __name__ == "__main__":
    main()
"""


@pytest.mark.slow
def test_a_killed_joblib_worker_is_a_failed_job_in_the_summary(tmp_path):
    import os
    import subprocess
    import sys

    from tests.sweep_helpers import REPO

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text(APP_CONFIG)
    (tmp_path / "app.py").write_text(APP)
    r = subprocess.run([sys.executable, "app.py", "-m", "hydra/launcher=joblib", f"out={tmp_path / 'out'}", "n=0,1,2"],
                       cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    line = summary_line(r.stdout)
    assert line.startswith("[brainalign] sweep of 3 job(s):") and not line.endswith(" 0 failed"), line
    assert any(s.startswith("  failed #1 ") and " n=1: its joblib worker died" in s for s in r.stdout.splitlines())
    assert "Traceback" not in r.stdout + r.stderr


def test_a_finished_sweep_leaves_no_record_behind_for_later_runs(tmp_path, monkeypatch):
    """A process that ran a sweep and then scores alone must not group the later run into the old sweep."""
    import os

    from omegaconf import OmegaConf

    from brainalign.app import sweep

    monkeypatch.delenv(sweep.ENV, raising=False)
    callback = sweep.SweepSummary(fail="ignore")
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    callback.on_multirun_start(config)
    assert os.environ[sweep.ENV] == callback.record_dir
    callback.on_multirun_end(config)
    assert sweep.ENV not in os.environ and (tmp_path / ".sweeps").is_dir()
