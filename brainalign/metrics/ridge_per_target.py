"""Ridge regression with one penalty per target, chosen by nested K-fold CV, for all targets at once.

This is the estimator of the Wehbe2014 pipeline (`cross_val_ridge(..., method='plain')` in the
authors' code): no intercept (inputs are z-scored), K-fold splits without shuffling, validation
error 1 - R^2 (R^2 against the validation fold's own variance) summed over folds, the first
penalty with the smallest error per target, then a refit on the whole training set.

The speed comes from decomposing each training set once and reusing it for every penalty and every
target (himalaya's trick):

* primal (features <= samples): X'X = V diag(e) V', so W(a) = V diag(1/(e+a)) V' X'Y; the
  validation error of every (penalty, target) is a quadratic form in k = n_features coordinates;
* dual (features > samples): XX' = Q diag(e) Q', predictions K_new Q diag(1/(e+a)) Q'Y.
"""

from dataclasses import dataclass

import numpy as np

ALPHAS = np.array([10.0 ** i for i in range(-6, 10)])  # the study's grid, 1e-6 .. 1e9


@dataclass
class RidgeFit:
    predictions: np.ndarray  # [n_test, n_targets]
    alphas: np.ndarray  # [n_targets] the chosen penalty of each target
    cv_error: np.ndarray  # [n_alphas, n_targets] sum over inner folds of 1 - R^2


