"""Per-voxel maps: scores (or the best layer) on the fsaverage surface, or in a subject's volume.

* Surface (Narratives, fsaverage6): nilearn's inflated fsaverage5 with its sulcal depth as background,
  lateral and medial views of both hemispheres in one figure. nilearn's wheel ships fsaverage5, so it
  draws offline. The icosahedral fsaverage meshes nest: the first 10,242 vertices of fsaverage6
  (40,962) and fsaverage (163,842) are fsaverage5's, at the same places, so finer data are reduced to
  fsaverage5 by keeping those vertices (subsampling, not averaging).
* Volume (LeBel2023, subject space): a flatmap through pycortex when its database and the subject are
  given; else a histogram of the per-voxel values (significant vs not) and, with the subject's 3-D mask
  (or the volume shape), a mosaic of axial slices.

Vertices and voxels outside `significant` (e.g. not FDR-significant) are not coloured: the background
(sulcal depth, or the brain mask in grey) shows through. With `n_layers` the values are layer indices
(the best layer per voxel) drawn with one colour per layer; layers are ordered, so the colours are
steps of a sequential map. Each figure is a PNG (300 dpi) and a PDF.
"""

import logging
from pathlib import Path

import numpy as np

from brainalign.analysis.figures import _plt, _save
from brainalign.errors import ConfigError, DataMismatch, DataUnavailable

log = logging.getLogger(__name__)

FSAVERAGE5 = 10242
NESTED = {"fsaverage5": 10242, "fsaverage6": 40962, "fsaverage": 163842}   # icosahedral orders 5, 6, 7
VIEWS = (("left", "lateral"), ("right", "lateral"), ("left", "medial"), ("right", "medial"))


def flatmap_note(slices: bool) -> str:
    """The figure's footnote when it draws no flatmap: why, and what it draws instead."""
    import importlib.util

    why = "pycortex is not installed" if importlib.util.find_spec("cortex") is None else "no pycortex_subject given"
    return f"no flatmap ({why}): " + ("histogram and slice mosaic" if slices else
                                      "histogram only (a mask or shape adds slices)")


def on_mesh(values, n_vertices):
    """Per-vertex values of one hemisphere on a mesh of `n_vertices`: finer nested fsaverage data keep
    their first `n_vertices` vertices (the coarser mesh's)."""
    values = np.asarray(values)
    if values.ndim != 1 or values.size not in NESTED.values() or values.size < n_vertices:
        raise DataMismatch(f"{values.shape} values per hemisphere: expected one of "
                           f"{', '.join(f'{n:,} ({m})' for m, n in NESTED.items())}, at least {n_vertices:,}")
    return values[:n_vertices]


