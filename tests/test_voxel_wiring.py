"""Per-voxel ceilings, significance, maps and W&B for LeBel2023 and Narratives runs (issue 27's wiring):
planted voxels recovered at FDR q < 0.05 through the app, unplanted ones at the nominal rate."""

import json

import numpy as np
import pytest

from brainalign.metrics.voxelwise_significance import group_mean_ceiling, single_ev_from_isc, story_group_ceiling
from brainalign.metrics.voxelwise_stats import intersubject_ceiling
from tests.runif import require
from tests.test_story_voxels import CONTEXT, _tiny_drive, tiny_lm  # noqa: F401 (a fixture)
from tests.voxel_fixtures import make_lebel, make_narratives
from wandb_records import offline_runs

Q = 0.05


def _subjects(n_subjects, n_times, ev, rng):
    signal = rng.standard_normal((n_times, ev.size))
    noise = rng.standard_normal((n_subjects, n_times, ev.size))
    return signal * np.sqrt(ev) + noise * np.sqrt(1 - ev), signal


@pytest.mark.parametrize("n_subjects", [2, 5, 20])
def test_group_mean_ceiling_puts_a_perfect_model_at_one(n_subjects):
    rng = np.random.default_rng(n_subjects)
    ev = np.repeat([0.1, 0.3, 0.6], 300)
    data, signal = _subjects(n_subjects, 600, ev, rng)
    isc = np.nanmean(intersubject_ceiling(data), 0)
    for level in np.unique(ev):   # the single-subject EV is recovered from the ISC
        assert abs(np.nanmean(single_ev_from_isc(isc, n_subjects)[ev == level]) - level) < 0.03
    mean = data.mean(0)
    r = np.array([np.corrcoef(signal[:, j], mean[:, j])[0, 1] for j in range(ev.size)])
    ceiling = group_mean_ceiling(data)
    for level in np.unique(ev):   # on average (a voxel's ratio is noisy where its ISC is small)
        ratio = r[ev == level].mean() / np.nanmean(ceiling[ev == level])
        assert abs(ratio - 1) < 0.05, (level, ratio)
    # the ISC itself as the ceiling of a group-mean prediction reads high (why the correction exists)
    assert np.nanmean((r / isc)[ev == 0.1]) > 1.3


def test_story_group_ceiling_weights_stories_and_skips_single_subjects():
    rng = np.random.default_rng(3)
    a, _ = _subjects(3, 400, np.full(50, 0.3), rng)
    b, _ = _subjects(3, 100, np.full(50, 0.3), rng)
    both = story_group_ceiling({"a": a, "b": b, "alone": a[:1]})
    expected = (400 * group_mean_ceiling(a) + 100 * group_mean_ceiling(b)) / 500
    np.testing.assert_allclose(both, expected)
    assert story_group_ceiling({"alone": a[:1]}) is None


def _run(make_config, tiny_gpt2, tmp_path, *overrides):
    from brainalign.app.run import run

    return run(make_config(*tiny_gpt2, f"dataset.context_words={CONTEXT}", *overrides))


def _rates(p, significant, planted):
    null = np.setdiff1d(np.arange(p.size), planted)
    return significant[planted].mean(), significant[null].sum(), (p[null] < 0.05).mean(), null.size


