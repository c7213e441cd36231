"""Print OASM vs the planted-signal model under every protocol on the Pereira2018 (384sentences)
stimulus structure with confound-simulated voxels (what tests/test_confound_sim.py asserts).

    PYTHONPATH=. python bench/confound_evidence.py [--voxels 20] [--trim 3]
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from brainalign.benchmarks.protocols import protocol_splits  # noqa: E402
from brainalign.datasets.brain import BrainData  # noqa: E402
from brainalign.datasets.confound_sim import pereira_stimuli, simulate  # noqa: E402
from brainalign.metrics.protocols import score_protocol  # noqa: E402
from brainalign.models.baselines import baseline_values  # noqa: E402

CSV = Path(os.environ.get("BRAINALIGN_SHARED") or REPO.parent / "shared") / "data" / "pereira2018" / \
    "Pereira2018_stimulus_set.csv"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--voxels", type=int, default=20)
    parser.add_argument("--trim", type=int, default=3)
    args = parser.parse_args()
    st = pereira_stimuli(CSV)
    st = st[st["experiment"] == "384sentences"].reset_index(drop=True)
    sim = simulate(st, n_subjects=3, voxels_per_subject=args.voxels)
    data = BrainData("sim", st.assign(text=st["sentence"]), sim.responses, sim.neuroids, ceiling=1.0,
                     synthetic=True, group_by="passage_label")
    rows = data.passages()
    texts = [[data.stimuli["text"][r] for r in p] for p in rows]
    order = np.concatenate(rows)
    oasm, _ = baseline_values("oasm", texts, sigma=1.0, max_features=len(st))
    signal, _ = baseline_values("random_embedding", texts)
    X = np.zeros((2, len(st), len(st)))
    X[0, order], X[1, order, :100] = oasm, signal
    metric = OmegaConf.create({"kind": "linear", "group": {"by": "story", "n_splits": 10},
                               "contiguous": {"n_splits": 10, "trim": 0}})
    shuffled = np.random.default_rng(1).permutation(len(st))
    print(f"{'protocol':<18} {'OASM':>8} {'signal':>8} {'OASM ctl':>9} {'signal ctl':>10}")
    for name, cfg in [("shuffle", metric), ("group", metric), ("contiguous", metric),
                      (f"contiguous trim{args.trim}", OmegaConf.merge(metric, {"contiguous": {"trim": args.trim}}))]:
        splits = protocol_splits(name.split()[0], data, cfg)
        real = score_protocol(X, data.responses, splits, "linear")
        ctl = score_protocol(X, data.responses[shuffled], splits, "linear")
        print(f"{name:<18} {real[0].raw:>8.4f} {real[1].raw:>8.4f} {ctl[0].raw:>9.4f} {ctl[1].raw:>10.4f}")


if __name__ == "__main__":
    main()
