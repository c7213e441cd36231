"""Launchers for brainalign sweeps; see the package docstring and docs/zoo.md."""

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra.plugins.search_path_plugin import SearchPathPlugin
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import OmegaConf

log = logging.getLogger(__name__)


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS")


class ThreadCappedJoblibLauncher(JoblibLauncher):
    """joblib (loky) worker processes with `threads_per_job` BLAS/OpenMP threads each (default 1).

    The variables are set before the workers start, so numpy, scipy and torch read them at import
    (loky hands the parent's environment to its workers and keeps values set there).
    """

    def __init__(self, threads_per_job: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threads_per_job = int(threads_per_job)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        for var in THREAD_VARS:
            os.environ[var] = str(self.threads_per_job)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        log.info(f"joblib: {self.joblib.get('n_jobs')} jobs at a time, {self.threads_per_job} BLAS thread(s) each")
        try:
            return super().launch(job_overrides, initial_job_idx)
        except Exception as e:  # a worker died (killed, out of memory): joblib loses the whole batch
            from brainalign.app.sweep import one_line, record_lost_jobs

            log.error(f"joblib lost its jobs: {type(e).__name__}: {one_line(e)}")
            return record_lost_jobs(job_overrides, initial_job_idx,
                                    f"its joblib worker died ({type(e).__name__}: {one_line(e)})")


@dataclass
class ThreadCappedJoblibConf(JobLibLauncherConf):
    """`hydra/launcher=joblib`: 2 jobs at a time, 1 BLAS thread each (on 2 cores, more threads per parallel
    job slow BLAS/LAPACK 10-90x: docs/stack.md section 7). Bigger machine: hydra.launcher.n_jobs=8, and
    keep n_jobs x threads_per_job <= cores."""

    _target_: str = "hydra_plugins.brainalign_launchers.launchers.ThreadCappedJoblibLauncher"
    n_jobs: int = 2
    threads_per_job: int = 1


class RegisterJoblibConf(SearchPathPlugin):
    """Makes `hydra/launcher=joblib` brainalign's ThreadCappedJoblibConf; adds nothing to the search path.

    Why not conf/hydra/launcher/joblib.yaml: a file of that name is validated against the joblib plugin's
    schema (no new keys allowed) and warns of deprecation in every job. Why here: Hydra's plugin scan
    re-executes the joblib plugin's config module (which stores its own `joblib`) in an order we do not
    control, while search-path plugins run after the scan and before any config is composed.
    """

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        ConfigStore.instance().store(group="hydra/launcher", name="joblib", node=ThreadCappedJoblibConf,
                                     provider="brainalign")


class PerModelSlurmLauncher(SlurmLauncher):
    """submitit's SLURM launcher with resources resolved per job.

    Hydra resolves a launcher config once, for the whole sweep, so `gpus_per_node: ${model.resources.gpus}`
    would give every job the default model's GPUs. Here each job's own config is composed, its
    `hydra.launcher` node resolved (so the interpolations see that job's model), jobs with equal
    resources are grouped, and each group is submitted as one job array with its resources. All groups
    are submitted before waiting for any. The grouping is written to <sweep dir>/slurm_groups.json.
    """

    _EXECUTOR = "slurm"
    INIT_KEYS = ("submitit_folder", "max_num_timeout")

    def job_params(self, overrides: Sequence[str]) -> dict:
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
        params.pop("_target_", None)
        if not params.get("gpus_per_node"):   # 0 GPUs: ask for none rather than --gpus-per-node=0
            params["gpus_per_node"] = None
        return params

    def _executor(self, params: dict):
        import submitit

        params = dict(params)
        folder = params.pop("submitit_folder")
        init = {}
        if "max_num_timeout" in params:
            value = params.pop("max_num_timeout")
            if self._EXECUTOR == "slurm":
                init["slurm_max_num_timeout"] = value
        if self._EXECUTOR == "slurm":
            from brainalign.app.slurm import use_squeue_without_sacct

            use_squeue_without_sacct()
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, folder=folder, **init)
        generic = set(OmegaConf.structured(BaseQueueConf).keys())
        update = {}
        for key, value in params.items():
            if key in generic:
                update[key] = value
            elif self._EXECUTOR == "slurm":
                update[f"slurm_{key}"] = value
        executor.update_parameters(**update)
        return executor

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None and self.hydra_context is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        groups: dict[str, dict[str, Any]] = {}
        for i, overrides in enumerate(job_overrides):
            params = self.job_params(overrides)
            key = json.dumps(params, sort_keys=True, default=str)
            groups.setdefault(key, {"params": params, "jobs": []})["jobs"].append(i)
        state = Singleton.get_state()
        submitted: list = [None] * len(job_overrides)
        record = []
        for group in groups.values():
            p = group["params"]
            log.info(f"submitit '{self._EXECUTOR}': {len(group['jobs'])} job(s) with gpus_per_node={p.get('gpus_per_node')}, "
                     f"mem_gb={p.get('mem_gb')}, timeout_min={p.get('timeout_min')}, cpus_per_task={p.get('cpus_per_task')}")
            args = []
            for i in group["jobs"]:
                idx = initial_job_idx + i
                log.info(f"\t#{idx} : {' '.join(filter_overrides(job_overrides[i]))}")
                args.append((list(job_overrides[i]), "hydra.sweep.dir", idx, f"job_id_for_{idx}", state))
            try:
                jobs = self._executor(p).map_array(self, *zip(*args))
            except (RuntimeError, OSError) as e:   # no srun / sbatch here, or sbatch refused (FailedJobError)
                from brainalign.app.slurm import no_cluster

                raise no_cluster(e) from e
            for i, job in zip(group["jobs"], jobs):
                submitted[i] = job
            record.append({"resources": {k: p.get(k) for k in ("gpus_per_node", "mem_gb", "timeout_min", "cpus_per_task",
                                                               "partition") if k in p},
                           "jobs": [" ".join(filter_overrides(job_overrides[i])) for i in group["jobs"]],
                           "job_ids": [str(j.job_id) for j in jobs]})
        (sweep_dir / "slurm_groups.json").write_text(json.dumps(record, indent=2, default=str))
        return [self._result(job, job_overrides[i], initial_job_idx + i) for i, job in enumerate(submitted)]

    def _result(self, job, overrides: Sequence[str], idx: int) -> JobReturn:
        """The job's JobReturn; a job that SLURM ended (time limit, scancel, node failure) is recorded as
        failed with SLURM's state and reason, so that the sweep goes on to its summary."""
        try:
            return job.results()[0]
        except Exception as e:
            from brainalign.app.slurm import record_ended_job

            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            out = Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
            reason = record_ended_job(job, e, idx, " ".join(filter_overrides(overrides)), out)
            log.error(f"#{idx} {' '.join(filter_overrides(overrides))}: {reason}")
            ret = JobReturn()
            ret.overrides, ret.status, ret.return_value = list(overrides), JobStatus.COMPLETED, None
            return ret


class PerModelDebugLauncher(PerModelSlurmLauncher):
    """The same grouping, with submitit's debug executor: jobs run one after another in this process.

    For tests and dry runs (`hydra.launcher._target_=hydra_plugins.brainalign_launchers.launchers.PerModelDebugLauncher`):
    slurm_groups.json shows what a SLURM sweep would request.
    """

    _EXECUTOR = "debug"