@pytest.mark.slow   # ~25 s: a tiny model through the app, with W&B offline
def test_lebel_recovers_planted_voxels_at_fdr_and_logs_to_wandb(make_config, tiny_gpt2, tiny_lm, tmp_path,
                                                                 monkeypatch, capsys):
    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    monkeypatch.setenv("WANDB_MODE", "offline")
    planted = np.arange(0, 300, 10)   # 30 of 300 voxels
    root = make_lebel(tmp_path / "ds003020", drive=_tiny_drive(tiny_lm, 2, 2.0), n_voxels=300, n_planted=30,
                      planted=planted, noise=1.0, seconds=280)
    result = _run(make_config, tiny_gpt2, tmp_path, "dataset=lebel2023", f"dataset.path={root}",
                  "dataset.subjects=[UTS01]", "tracking=offline")
    folder = next((tmp_path / "out" / "tiny-gpt2").glob("lebel2023*")) / "voxelwise-ridge"
    stored = json.loads((folder / "result.json").read_text())
    with np.load(folder / "voxelwise.npz") as f:
        p, significant, ceiling = f["UTS01/p"], f["UTS01/significant"], f["UTS01/ceiling"]
        r, ceiled_r, ev = f["UTS01/r"][int(f["best_layer"])], f["UTS01/ceiled_r"], f["UTS01/ev"]
        adjusted = f["UTS01/p_fdr"]
    recovered, false_hits, null_rate, n_null = _rates(p, significant, planted)
    assert recovered == 1.0 and false_hits <= 5, (recovered, false_hits)
    assert null_rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / n_null), null_rate   # uncorrected p: near nominal
    np.testing.assert_array_equal(significant, adjusted <= Q)
    # ceiling: 3 repeats of EV 0.5 (signal and noise of equal variance), r against their mean
    assert abs(np.nanmean(ceiling[planted]) - np.sqrt(3 * 0.5 / 2)) < 0.08
    assert abs(np.mean(ev[planted]) - 0.5) < 0.1
    np.testing.assert_allclose(ceiled_r[planted], r[planted] / ceiling[planted], rtol=1e-6)
    assert stored["raw"] == pytest.approx(r[significant].mean())
    assert stored["ceiled"] == pytest.approx(np.nanmean(ceiled_r[significant]))
    assert stored["ceiled"] > stored["raw"] and stored["ceiling_source"]["kind"] == "explainable variance"
    assert stored["voxel_summary"]["n_significant"] == significant.sum() == result["voxel_summary"]["n_significant"]
    assert "FDR-significant" in stored["score_over"]
    assert stored["figures"] == ["map-r-UTS01.png", "map-best-layer-UTS01.png"]
    assert all((folder / name).with_suffix(".pdf").is_file() for name in stored["figures"])
    assert "figure: " in capsys.readouterr().out
    run, = offline_runs(folder)
    images = {k[:-len("/_type")]: v for row in run.history for k, v in row.items()
              if k.startswith("maps/") and k.endswith("/_type")}
    assert images == {"maps/map-r-UTS01": "image-file", "maps/map-best-layer-UTS01": "image-file"}
    assert run.summary["voxelwise/n_significant"] == significant.sum() and run.summary["ceiled"] == stored["ceiled"]
    assert run.summary["voxelwise/UTS01/mean_ceiled_r_significant"] == pytest.approx(stored["ceiled"])


@pytest.mark.slow   # ~20 s
def test_narratives_recovers_planted_vertices_with_an_intersubject_ceiling(make_config, tiny_gpt2, tiny_lm, tmp_path):
    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    where = {"L": np.arange(0, 200, 10), "R": np.arange(5, 200, 10)}
    root = make_narratives(tmp_path / "ds002345", drive=_tiny_drive(tiny_lm, 2, 1.5), n_vertices=200, n_planted=20,
                           planted=where, noise=1.0)
    _run(make_config, tiny_gpt2, tmp_path, "dataset=narratives", f"dataset.path={root}", "metric.outer_folds=3")
    folder = tmp_path / "out" / "tiny-gpt2" / "narratives" / "voxelwise-ridge"
    stored = json.loads((folder / "result.json").read_text())
    with np.load(folder / "voxelwise.npz") as f:
        p, significant, ceiling = f["group/p"], f["group/significant"], f["group/ceiling"]
    planted = np.concatenate([where["L"], 200 + where["R"]])
    recovered, false_hits, null_rate, n_null = _rates(p, significant, planted)
    assert recovered == 1.0 and false_hits <= 5, (recovered, false_hits)
    assert null_rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / n_null), null_rate
    # two subjects of EV 0.5 each: the ceiling of r with their mean is sqrt(2 * 0.5 / 1.5)
    assert abs(np.nanmean(ceiling[planted]) - np.sqrt(2 / 3)) < 0.1
    assert stored["ceiling_source"]["kind"] == "inter-subject" and stored["ceiled"] > stored["raw"] > 0.3
    assert stored["figures"] == ["map-r-group.png", "map-best-layer-group.png"]   # 200 vertices: histograms


def test_permutation_settings_change_the_result_identity(make_config, tiny_gpt2, tmp_path):
    from brainalign.scoring import describe, settings_key

    data = tmp_path / "ds"   # apart from the cache folder in tmp_path
    data.mkdir()
    (data / "respdict.json").write_text("{}")
    keys = {settings_key(describe(make_config(*tiny_gpt2, "dataset=lebel2023", f"dataset.path={data}", *extra)))
            for extra in ([], ["metric.n_perm=2000"], ["metric.block=20"], ["metric.fdr_q=0.01"],
                          ["metric.perm_seed=1"])}
    assert len(keys) == 5
    same = settings_key(describe(make_config(*tiny_gpt2, "dataset=lebel2023", f"dataset.path={data}",
                                             "dataset.pycortex_db=/db")))
    assert same in keys   # where the masks live changes no score


