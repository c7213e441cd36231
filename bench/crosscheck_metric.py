"""Cross-check brainalign.metrics against Brain-Score's own metric code on the same arrays.

Brain-Score runs in its own venv (bench/brainscore_reference.py); this script, in the project
venv, builds problems, runs both, and compares raw scores, per-split medians, every per-split
per-neuroid r and the chosen ridge alphas.

    python bench/crosscheck_metric.py --bs-python $BRAINSCORE_PYTHON [--quick] [--tol 1e-4]

Exit status 1 if any difference exceeds --tol.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from brainalign.metrics import linear_predictivity, ridge_predictivity  # noqa: E402

REFERENCE = REPO / "bench" / "brainscore_reference.py"
METRICS = ("linear_batched", "linear_scipy", "ridge")


def default_bs_python():
    return os.environ.get("BRAINSCORE_PYTHON")


def run_reference(bs_python, problem, metrics=METRICS, threads=1):
    """Brain-Score's results for problem (dict of arrays X, Y, groups, ...), as brainscore_reference writes them."""
    with tempfile.TemporaryDirectory() as folder:
        npz, out = Path(folder) / "problem.npz", Path(folder) / "out.json"
        np.savez(npz, **{k: v for k, v in problem.items() if k != "subjects"})
        env = {**os.environ, "BS_INSTALL_DEPENDENCIES": "no", "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run([bs_python, str(REFERENCE), str(npz), str(out), "--metrics",
                               *metrics, "--threads", str(threads)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise RuntimeError(f"brainscore_reference.py failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def run_ours(problem, metric):
    X, Y, subjects = problem["X"], problem["Y"], problem.get("subjects")
    n_splits = int(problem.get("n_splits", 10))
    if metric == "ridge":
        scores = ridge_predictivity(X, Y, groups=problem["groups"], subjects=subjects,
                                    n_splits=n_splits)
    else:
        scores = linear_predictivity(X, Y, subjects=subjects, n_splits=n_splits,
                                     correlation=metric.split("_")[1])
    return scores if isinstance(scores, list) else [scores]


def compare(ours, reference):
    """Largest absolute differences between our Scores and the reference results of one metric."""
    diff = {"raw": 0.0, "per_split": 0.0, "per_split_neuroid": 0.0, "nan_mismatch": 0,
            "alpha_mismatch": 0}
    for score, ref in zip(ours, reference):
        diff["raw"] = max(diff["raw"], abs(score.raw - ref["raw"]))
        diff["per_split"] = max(diff["per_split"],
                                float(np.max(np.abs(score.per_split - np.array(ref["per_split"])))))
        r_ref = np.array(ref["per_split_neuroid"], dtype=float)  # None -> NaN
        nan_ours, nan_ref = np.isnan(score.per_split_neuroid), np.isnan(r_ref)
        diff["nan_mismatch"] += int((nan_ours != nan_ref).sum())
        both = ~nan_ours & ~nan_ref
        if both.any():
            diff["per_split_neuroid"] = max(diff["per_split_neuroid"], float(
                np.max(np.abs(score.per_split_neuroid[both] - r_ref[both]))))
        if ref.get("alphas") is not None:
            diff["alpha_mismatch"] += int(np.sum(~np.isclose(score.alphas, ref["alphas"])))
    return diff


def problems(quick=False):
    """Random and structured problems: n_train < d, n_train > d, several subjects and layers."""
    rng = np.random.default_rng(0)
    out = {}

    # signal: Y = X W + noise, 3 subjects, 2 layers (one informative), n_train < d
    n, d, m = 60, 150, 36
    X = rng.standard_normal((2, n, d)).astype(np.float32)
    W = rng.standard_normal((d, m)) / np.sqrt(d)
    Y = X[1] @ W + rng.standard_normal((n, m))
    out["signal_ntrain<d"] = dict(X=X, Y=Y, groups=np.repeat(np.arange(12), 5),
                                  subjects=np.repeat(["s1", "s2", "s3"], 12))

    # n_train > d, pure noise, Blank-like 8 stories
    n, d, m = 160, 24, 30
    out["noise_ntrain>d"] = dict(X=rng.standard_normal((n, d)), Y=rng.standard_normal((n, m)),
                                 groups=np.repeat(np.arange(8), 20), n_splits=8)

    # LLM-like features: power-law spectrum, two "massive activation" columns, float32,
    # Y a weak low-rank readout (r ~ 0.3) plus an offset; Pereira-like 24 groups
    n, d, m = 96 if quick else 243, 256 if quick else 768, 40 if quick else 120
    spectrum = np.arange(1, d + 1) ** -1.0
    Z = rng.standard_normal((n, d)) * spectrum
    Z[:, :2] = 300 + 50 * rng.standard_normal((n, 2))
    Y = Z[:, 2:22] @ rng.standard_normal((20, m)) + 2 + rng.standard_normal((n, m))
    out["llm_like_float32"] = dict(X=Z.astype(np.float32), Y=Y,
                                   groups=np.arange(n) % 24,
                                   subjects=np.repeat(np.arange(4), m // 4))

    # rank-deficient X (duplicated columns): the lstsq cutoff matters
    n, d, m = 50, 40, 20
    base = rng.standard_normal((n, 8))
    X = np.concatenate([base, base * 2, base[:, :4] - base[:, 4:]], axis=1)[:, :d]
    out["rank_deficient"] = dict(X=X, Y=base @ rng.standard_normal((8, m)) + rng.standard_normal((n, m)),
                                 groups=np.arange(n) % 10)

    # Poisson counts: test columns are often constant (NaN in the scipy convention)
    n, d, m = 30, 25, 25
    out["poisson_constant_columns"] = dict(X=rng.standard_normal((n, d)) + np.arange(n)[:, None],
                                           Y=rng.poisson(1.0, (n, m)).astype(float),
                                           groups=np.arange(n) % 10)

    # feature scales far from 1: the ridge alpha grid lands on different choices
    n, d, m = 80, 120, 25
    X = rng.standard_normal((3, n, d)) * np.array([1e-3, 1.0, 1e3])[:, None, None]
    Y = X[:, :, :5].sum(0) @ rng.standard_normal((5, m)) + 0.5 * rng.standard_normal((n, m))
    out["scales_1e-3_1_1e3"] = dict(X=X, Y=Y, groups=np.arange(n) % 16)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bs-python", default=default_bs_python())
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--quick", action="store_true", help="smaller LLM-like problem")
    args = parser.parse_args()

    worst = 0.0
    header = (f"{'problem':26s} {'metric':15s} {'raw diff':>10s} {'split diff':>10s} "
              f"{'r diff':>10s} {'NaN diff':>8s} {'alpha diff':>10s}  raw (ours)")
    print("Brain-Score given float64 X (gated: every difference must be <= tol)\n" + header)
    float32_rows = []
    for name, problem in problems(args.quick).items():
        reference = run_reference(args.bs_python, {**problem, "X": problem["X"].astype(np.float64)})
        for metric in METRICS:
            ours = run_ours(problem, metric)
            diff = compare(ours, reference["results"][metric])
            worst = max(worst, diff["raw"], diff["per_split"], diff["per_split_neuroid"])
            if diff["nan_mismatch"] or diff["alpha_mismatch"]:
                worst = np.inf
            print(row(name, metric, diff, ours))
        if problem["X"].dtype == np.float32:
            float32_rows.append((name, problem))
    versions = reference["versions"]

    # Brain-Score's LinearRegression computes in X's dtype (sklearn casts y to it), so float32
    # activations give a float32 lstsq; informational only.
    print("\nBrain-Score given the float32 X itself (not gated; see docs/metrics.md)\n" + header)
    for name, problem in float32_rows:
        reference = run_reference(args.bs_python, problem, metrics=METRICS[:2])
        for metric in METRICS[:2]:
            ours = run_ours(problem, metric)
            print(row(name, metric, compare(ours, reference["results"][metric]), ours))
    print(f"\nlargest gated difference: {worst:.2e} (tolerance {args.tol:g}); Brain-Score {versions}")
    sys.exit(0 if worst <= args.tol else 1)


def row(name, metric, diff, ours):
    return (f"{name:26s} {metric:15s} {diff['raw']:10.2e} {diff['per_split']:10.2e} "
            f"{diff['per_split_neuroid']:10.2e} {diff['nan_mismatch']:8d} "
            f"{diff['alpha_mismatch']:10d}  {', '.join(f'{s.raw:.4f}' for s in ours)}")


if __name__ == "__main__":
    main()
