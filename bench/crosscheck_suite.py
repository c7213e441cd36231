"""Cross-check the Tuckute2024 and Fedorenko2016 benchmarks against Brain-Score's own benchmark classes.

Both sides read the same netCDF file, written by Brain-Score's `write_netcdf` with the real coordinate
structure (bench/brainscore_assemblies.py) and a planted signal, and score the same fixed feature
matrix (2 layers: one carries the signal, one is noise). Brain-Score runs its benchmark class in its
own venv (bench/brainscore_suite_reference.py); we run our loader, metric and ceiling. Prints the
largest difference per benchmark:

    BRAINSCORE_PYTHON=/path/to/bsenv/bin/python PYTHONPATH=. python bench/crosscheck_suite.py [--tol 1e-6]

Exit status 1 if a difference exceeds --tol.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from brainalign.benchmarks.brain import metric_ceiling, score_layers  # noqa: E402
from brainalign.datasets.fedorenko import load_fedorenko  # noqa: E402
from brainalign.datasets.tuckute import load_tuckute  # noqa: E402

WRITER = REPO / "bench" / "brainscore_assemblies.py"
REFERENCE = REPO / "bench" / "brainscore_suite_reference.py"
ALPHAS = [1.0e-3, 1.0e-2, 1.0e-1, 1.0, 1.0e1, 1.0e2, 1.0e3]
# Brain-Score benchmark -> (our data set, the metric config our conf/ composes for it)
CASES = {
    "Tuckute2024-linear": ("tuckute2024", dict(name="linear", kind="linear", correlation="batched", n_splits=10,
                                               train_size=0.9, random_state=1)),
    "Tuckute2024-ridge": ("tuckute2024", dict(name="ridge", kind="ridge", group_by=None, n_splits=10,
                                              random_state=1, alphas=ALPHAS)),
    "Fedorenko2016-linear-shuffle": ("fedorenko2016", dict(name="linear", kind="linear", correlation="batched",
                                                           n_splits=10, train_size=0.9, random_state=1)),
    "Fedorenko2016-ridge": ("fedorenko2016", dict(name="ridge", kind="ridge", group_by="sentence_id", n_splits=10,
                                                  random_state=1234, alphas=ALPHAS)),
}
SHAPES = {"tuckute2024": (1000, 1), "fedorenko2016": (416, 97)}


def bs_python() -> str:
    python = os.environ.get("BRAINSCORE_PYTHON")
    if not python or not Path(python).exists():
        raise SystemExit("set BRAINSCORE_PYTHON to the python of a venv with brainscore-language 2.3 (docs/suite.md)")
    return python


def write_assembly(python, dataset, path, values=None, seed=0) -> dict:
    """Write `dataset`'s stand-in assembly with Brain-Score's write_netcdf; returns {"path", "sha1", "shape"}."""
    args = [python, str(WRITER), dataset, str(path), "--seed", str(seed)]
    with tempfile.TemporaryDirectory() as folder:
        if values is not None:
            np.save(Path(folder) / "values.npy", values)
            args += ["--values", str(Path(folder) / "values.npy")]
        done = subprocess.run(args, capture_output=True, text=True,
                              env={**os.environ, "BS_INSTALL_DEPENDENCIES": "no"})
    if done.returncode:
        raise RuntimeError(f"brainscore_assemblies.py failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def planted(dataset, seed=0, d=16, noise=1.0):
    """(responses [n, m], features [2, n, d]): a shared signal drives every neuroid and layer 1;
    layer 0 is noise."""
    rng = np.random.default_rng(seed)
    n, m = SHAPES[dataset]
    signal = rng.standard_normal((n, 4))
    responses = signal @ rng.standard_normal((4, m)) + noise * rng.standard_normal((n, m))
    features = np.stack([rng.standard_normal((n, d)),
                         signal @ rng.standard_normal((4, d)) + 2.0 * rng.standard_normal((n, d))])
    return responses, features.astype(np.float32)


def reference(python, benchmark, data_path, features, layers) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        npz, out = Path(folder) / "features.npz", Path(folder) / "out.json"
        np.savez(npz, X=features, layers=np.array(layers))
        done = subprocess.run([python, str(REFERENCE), benchmark, str(data_path), str(npz), str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "BS_INSTALL_DEPENDENCIES": "no"})
        if done.returncode:
            raise RuntimeError(f"brainscore_suite_reference.py failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def ours(benchmark, data_path, features, cache_dir) -> dict:
    dataset, metric = CASES[benchmark]
    metric = OmegaConf.create(metric)
    t0 = time.monotonic()
    data = (load_tuckute if dataset == "tuckute2024" else load_fedorenko)(path=data_path)
    ceiling = None if dataset == "tuckute2024" else metric_ceiling(data, metric, cache_dir)
    raw = [s.raw for s in score_layers(features, data, metric)]
    ceiled = [None if ceiling is None else min(max(r / ceiling, 0.0), 1.0) for r in raw]
    return {"raw": raw, "ceiled": ceiled, "ceiling": ceiling, "seconds": time.monotonic() - t0}


def compare(benchmark, python, folder) -> dict:
    dataset = CASES[benchmark][0]
    responses, features = planted(dataset)
    path = Path(folder) / f"{dataset}.nc"
    if not path.exists():
        write_assembly(python, dataset, path, values=responses)
    layers = ["noise", "signal"]
    theirs = reference(python, benchmark, path, features, layers)
    mine = ours(benchmark, path, features, Path(folder) / "cache")
    diff = {"raw": max(abs(mine["raw"][k] - theirs["layers"][name]["raw"]) for k, name in enumerate(layers))}
    if theirs["ceiling"] is not None:
        diff["ceiling"] = abs(mine["ceiling"] - theirs["ceiling"])
        diff["ceiled"] = max(abs(mine["ceiled"][k] - theirs["layers"][name]["ceiled"]) for k, name in enumerate(layers))
    return {"benchmark": benchmark, "diff": diff, "ours": mine, "theirs": theirs}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--only", nargs="*", default=list(CASES))
    args = parser.parse_args()
    python = bs_python()
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for benchmark in args.only:
            c = compare(benchmark, python, folder)
            worst = max([worst, *c["diff"].values()])
            print(f"{benchmark}: signal layer raw ours {c['ours']['raw'][1]:.6f} vs Brain-Score "
                  f"{c['theirs']['layers']['signal']['raw']:.6f}"
                  + (f", ceiling ours {c['ours']['ceiling']:.6f} vs {c['theirs']['ceiling']:.6f}"
                     if c["theirs"]["ceiling"] is not None else ", no ceiling")
                  + "; max |difference| " + ", ".join(f"{k} {v:.2e}" for k, v in c["diff"].items()))
    sys.exit(1 if worst > args.tol else 0)


if __name__ == "__main__":
    main()
