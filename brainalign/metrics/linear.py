"""Brain-Score's `linear_pearsonr`: cross-validated ordinary least squares, Pearson r per neuroid.

Per split (ShuffleSplit, seed 1, 90 % train): fit Y_train ~ X_train with an intercept by
minimum-norm least squares (what sklearn's LinearRegression gets from scipy's lstsq, i.e. the
pseudo-inverse with singular values <= rcond * s_max treated as zero), predict the test rows,
correlate per neuroid. Score = mean over splits of the median over all neuroids.

How it is fast. When no singular value of any split's centred train features is near the cutoff
(checked, see `leave_out_kernel`), the min-norm fit keeps every direction, and held-out predictions
follow from ONE n x n matrix Z per layer, shared by all splits: S = -Z[H, H]^-1 Z[H, train] for the
held-out rows H (the block form of leave-out prediction). Z is the pseudo-inverse of the centred
Gram matrix when d >= n - 1 (min-norm interpolation with an unpenalised intercept), or I - hat
matrix of [1, X] when d < n - 1 (full-rank least squares). Otherwise (rank-deficient features, a
singular value near the cutoff) that layer and split fall back to an SVD of its centred train
features, the cutoff applied exactly as lstsq does.

Callers drop neuroids that have NaN (Brain-Score drops every neuroid with a NaN within an
experiment before calling the metric); this function raises on NaN instead of guessing.
"""

import numpy as np
import sklearn
from sklearn.linear_model import LinearRegression

from .backend import get_backend
from .crossval import check_inputs, check_splits, cross_validate, row_basis
from .reduce import check_reduction, random_projection
from .score import make_score
from .splits import shuffle_splits

CUTOFF_MARGIN = 10.0  # the fast path needs every squared singular value >= 10 x the squared cutoff
DUAL_PRECISION = 1e-10  # dual: and >= 1e-10 ||Gram||_F (its Cholesky inverse squares the condition)
PRIMAL_PRECISION = 1e-12  # primal (QR-based): only well above the Cholesky test's own rounding
BLOCK_PRECISION = 1e-6  # primal: a held-out block of I - hat must keep eigenvalues >= this


def default_rcond():
    """The singular-value cutoff (relative to s_max) of the installed sklearn's LinearRegression.

    sklearn >= 1.9 passes cond=tol (1e-6) to scipy.linalg.lstsq; older versions pass nothing,
    so scipy uses the machine epsilon of the float64 computation."""
    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 9):
        return float(LinearRegression().tol)
    return float(np.finfo(np.float64).eps)


def leave_out_kernel(x, rcond, be):
    """(Z [n, n], the least eigenvalue each held-out block Z[H, H] must have), or None.

    Gram = the centred features' Gram matrix (dual, d >= n - 1) or covariance (primal). The fast
    path needs every squared singular value >= tau >= CUTOFF_MARGIN rcond^2 ||Gram||_F (that
    margin times the squared cutoff), proven by 1 / trace(Gram^-1) >= tau (dual) or a Cholesky
    test of Gram - tau I (primal).
    Dual: by interlacing this holds for every subset of training rows; Z = pinv(centred Gram).
    Primal: Z = I - hat matrix of [1, X]; a training subset has squared singular values
    >= tau * lambda_min(Z[H, H]) for its held-out rows H, which each split checks."""
    xg = be.asarray(x)
    xg = xg - xg.mean(axis=0)
    n, d = xg.shape
    dual = d >= n - 1
    gram = xg @ xg.T if dual else xg.T @ xg
    size, scale = len(gram), be.norm(gram)
    cut = CUTOFF_MARGIN * rcond**2 * scale
    if not scale > 0:
        return None
    if dual:
        # the centring null direction (ones) gets the mean eigenvalue, and is taken out again below
        ones_eig = float(be.einsum("ii->", gram)) / (n - 1)
        lower = be.cholesky(gram + ones_eig / n)
        if lower is None:
            return None
        inverse = be.cho_inverse(lower)
        # 1 / lambda_min <= trace of the inverse: a bound on the least eigenvalue, for free
        if float(be.einsum("ii->", inverse)) * max(cut, DUAL_PRECISION * scale) > 1.0:
            return None
        return inverse - 1.0 / (ones_eig * n), 0.0
    floor = max(cut, PRIMAL_PRECISION * scale)
    for factor in (1e4, 1e2, 1.0):  # the largest proven tau leaves each block the most room
        if be.cholesky(gram - factor * floor * be.eye(size)) is not None:
            break
    else:
        return None
    ones = be.asarray(np.full((n, 1), n**-0.5))
    q, _ = be.qr(_hcat(ones, xg, be))  # orthonormal basis of [1, X]: the hat matrix is q q^T
    return be.eye(n) - q @ q.T, max(cut / (factor * floor), BLOCK_PRECISION)


def _hcat(a, b, be):
    out = be.zeros((a.shape[0], a.shape[1] + b.shape[1]))
    out[:, :a.shape[1]] = a
    out[:, a.shape[1]:] = b
    return out


