"""Brain-Score's `linear_pearsonr`: cross-validated ordinary least squares, Pearson r per neuroid.

Per split (ShuffleSplit, seed 1, 90 % train): fit Y_train ~ X_train with an intercept by
minimum-norm least squares (what sklearn's LinearRegression gets from scipy's lstsq, i.e. the
pseudo-inverse with singular values <= rcond * s_max treated as zero), predict the test rows,
correlate per neuroid. Score = mean over splits of the median over all neuroids.

Callers drop neuroids that have NaN (Brain-Score drops every neuroid with a NaN within an
experiment before calling the metric); this function raises on NaN instead of guessing.
"""

import numpy as np
import sklearn
from sklearn.linear_model import LinearRegression

from .crossval import check_inputs, cross_validate
from .score import make_score
from .splits import shuffle_splits


def default_rcond():
    """The singular-value cutoff (relative to s_max) of the installed sklearn's LinearRegression.

    sklearn >= 1.9 passes cond=tol (1e-6) to scipy.linalg.lstsq; older versions pass nothing,
    so scipy uses the machine epsilon of the float64 computation."""
    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 9):
        return float(LinearRegression().tol)
    return float(np.finfo(np.float64).eps)


def least_squares_smoother(rcond):
    """S = X_test pinv(X_train) for centred features, pinv by SVD with the cutoff rcond * s_max."""

    def smoother(train, test, state=None):
        u, s, vt = np.linalg.svd(train, full_matrices=False)
        keep = s > rcond * s[0]
        return (test @ vt[keep].T / s[keep]) @ u[:, keep].T, np.nan

    return smoother


def linear_predictivity(X, Y, *, subjects=None, n_splits=10, train_size=0.9, random_state=1,
                        correlation="batched", rcond=None):
    """Cross-validated linear predictivity of Y [n, neuroids] from X [n, d] or [layers, n, d].

    Rows of X and Y are the same stimuli in the data's stored order (the order drives the
    splits). correlation: "batched" (current Brain-Score) or "scipy" (2023). rcond: see
    `default_rcond`. Returns a Score, or a list of Scores (one per layer) for 3-D X."""
    X, Y, single = check_inputs(X, Y, subjects)
    rcond = default_rcond() if rcond is None else float(rcond)
    splits = shuffle_splits(len(Y), n_splits, train_size, random_state)
    r, _ = cross_validate(X, Y, splits, least_squares_smoother(rcond), correlation)
    scores = [make_score(layer_r, subjects) for layer_r in r]
    return scores[0] if single else scores
