"""Per-voxel ceilings and significance (brainalign/metrics/voxelwise_stats.py): equal to voxelwise_tutorials
and to direct computations, and calibrated by simulation (bench/calibration_voxelwise.py prints more)."""

import numpy as np
import pytest

from brainalign.errors import ConfigError, DataMismatch
from brainalign.metrics import voxelwise_stats as vs
from brainalign.metrics.voxelwise_calibration import ar1, false_discovery_proportion, planted, wilson
from runif import run_if


def repeated(n_repeats, n_times, n_voxels, ev, rng):
    """Repeats = signal + noise with single-repeat explainable variance `ev` [V] (signal shared by repeats)."""
    signal = rng.standard_normal((n_times, n_voxels))
    noise = rng.standard_normal((n_repeats, n_times, n_voxels))
    return signal * np.sqrt(ev) + noise * np.sqrt(1 - ev), signal


@run_if(package="voxelwise_tutorials")
@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("zscore", [True, False])
def test_explainable_variance_equals_voxelwise_tutorials(bias_correction, zscore):
    from voxelwise_tutorials.utils import explainable_variance

    rng = np.random.default_rng(0)
    data, _ = repeated(4, 120, 50, rng.uniform(0, 0.8, 50), rng)
    data = data * rng.uniform(0.5, 3, 50) + rng.standard_normal(50)
    ours = vs.explainable_variance(data, bias_correction=bias_correction, zscore=zscore)
    theirs = explainable_variance(data, bias_correction=bias_correction, do_zscore=zscore)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


def test_explainable_variance_recovers_the_planted_value_and_a_perfect_model_is_ceiled_to_one():
    rng = np.random.default_rng(1)
    true_ev = np.repeat([0.05, 0.2, 0.5], 200)
    data, signal = repeated(10, 2000, true_ev.size, true_ev, rng)
    ev = vs.explainable_variance(data)
    for level in np.unique(true_ev):
        assert abs(ev[true_ev == level].mean() - level) < 0.01
    single = vs.columnwise_r(data[0], signal)
    on_mean = vs.columnwise_r(data.mean(axis=0), signal)
    assert abs(np.nanmean(vs.ceiled(single, vs.ev_ceiling(ev))[0]) - 1) < 0.02
    assert abs(np.nanmean(vs.ceiled(on_mean, vs.ev_ceiling(ev, n_averaged=10))[0]) - 1) < 0.02
    assert np.nanmean(vs.ceiled(on_mean, vs.ev_ceiling(ev))[0]) > 1.2   # the single-repeat ceiling is too low


def test_voxels_without_a_ceiling_are_excluded_and_counted():
    r = np.array([0.3, 0.2, 0.4, 0.1])
    ceiling = vs.ev_ceiling(np.array([0.25, -0.1, 0.0, 0.64]))
    assert np.isnan(ceiling[1:3]).all()
    out = vs.summary(r, np.array([True, True, True, False]), ceiling=ceiling)
    assert out["n_significant"] == 3 and out["n_significant_no_ceiling"] == 2
    assert out["mean_ceiled_r_significant"] == pytest.approx(0.3 / 0.5)
    assert out["mean_r_significant"] == pytest.approx(0.3)
    assert out["score"] == out["mean_ceiled_r_significant"] and "significant" in out["score_over"]


def test_summary_over_a_network_mask():
    r = np.array([0.5, 0.1, 0.2, 0.05])
    out = vs.summary(r, np.array([True, False, True, False]), network_mask=np.array([False, True, True, True]))
    assert out["n_network"] == 3 and out["n_network_significant"] == 1
    assert out["mean_r_network"] == pytest.approx(np.mean([0.1, 0.2, 0.05]))
    assert out["score"] == out["mean_r_network"] and "network" in out["score_over"]
    assert "mean_ceiled_r_network" not in out
    with pytest.raises(DataMismatch):
        vs.summary(r, np.ones(3, bool))
    with pytest.raises(DataMismatch, match="ceiling"):
        vs.summary(r, np.ones(4, bool), ceiling=np.ones(3))


def test_intersubject_ceiling_is_each_subject_against_the_mean_of_the_others():
    rng = np.random.default_rng(2)
    ev, n_subjects = 0.3, 6
    data = np.stack([repeated(1, 3000, 40, np.full(40, ev), np.random.default_rng(0))[1]] * n_subjects)
    data = data * np.sqrt(ev) + rng.standard_normal(data.shape) * np.sqrt(1 - ev)
    isc = vs.intersubject_ceiling(data)
    assert isc.shape == (n_subjects, 40)
    others = data[[1, 2, 3, 4, 5]].mean(axis=0)
    np.testing.assert_allclose(isc[0, 7], np.corrcoef(data[0, :, 7], others[:, 7])[0, 1], atol=1e-12)
    # equal noise in all subjects: ISC^2 = EV x EV of the mean of the others (Spearman-Brown)
    expected = np.sqrt(ev * (n_subjects - 1) * ev / (1 + (n_subjects - 2) * ev))
    assert abs(isc.mean() - expected) < 0.01 and expected < np.sqrt(ev)


