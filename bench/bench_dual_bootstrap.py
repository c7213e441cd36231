"""What one result's dual bootstrap table costs at Pereira2018's size (docs/statistics.md, "Cost").

    OMP_NUM_THREADS=1 python bench/bench_dual_bootstrap.py [--samples 4] [--width 4096]

Random Pereira-shaped designs (384 + 243 stimuli, 96 + 24 units, 12,000 + 8,000 voxels, features of the
given width reduced to their row basis), the linear metric on ShuffleSplit 10 x 0.9; prints the time per
bootstrap sample and the time per result at brainalign's default number of samples.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brainalign.metrics import dual_bootstrap  # noqa: E402
from brainalign.metrics.crossval import row_basis  # noqa: E402
from brainalign.metrics.splits import shuffle_splits  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--width", type=int, default=4096)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    designs, subjects = [], []
    for n, voxels, units in ((384, 12000, 96), (243, 8000, 24)):
        basis = row_basis(rng.standard_normal((n, args.width)))
        labels = np.repeat(np.arange(units), -(-n // units))[:n].astype(str)
        designs.append(dual_bootstrap.Design(basis, rng.standard_normal((n, voxels)), labels,
                                             shuffle_splits(n, 10, 0.9, 1)))
        subjects.append(np.repeat([f"s{i}" for i in range(8)], -(-voxels // 8))[:voxels])
    metric = {"kind": "linear", "correlation": "batched", "rcond": None, "alphas": None, "backend": "numpy"}
    start = time.perf_counter()
    dual_bootstrap.replicates(designs, subjects, [1.0, 1.0], metric, n_boot=args.samples)
    per_sample = (time.perf_counter() - start) / args.samples
    print(f"{per_sample:.2f} s per bootstrap sample ({dual_bootstrap.N_CV} assignments, both parts); "
          f"{dual_bootstrap.N_BOOT} samples: {dual_bootstrap.N_BOOT * per_sample / 60:.1f} min per result")


if __name__ == "__main__":
    main()
