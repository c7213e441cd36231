"""Simulated held-out time series for checking voxelwise_stats' rates (tests and
bench/calibration_voxelwise.py): AR(1) noise, a planted voxel set, and Wilson intervals for the rates."""

import numpy as np
from scipy import stats
from scipy.signal import lfilter


def ar1(n_times, n_voxels, phi, rng, burn=50):
    """[n_times, n_voxels] stationary AR(1) series with lag-1 autocorrelation `phi`, unit variance."""
    shocks = rng.standard_normal((n_times + burn, n_voxels)) * np.sqrt(1 - phi ** 2)
    return lfilter([1.0], [1.0, -phi], shocks, axis=0)[burn:]


def planted(n_times, n_voxels, n_planted, phi, snr, rng):
    """(y_true, y_pred, is_planted): the first `n_planted` voxels share a latent AR(1) signal between the
    measured and the predicted series (y_true = snr * s + noise, y_pred = s + noise); the other voxels'
    prediction is independent of their data. All series are AR(1) with `phi`."""
    signal = ar1(n_times, n_voxels, phi, rng)
    is_planted = np.arange(n_voxels) < n_planted
    y_true = snr * signal * is_planted + ar1(n_times, n_voxels, phi, rng)
    y_pred = signal + ar1(n_times, n_voxels, phi, rng)
    return y_true, y_pred, is_planted


def wilson(k, n, level=0.95):
    """Wilson score interval (low, high) of a rate k / n."""
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def false_discovery_proportion(reject, is_planted):
    """Share of the rejected voxels that are null (0 when none is rejected)."""
    return float((reject & ~is_planted).sum() / max(1, reject.sum()))
