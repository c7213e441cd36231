"""The cross-validation loop shared by the linear and the ridge metric, for all layers at once.

Both regressions predict the test targets as a linear smoothing of the centred train targets:
prediction = S @ (Y_train - mean) + mean, with S [n_test, n_train] computed from the features
only. So per split each layer contributes one small S; all layers' predictions for every neuroid
then come from one float64 matrix product [layers * n_test, n_train] @ [n_train, neuroids] (in
column blocks, so the correlation that follows stays in cache); no loop over neuroids.
"""

import numpy as np

from .correlation import CONVENTIONS, correlate, prepare_target

BLOCK_BYTES = {"cpu": 2**24, "cuda": 2**30}  # one block of predictions [layers, n_test, columns]
# A layer whose smoother, centred over the test rows, is below this fraction of the smoother itself
# predicts the same value for every test row (e.g. OASM on held-out stories: only the intercept);
# what is left is rounding, which the correlation's 1e-8 would turn into r ~ 1e-6. It is made 0.
CONSTANT_RTOL = 1e-9


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


def check_splits(splits, n):
    """Caller-given splits as a list of (train, test) integer index arrays into the n rows."""
    out = []
    for k, split in enumerate(splits):
        if len(split) != 2:
            raise ValueError(f"split {k} must be a (train_idx, test_idx) pair")
        train, test = (np.asarray(part) for part in split)
        for name, idx in (("train", train), ("test", test)):
            if idx.ndim != 1 or len(idx) == 0 or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(f"split {k}: {name} must be a non-empty 1-D array of integer row indices")
            if idx.min() < 0 or idx.max() >= n or len(np.unique(idx)) != len(idx):
                raise ValueError(f"split {k}: {name} indices must be distinct and in [0, {n})")
        if np.intersect1d(train, test).size:
            raise ValueError(f"split {k}: train and test share rows")
        if len(train) < 2:
            raise ValueError(f"split {k}: at least 2 training rows are needed")
        out.append((train.astype(np.intp), test.astype(np.intp)))
    if not out:
        raise ValueError("splits is empty")
    return out


def row_basis(x, be=None):
    """x [n, d] centred, then expressed in at most n columns with the same row inner products
    (be: a brainalign.metrics.backend; numpy when not given)."""
    if be is None:
        from .backend import get_backend

        be = get_backend("numpy")
    centred = be.asarray(x)
    centred = centred - centred.mean(axis=0)
    if centred.shape[1] <= centred.shape[0]:
        return centred
    # centred = R.T @ Q.T with Q's columns orthonormal, so R.T has the same rows' geometry
    return be.qr_r(centred.T).T


def cross_validate(Y, splits, smoothers, n_layers, convention, be):
    """r [layers, splits, neuroids] (numpy) from smoothers(k, train, test) -> S [layers, n_test, n_train]."""
    if convention not in CONVENTIONS:
        raise ValueError(f"correlation must be one of {CONVENTIONS}, got {convention!r}")
    Yb = be.asarray(Y)
    n_neuroids = Y.shape[1]
    r = np.empty((n_layers, len(splits), n_neuroids))
    block_bytes = BLOCK_BYTES["cuda" if str(be.device).startswith("cuda") else "cpu"]
    for k, (train, test) in enumerate(splits):
        S = smoothers(k, train, test)
        scale = be.abs_max_per_layer(S)
        S = S - S.mean(axis=1, keepdims=True)  # centring S over test rows centres the prediction
        varies = be.abs_max_per_layer(S) > CONSTANT_RTOL * scale
        if not bool(varies.all()):
            S = S * varies[:, None, None]
        tr, te = be.index(train), be.index(test)
        y_train = Yb[tr]
        y_train = y_train - y_train.mean(axis=0)
        unit, constant = prepare_target(Yb[te], convention, be)
        flat = S.reshape(-1, len(train))
        step = max(64, block_bytes // (8 * flat.shape[0]))
        for start in range(0, n_neuroids, step):
            cols = slice(start, start + step)
            pred = (flat @ y_train[:, cols]).reshape(n_layers, len(test), -1)
            target = (unit[:, cols], None if constant is None else constant[cols])
            r[:, k, cols] = be.to_numpy(correlate(pred, target, convention, be))
    return r
