"""The study's pairs compared end to end on stored arrays, as the analysis does it (docs/statistics.md,
"Cost").

    python bench/bench_study_pairs.py [--results 29] [--pairs 17] [--width 4096] [--jobs 2] [--shapes ...]
        [--folder DIR]

Writes the comparison files of --results random results (the linear metric, best layer of the given
width) for each benchmark shape of bench/bench_dual_bootstrap.py (Pereira2018's two experiments,
Blank2014, Fedorenko2016) under the shuffle and the group protocol, then times what the analysis runs:
brainalign.app.comparison_files.cache_tables over every file (--jobs processes), the --pairs
comparisons per benchmark and protocol from those tables, and a rerun of both (every table cached).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_dual_bootstrap import SHAPES  # noqa: E402
from brainalign.app.comparison_files import cache_tables, compare_files, save_comparison_arrays  # noqa: E402
from brainalign.metrics.crossval import row_basis  # noqa: E402
from brainalign.metrics.dual_bootstrap import Design  # noqa: E402
from brainalign.metrics.protocols import score_protocol  # noqa: E402
from brainalign.metrics.splits import group_splits, shuffle_splits  # noqa: E402

METRIC = {"kind": "linear", "correlation": "batched", "rcond": None, "alphas": None, "backend": "numpy"}


def write_results(folder, results, width, shapes):
    """{(shape, protocol): [comparison file of each result]}."""
    rng = np.random.default_rng(0)
    files = {}
    for shape in shapes:
        parts = SHAPES[shape]
        data = []
        for n, neuroids, units in parts:
            labels = np.repeat(np.arange(units), -(-n // units))[:n].astype(str)
            subjects = np.repeat([f"s{i}" for i in range(5)], -(-neuroids // 5))[:neuroids]
            data.append((rng.standard_normal((n, neuroids)), labels, subjects))
        for protocol in ("shuffle", "group"):
            files[(shape, protocol)] = []
            for k in range(results):
                saved = []
                for p, (Y, labels, subjects) in enumerate(data):
                    n = len(Y)
                    splits = (shuffle_splits(n, 10, 0.9, 1) if protocol == "shuffle"
                              else group_splits(labels, min(10, len(np.unique(labels))), 1234))
                    basis = row_basis(rng.standard_normal((n, width)))
                    r = score_protocol(basis, Y, splits, **METRIC)[0].per_split_neuroid[None]
                    saved.append(dict(name=f"part{p}", r=r, subjects=subjects, ceiling=1.0,
                                      tests=[t for _, t in splits], design=Design(basis, Y, labels, splits)))
                out = Path(folder) / shape / f"result{k:02d}"
                out.mkdir(parents=True, exist_ok=True)
                files[(shape, protocol)].append(save_comparison_arrays(
                    out, benchmark=shape, protocol=protocol, layers=["best"], best_layer=0, parts=saved, metric=METRIC))
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=29)
    parser.add_argument("--pairs", type=int, default=17)
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--folder", default=None, help="where the results are written (default a temporary folder)")
    args = parser.parse_args(argv)
    if not 0 < args.pairs <= args.results - 1:
        parser.error("--pairs must be between 1 and --results - 1")
    folder = args.folder or tempfile.mkdtemp(prefix="study-pairs-")
    start = time.perf_counter()
    files = write_results(folder, args.results, args.width, args.shapes)
    print(f"wrote {sum(len(f) for f in files.values())} comparison files in {time.perf_counter() - start:.0f} s "
          f"({folder})", flush=True)
    gap = args.results - args.pairs   # pair k with k + gap: some results in two pairs, as shared vanillas are
    start = time.perf_counter()
    cache_tables([f for group in files.values() for f in group], jobs=args.jobs)
    tables = time.perf_counter() - start
    print(f"tables of every result, {args.jobs} processes: {tables / 60:.1f} min", flush=True)
    for label, rerun in (("the pairs compared from the tables", False), ("a rerun (every table cached)", True)):
        start = time.perf_counter()
        count = 0
        if rerun:
            cache_tables([f for group in files.values() for f in group], jobs=args.jobs)
        for group in files.values():
            for k in range(args.pairs):
                compare_files(group[k], group[k + gap])
                count += 1
        print(f"{label}: {count} comparisons in {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
