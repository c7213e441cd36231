"""What one result's dual bootstrap table costs, per benchmark shape, and the study's pairs on 2 cores
(docs/statistics.md, "Cost").

    OMP_NUM_THREADS=1 python bench/bench_dual_bootstrap.py [--samples 6] [--width 4096] [--shapes pereira ...]

Random designs of each benchmark's shape (stimuli, neuroids, units), features of the given width reduced
to their row basis; the linear metric on ShuffleSplit 10 x 0.9 and the ridge metric on GroupKFold over
the units (and the linear metric on those folds too). A table's fixed part (the fresh assignments of the
whole data) and its cost per bootstrap sample (--samples of them) are timed apart, and extrapolated to
brainalign's N_BOOT samples. The same samples are timed with the refit of the metric on the resampled
rows, copies and all (the path before brainalign.metrics.refit), and the ratio printed. The study: 17
IT/vanilla pairs are 29 results per benchmark; a result of the linear metric has a shuffle and a group
table; 2 processes.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brainalign.metrics import dual_bootstrap  # noqa: E402
from brainalign.metrics.crossval import row_basis  # noqa: E402
from brainalign.metrics.protocols import score_protocol  # noqa: E402
from brainalign.metrics.splits import group_splits, shuffle_splits  # noqa: E402

# parts: (stimuli, neuroids, units); Pereira2018's two experiments (passages), Blank2014 (stories, 5 x 12
# fROIs), Fedorenko2016 (sentences of 8 words, 97 electrodes)
SHAPES = {"pereira": [(384, 12000, 96), (243, 8000, 72)], "blank": [(1317, 60, 8)], "fedorenko": [(416, 97, 52)]}
SETUPS = [("shuffle", "linear"), ("group", "linear"), ("group", "ridge")]
RESULTS_PER_BENCHMARK, WORKERS = 29, 2


class OnTheCopies:
    """The refit before brainalign.metrics.refit: the metric on the resampled rows, copies and all."""

    def __init__(self, basis, responses, metric):
        self.basis, self.responses, self.metric = basis, responses, metric

    def __call__(self, rows, splits):
        return score_protocol(self.basis[rows], self.responses[rows], splits, **self.metric)[0].per_split_neuroid


def designs(shape, protocol, width, rng):
    out, subjects = [], []
    for n, neuroids, units in SHAPES[shape]:
        basis = row_basis(rng.standard_normal((n, width)))
        labels = np.repeat(np.arange(units), -(-n // units))[:n].astype(str)
        splits = shuffle_splits(n, 10, 0.9, 1) if protocol == "shuffle" else group_splits(labels, min(10, units), 1234)
        out.append(dual_bootstrap.Design(basis, rng.standard_normal((n, neuroids)), labels, splits))
        subjects.append(np.repeat([f"s{i}" for i in range(5)], -(-neuroids // 5))[:neuroids])
    return out, subjects


def per_result(parts, subjects, metric, samples):
    """(seconds per result at N_BOOT samples, seconds per sample): the fixed part (the fresh assignments
    of the whole data) timed alone, the samples timed without it."""
    ceilings = [1.0] * len(parts)

    def timed(n_boot, n_assign):
        start = time.perf_counter()
        dual_bootstrap.replicates(parts, subjects, ceilings, metric, n_boot=n_boot, n_assign=n_assign)
        return time.perf_counter() - start

    fixed = timed(0, None)
    per_sample = (timed(samples, 0) - timed(0, 0)) / samples
    return fixed + dual_bootstrap.N_BOOT * per_sample, per_sample


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args(argv)
    study = {}
    print(f"{'benchmark':10} {'protocol':8} {'metric':6} {'s/sample':>9} {'before':>9} {'ratio':>6} {'min/result':>10}")
    for shape in args.shapes:
        for protocol, kind in SETUPS:
            parts, subjects = designs(shape, protocol, args.width, np.random.default_rng(0))
            metric = {"kind": kind, "correlation": "batched", "rcond": None, "alphas": None, "backend": "numpy"}
            total, sample = per_result(parts, subjects, metric, args.samples)
            shipped, dual_bootstrap.Refit = dual_bootstrap.Refit, OnTheCopies
            try:
                _, before = per_result(parts, subjects, metric, args.samples)
            finally:
                dual_bootstrap.Refit = shipped
            study[(shape, protocol, kind)] = total
            print(f"{shape:10} {protocol:8} {kind:6} {sample:9.3f} {before:9.3f} {before / sample:6.1f} "
                  f"{total / 60:10.2f}", flush=True)
    for kind in ("linear", "ridge"):
        times = [t for (_, _, k), t in study.items() if k == kind]
        minutes = RESULTS_PER_BENCHMARK * sum(times) / WORKERS / 60
        print(f"the study's pairs, {kind} metric ({RESULTS_PER_BENCHMARK} results x {', '.join(args.shapes)} x "
              f"{len(times) // len(args.shapes)} protocol(s)), {WORKERS} processes: {minutes:.1f} min")


if __name__ == "__main__":
    main()