def kfold(n: int, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """sklearn's KFold(n_splits) without shuffling: contiguous folds, the first n % n_splits one longer."""
    if not 2 <= n_splits <= n:
        raise ValueError(f"cannot split {n} samples into {n_splits} folds")
    sizes = np.full(n_splits, n // n_splits)
    sizes[: n % n_splits] += 1
    stops = np.cumsum(sizes)
    idx = np.arange(n)
    return [(np.r_[idx[:stop - size], idx[stop:]], idx[stop - size:stop]) for size, stop in zip(sizes, stops)]


def zscore_columns(a: np.ndarray) -> np.ndarray:
    """z-score each column (population SD), constant columns -> 0 (the code's nan_to_num(zscore(.)))."""
    a = np.asarray(a, dtype=np.float64)
    mu = a.mean(axis=0)
    z = a - mu
    sd = np.sqrt(np.einsum("ij,ij->j", z, z) / len(z))
    z /= np.where(sd > 0, sd, 1.0)
    z[:, sd == 0] = 0.0
    if not np.isfinite(mu).all():  # NaN/inf in a column: that column becomes 0, as nan_to_num(zscore(.))
        z[:, ~np.isfinite(mu)] = 0.0
    return z


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each column pair: mean(z(a) * z(b)); NaN where a column is constant."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    norms = np.einsum("ij,ij->j", a, a) * np.einsum("ij,ij->j", b, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("ij,ij->j", a, b) / np.sqrt(norms)


def _r2_error(ssres: np.ndarray, sstot: np.ndarray) -> np.ndarray:
    """1 - R^2 as the study computes it: R^2 = nan_to_num(1 - SSres/SStot); ssres [..., t], sstot [t].

    Where SStot = 0 that is 1 when SSres = 0 (NaN -> 0) and 1 + the largest float otherwise (-inf).
    """
    flat = sstot == 0
    err = 1.0 - (1.0 - ssres / np.where(flat, 1.0, sstot))
    if flat.any():
        err[..., flat] = np.where(ssres[..., flat] > 0, 1.0 + np.finfo(np.float64).max, 1.0)
    return err


def _eigh(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e, vecs = np.linalg.eigh(gram)
    return np.clip(e, 0.0, None), vecs


def _primal_folds(X, splits):
    """Per inner fold: validation rows, eigenvalues/vectors of X_trn'X_trn, A = X_val V and A'A."""
    folds = []
    for trn, val in splits:
        e, V = _eigh(X[trn].T @ X[trn])
        A = X[val] @ V
        folds.append((val, e, V, A, A.T @ A))
    return folds


GAP = 1e-5  # eigenvalue gaps (relative to the largest) below which the partial fractions are not used


def _primal_errors(X, Y, XtY, folds, alphas, out):
    """Add each inner fold's 1 - R^2 of every (penalty, target) to `out` [n_alphas, n_targets].

    Per fold, with B = V' X_trn'Y_trn and d = 1/(e + a): predictions are A diag(d) B, so
    SSres = sum y^2 - 2 d.(B * A'y) + sum_kl G_kl d_k d_l B_k B_l (G = A'A), with no n_val x
    n_targets product. The last sum, by partial fractions d_k d_l = (d_k - d_l) / (e_l - e_k),
    is 2 d.(B * M B) + d^2.(diag(G) B^2) with M_kl = G_kl / (e_l - e_k): every penalty then costs
    two [n_alphas, k] @ [k, n_targets] products. Folds with near-equal eigenvalues use the direct sum.
    """
    for val, e, V, A, G in folds:
        Yv = np.take(Y, val, axis=0)  # a copy, centred in place below
        AtY = A.T @ Yv
        B = V.T @ XtY - AtY  # V' X_trn'Y_trn = V' (X'Y - X_val'Y_val), without touching the training rows
        BC = B * AtY
        yy = np.einsum("ij,ij->j", Yv, Yv)
        Yv -= Yv.mean(axis=0)
        sstot = np.einsum("ij,ij->j", Yv, Yv) / len(val)
        D = 1.0 / (e[None, :] + alphas[:, None])  # [n_alphas, k]
        diff = e[None, :] - e[:, None]  # e_l - e_k at [k, l]
        np.fill_diagonal(diff, np.inf)
        if np.abs(diff).min() > GAP * max(e.max(), 1e-300):
            linear = (G / diff) @ B  # M B, M = G / diff is 0 on the diagonal
            linear *= B
            linear -= BC
            linear *= 2.0
            quadratic = B * B
            quadratic *= np.diag(G)[:, None]
            ssres = D @ linear
            ssres += (D * D) @ quadratic
            ssres += yy
        else:
            ssres = np.empty((len(alphas), Y.shape[1]))
            for i, d in enumerate(D):
                quad = np.einsum("kt,kt->t", (G * np.outer(d, d)) @ B, B)
                ssres[i] = yy - 2.0 * (d @ BC) + quad
        out += _r2_error(np.maximum(ssres, 0.0) / len(val), sstot)


def _dual_folds(K, splits):
    folds = []
    for trn, val in splits:
        e, Q = _eigh(K[np.ix_(trn, trn)])
        folds.append((trn, val, e, Q, K[np.ix_(val, trn)] @ Q))
    return folds


def _dual_errors(Y, folds, alphas, out):
    for trn, val, e, Q, A in folds:
        B = Q.T @ Y[trn]
        Yv = Y[val]
        sstot = Yv.var(axis=0)
        for i, a in enumerate(alphas):
            P = (A / (e + a)) @ B
            out[i] += _r2_error(((Yv - P) ** 2).mean(axis=0), sstot)


def ridge_nested_cv(X: np.ndarray, Y: np.ndarray, X_test: np.ndarray, *, alphas=ALPHAS,
                    n_splits: int = 10, targets_batch: int | None = None) -> RidgeFit:
    """Fit ridge per target with its penalty chosen by nested `n_splits`-fold CV; predict X_test.

    X [n, p], Y [n, t], X_test [m, p]. Equivalent to, per target, choosing `a` minimising
    sum over KFold(n_splits) of 1 - R^2(val) for W = inv(X'X + aI) X'Y, then refitting on all rows.
    The decompositions are made once; targets go through in batches of `targets_batch` (default
    8,192 in the primal: few calls, each a few MB; 20,000 in the dual, bounding memory).
    """
    X = np.asarray(X, dtype=np.float64)
    X_test = np.asarray(X_test, dtype=np.float64)
    Y = np.asarray(Y)
    alphas = np.asarray(alphas, dtype=np.float64)
    n, p = X.shape
    if Y.shape[0] != n or X_test.shape[1] != p:
        raise ValueError(f"shapes do not line up: X {X.shape}, Y {Y.shape}, X_test {X_test.shape}")
    splits = kfold(n, n_splits)
    primal = p <= n
    if primal:
        folds = _primal_folds(X, splits)
        e, V = _eigh(X.T @ X)
        A_test = X_test @ V
    else:
        K = X @ X.T
        folds = _dual_folds(K, splits)
        e, Q = _eigh(K)
        A_test = (X_test @ X.T) @ Q
    batch = targets_batch or (8192 if primal else 20_000)
    preds = np.empty((X_test.shape[0], Y.shape[1]))
    errors = np.zeros((len(alphas), Y.shape[1]))
    for start in range(0, Y.shape[1], batch):
        cols = slice(start, start + batch)
        Yb = np.ascontiguousarray(Y[:, cols], dtype=np.float64)  # row gathers on a column view are slow
        if primal:
            XtY = X.T @ Yb
            _primal_errors(X, Yb, XtY, folds, alphas, errors[:, cols])
            B = V.T @ XtY
        else:
            _dual_errors(Yb, folds, alphas, errors[:, cols])
            B = Q.T @ Yb
        best = alphas[np.argmin(errors[:, cols], axis=0)]
        preds[:, cols] = A_test @ (B / (e[:, None] + best[None, :]))
    return RidgeFit(predictions=preds, alphas=alphas[np.argmin(errors, axis=0)], cv_error=errors)
