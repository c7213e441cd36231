"""Calibration of the per-voxel significance (brainalign/metrics/voxelwise_stats.py) by simulation.

    PYTHONPATH=. python bench/calibration_voxelwise.py [--voxels 4000] [--times 300] [--perms 500] [--reps 20]

1. Null: measured and predicted series are independent AR(1) noise (lag-1 autocorrelation phi, as
   BOLD and smoothed features are). Prints the share of voxels with p < 0.05 and its 95 % Wilson
   interval for an i.i.d. shuffle of TRs (block=1) and for blocks of 5, 10 and 20 TRs.
2. Mix: 10 % of voxels share a planted signal between data and prediction. Over --reps simulated
   data sets, BH at q = 0.05: the false discovery rate (mean false discovery proportion, with a 95 %
   t interval), and the share of planted voxels recovered.
"""
import argparse
import time

import numpy as np
from scipy import stats

from brainalign.metrics.voxelwise_calibration import ar1, false_discovery_proportion, planted, wilson
from brainalign.metrics.voxelwise_stats import block_permutation_p, fdr_bh


def null_rates(args, rng):
    print(f"null: {args.voxels} voxels x {args.times} TRs, {args.perms} permutations; rate of p < 0.05 [95 % Wilson]")
    for phi in (0.0, 0.3, 0.5, 0.8):
        y, pred = ar1(args.times, args.voxels, phi, rng), ar1(args.times, args.voxels, phi, rng)
        cells = []
        for block in (1, 5, 10, 20):
            k = int((block_permutation_p(y, pred, block=block, n_perm=args.perms, seed=block) < 0.05).sum())
            low, high = wilson(k, args.voxels)
            cells.append(f"{'iid' if block == 1 else f'block {block}'}: {k / args.voxels:.3f} [{low:.3f}, {high:.3f}]")
        print(f"  phi {phi:.1f}  " + "  ".join(cells))


def fdr(args, rng, q=0.05, phi=0.5, snr=(0.5, 1.0)):
    n_planted = args.voxels // 10
    for s in snr:
        fdp, power = [], []
        for _ in range(args.reps):
            y, pred, is_planted = planted(args.times, args.voxels, n_planted, phi, s, rng)
            p = block_permutation_p(y, pred, block=10, n_perm=args.perms, seed=int(rng.integers(2 ** 31)))
            reject, _ = fdr_bh(p, q)
            fdp.append(false_discovery_proportion(reject, is_planted))
            power.append(reject[is_planted].mean())
        half = stats.t.ppf(0.975, len(fdp) - 1) * np.std(fdp, ddof=1) / np.sqrt(len(fdp))
        print(f"mix (phi {phi}, snr {s}, {n_planted} planted of {args.voxels}, block 10, BH q = {q}, {args.reps} "
              f"sets): FDR {np.mean(fdp):.3f} [{np.mean(fdp) - half:.3f}, {np.mean(fdp) + half:.3f}]  "
              f"planted recovered {np.mean(power):.3f}  (expected FDR q x nulls/voxels = {q * 0.9:.3f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voxels", type=int, default=4000)
    parser.add_argument("--times", type=int, default=300)
    parser.add_argument("--perms", type=int, default=500)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.times < 40 or args.voxels < 10 or args.perms < 1 or args.reps < 2:
        raise SystemExit("needs --times >= 40 (blocks of 20 TRs), --voxels >= 10, --perms >= 1, --reps >= 2")
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    null_rates(args, rng)
    fdr(args, rng)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
