"""The maps a voxelwise run writes beside its result (PNG + PDF each), from its voxelwise.npz arrays.

Per subject (Narratives' is `group`): `map-r-<subject>` (held-out r of the best layer) and
`map-best-layer-<subject>` (the best layer per voxel), coloured only where the voxel is FDR-significant.
On the fsaverage surface (brain_maps.surface_figure) when the data are fsaverage vertices; else in
subject space (brain_maps.volume_figure): a histogram, plus a slice mosaic when the subject's cortical
mask is known (LeBel2023's `dataset.pycortex_db`).
"""

import logging
from pathlib import Path

import numpy as np

from brainalign.analysis.brain_maps import NESTED, surface_figure, volume_figure

log = logging.getLogger(__name__)


def _full(values, voxels, n, fill):
    out = np.full(n, fill, dtype=np.asarray(values).dtype if fill is False else np.float64)
    out[voxels] = values
    return out


def _surface(stem, title, values, significant, voxels, space, **kw):
    hemis, n = list(space["hemispheres"]), int(space["n_vertices"])
    full = _full(values.astype(np.float64), voxels, n * len(hemis), np.nan)
    shown = _full(significant, voxels, n * len(hemis), False)
    part = {h: slice(i * n, (i + 1) * n) for i, h in enumerate(hemis)}
    pick = {h: (full[part[h]], shown[part[h]]) if h in part else (np.full(n, np.nan), np.zeros(n, bool))
            for h in ("L", "R")}
    return surface_figure(pick["L"][0], pick["R"][0], stem, title, threshold_mask=(pick["L"][1], pick["R"][1]), **kw)


def _volume(stem, title, values, significant, voxels, mask, **kw):
    if mask is None:
        return volume_figure(values, stem, title, significant=significant, **kw)
    n = int(mask.sum())
    full = _full(values.astype(np.float64), voxels, n, np.nan)
    return volume_figure(full, stem, title, mask=mask, significant=_full(significant, voxels, n, False), **kw)


def write_maps(out_dir, arrays: dict, space: dict, title: str, q: float) -> list:
    """Draw every subject's maps into `out_dir`; returns the PNG paths."""
    out_dir, layers = Path(out_dir), [str(x) for x in arrays["layers"]]
    subjects = sorted({k.split("/")[0] for k in arrays if k.endswith("/significant")})
    on_surface = "hemispheres" in space and int(space["n_vertices"]) in NESTED.values()
    if "hemispheres" in space and not on_surface:
        log.info("%d vertices per hemisphere is no fsaverage mesh: histograms instead of surface maps",
                 space["n_vertices"])
    paths = []
    for subject in subjects:
        r = arrays[f"{subject}/r"][int(arrays["best_layer"])]
        significant, voxels = arrays[f"{subject}/significant"], arrays[f"{subject}/voxels"]
        unit = "vertices" if on_surface else "voxels"
        head = f"{title}, {subject}: {int(significant.sum()):,} of {significant.size:,} {unit} at FDR q < {q:g}"
        maps = ((f"map-r-{subject}", r, dict(label="held-out r (best layer)")),
                (f"map-best-layer-{subject}", arrays[f"{subject}/best_layer_per_voxel"],
                 dict(label="best layer (index)", n_layers=len(layers))))
        for stem, values, kw in maps:
            if on_surface:
                paths.append(_surface(out_dir / stem, head, values, significant, voxels, space, **kw))
            else:
                mask = (space.get("masks") or {}).get(subject)
                paths.append(_volume(out_dir / stem, head, values, significant, voxels, mask,
                                     threshold=f"FDR q < {q:g}", **kw))
    return paths
