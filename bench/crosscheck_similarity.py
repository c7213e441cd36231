"""Cross-check brainalign's `cka` and `rdm` against Brain-Score's, on the same arrays, and time both.

    BRAINSCORE_PYTHON=/path/to/brainscore-venv/bin/python \
        PYTHONPATH=. python bench/crosscheck_similarity.py [--quick]

Brain-Score runs in its own venv (bench/brainscore_similarity_reference.py). Prints, per metric and
problem, the largest difference of the raw score and of any per-split value, then
`<metric>: <ours> s vs <theirs> s -> <N>x faster per layer`.
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

from brainalign.metrics.similarity import cka, rdm

REFERENCE = Path(__file__).with_name("brainscore_similarity_reference.py")
OURS = {"cka": cka, "rdm": rdm}


def run_reference(bs_python, X, Y, threads=1):
    with tempfile.TemporaryDirectory() as tmp:
        npz, out = Path(tmp) / "problem.npz", Path(tmp) / "out.json"
        np.savez(npz, X=X, Y=Y)
        env = {**os.environ, "BS_INSTALL_DEPENDENCIES": "no", "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run([bs_python, str(REFERENCE), str(npz), str(out)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"Brain-Score reference failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def compare(scores, reference):
    """Largest |ours - theirs| over layers, for the raw score and for any split."""
    raw = max(abs(s.raw - r["raw"]) for s, r in zip(scores, reference))
    split = max(float(np.max(np.abs(s.per_split - np.asarray(r["per_split"])))) for s, r in zip(scores, reference))
    return {"raw": raw, "per_split": split}


def problem(n, d, m, layers, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((layers, n, d))
    Y = X[0, :, :8] @ rng.standard_normal((8, m)) + 2 * rng.standard_normal((n, m))
    return X, Y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems only")
    args = parser.parse_args()
    bs_python = os.environ.get("BRAINSCORE_PYTHON")
    if not bs_python or not Path(bs_python).exists():
        sys.exit("set BRAINSCORE_PYTHON to the python of a venv with brainscore-language 2.3 (docs/metrics.md)")
    shapes = [(60, 40, 12, 2)] if args.quick else [(60, 40, 12, 2), (384, 4096, 2000, 3)]  # n, d, neuroids, layers
    for n, d, m, layers in shapes:
        X, Y = problem(n, d, m, layers, seed=n)
        reference = run_reference(bs_python, X, Y)
        for name, metric in OURS.items():
            t0 = time.perf_counter()
            scores = metric(X, Y)
            ours = (time.perf_counter() - t0) / layers
            theirs = float(np.mean([r["seconds"] for r in reference[name]]))
            diff = compare(scores, reference[name])
            print(f"{name} n={n} d={d} neuroids={m} layers={layers}: max |diff| raw {diff['raw']:.1e}, "
                  f"per split {diff['per_split']:.1e}")
            print(f"{name}: {ours:.3f} s vs {theirs:.3f} s -> {theirs / ours:.1f}x faster per layer")


if __name__ == "__main__":
    main()