def test_block_permutation_p_equals_shuffling_the_blocks_directly():
    rng = np.random.default_rng(3)
    n_times, block, n_perm = 103, 10, 150
    y, pred = rng.standard_normal((n_times, 9)), rng.standard_normal((n_times, 9))
    pred[:, :3] += y[:, :3]
    p = vs.block_permutation_p(y, pred, block=block, n_perm=n_perm, seed=7, max_bytes=40_000)  # several batches
    n_blocks = n_times // block
    orders = np.random.default_rng(7).permuted(np.tile(np.arange(n_blocks), (n_perm, 1)), axis=1)
    rows = [np.concatenate([np.arange(k * block, (k + 1) * block) for k in order]
                           + [np.arange(n_blocks * block, n_times)]) for order in orders]
    observed = vs.columnwise_r(y, pred)
    null = np.stack([vs.columnwise_r(y, pred[idx]) for idx in rows])
    np.testing.assert_array_equal(p, (1 + (null >= observed - 1e-12).sum(axis=0)) / (1 + n_perm))
    assert (p[:3] < 0.02).all()


def test_constant_voxels_get_no_p_and_are_left_out_of_the_fdr_family():
    rng = np.random.default_rng(4)
    y, pred = rng.standard_normal((60, 4)), rng.standard_normal((60, 4))
    y[:, 1] = 2.0
    p = vs.block_permutation_p(y, pred, block=5, n_perm=50)
    assert np.isnan(p[1]) and np.isfinite(p[[0, 2, 3]]).all()
    reject, adjusted = vs.fdr_bh(np.array([0.001, np.nan, 0.02, 0.9]))
    assert not reject[1] and np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2, 3]], [0.003, 0.03, 0.9])


def test_fdr_bh_is_the_step_up_rule():
    p = np.random.default_rng(5).uniform(0, 0.1, 40) ** 2
    reject, _ = vs.fdr_bh(p, q=0.05)
    order = np.sort(p)
    passing = np.flatnonzero(order <= 0.05 * np.arange(1, 41) / 40)
    cutoff = order[passing.max()] if passing.size else -1
    np.testing.assert_array_equal(reject, p <= cutoff)


@pytest.mark.parametrize("call, message", [
    (lambda y: vs.block_permutation_p(y, y, block=40), "block=40"),
    (lambda y: vs.block_permutation_p(y, y, block=0), "block=0"),
    (lambda y: vs.block_permutation_p(y, y, n_perm=0), "n_perm=0"),
    (lambda y: vs.block_permutation_p(y, y, block=1, max_bytes=1000), "longer blocks"),
    (lambda y: vs.fdr_bh(np.ones(3), q=1.5), "q=1.5"),
    (lambda y: vs.ev_ceiling(np.ones(3), n_averaged=0), "n_averaged=0"),
])
def test_bad_settings_are_one_line_config_errors(call, message):
    with pytest.raises(ConfigError, match=message) as err:
        call(np.ones((60, 2)))
    assert "\n" not in str(err.value)


def test_misshapen_inputs_are_data_mismatches():
    with pytest.raises(DataMismatch):
        vs.block_permutation_p(np.ones((60, 2)), np.ones((60, 3)))
    with pytest.raises(DataMismatch):
        vs.explainable_variance(np.ones((1, 60, 2)))
    with pytest.raises(DataMismatch):
        vs.intersubject_ceiling(np.ones((60, 2)))


def test_on_autocorrelated_noise_blocks_are_near_nominal_and_an_iid_shuffle_is_not():
    rng = np.random.default_rng(6)
    n_voxels = 2000
    y, pred = ar1(300, n_voxels, 0.5, rng), ar1(300, n_voxels, 0.5, rng)
    blocks = (vs.block_permutation_p(y, pred, block=10, n_perm=200, seed=1) < 0.05).sum()
    iid = (vs.block_permutation_p(y, pred, block=1, n_perm=200, seed=1) < 0.05).sum()
    low, high = wilson(blocks, n_voxels, level=0.99)
    assert low <= 0.05 <= high, f"block rate {blocks / n_voxels:.3f} [{low:.3f}, {high:.3f}]"
    assert wilson(iid, n_voxels, level=0.99)[0] > 0.05, f"iid rate {iid / n_voxels:.3f}"


def test_bh_keeps_the_fdr_and_recovers_the_planted_voxels():
    rng = np.random.default_rng(7)
    fdp, recovered = [], []
    for _ in range(8):
        y, pred, is_planted = planted(200, 600, 60, 0.5, 1.0, rng)
        reject, _ = vs.fdr_bh(vs.block_permutation_p(y, pred, block=10, n_perm=400, seed=int(rng.integers(1e9))))
        fdp.append(false_discovery_proportion(reject, is_planted))
        recovered.append(reject[is_planted].mean())
    assert np.mean(fdp) <= 0.05 + 2 * np.std(fdp) / np.sqrt(len(fdp)), fdp
    assert np.mean(recovered) > 0.9, recovered
