"""Running `python main.py -m ...` in a subprocess for the sweep, load and SLURM tests."""

import os
import subprocess
import sys
from pathlib import Path

from brainalign.config.subset import subset_tag

REPO = Path(__file__).resolve().parents[1]
# Small settings: a job takes well under a second once the libraries are imported.
SMALL = ["tracking=disabled", "progress=false", "dataset=synthetic", "dataset.n_passages=12",
         "dataset.voxels_per_subject=10", "metric.n_splits=3"]
# 12 of the demo's 40 passages: a subset, whose results go to <dataset>-subset-<hash>/
SUBSET = subset_tag({"benchmark": "synthetic", "n_passages": 12})


def sweep_env(tiny_models, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "BRAINALIGN_TINY": str(tiny_models["gpt2"].parent),
           "BRAINALIGN_CACHE": str(cache), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HYDRA_FULL_ERROR": "1"}
    return env


def main_cmd(results: Path, *overrides) -> list[str]:
    return [sys.executable, str(REPO / "main.py"), "-m", f"results_dir={results}", *SMALL, *overrides]


def run_sweep(env, results: Path, *overrides, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(main_cmd(results, *overrides), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def summary_line(output: str) -> str:
    lines = [s for s in output.splitlines() if s.startswith("[brainalign] sweep of ")]
    assert lines, f"no end-of-sweep summary in:\n{output[-3000:]}"
    return lines[-1]
