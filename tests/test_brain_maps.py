"""Brain maps (brainalign/analysis/brain_maps.py): files written, thresholded vertices and voxels left uncoloured,
one colour per layer. bench/demo_brain_maps.py renders them all on synthetic data to look at."""

import importlib.util

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.image import imread

from brainalign.analysis import brain_maps
from brainalign.errors import ConfigError, DataMismatch
from runif import run_if

pytestmark = run_if(package="nilearn")


@pytest.fixture(scope="module")
def faces():
    from nilearn import datasets

    mesh = datasets.load_fsaverage("fsaverage5")["inflated"]
    return {hemi: mesh.parts[hemi].faces for hemi in ("left", "right")}


def face_colours(ax):
    """Colours of the mesh's faces in the mesh's order (get_facecolor() is in drawing order once projected)."""
    return ax.collections[0]._facecolor3d


def grey(colours):
    return np.isclose(colours[:, 0], colours[:, 1]) & np.isclose(colours[:, 1], colours[:, 2])


def test_finer_fsaverage_data_keep_the_fsaverage5_vertices():
    fsaverage6 = np.arange(brain_maps.NESTED["fsaverage6"])
    np.testing.assert_array_equal(brain_maps.on_mesh(fsaverage6, brain_maps.FSAVERAGE5), np.arange(10242))
    with pytest.raises(DataMismatch, match="40,962"):
        brain_maps.on_mesh(np.zeros(5000), brain_maps.FSAVERAGE5)


def test_vertices_below_threshold_are_not_coloured(faces):
    rng = np.random.default_rng(0)
    values = [rng.uniform(0.2, 0.8, brain_maps.NESTED["fsaverage6"]) for _ in range(2)]
    masks = [np.arange(v.size) % 3 == 0 for v in values]
    masks[1][:] = False   # nothing significant on the right
    fig = brain_maps.surface_panels(*values, "t", threshold_mask=masks)
    for ax, (hemi, _) in zip(fig.axes[:4], brain_maps.VIEWS):
        colours = face_colours(ax)
        shown = masks[0 if hemi == "left" else 1][:brain_maps.FSAVERAGE5][faces[hemi]]
        assert grey(colours[~shown.any(axis=1)]).all()            # no significant vertex: background only
        assert not grey(colours[shown.all(axis=1)]).any()         # all three significant: coloured
        assert shown.all(axis=1).any() == (hemi == "left")
    assert fig.axes[4].get_ylabel() == "r"                        # the colour bar says what it shows


def test_best_layer_maps_give_each_layer_its_colour(faces):
    rng = np.random.default_rng(1)
    layers = [rng.integers(0, 4, brain_maps.FSAVERAGE5).astype(float) for _ in range(2)]
    fig = brain_maps.surface_panels(*layers, "t", label="layer", n_layers=4)
    palette = colormaps["viridis"].resampled(4)   # four steps of viridis, one per layer
    colours = face_colours(fig.axes[0])
    face_layers = layers[0][faces["left"]]
    same = (face_layers == face_layers[:, :1]).all(axis=1)
    np.testing.assert_allclose(colours[same, :3], palette(face_layers[same, 0].astype(int))[:, :3], atol=1e-6)
    with pytest.raises(DataMismatch, match="layer indices"):
        brain_maps.surface_panels(layers[0] + 0.5, layers[1], "t", n_layers=4)


@pytest.mark.slow
def test_surface_figure_writes_png_and_pdf(tmp_path):
    values = np.linspace(0, 1, brain_maps.FSAVERAGE5)
    png = brain_maps.surface_figure(values, values, tmp_path / "maps" / "r", "t", label="held-out r")
    height, width = imread(png).shape[:2]
    assert 1500 < width < 2300 and 1200 < height < 1800
    assert png.with_suffix(".pdf").stat().st_size > 10_000


def test_volume_figure_histogram_and_mosaic(tmp_path):
    mask = np.zeros((6, 10, 8), bool)
    mask[1:5, 2:8, 2:6] = True
    values = np.linspace(-0.1, 0.5, int(mask.sum()))
    significant = values > 0.3
    png = brain_maps.volume_figure(values, tmp_path / "v", "t", mask=mask, significant=significant)
    height, width = imread(png).shape[:2]
    assert 1500 < width < 2300 and 1200 < height < 1800
    assert png.with_suffix(".pdf").stat().st_size > 1_000
    only = brain_maps.volume_figure(values, tmp_path / "h", "t", significant=significant)
    assert imread(only).shape[0] < height                       # no mosaic without a mask or shape


def test_volume_mosaic_colours_only_significant_voxels(monkeypatch, tmp_path):
    mask = np.ones((4, 5, 5), bool)
    significant = np.zeros(mask.size, bool)
    significant[:10] = True
    drawn = []
    monkeypatch.setattr(brain_maps, "_save", lambda fig, path: drawn.append(fig) or path)
    brain_maps.volume_figure(np.full(mask.size, 0.4), tmp_path / "v", "t", shape=mask.shape, significant=significant)
    overlays = [ax.images[1].get_array() for ax in drawn[0].axes if len(ax.images) == 2]
    assert len(overlays) == 4
    assert sum(int((~np.ma.getmaskarray(o)).sum()) for o in overlays) == 10


def test_volume_figure_bad_input_is_one_line():
    if importlib.util.find_spec("cortex") is not None:
        pytest.skip("pycortex is installed: the missing-pycortex error cannot happen")
    with pytest.raises(DataMismatch, match="does not hold"):
        brain_maps.volume_figure(np.zeros(10), "unused", "t", shape=(2, 2, 2))
    with pytest.raises(ConfigError, match="needs pycortex") as err:
        brain_maps.volume_figure(np.zeros(8), "unused", "t", pycortex_subject="UTS01", pycortex_xfm="UTS01_auto")
    assert "\n" not in str(err.value)


def test_no_significant_voxel_is_said_not_drawn_empty(monkeypatch, tmp_path):
    import warnings

    drawn = []
    monkeypatch.setattr(brain_maps, "_save", lambda fig, path: drawn.append(fig) or path)
    mask = np.ones((4, 5, 5), bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # an empty log-scale histogram warns
        brain_maps.volume_figure(np.zeros(mask.size), tmp_path / "v", "t", mask=mask,
                                 significant=np.zeros(mask.size, bool), n_layers=3, threshold="FDR q < 0.05")
    panel = drawn[0].axes[0]
    assert not panel.axison and [t.get_text() for t in panel.texts] == ["no voxel passed FDR q < 0.05:\nno best layer to show"]
    footnote = drawn[0].texts[-1].get_text()
    assert "not given" not in footnote and footnote.endswith("histogram and slice mosaic")
    if importlib.util.find_spec("cortex") is None:
        assert footnote.startswith("no flatmap (pycortex is not installed)")
    brain_maps.volume_figure(np.zeros(mask.size), tmp_path / "h", "t", significant=np.ones(mask.size, bool),
                             n_layers=3)
    assert drawn[1].axes[0].axison and drawn[1].texts[-1].get_text().endswith("(a mask or shape adds slices)")
