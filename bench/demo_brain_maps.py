"""Render every brain map of brainalign/analysis/brain_maps.py on synthetic data, to look at them.

    PYTHONPATH=. python bench/demo_brain_maps.py [--out outputs/brain_maps]

Surface: a planted blob of correlation around a vertex of the left superior temporal gyrus (and a weaker
one on the right), on fsaverage6-sized data (reduced to fsaverage5), thresholded where the blob is
"significant"; the best layer per vertex grows from posterior to anterior. Volume: a 40 x 48 x 40
ellipsoid "brain" with a planted blob, as histogram + slice mosaic (no pycortex).
"""
import argparse

import numpy as np

from brainalign.analysis.brain_maps import FSAVERAGE5, NESTED, surface_figure, volume_figure


def blob(coords, centre, width):
    return np.exp(-np.sum((coords - centre) ** 2, axis=1) / (2 * width ** 2))


def surfaces(out, rng):
    from nilearn import datasets

    pial = datasets.load_fsaverage("fsaverage5")["pial"]
    maps, masks, layers = [], [], []
    for hemi, centre, peak in (("left", (-60, -20, 2), 0.45), ("right", (60, -20, 2), 0.25)):
        coords = pial.parts[hemi].coordinates
        r = peak * blob(coords, np.array(centre), 14) + 0.02 * rng.standard_normal(len(coords))
        full = np.concatenate([r, rng.standard_normal(NESTED["fsaverage6"] - FSAVERAGE5)])  # fsaverage6-sized
        maps.append(full)
        masks.append(np.concatenate([r > 0.08, np.zeros(full.size - FSAVERAGE5, bool)]))
        layer = np.clip(np.round((coords[:, 1] + 60) / 100 * 11), 0, 11)
        layers.append(np.concatenate([layer, np.zeros(full.size - FSAVERAGE5)]))
    print(surface_figure(*maps, out / "surface_r", "Held-out r, FDR q < 0.05 (synthetic)",
                         threshold_mask=masks, label="held-out r"))
    print(surface_figure(*layers, out / "surface_best_layer", "Best layer per vertex (synthetic)",
                         threshold_mask=masks, label="layer", n_layers=12))


def volumes(out, rng):
    z, y, x = np.mgrid[:40, :48, :40]
    mask = ((z - 20) / 18) ** 2 + ((y - 24) / 22) ** 2 + ((x - 20) / 18) ** 2 < 1
    coords = np.stack([z[mask], y[mask], x[mask]], axis=1).astype(float)
    r = 0.4 * blob(coords, np.array([22, 30, 8]), 4) + 0.03 * rng.standard_normal(len(coords))
    significant = r > 0.1
    print(volume_figure(r, out / "volume_r", "Held-out r per voxel, FDR q < 0.05 (synthetic)", mask=mask,
                        significant=significant, label="held-out r"))
    layer = np.clip(np.round(coords[:, 1] / 48 * 7), 0, 7)
    print(volume_figure(layer, out / "volume_best_layer", "Best layer per voxel (synthetic)", mask=mask,
                        significant=significant, label="layer", n_layers=8))
    print(volume_figure(r, out / "volume_r_histogram", "Held-out r per voxel, no mask (synthetic)",
                        significant=significant, label="held-out r"))


def main():
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs/brain_maps")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    surfaces(Path(args.out), rng)
    volumes(Path(args.out), rng)


if __name__ == "__main__":
    main()