def test_bad_permutation_settings_are_one_line(make_config, tiny_gpt2):
    from brainalign.benchmarks import build
    from brainalign.errors import ConfigError

    for override, match in (("metric.block=0", "block"), ("metric.n_perm=0", "n_perm"), ("metric.fdr_q=1.5", "fdr_q")):
        cfg = make_config(*tiny_gpt2, "dataset=lebel2023", override)
        with pytest.raises(ConfigError, match=match) as e:
            build(cfg.dataset, cfg.metric)
        assert "\n" not in str(e.value)


def _near(coords, centre, radius):
    return np.flatnonzero(np.sum((coords - np.asarray(centre, float)) ** 2, axis=1) < radius ** 2)


@pytest.mark.slow   # ~1-2 min: 2 x 10,242 vertices and a 3-D mask, maps drawn (look at them: --basetemp=<dir>)
def test_maps_on_fsaverage5_and_in_a_masked_volume(make_config, tiny_gpt2, tiny_lm, tmp_path):
    require(shared="data/futrell2018/naturalstories/audio_textgrids")
    from nilearn import datasets

    from tests.voxel_fixtures import write_mask

    pial = datasets.load_fsaverage("fsaverage5")["pial"]   # a patch around each superior temporal gyrus
    left, right = (_near(pial.parts[h].coordinates, (x, -20, 2), 16) for h, x in (("left", -60), ("right", 60)))
    n = min(left.size, right.size)
    root = make_narratives(tmp_path / "ds002345", drive=_tiny_drive(tiny_lm, 2, 1.5), n_vertices=10242, n_planted=n,
                           planted={"L": left[:n], "R": right[:n]}, noise=1.0)
    _run(make_config, tiny_gpt2, tmp_path, "dataset=narratives", f"dataset.path={root}", "metric.outer_folds=3")
    folder = tmp_path / "out" / "tiny-gpt2" / "narratives" / "voxelwise-ridge"
    with np.load(folder / "voxelwise.npz") as f:
        significant = f["group/significant"]
    assert significant[left[:n]].mean() > 0.95 and significant[10242 + right[:n]].mean() > 0.95
    assert all((folder / f"map-{k}-group.{s}").stat().st_size > 10000 for k in ("r", "best-layer") for s in ("png", "pdf"))

    z, y, x = np.mgrid[:16, :20, :16]
    mask = ((z - 8) / 7) ** 2 + ((y - 10) / 9) ** 2 + ((x - 8) / 7) ** 2 < 1
    blob = np.flatnonzero((((z - 9) ** 2 + (y - 13) ** 2 + (x - 3) ** 2) < 9)[mask])
    write_mask(tmp_path / "pycortex-db", "UTS01", mask)
    root = make_lebel(tmp_path / "ds003020", drive=_tiny_drive(tiny_lm, 2, 2.0), n_voxels=int(mask.sum()),
                      n_planted=blob.size, planted=blob, noise=1.0, seconds=280)
    _run(make_config, tiny_gpt2, tmp_path, "dataset=lebel2023", f"dataset.path={root}", "dataset.subjects=[UTS01]",
         f"dataset.pycortex_db={tmp_path / 'pycortex-db'}")
    folder = next((tmp_path / "out" / "tiny-gpt2").glob("lebel2023*")) / "voxelwise-ridge"
    with np.load(folder / "voxelwise.npz") as f:
        assert f["UTS01/significant"][blob].mean() > 0.95
    assert all((folder / f"map-{k}-UTS01.{s}").is_file() for k in ("r", "best-layer") for s in ("png", "pdf"))
    bad = tmp_path / "bad-db"
    write_mask(bad, "UTS01", mask[:8])
    from brainalign.errors import DataMismatch

    with pytest.raises(DataMismatch, match="voxels in a"):
        _run(make_config, tiny_gpt2, tmp_path, "dataset=lebel2023", f"dataset.path={root}", "dataset.subjects=[UTS01]",
             f"dataset.pycortex_db={bad}", "force=true")
