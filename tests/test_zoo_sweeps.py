"""Sweeps at scale: `experiment=paper`, the joblib launcher (one BLAS thread per job) and the SLURM
launcher that gives each job its own model's resources (run here with submitit's in-process executor)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from tests.test_zoo import GPT2, STUDY

REPO = Path(__file__).resolve().parents[1]

# A stand-in application: the repository's model/, hydra/ and experiment/ groups under a primary config of
# its own, and a task that only records what it was given. It keeps these tests independent of the
# scoring code and of conf/config.yaml.
PRIMARY = """\
defaults:
  - model: gpt2
  - dataset: d1
  - metric: linear
  - _self_
  - experiment: null
out: ???
tracking: {group: null}
hydra:
  sweep: {dir: "${out}/sweep", subdir: "${model.name}_${dataset.name}"}
  job: {chdir: false}
"""
APP = """\
import json, os, sys
from pathlib import Path
import hydra
from brainalign.config import setup

setup()   # the schemas brainalign's model configs extend


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg):
    from threadpoolctl import threadpool_info
    info = {"model": cfg.model.name, "dataset": cfg.dataset.name, "group": cfg.tracking.group,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "pid": os.getpid(),
            "blas_threads": [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]}
    Path(cfg.out, f"{cfg.model.name}_{cfg.dataset.name}.json").write_text(json.dumps(info))

if __name__ == "__main__":
    main()
"""


@pytest.fixture
def app(tmp_path):
    from brainalign.config import setup

    setup()   # the schemas the model configs extend, for the in-process compose calls
    conf = tmp_path / "app" / "conf"
    for group in ("model", "hydra", "experiment"):
        shutil.copytree(REPO / "conf" / group, conf / group)
    for group, names in (("dataset", ("d1", "d2")), ("metric", ("linear", "linear-2023", "study"))):
        (conf / group).mkdir(parents=True)
        for n in names:
            (conf / group / f"{n}.yaml").write_text(f"name: {n}\n")
    (conf / "config.yaml").write_text(PRIMARY)
    (tmp_path / "app" / "app.py").write_text(APP)
    return tmp_path / "app"


def run_app(app, out, *overrides):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(var, None)
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "app.py", "-m", f"out={out}", *overrides], cwd=app, env=env,
                          capture_output=True, text=True, timeout=600)


def test_paper_experiment_sweeps_the_study(app):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(app / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["experiment=paper", "out=x"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    params = cfg.hydra.sweeper.params
    models = [m.strip() for m in params.model.split(",")]
    assert sorted(models) == sorted(STUDY + GPT2) and len(models) == 33
    assert all((REPO / "conf" / "model" / f"{m}.yaml").exists() for m in models)
    assert [d.strip() for d in params.dataset.split(",")] == ["pereira", "blank", "wehbe", "futrell"]
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert cfg.tracking.group == "aw2024-paper" and cfg.metric.name == "study"


@pytest.mark.slow
def test_joblib_launcher_gives_each_job_one_blas_thread(app, tmp_path):
    out = tmp_path / "out"
    proc = run_app(app, out, "hydra/launcher=joblib", "model=t5-small,flan-t5-small", "dataset=d1,d2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stderr
    assert "2 jobs at a time, 1 BLAS thread(s) each" in proc.stdout + proc.stderr   # brainalign's launcher ran
    runs = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    assert len(runs) == 4
    assert {r["OMP_NUM_THREADS"] for r in runs} == {"1"}
    assert all(t == 1 for r in runs for t in r["blas_threads"])
    assert len({r["pid"] for r in runs}) <= 2   # n_jobs: 2 worker processes


@pytest.mark.slow
def test_slurm_launcher_asks_each_job_for_its_models_resources(app, tmp_path):
    out = tmp_path / "out"
    proc = run_app(app, out, "experiment=paper", "hydra/launcher=slurm",
                   "hydra.launcher._target_=hydra_plugins.brainalign_launchers.launchers.PerModelDebugLauncher",
                   "model=t5-small,llama-33b,tiny-gpt2,flan-t5-small",
                   "dataset=d1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    groups = json.loads((out / "sweep" / "slurm_groups.json").read_text())
    by_jobs = {tuple(sorted(j.split()[0] for j in g["jobs"])): g["resources"] for g in groups}
    assert len(groups) == 3
    assert by_jobs[("model=flan-t5-small", "model=t5-small")] == \
        {"gpus_per_node": 1, "mem_gb": 16, "timeout_min": 120, "cpus_per_task": 8, "partition": None}
    assert by_jobs[("model=llama-33b",)]["gpus_per_node"] == 2 and by_jobs[("model=llama-33b",)]["mem_gb"] == 160
    assert by_jobs[("model=llama-33b",)]["timeout_min"] == 720
    assert by_jobs[("model=tiny-gpt2",)]["gpus_per_node"] is None   # no --gpus-per-node=0
    runs = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    assert sorted(r["model"] for r in runs) == ["flan-t5-small", "llama-33b", "t5-small", "tiny-gpt2"]
    assert {r["group"] for r in runs} == {"aw2024-paper"}


def test_joblib_config_is_brainaligns(app):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(app / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=joblib", "out=x"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    assert cfg.hydra.launcher._target_.endswith("ThreadCappedJoblibLauncher")
    assert cfg.hydra.launcher.n_jobs == 2 and cfg.hydra.launcher.threads_per_job == 1


def test_slurm_config_composes_per_model(app):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(app / "conf"), version_base="1.3"):
        for model, gpus in (("llama-33b", 2), ("t5-small", 1), ("tiny-t5", 0)):
            cfg = compose("config", overrides=["hydra/launcher=slurm", f"model={model}", "out=x"],
                          return_hydra_config=True)
            assert cfg.hydra.launcher.gpus_per_node == gpus
            assert cfg.hydra.launcher.timeout_min == cfg.model.resources.time_min
            assert cfg.hydra.launcher._target_.endswith("PerModelSlurmLauncher")
    GlobalHydra.instance().clear()


def test_paper_experiment_composes_with_the_repositorys_config():
    from omegaconf import OmegaConf

    from brainalign.config import setup

    setup()
    defaults = OmegaConf.load(REPO / "conf" / "config.yaml").defaults
    # `experiment=paper` once conf/config.yaml lists `experiment: null` after _self_; `+experiment=paper` until then
    listed = any(OmegaConf.is_dict(d) and "experiment" in d for d in defaults)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["experiment=paper" if listed else "+experiment=paper"],
                      return_hydra_config=True)
    GlobalHydra.instance().clear()
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN" and cfg.tracking.group == "aw2024-paper"
    assert cfg.metric.name == "study" and len(cfg.hydra.sweeper.params.model.split(",")) == 33
