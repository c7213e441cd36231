"""Simulated voxels with a planted linguistic signal and a passage-level confound (Hadidi et al. 2025).

responses = signal_sd * (a) + confound_sd * (b) + noise_sd * white noise, per voxel, where
(a) is a linear map of per-sentence linguistic features (by default Brain-Score's
    randomembedding-100 of the sentence, so `model=randomembedding-100` carries exactly (a)), and
(b) is autocorrelated within each passage: a passage offset plus noise smoothed along the
    sentences of the passage (Gaussian, `smooth` sentences wide), independent across passages.
Each component has unit variance per voxel before scaling. Under shuffled cross-validation (b) is
learnable from the other sentences of a passage (OASM picks it up); when whole passages/stories
are held out it is not. The stimulus structure is the caller's, e.g. the real Pereira2018
sentences, so the folds are the real benchmark's.

    python -m brainalign.datasets.confound_sim --stimuli Pereira2018_stimulus_set.csv --out sim.nc
    python main.py model=oasm dataset=pereira dataset.path=sim.nc metric.cv=[shuffle,group]
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

@dataclass
class Simulation:
    stimuli: pd.DataFrame      # one row per stimulus, stored order
    responses: np.ndarray      # [stimuli, neuroids]
    neuroids: pd.DataFrame     # subject, voxel_num, neuroid_id
    signal: np.ndarray         # (a), unit variance per voxel
    confound: np.ndarray       # (b), unit variance per voxel
    features: np.ndarray       # the per-sentence features (a) is made of


def _standardise(x):
    x = x - x.mean(axis=0)
    return x / (x.std(axis=0) + 1e-12)


def linguistic_features(texts, dim: int = 100) -> np.ndarray:
    """Brain-Score's randomembedding-<dim> of each sentence (see brainalign.models.baselines)."""
    from brainalign.models.baselines import random_embedding

    return np.stack([random_embedding(t, dim) for t in texts])


def passage_confound(blocks, n_neuroids: int, rng, smooth: float = 2.0, offset: float = 1.0) -> np.ndarray:
    """(b): per block, offset ~ N(0, offset^2) plus white noise smoothed along the block's rows."""
    from scipy.ndimage import gaussian_filter1d

    blocks = np.asarray(blocks)
    out = np.empty((len(blocks), n_neuroids))
    for label in pd.unique(blocks):
        rows = np.flatnonzero(blocks == label)
        walk = rng.standard_normal((len(rows), n_neuroids))
        if smooth > 0 and len(rows) > 1:
            walk = gaussian_filter1d(walk, sigma=smooth, axis=0, mode="nearest")
            walk /= walk.std() + 1e-12
        out[rows] = walk + offset * rng.standard_normal(n_neuroids)
    return out


def simulate(stimuli: pd.DataFrame, *, block: str | list[str] = ("experiment", "passage_index"),
             features: np.ndarray | None = None, n_subjects: int = 5, voxels_per_subject: int = 40,
             signal_sd: float = 0.5, confound_sd: float = 1.0, noise_sd: float = 1.0, smooth: float = 2.0,
             seed: int = 0, text: str = "sentence") -> Simulation:
    """Responses for `stimuli` (stored order); `block` names the column(s) of one passage."""
    rng = np.random.default_rng(seed)
    stimuli = stimuli.reset_index(drop=True)
    n, m = len(stimuli), n_subjects * voxels_per_subject
    feats = linguistic_features(stimuli[text].astype(str)) if features is None else np.asarray(features, float)
    signal = _standardise(_standardise(feats) @ rng.standard_normal((feats.shape[1], m)))
    cols = [block] if isinstance(block, str) else list(block)
    blocks = stimuli[cols].astype(str).agg("|".join, axis=1).to_numpy()
    confound = _standardise(passage_confound(blocks, m, rng, smooth))
    responses = signal_sd * signal + confound_sd * confound + noise_sd * rng.standard_normal((n, m))
    neuroids = pd.DataFrame({"subject": np.repeat([f"sim{i:02d}" for i in range(n_subjects)], voxels_per_subject),
                             "voxel_num": np.tile(np.arange(voxels_per_subject), n_subjects)})
    neuroids["neuroid_id"] = neuroids["subject"] + "." + neuroids["voxel_num"].astype(str)
    return Simulation(stimuli, responses, neuroids, signal, confound, feats)


def pereira_stimuli(csv_path) -> pd.DataFrame:
    """The Pereira2018 stimulus set (Brain-Score's dump) with the assembly's presentation coordinates."""
    table = pd.read_csv(csv_path, index_col=0)
    return pd.DataFrame({"stimulus_id": table["stimulus_id"], "sentence": table["sentence"],
                         "stimulus": table["sentence"], "experiment": table["experiment"],
                         "passage_index": table["passage_index"], "passage_label": table["passage_label"],
                         "passage_category": table["passage_category"], "story": table["story"]})


def write_assembly(path, sim: Simulation) -> Path:
    """Write `sim` as a Brain-Score-layout assembly (presentation x neuroid, labels as coordinates)."""
    import xarray as xr

    coords = {c: ("presentation", sim.stimuli[c].to_numpy()) for c in sim.stimuli.columns}
    coords |= {c: ("neuroid", sim.neuroids[c].to_numpy()) for c in sim.neuroids.columns}
    assembly = xr.DataArray(sim.responses, dims=["presentation", "neuroid"], coords=coords,
                            attrs={"synthetic": 1, "simulation": "confound_sim"})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    assembly.to_netcdf(path, engine="h5netcdf")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stimuli", required=True, help="Pereira2018_stimulus_set.csv")
    parser.add_argument("--out", required=True, help="the assembly file to write (use as dataset.path)")
    for name, default in (("signal_sd", 0.5), ("confound_sd", 1.0), ("noise_sd", 1.0), ("smooth", 2.0)):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=default)
    parser.add_argument("--subjects", type=int, default=5)
    parser.add_argument("--voxels", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sim = simulate(pereira_stimuli(args.stimuli), n_subjects=args.subjects, voxels_per_subject=args.voxels,
                   signal_sd=args.signal_sd, confound_sd=args.confound_sd, noise_sd=args.noise_sd,
                   smooth=args.smooth, seed=args.seed)
    print(write_assembly(args.out, sim))


if __name__ == "__main__":
    main()
