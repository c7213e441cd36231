"""Brain-Score's 2025 `ridge_pearsonr` (the "-ridge" benchmarks): grouped CV, ridge with a penalty
chosen inside each training fold by efficient leave-one-out (generalised) cross-validation.

Per fold (GroupKFold over stories, shuffled with seed 1234): centre X and Y on the train rows
(the intercept is not penalised), eigendecompose the train Gram matrix once, and for every alpha
get the exact leave-one-out residuals from it (sklearn's `_RidgeGCV` "eigen" mode, which
Brain-Score's `RidgeGCVTorch` ports). One alpha for all neuroids: the one with the lowest mean
squared LOO error over all train rows and neuroids (first one on ties). Then predict the
held-out stories and correlate per neuroid, aggregated like the linear metric. All in float64.
"""

import numpy as np

from .crossval import check_inputs, cross_validate
from .score import make_score
from .splits import group_splits, shuffle_splits

DEFAULT_ALPHAS = np.logspace(-3, 3, 7)


def prepare_targets(y_train):
    """Per fold, shared by all layers: Y itself, or its Gram matrix when that is smaller."""
    n, m = y_train.shape
    return ("gram", y_train @ y_train.T, m) if m > n else ("raw", y_train, m)


def loo_errors(Q, eigvals, intercept, targets, alphas):
    """Mean squared leave-one-out error for each alpha.

    With G = K + alpha I restricted off the intercept direction, the LOO residual of row i is
    (G^-1 y)_i / (G^-1)_ii; both come from K's eigenvectors Q with weights 1 / (eigval + alpha)."""
    kind, values, n_targets = targets
    if kind == "gram":
        rotated = Q.T @ values @ Q  # (Q^T Y)(Q^T Y)^T
    else:
        rotated = Q.T @ values      # Q^T Y
    errors = []
    for alpha in alphas:
        w = 1.0 / (eigvals + alpha)
        w[intercept] = 0.0
        weighted = Q * w
        if kind == "gram":
            sum_sq = np.einsum("ij,ij->i", weighted @ rotated, weighted)
        else:
            sum_sq = np.square(weighted @ rotated).sum(axis=1)
        diag = np.square(Q) @ w
        errors.append(np.mean(sum_sq / np.square(diag)) / n_targets)
    return np.array(errors)


def ridge_smoother(alphas):
    """S = X_test X_train^T (K + alpha I)^-1 off the intercept, alpha chosen by LOO on the train rows."""

    def smoother(train, test, targets):
        gram = train @ train.T
        # + ones ones^T gives the intercept direction its own eigenvalue (n), as sklearn does
        eigvals, Q = np.linalg.eigh(gram + 1.0)
        intercept = int(np.argmax(np.abs(Q.sum(axis=0))))
        best = int(np.argmin(loo_errors(Q, eigvals, intercept, targets, alphas)))
        w = 1.0 / (eigvals + alphas[best])
        w[intercept] = 0.0
        return ((test @ train.T) @ (Q * w)) @ Q.T, alphas[best]

    return smoother


def ridge_predictivity(X, Y, *, groups, subjects=None, n_splits=10, random_state=1234,
                       alphas=DEFAULT_ALPHAS, correlation="batched", train_size=0.9):
    """Cross-validated ridge predictivity of Y [n, neuroids] from X [n, d] or [layers, n, d].

    groups: one label per row (the `story`); whole groups are held out together. groups=None
    uses ShuffleSplit over the rows instead (`train_size`; Brain-Score's default cross-validation,
    e.g. Tuckute2024-ridge). Returns a Score (with .alphas, the penalty chosen per split) or a
    list of Scores for 3-D X."""
    X, Y, single = check_inputs(X, Y, subjects)
    if groups is not None and len(groups) != len(Y):
        raise ValueError(f"groups has {len(groups)} labels but there are {len(Y)} rows")
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    splits = (shuffle_splits(len(Y), n_splits, train_size, random_state) if groups is None
              else group_splits(groups, n_splits, random_state))
    r, chosen = cross_validate(X, Y, splits, ridge_smoother(alphas), correlation, prepare_targets)
    scores = [make_score(layer_r, subjects, alphas=layer_alphas)
              for layer_r, layer_alphas in zip(r, chosen)]
    return scores[0] if single else scores
