"""What a layer explains beyond confounds: banded (multiple-kernel) ridge and unique variance.

A "band" is one feature space: the model layer, and each confound (OASM, position in passage,
sentence length...). Banded ridge (Nunez-Elizalde et al. 2019, NeuroImage; Dupré la Tour et al.
2022, NeuroImage, the paper of himalaya) gives each band its own penalty, per voxel, so a wide
layer cannot drown a one-column confound. In kernel form: K = sum_b gamma_b K_b with gamma on the
simplex and one overall alpha; the prediction is K_test (K + alpha I)^-1 y.

Per split and voxel we fit two models under the same protocol (splits given by the caller):
[layer + confounds] (joint) and [confounds alone]. The layer's unique variance is
R2_joint - R2_confounds on the test rows (R2 = 1 - SSE / SST around the test mean), and its
correlation gain is r_joint - r_confounds; both are aggregated like every other score (median over
voxels per split, mean over splits, per subject).

Hyperparameters: random search over a fixed set of band weights (the corners of the simplex, its
centre and Dirichlet(1) draws, as himalaya's random-search solver) times a grid of alphas, chosen
per voxel by generalised cross-validation (GCV; Golub, Heath & Wahba 1979, Technometrics) on the
training rows. One eigendecomposition of the training kernel per weight vector gives every alpha's
GCV error for every voxel from one product Q^T Y, which is why GCV is used rather than an inner
K-fold loop (himalaya's default). Kernels are linear, centred on the training rows, and each band
is scaled to a mean diagonal of 1 so the weights are comparable.

Shared work across layers: the confound kernels, the confound-only fit and everything that only
depends on Y are computed once per split; each layer adds one kernel and one joint fit. The joint
search starts from the confound-only fit (the joint model with the layer's weight at 0), so it only
searches weight vectors that give the layer a share, and per voxel the joint model is chosen only
where it beats the confounds' GCV error: the models are nested, as variance partitioning needs.
"""

from dataclasses import dataclass

import numpy as np

from .correlation import correlate, prepare_target
from .backend import get_backend
from .crossval import check_inputs, row_basis
from .reduce import check_reduction, pca_scores, random_projection
from .score import Score, make_score

DEFAULT_ALPHAS = np.logspace(-2, 5, 15)
N_GAMMAS = 20


@dataclass
class BandedScore:
    unique: Score      # R2(layer + confounds) - R2(confounds), per split x voxel
    gain: Score        # r(layer + confounds) - r(confounds)
    joint: Score       # r of the joint model
    confounds: Score   # r of the confounds alone (the same object for every layer)
    model_weight: np.ndarray  # [splits, voxels] the layer band's weight gamma_0 chosen per voxel


def band_weights(n_bands, n_gammas=N_GAMMAS, seed=0):
    """[n, n_bands] weight vectors on the simplex: each band alone, all equal, then Dirichlet(1) draws."""
    fixed = np.vstack([np.eye(n_bands), np.full((1, n_bands), 1.0 / n_bands)]) if n_bands > 1 else np.ones((1, 1))
    extra = max(0, n_gammas - len(fixed)) if n_bands > 1 else 0
    draws = np.random.RandomState(seed).dirichlet(np.ones(n_bands), size=extra)
    return np.vstack([fixed, draws])


def _split_kernels(basis, train, test, n_components=None):
    """Train and test-by-train linear kernels of one band, centred on the train rows, mean diagonal 1;
    n_components=k: of the band's top k principal components of the train rows."""
    if n_components is None:
        mean = basis[train].mean(axis=0)
        tr, te = basis[train] - mean, basis[test] - mean
    else:
        tr, te = pca_scores(basis, train, test, int(n_components), get_backend("numpy"))
    k_train, k_test = tr @ tr.T, te @ tr.T
    scale = np.trace(k_train) / len(train)
    if scale > 0:
        k_train, k_test = k_train / scale, k_test / scale
    return k_train, k_test


def fit_predict(kernels_train, kernels_test, y_train, gammas, alphas, start=None):
    """Per-voxel banded kernel ridge: test predictions [n_test, voxels], the chosen weight index
    (-1: kept from `start`) and the GCV error [voxels].

    kernels_* are lists over bands ([n_train, n_train], [n_test, n_train]); y_train is centred.
    Each weight vector costs one eigendecomposition and one product Q^T Y; a voxel's prediction is
    (re)computed when a weight vector beats its best GCV error so far, so nothing is refitted.
    start = (predictions, gcv errors) of an earlier search over a sub-model to continue from."""
    n, m = y_train.shape
    if start is None:
        best, pred = np.full(m, np.inf), np.zeros((kernels_test[0].shape[0], m))
    else:
        pred, best = start[0].copy(), start[1].copy()
    choice = np.full(m, -1)
    for g, gamma in enumerate(gammas):
        K = sum(w * k for w, k in zip(gamma, kernels_train) if w > 0)
        eigvals, Q = np.linalg.eigh(K)
        eigvals = np.clip(eigvals, 0.0, None)
        z = Q.T @ y_train                                       # [n, m]
        shrink = alphas[:, None] / (eigvals[None] + alphas[:, None])  # [alphas, n]: residual factor
        rss = np.square(shrink) @ np.square(z)                  # [alphas, m]
        dof = (n - 1) - (1.0 - shrink).sum(axis=1)              # n - 1: centring used one
        gcv = rss / np.square(np.maximum(dof, 1e-12))[:, None]
        a = np.argmin(gcv, axis=0)
        err = gcv[a, np.arange(m)]
        better = np.flatnonzero(err < best)
        if len(better) == 0:
            continue
        best[better], choice[better] = err[better], g
        K_test = sum(w * k for w, k in zip(gamma, kernels_test) if w > 0)
        coef = z[:, better] / (eigvals[:, None] + alphas[a[better]][None])
        pred[:, better] = (K_test @ Q) @ coef
    return pred, choice, best


