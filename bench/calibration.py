"""Do the comparison's p-values and intervals mean what they say? Monte-Carlo on synthetic data.

    python bench/calibration.py [--reps 300] [--workers 2] [--cases copies,random,noise,planted]
        [--setups shuffle-linear,group-ridge]

Pereira-like data, drawn fresh for every replicate: passages of 4 sentences whose latent stimulus
signal has a passage part and a sentence part (40 passages); 6 subjects of 10 neuroids, each a fresh random
readout of the latent signal (scaled by the case) plus passage-level and sentence-level noise. Two
"models" (feature sets of 24 dimensions) per case; their readouts of the latent signal are fixed
across replicates (a model is a fixed function of the stimulus), everything else is drawn again:

* copies (null): two noisy copies of the same features (same noise level).
* random (null): two independent random feature sets (with passage structure); the responses share
  one stimulus signal across subjects, which neither model carries.
* noise (null): pure-noise responses.
* planted: the copies with less noise in A than in B; the true difference E[score A - score B] is
  estimated on separate fresh data sets (--truth of them), not on the replicates tested.

Setups: ShuffleSplit 10 x 0.9 with the linear metric (Brain-Score's -linear) and GroupKFold (5 folds) over
passages with the ridge metric (its -ridge). Each replicate runs both methods of
brainalign.metrics.compare on the same arrays: the older one (bootstrap over test stimuli with the
maps fixed, p_bootstrap, needs the linear metric's stored predictions; sign-flip p_permutation; the
analysis's old rule max of the two) and the dual bootstrap (p and its interval). Printed with
Wilson 95 % intervals: the rate of p < 0.05 (false positives under the nulls, power when planted),
and how often the 95 % interval covers the true difference. Targets: rates within [3.5 %, 6.5 %],
coverage within [93 %, 97 %], power no lower than the older p_bootstrap's. The last column is a z test
that knows the difference's true SD (over the row's replicates): the most power a valid test can have.
"""

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brainalign.metrics.compare import (ComparisonArrays, ComparisonPart, compare_results,  # noqa: E402
                                        split_predictions)
from brainalign.metrics.crossval import row_basis  # noqa: E402
from brainalign.metrics.dual_bootstrap import Design, replicates  # noqa: E402
from brainalign.metrics.protocols import score_protocol  # noqa: E402
from brainalign.metrics.splits import group_splits, shuffle_splits  # noqa: E402
from brainalign.metrics.voxelwise_calibration import wilson  # noqa: E402

PASSAGES, SENTENCES, SUBJECTS, PER_SUBJECT, LATENT, DIMS = 40, 4, 6, 10, 6, 24
ALPHA = 0.05
ALPHAS = np.logspace(-1, 3, 5)
CASES = ("copies", "random", "noise", "planted")
SETUPS = {"shuffle-linear": ("shuffle", "linear"), "group-ridge": ("group", "ridge")}
NOISE = {"copies": (1.0, 1.0), "planted": (0.6, 1.2)}  # feature noise of A, B


def readouts():
    """The two models' fixed readouts of the latent signal (the same in every replicate)."""
    rng = np.random.default_rng(12345)
    return rng.standard_normal((LATENT, DIMS)), rng.standard_normal((LATENT, DIMS))


def dataset(case, rng):
    """Features A, B [n, DIMS], responses [n, neuroids], subjects, units of one fresh data set."""
    n = PASSAGES * SENTENCES
    units = np.repeat(np.arange(PASSAGES), SENTENCES)

    def structured(dim, passage=0.6):
        return passage * rng.standard_normal((PASSAGES, dim))[units] + rng.standard_normal((n, dim))

    latent = structured(LATENT)
    m = SUBJECTS * PER_SUBJECT
    signal = 0.0 if case == "noise" else 0.5
    Y = signal * latent @ rng.standard_normal((LATENT, m)) + structured(m, 0.5)
    if case == "random":
        A, B = structured(DIMS), structured(DIMS)
    else:
        (MA, MB), (na, nb) = readouts(), NOISE.get(case, (1.0, 1.0))
        shared = latent @ MA
        A = shared + na * rng.standard_normal((n, DIMS))
        B = shared + nb * rng.standard_normal((n, DIMS))
    return A, B, Y, np.repeat([f"s{i}" for i in range(SUBJECTS)], PER_SUBJECT), units.astype(str)


def splits_of(protocol, units):
    n = len(units)
    return shuffle_splits(n, 10, 0.9, 1) if protocol == "shuffle" else group_splits(units, 5, 1234)


def metric_of(kind):
    return {"kind": kind, "correlation": "batched", "rcond": None,
            "alphas": ALPHAS if kind == "ridge" else None, "backend": "numpy"}


def arrays(X, Y, subjects, units, splits, kind, design):
    """One result's ComparisonArrays: the design (dual bootstrap) or, as older files did, the
    linear metric's test predictions (the bootstrap's input)."""
    metric = metric_of(kind)
    r = score_protocol(X, Y, splits, **metric)[0].per_split_neuroid[None]
    part = ComparisonPart("part", r, subjects, 1.0, [t for _, t in splits])
    if design:
        part.design = Design(row_basis(X), Y, units, splits)
    elif kind == "linear":
        part.predictions = split_predictions(X, Y, splits)
        part.targets = [Y[t] for _, t in splits]
    return ComparisonArrays("synthetic", "p", ["l0"], 0, [part], metric=metric if design else None)