def svd_smoother(basis, train, test, rcond, be, n_components=None):
    """S = X_test pinv(X_train) for train-centred features, pinv by SVD with the cutoff rcond * s_max.
    n_components=k keeps only the top k directions: the OLS fit on the training rows' first k principal
    components (principal component regression, what PCA(k) then LinearRegression computes)."""
    tr, te = be.index(train), be.index(test)
    mean = basis[tr].mean(axis=0)
    u, s, vt = be.svd(basis[tr] - mean)
    keep = s > rcond * s[0]
    if n_components is not None:
        keep[int(n_components):] = False
    return ((basis[te] - mean) @ vt[keep].T / s[keep]) @ u[:, keep].T


class LinearSmoothers:
    """Per split, S [layers, n_test, n_train] for every layer: fast layers from their Z in one
    batched solve, the others (and fast layers whose held-out block fails its check) by SVD."""

    def __init__(self, X, rcond, be):
        self.X, self.rcond, self.be = X, rcond, be
        kernels = [leave_out_kernel(x, rcond, be) for x in X]
        self.fast = [layer for layer, kernel in enumerate(kernels) if kernel is not None]
        self.Z = be.stack([kernels[layer][0] for layer in self.fast]) if self.fast else None
        self.need = np.array([kernels[layer][1] for layer in self.fast])
        self.bases = {}
        self.fallbacks = 0  # (layer, split) pairs that went through the SVD

    def basis(self, layer):
        if layer not in self.bases:
            self.bases[layer] = row_basis(self.X[layer], self.be)
        return self.bases[layer]

    def __call__(self, k, train, test):
        be, n = self.be, self.X.shape[1]
        S = be.zeros((len(self.X), len(test), len(train)))
        slow = sorted(set(range(len(self.X))) - set(self.fast))
        if self.fast:
            held = np.setdiff1d(np.arange(n), train)  # test rows plus any rows in neither set
            H, tr = be.index(held), be.index(train)
            ZH = self.Z[:, H]
            block = ZH[:, :, H]
            lowest = be.to_numpy(be.eigvalsh(block)[:, 0])
            ok = lowest > self.need
            S_held = -be.solve(block, ZH[:, :, tr])
            rows = be.index(np.searchsorted(held, test))
            for i, layer in enumerate(self.fast):
                if ok[i]:
                    S[layer] = S_held[i][rows]
                else:
                    slow.append(layer)
        for layer in slow:
            self.fallbacks += 1
            S[layer] = svd_smoother(self.basis(layer), train, test, self.rcond, be)
        return S


class PCASmoothers:
    """Per split, every layer's principal component regression on the top k components of its training
    rows (brainalign/metrics/reduce.py): an SVD of the layer's row basis restricted to those rows."""

    def __init__(self, X, n_components, rcond, be):
        self.bases = [row_basis(x, be) for x in X]
        self.k, self.rcond, self.be = int(n_components), rcond, be

    def __call__(self, k, train, test):
        return self.be.stack([svd_smoother(b, train, test, self.rcond, self.be, self.k) for b in self.bases])


def linear_smoothers(X, rcond, be, n_components=None, reduce=None, reduce_seed=0):
    """The smoothers of the linear metric for X [layers, n, d], with the feature-count control when
    n_components is given (reduce: pca, the default, or random-projection)."""
    method = check_reduction(n_components, reduce)
    if method is None or n_components >= X.shape[-1]:
        return LinearSmoothers(X, rcond, be)
    if method == "random-projection":
        return LinearSmoothers(random_projection(X, int(n_components), int(reduce_seed)), rcond, be)
    return PCASmoothers(X, n_components, rcond, be)


def linear_predictivity(X, Y, *, subjects=None, n_splits=10, train_size=0.9, random_state=1,
                        correlation="batched", rcond=None, splits=None, backend="auto", device=None,
                        n_components=None, reduce=None, reduce_seed=0):
    """Cross-validated linear predictivity of Y [n, neuroids] from X [n, d] or [layers, n, d].

    Parameters
    ----------
    X : [n, d] or [layers, n, d] features (float32 is fine; the arithmetic is float64).
    Y : [n, neuroids] responses; rows are the same stimuli as X in the data's stored order (the
        order drives the splits).
    subjects : one label per neuroid, for the per-subject breakdown (optional).
    n_splits, train_size, random_state : the ShuffleSplit; ignored when `splits` is given.
    correlation : "batched" (current Brain-Score) or "scipy" (2023).
    rcond : singular-value cutoff relative to s_max; None reads `default_rcond()`.
    splits : list of (train_idx, test_idx) integer arrays replacing the built-in splits.
    backend : "auto", "numpy" or "torch" (float64 either way); device : where torch computes
        ("cpu", "cuda"); auto picks torch on a CUDA device when there is one, numpy otherwise.
    n_components, reduce, reduce_seed : the feature-count control (brainalign/metrics/reduce.py): each
        layer reduced to k features per split, by pca (default) or a seeded random-projection.

    Returns a Score, or a list of Scores (one per layer) for 3-D X."""
    X, Y, single = check_inputs(X, Y, subjects)
    rcond = default_rcond() if rcond is None else float(rcond)
    splits = (shuffle_splits(len(Y), n_splits, train_size, random_state) if splits is None
              else check_splits(splits, len(Y)))
    be = get_backend(backend, device)
    smoothers = linear_smoothers(X, rcond, be, n_components, reduce, reduce_seed)
    r = cross_validate(Y, splits, smoothers, len(X), correlation, be)
    scores = [make_score(layer_r, subjects) for layer_r in r]
    return scores[0] if single else scores