def _r2(pred, target):
    sse = np.square(target - pred).sum(axis=0)
    sst = np.square(target - target.mean(axis=0)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - sse / sst


def banded_unique_variance(X, Y, confounds, splits, *, subjects=None, alphas=DEFAULT_ALPHAS,
                           n_gammas=N_GAMMAS, seed=0, n_components=None, reduce=None, reduce_seed=0):
    """Unique variance of each layer beyond the confound bands, cross-validated.

    Parameters
    ----------
    X : array [n, d] or [layers, n, d]
        Model features, rows in the data's order.
    Y : array [n, voxels]
        Responses (no NaN).
    confounds : list of arrays [n, d_b] (or a dict name -> array)
        The confound bands (e.g. OASM, position in passage, length), one penalty each.
    splits : list of (train, test) integer index arrays
        The protocol (shuffle, group, contiguous...): both models use the same splits.
    subjects : array [voxels], optional
        Subject of each voxel, for the per-subject aggregates.
    alphas : array
        Overall ridge penalties searched per voxel.
    n_gammas, seed
        Number of band-weight vectors searched (corners, centre, Dirichlet draws) and their seed.
    n_components, reduce, reduce_seed
        The feature-count control of the layer band (brainalign/metrics/reduce.py); the confound
        bands are never reduced.

    Returns
    -------
    BandedScore, or a list of them (one per layer) for 3-D X.
    """
    X, Y, single = check_inputs(X, Y, subjects)
    method = check_reduction(n_components, reduce)
    if method is not None and n_components >= X.shape[-1]:
        method = None
    if method == "random-projection":
        X = random_projection(X, int(n_components), int(reduce_seed))
    layer_components = int(n_components) if method == "pca" else None
    bands = list(confounds.values()) if isinstance(confounds, dict) else list(confounds)
    if not bands:
        raise ValueError("banded ridge needs at least one confound band")
    for i, band in enumerate(bands):
        band = np.asarray(band, dtype=np.float64)
        if band.ndim not in (1, 2) or len(band) != len(Y):
            raise ValueError(f"confound band {i} must be [n={len(Y)}, d] (rows = stimuli), got {band.shape}")
        bands[i] = band.reshape(len(Y), -1)
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    confound_gammas = band_weights(len(bands), n_gammas, seed)
    joint_gammas = band_weights(len(bands) + 1, n_gammas, seed)
    joint_gammas = joint_gammas[joint_gammas[:, 0] > 0]  # gamma_layer = 0 is the confound fit itself
    confound_bases = [row_basis(b) for b in bands]
    layer_bases = [row_basis(x) for x in X]
    n_layers, n_splits, m = len(X), len(splits), Y.shape[1]
    r_joint = np.empty((n_layers, n_splits, m))
    r2_joint = np.empty((n_layers, n_splits, m))
    weight = np.empty((n_layers, n_splits, m))
    r_conf, r2_conf = np.empty((n_splits, m)), np.empty((n_splits, m))
    for k, (train, test) in enumerate(splits):
        train, test = np.asarray(train), np.asarray(test)
        mean = Y[train].mean(axis=0)
        y_train, y_test = Y[train] - mean, Y[test]
        target = prepare_target(y_test, "batched")
        conf = [_split_kernels(b, train, test) for b in confound_bases]
        conf_train, conf_test = [c[0] for c in conf], [c[1] for c in conf]
        conf_fit = fit_predict(conf_train, conf_test, y_train, confound_gammas, alphas)
        pred = conf_fit[0]
        r_conf[k] = correlate(pred - pred.mean(axis=0), target, "batched")
        r2_conf[k] = _r2(pred + mean, y_test)
        for layer, basis in enumerate(layer_bases):
            k_train, k_test = _split_kernels(basis, train, test, layer_components)
            # the joint search starts from the confound-only fit (its gamma_layer = 0 sub-model)
            pred, choice, _ = fit_predict([k_train, *conf_train], [k_test, *conf_test], y_train, joint_gammas,
                                          alphas, start=(conf_fit[0], conf_fit[2]))
            r_joint[layer, k] = correlate(pred - pred.mean(axis=0), target, "batched")
            r2_joint[layer, k] = _r2(pred + mean, y_test)
            weight[layer, k] = np.where(choice >= 0, joint_gammas[choice, 0], 0.0)
    confound_score = make_score(r_conf, subjects)
    scores = [BandedScore(unique=make_score(r2_joint[i] - r2_conf, subjects),
                          gain=make_score(r_joint[i] - r_conf, subjects),
                          joint=make_score(r_joint[i], subjects), confounds=confound_score,
                          model_weight=weight[i])
              for i in range(n_layers)]
    return scores[0] if single else scores