def replicate(job):
    """(old: difference, low, high, p_bootstrap, p_permutation, p; new: low, high, p) of one data set."""
    case, setup, seed, n_boot, dual_boot = job
    protocol, kind = SETUPS[setup]
    A, B, Y, subjects, units = dataset(case, np.random.default_rng(seed))
    splits = splits_of(protocol, units)
    old = compare_results(*(arrays(X, Y, subjects, units, splits, kind, False) for X in (A, B)), n_boot=n_boot,
                          n_perm=2000, seed=seed)
    new_arrays = [arrays(X, Y, subjects, units, splits, kind, True) for X in (A, B)]
    tables = tuple(replicates([p.design for p in x.parts], [p.subjects for p in x.parts], [p.ceiling for p in x.parts],
                              x.metric, n_boot=dual_boot, seed=seed) for x in new_arrays)
    new = compare_results(*new_arrays, replicates=tables)
    nan = float("nan")
    return [old.difference] + [nan if v is None else v for v in (old.low, old.high, old.p_bootstrap,
                                                                 old.p_permutation, old.p, new.low, new.high, new.p)]


def truth(case, setup, n, seed=10 ** 6):
    """E[score A - score B] over fresh data sets (0 for the exchangeable nulls)."""
    if case != "planted":
        return 0.0
    protocol, kind = SETUPS[setup]
    diffs = []
    for k in range(n):
        A, B, Y, _, units = dataset(case, np.random.default_rng(seed + k))
        splits = splits_of(protocol, units)
        a, b = (score_protocol(X, Y, splits, **metric_of(kind))[0].raw for X in (A, B))
        diffs.append(a - b)
    return float(np.mean(diffs)), float(np.std(diffs) / np.sqrt(n))


def cell(hits):
    hits = np.asarray(hits, dtype=float)
    hits = hits[np.isfinite(hits)]
    if len(hits) == 0:
        return "-"
    lo, hi = wilson(int(hits.sum()), len(hits))
    return f"{100 * hits.mean():5.1f} [{100 * lo:4.1f}, {100 * hi:4.1f}]"


def oracle_p(differences):
    """p of a z test that knows the difference's true spread (its SD over the row's fresh data sets):
    the most power a valid test of this difference can have, the yardstick for the others."""
    from scipy import stats

    return 2 * stats.norm.sf(np.abs(differences) / np.std(differences))


def table(results, truths):
    head = ["case", "setup", "what", "older p_bootstrap", "older p_permutation", "older max(p) (old rule)",
            "dual bootstrap p", "oracle z (true SD)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (case, setup), rows in results.items():
        x = np.asarray(rows, dtype=float)
        t = truths[(case, setup)]
        what = "power" if case == "planted" else "false positives"
        rates = [cell(np.where(np.isnan(x[:, i]), np.nan, x[:, i] < ALPHA)) for i in (3, 4, 5, 8)]
        rates.append(cell(oracle_p(x[:, 0]) < ALPHA))
        lines.append(f"| {case} | {setup} | {what} (p < 0.05), % | " + " | ".join(rates) + " |")
        old_cov = np.where(np.isnan(x[:, 1]), np.nan, (x[:, 1] <= t) & (t <= x[:, 2]))
        new_cov = (x[:, 6] <= t) & (t <= x[:, 7])
        lines.append(f"| {case} | {setup} | coverage of the 95 % interval, % | {cell(old_cov)} | - | - "
                     f"| {cell(new_cov)} | - |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-boot", type=int, default=500, help="the older bootstrap's samples")
    parser.add_argument("--dual-boot", type=int, default=100, help="the dual bootstrap's samples")
    parser.add_argument("--truth", type=int, default=400, help="fresh data sets for the planted difference")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--setups", default=",".join(SETUPS))
    args = parser.parse_args(argv)
    cases, setups = args.cases.split(","), args.setups.split(",")
    start = time.perf_counter()
    jobs = [(c, s, 1000 * k + i, args.n_boot, args.dual_boot) for i, c in enumerate(cases) for s in setups for k in range(args.reps)]
    with ProcessPoolExecutor(args.workers) as pool:
        out = list(pool.map(replicate, jobs, chunksize=4))
        truths = dict(zip([(c, s) for c in cases for s in setups],
                          pool.map(truth, *zip(*[(c, s, args.truth) for c in cases for s in setups]))))
    results = {}
    for job, row in zip(jobs, out):
        results.setdefault(job[:2], []).append(row)
    for key, t in truths.items():
        if isinstance(t, tuple):
            truths[key] = t[0]
            print(f"true difference, {key[0]} {key[1]}: {t[0]:.4f} (+- {t[1]:.4f}, {args.truth} fresh data sets)")
    print(f"{args.reps} replicates per row, Wilson 95 % intervals; {time.perf_counter() - start:.0f} s "
          f"with {args.workers} workers\n")
    print(table(results, truths))
    return results, truths


if __name__ == "__main__":
    main()