def _colours(values, significant, n_layers, cmap, vmin, vmax):
    """(cmap, norm, vmin, vmax): a discrete map over layers 0..n_layers-1, or `cmap` over [vmin, vmax]."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize

    if n_layers is not None:
        if n_layers < 1:
            raise ConfigError(f"n_layers={n_layers}: a best-layer map needs at least one layer")
        shown = values[significant & np.isfinite(values)]
        if shown.size and (shown.min() < 0 or shown.max() >= n_layers or np.any(shown != np.round(shown))):
            raise DataMismatch(f"best-layer values must be layer indices 0..{n_layers - 1}")
        colours = ListedColormap(colormaps[cmap or "viridis"].resampled(n_layers)(np.arange(n_layers)))
        return colours, BoundaryNorm(np.arange(n_layers + 1) - 0.5, n_layers), -0.5, n_layers - 0.5
    shown = values[significant & np.isfinite(values)]
    if vmin is None:
        vmin = min(0.0, float(shown.min())) if shown.size else 0.0
    if vmax is None:
        vmax = float(np.percentile(shown, 99)) if shown.size else 1.0
    if vmax <= vmin:
        vmax = vmin + 1.0
    return colormaps[cmap or "inferno"], Normalize(vmin, vmax), vmin, vmax


def _colour_bar(fig, cax, cmap, norm, label, n_layers):
    from matplotlib.cm import ScalarMappable

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
    bar.set_label(label)
    if n_layers is not None:
        step = max(1, int(np.ceil(n_layers / 12)))
        bar.set_ticks(np.arange(0, n_layers, step))
    return bar


def _masks(significant, left, right):
    if significant is None:
        return np.ones(left.size, bool), np.ones(right.size, bool)
    if len(significant) != 2:
        raise DataMismatch("threshold_mask must be a pair (left, right) of per-vertex boolean arrays")
    return (np.asarray(significant[0], bool), np.asarray(significant[1], bool))


def surface_panels(left, right, title, threshold_mask=None, mesh="fsaverage5", cmap=None, label="r",
                   n_layers=None, vmin=None, vmax=None):
    """The surface figure (see `surface_figure`), not yet saved; its four 3-D axes come first in fig.axes."""
    from nilearn import datasets, plotting

    try:
        surfaces = datasets.load_fsaverage(mesh)
        sulcal = datasets.load_fsaverage_data(mesh=mesh, mesh_type="inflated", data_type="sulcal")
    except (OSError, ValueError) as e:   # a mesh other than fsaverage5 is downloaded
        raise DataUnavailable(f"mesh={mesh}: nilearn cannot load it here ({e}); fsaverage5 ships with nilearn") from e
    n_vertices = surfaces["inflated"].parts["left"].n_vertices
    masks = _masks(threshold_mask, np.asarray(left), np.asarray(right))
    hemis = {}
    for name, values, mask in zip(("left", "right"), (left, right), masks):
        values, mask = on_mesh(np.asarray(values, dtype=np.float64), n_vertices), on_mesh(mask, n_vertices)
        hemis[name] = np.where(mask, values, np.nan)
    everything = np.concatenate(list(hemis.values()))
    colours, norm, vmin, vmax = _colours(everything, np.isfinite(everything), n_layers, cmap, vmin, vmax)
    plt = _plt()
    fig = plt.figure(figsize=(7.0, 5.4))
    boxes = ((0.0, 0.47, 0.45, 0.45), (0.45, 0.47, 0.45, 0.45), (0.0, 0.02, 0.45, 0.45), (0.45, 0.02, 0.45, 0.45))
    for (hemi, view), box in zip(VIEWS, boxes):
        ax = fig.add_axes(box, projection="3d")
        plotting.plot_surf(surfaces["inflated"].parts[hemi], hemis[hemi], bg_map=sulcal.data.parts[hemi],
                           hemi=hemi, view=view, engine="matplotlib", axes=ax, figure=fig, colorbar=False,
                           cmap=colours, vmin=vmin, vmax=vmax, avg_method="median" if n_layers else "mean")
        ax.set_box_aspect(None, zoom=1.45)
        ax.text2D(0.5, 0.1, f"{hemi} {view}", transform=ax.transAxes, ha="center", fontsize=8)
    _colour_bar(fig, fig.add_axes((0.91, 0.25, 0.02, 0.5)), colours, norm, label, n_layers)
    fig.suptitle(title, y=0.98)
    return fig


def surface_figure(left, right, out_stem, title, threshold_mask=None, mesh="fsaverage5", cmap=None, label="r",
                   n_layers=None, vmin=None, vmax=None):
    """Per-vertex values of both hemispheres on the inflated fsaverage surface: <out_stem>.png and .pdf.

    Parameters
    ----------
    left, right : arrays [n_vertices] per hemisphere, on fsaverage5, fsaverage6 or fsaverage (reduced
        to `mesh` by keeping the first vertices)
    out_stem : path without suffix
    threshold_mask : pair (left, right) of boolean arrays like `left`, `right`, or None; vertices where it
        is False are not coloured
    cmap : matplotlib colour map name (default inferno; viridis steps for layers)
    label : the colour bar's label, with units (e.g. "held-out r", "r / ceiling")
    n_layers : draw layer indices 0..n_layers-1 (the best layer per vertex) with one colour each
    vmin, vmax : colour range (default 0 .. 99th percentile of the coloured values)

    Returns
    -------
    Path of the PNG.
    """
    fig = surface_panels(left, right, title, threshold_mask, mesh, cmap, label, n_layers, vmin, vmax)
    return _save(fig, _png(out_stem))


def _png(out_stem):
    path = Path(out_stem).with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _volume(values, mask, shape):
    """The values as a 3-D array (NaN outside the mask) and the mask, or (None, None) without either."""
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 3 or mask.sum() != values.size:
            raise DataMismatch(f"mask {mask.shape} with {int(mask.sum())} voxels does not hold {values.size} values")
    elif shape is not None:
        if int(np.prod(shape)) != values.size or len(shape) != 3:
            raise DataMismatch(f"shape {tuple(shape)} does not hold {values.size} values")
        mask = np.ones(tuple(shape), dtype=bool)
    else:
        return None, None
    volume = np.full(mask.shape, np.nan)
    volume[mask] = values
    return volume, mask


def _mosaic(fig, grid, volume, mask, significant_volume, colours, norm, n_slices=12):
    """Axial slices (the first axis, pycortex's z-first order) holding brain, brain in grey."""
    occupied = np.flatnonzero(mask.any(axis=(1, 2)))
    picks = occupied[np.linspace(0, occupied.size - 1, min(n_slices, occupied.size)).round().astype(int)]
    cols = min(6, picks.size)
    rows = int(np.ceil(picks.size / cols))
    inner = grid.subgridspec(rows, cols, wspace=0.02, hspace=0.02)
    for i, z in enumerate(picks):
        ax = fig.add_subplot(inner[i // cols, i % cols])
        ax.imshow(np.where(mask[z], 0.82, 1.0), cmap="gray", vmin=0, vmax=1, origin="lower", interpolation="nearest")
        shown = np.ma.masked_where(~significant_volume[z], volume[z])
        ax.imshow(shown, cmap=colours, norm=norm, origin="lower", interpolation="nearest")
        ax.set_axis_off()
        ax.text(0.03, 0.97, f"z={z}", transform=ax.transAxes, fontsize=6, va="top")


def volume_figure(values, out_stem, title, mask=None, shape=None, significant=None, label="r", n_layers=None,
                  cmap=None, pycortex_subject=None, pycortex_xfm=None, threshold="the threshold"):
    """Per-voxel values in subject space: <out_stem>.png and .pdf.

    With `pycortex_subject` (and `pycortex_xfm`, the transform, e.g. "UTS01"/"UTS01_auto" for LeBel2023), a
    flatmap through pycortex; else a histogram of the values (significant vs not) and, when `mask` or
    `shape` is given, a mosaic of axial slices with the significant voxels coloured.

    Parameters
    ----------
    values : array [V]
    mask : boolean array [Z, Y, X] with V True voxels (the subject's cortical mask, C order), or None
    shape : (Z, Y, X) with Z*Y*X = V when the values fill the whole volume, or None
    significant : boolean array [V] (e.g. FDR-significant), or None for all
    threshold : what `significant` means, for a best-layer panel with no voxel in it ("no voxel passed FDR q < 0.05")
    label : the values' name and units; n_layers : values are layer indices (see surface_figure)

    Returns
    -------
    Path of the PNG.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    significant = np.ones(values.size, bool) if significant is None else np.asarray(significant, bool).ravel()
    if significant.size != values.size:
        raise DataMismatch(f"significant has {significant.size} voxels, values {values.size}")
    colours, norm, vmin, vmax = _colours(values, significant, n_layers, cmap, None, None)
    if pycortex_subject is not None:
        return _flatmap(values, significant, out_stem, title, pycortex_subject, pycortex_xfm, colours, vmin, vmax,
                        label)
    volume, mask = _volume(values, mask, shape)
    note = flatmap_note(volume is not None)
    log.info(note)
    plt = _plt()
    fig = plt.figure(figsize=(7.0, 3.2 if volume is None else 5.6))
    grid = fig.add_gridspec(1 if volume is None else 2, 1, height_ratios=None if volume is None else (1, 1.6),
                            hspace=0.3)
    _histogram(fig.add_subplot(grid[0]), values, significant, label, n_layers, colours, threshold)
    if volume is not None:
        significant_volume = np.zeros(mask.shape, bool)
        significant_volume[mask] = significant
        _mosaic(fig, grid[1], volume, mask, significant_volume, colours, norm)
        _colour_bar(fig, fig.add_axes((0.92, 0.1, 0.015, 0.45)), colours, norm, label, n_layers)
    fig.suptitle(title)
    fig.text(0.01, 0.0, note, fontsize=6, color="0.4", va="top")
    return _save(fig, _png(out_stem))


def _histogram(ax, values, significant, label, n_layers, colours, threshold):
    finite = np.isfinite(values)
    kept, rest = values[finite & significant], values[finite & ~significant]
    if n_layers is not None and not kept.size:   # no best layer to count: say so, not an empty log-scale plot
        ax.text(0.5, 0.5, f"no voxel passed {threshold}:\nno best layer to show", transform=ax.transAxes,
                ha="center", va="center", fontsize=11)
        ax.set_axis_off()
        return
    if n_layers is not None:
        layers = np.arange(n_layers)
        ax.bar(layers, np.bincount(kept.astype(int), minlength=n_layers), color=colours(layers))
        ax.set_xlabel(f"best layer of the {kept.size:,} significant voxels")
    else:
        bins = np.histogram_bin_edges(values[finite], bins=60)
        ax.hist(rest, bins=bins, color="0.7", label=f"not significant ({rest.size:,})")
        ax.hist(kept, bins=bins, color="#d62728", alpha=0.8, label=f"significant ({kept.size:,})")
        ax.set_xlabel(label)
        ax.legend(frameon=False)
    ax.set_yscale("log")   # significant voxels are often a small minority
    ax.set_ylabel("voxels (log scale)")


def _flatmap(values, significant, out_stem, title, subject, xfm, colours, vmin, vmax, label):
    """pycortex flatmap of the significant voxels (NaN elsewhere), saved like the other figures."""
    try:
        import cortex
    except ImportError as e:
        raise ConfigError(f"pycortex_subject={subject}: a flatmap needs pycortex (pip install pycortex) and the "
                          "subject's database; leave pycortex_subject unset for the histogram and slice mosaic") from e
    if xfm is None:
        raise ConfigError(f"pycortex_subject={subject} needs pycortex_xfm, the transform's name (e.g. {subject}_auto)")
    shown = np.where(significant, values, np.nan)
    volume = cortex.Volume(shown, subject, xfm, cmap=colours, vmin=vmin, vmax=vmax)
    fig = cortex.quickflat.make_figure(volume, with_curvature=True, with_colorbar=True, colorbar_location="right")
    fig.suptitle(f"{title} ({label})")
    return _save(fig, _png(out_stem))
