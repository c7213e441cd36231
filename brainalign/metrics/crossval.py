"""The cross-validation loop shared by the linear and the ridge metric, for all layers at once.

Both regressions predict the test targets as a linear smoothing of the centred train targets:
prediction = S @ (Y_train - mean) + mean, with S [n_test, n_train] computed from the features
only. So per split we centre Y once, build one small S per layer, and get every layer's
predictions for every neuroid from one matrix product; no loop over neuroids.

S only depends on inner products between (centred) feature rows, so each layer's features are
first reduced to an [n, min(n, d)] basis with the same inner products (one QR per layer). The
regressions then decompose an n_train x n matrix per split instead of n_train x d.
"""

import numpy as np

from .correlation import CONVENTIONS, correlate, prepare_target

CHUNK_BYTES = 2**27  # bound on one block of predictions [layers, n_test, neuroids] (128 MiB)


def check_inputs(X, Y, subjects=None):
    """X as [layers, n, d], Y as float64 [n, neuroids], and whether X came as a single layer."""
    X, Y = np.asarray(X), np.asarray(Y, dtype=np.float64)
    if X.ndim not in (2, 3):
        raise ValueError(f"X must be [n, d] or [layers, n, d], got shape {X.shape}")
    Y = Y[:, None] if Y.ndim == 1 else Y
    if Y.ndim != 2:
        raise ValueError(f"Y must be [n, neuroids], got shape {Y.shape}")
    if X.shape[-2] != Y.shape[0]:
        raise ValueError(f"X has {X.shape[-2]} rows (stimuli) but Y has {Y.shape[0]}")
    if np.isnan(Y).any():
        bad = np.flatnonzero(np.isnan(Y).any(axis=0))
        raise ValueError(f"Y has NaN in {len(bad)} neuroid columns (first: {bad[:5].tolist()}); "
                         "drop those neuroids before scoring, as Brain-Score does")
    if not np.isfinite(Y).all() or not np.isfinite(X).all():
        raise ValueError("X and Y must be finite (no inf or NaN)")
    if subjects is not None and len(subjects) != Y.shape[1]:
        raise ValueError(f"subjects has {len(subjects)} labels but Y has {Y.shape[1]} neuroids")
    single = X.ndim == 2
    return (X[None] if single else X), Y, single


def row_basis(x):
    """x [n, d] centred, then expressed in at most n columns with the same row inner products."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    if centred.shape[1] <= centred.shape[0]:
        return centred
    # centred = R.T @ Q.T with Q's columns orthonormal, so R.T has the same rows' geometry
    return np.linalg.qr(centred.T, mode="r").T


def cross_validate(X, Y, splits, smoother, convention="batched", prepare=None):
    """r [layers, splits, neuroids] and smoother info [layers, splits].

    smoother(features_train, features_test, state) -> (S [n_test, n_train], info) gets the
    features centred on the train rows; state = prepare(Y_train centred) is computed once per
    split and shared by all layers."""
    if convention not in CONVENTIONS:
        raise ValueError(f"correlation must be one of {CONVENTIONS}, got {convention!r}")
    bases = [row_basis(x) for x in X]
    n_neuroids = Y.shape[1]
    r = np.empty((len(bases), len(splits), n_neuroids))
    info = np.full((len(bases), len(splits)), np.nan)
    for k, (train, test) in enumerate(splits):
        y_train = Y[train] - Y[train].mean(axis=0)
        target = prepare_target(Y[test], convention)
        state = prepare(y_train) if prepare else None
        smoothers = []
        for layer, basis in enumerate(bases):
            mean = basis[train].mean(axis=0)
            S, info[layer, k] = smoother(basis[train] - mean, basis[test] - mean, state)
            smoothers.append(S - S.mean(axis=0))  # centring S over test rows centres the prediction
        S = np.stack(smoothers)
        n_test, n_train = S.shape[1:]
        step = max(1, CHUNK_BYTES // (8 * n_test * n_neuroids))
        for start in range(0, len(bases), step):
            block = S[start:start + step]
            pred = (block.reshape(-1, n_train) @ y_train).reshape(len(block), n_test, n_neuroids)
            r[start:start + step, k] = correlate(pred, target, convention)
    return r, info
