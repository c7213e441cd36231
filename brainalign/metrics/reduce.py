"""Feature-count control: each layer reduced to k features before the linear map (issue 26).

A wide layer may score higher only because it has more columns to fit with. Two reductions, both
refitted or redrawn without ever seeing a test row:

* pca: per split, the principal components of the layer's training rows (centred on those rows, as
  sklearn's PCA); the training rows become their top-k scores, the test rows their projections on
  those components. PCA only depends on the rows' inner products, so it runs on the layer's row basis
  (at most n columns, brainalign.metrics.crossval.row_basis) whatever the width: one SVD of
  [n_train, <= n] per layer and split.
* random-projection: one Gaussian matrix R [k, d] with entries N(0, 1/k) drawn from
  numpy.random.RandomState(seed) (the matrix of sklearn's GaussianRandomProjection(k, random_state=
  seed)); it sees no data at all, so the projected layer X R^T is scored like any other features.

k at or above the layer's width leaves the features as they are (PCA keeps every direction anyway).
"""

import numpy as np

METHODS = ("pca", "random-projection")


def check_reduction(n_components, method):
    """The reduction's method (None: off; pca when only n_components is given), or ValueError."""
    if n_components is None:
        if method is not None:
            raise ValueError(f"reduce={method!r} needs n_components")
        return None
    if isinstance(n_components, bool) or int(n_components) != n_components or n_components <= 0:
        raise ValueError(f"n_components must be a positive integer, got {n_components!r}")
    method = method or "pca"
    if method not in METHODS:
        raise ValueError(f"reduce={method!r}; choose one of {METHODS}")
    return method


def gaussian_projection(d: int, k: int, seed: int) -> np.ndarray:
    """R [k, d], entries N(0, 1/k), from RandomState(seed) (as sklearn's GaussianRandomProjection)."""
    return np.random.RandomState(seed).normal(0.0, 1.0 / np.sqrt(k), size=(k, d))


def random_projection(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """X [layers, n, d] -> [layers, n, k] (float64), every layer through the same R; X itself when k >= d."""
    d = X.shape[-1]
    if k >= d:
        return X
    R = gaussian_projection(d, k, seed)
    return np.stack([np.asarray(x, dtype=np.float64) @ R.T for x in X])


def pca_split(basis, train, test, k, be):
    """(u, s, vt, centred test rows) of the layer's training rows, truncated to the top k components.

    basis: the layer's rows [n, <= n] (row_basis); the training rows are centred on their own mean and
    the test rows on the same mean. The training scores are u * s, the test scores test @ vt.T."""
    tr, te = be.index(train), be.index(test)
    mean = basis[tr].mean(axis=0)
    u, s, vt = be.svd(basis[tr] - mean)
    return u[:, :k], s[:k], vt[:k], basis[te] - mean


def pca_scores(basis, train, test, k, be):
    """Training scores [n_train, k'] and test scores [n_test, k'] (k' = min(k, the fold's rank bound))."""
    u, s, vt, test_rows = pca_split(basis, train, test, k, be)
    return u * s, test_rows @ vt.T
