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

from .backend import get_backend
from .crossval import check_inputs, check_splits, cross_validate, row_basis
from .reduce import check_reduction, pca_scores, random_projection
from .score import make_score
from .splits import group_splits, shuffle_splits

DEFAULT_ALPHAS = np.logspace(-3, 3, 7)


def target_factor(Y, be, gram=None):
    """L [n, <= n] with L L^T = Yc Yc^T (+ ones ones^T), Yc = Y centred over all rows.

    The LOO errors summed over neuroids only need that Gram matrix; a fold's own centring is
    absorbed because the fold's G^-1 maps constants to zero (so does the added ones ones^T).
    gram: Yc Yc^T when the caller has it (the dual bootstrap takes it from the original rows)."""
    n, m = Y.shape
    if m < n:
        return Y - Y.mean(axis=0)
    if gram is None:
        yc = Y - Y.mean(axis=0)
        gram = yc @ yc.T
    lower = be.cholesky(gram + 1.0)
    if lower is not None:
        return lower
    eigvals, vecs = be.eigh(gram)
    return vecs * be.sqrt(be.clip(eigvals, 0.0, None))


class RidgeSmoothers:
    """S [layers, n_test, n_train] per fold, alpha chosen per fold and layer by efficient LOO.

    One eigendecomposition per layer, of the Gram matrix of all rows (centred, + ones ones^T so the
    intercept direction is found and left unpenalised, as sklearn does per fold), serves every fold and
    alpha. With Omega = (K + alpha I)^-1 off the intercept direction, a fold with held-out rows H
    has (block elimination):
      its train G^-1 = Omega[tr, tr] - A Omega[H, tr] with A = Omega[tr, H] Omega[H, H]^-1,
      so (G^-1)_ii = Omega_ii - (A * Omega[tr, H])_i., and for Psi = Omega C Omega (C = Y Y^T)
      sum over neuroids of (G^-1 Y_train)_ij^2 = Psi_ii - 2 (A * Psi[tr, H])_i. + (A Psi[H, H] * A)_i.
      (the terms with Omega[:, H] vanish since A Omega[H, H] = Omega[tr, H]);
    held-out predictions are S = -Omega[H, H]^-1 Omega[H, tr] (the linear metric's form).

    Everything a fold needs is in its rows H of Omega and Psi: with At = Omega[H, H]^-1 Omega[H, :]
    (= A^T, one batched solve for every alpha), the sums above are column sums of At times those
    rows, and S is -At[:, tr]. So each fold costs a few calls over all alphas at once."""

    def __init__(self, X, Y, splits, alphas, be, gram=None):
        self.be = be
        n = Y.shape[0]
        factor = target_factor(be.asarray(Y), be, gram)
        folds = []
        for train, test in splits:
            held = np.setdiff1d(np.arange(n), train)
            folds.append((be.index(train), be.index(held), be.index(np.searchsorted(held, test))))
        self.S = []  # [layer][fold] -> S [n_test, n_train]
        self.chosen = []  # [layer] -> alpha per fold
        omega, psi = be.zeros((len(alphas), n, n)), be.zeros((len(alphas), n, n))  # reused by every layer
        for x in X:
            xg = be.asarray(x)
            xg = xg - xg.mean(axis=0)
            gram = xg @ xg.T
            # the ones direction gets an eigenvalue above all others, so it is found exactly
            eigvals, Q = be.eigh(gram + (float(be.einsum("ii->", gram)) + n) / n)
            intercept = int(be.to_numpy(be.abs(Q.sum(axis=0))).argmax())
            rotated = Q.T @ factor
            for a, alpha in enumerate(alphas):
                w = 1.0 / (eigvals + alpha)
                w[intercept] = 0.0
                half = Q * be.sqrt(w)
                omega[a] = half @ half.T  # A @ A.T: numpy computes only one triangle (syrk)
                F = Q @ (rotated * w[:, None])
                psi[a] = F @ F.T
            omega_diag, psi_diag = be.einsum("aii->ai", omega), be.einsum("aii->ai", psi)
            errors = np.empty((len(splits), len(alphas)))
            layer_S = []
            for k, (tr, H, rows) in enumerate(folds):
                o_rows, p_rows = omega[:, H], psi[:, H]  # [alphas, |H|, n]
                At = be.solve(o_rows[:, :, H], o_rows)  # Omega[H, H]^-1 Omega[H, :]
                diag = omega_diag - be.einsum("ahi,ahi->ai", At, o_rows)
                sum_sq = (psi_diag - 2 * be.einsum("ahi,ahi->ai", At, p_rows)
                          + be.einsum("ahi,ahi->ai", p_rows[:, :, H] @ At, At))
                errors[k] = be.to_numpy((sum_sq[:, tr] / (diag[:, tr] * diag[:, tr])).mean(axis=1)) / Y.shape[1]
                best = int(errors[k].argmin())  # first alpha on ties
                layer_S.append(-At[best][rows][:, tr])
            self.chosen.append(alphas[errors.argmin(axis=1)])
            self.S.append(layer_S)

    def __call__(self, k, train, test):
        return self.be.stack([layer_S[k] for layer_S in self.S])


class PCARidgeSmoothers:
    """Ridge on each layer's top k principal components of the fold's training rows
    (brainalign/metrics/reduce.py). Per fold, its rows (train, then test) with those scores are one
    RidgeSmoothers problem of a single fold, so the penalty is chosen on the training rows as above."""

    def __init__(self, X, Y, splits, alphas, n_components, be):
        bases = [row_basis(x, be) for x in X]
        self.be, self.S, chosen = be, [], []
        for train, test in splits:
            scores = [pca_scores(b, train, test, int(n_components), be) for b in bases]
            width = scores[0][0].shape[1]
            rows = np.concatenate([train, test])
            Xf = be.zeros((len(bases), len(rows), width))
            for layer, (tr, te) in enumerate(scores):
                Xf[layer, :len(train)], Xf[layer, len(train):] = tr, te
            fold = RidgeSmoothers(Xf, Y[rows], [(np.arange(len(train)), np.arange(len(train), len(rows)))],
                                  alphas, be)
            self.S.append([layer_S[0] for layer_S in fold.S])
            chosen.append([layer_alphas[0] for layer_alphas in fold.chosen])
        self.chosen = np.asarray(chosen).T  # [layer] -> alpha per fold

    def __call__(self, k, train, test):
        return self.be.stack(self.S[k])


def ridge_smoothers(X, Y, splits, alphas, be, n_components=None, reduce=None, reduce_seed=0, gram=None):
    """The ridge metric's smoothers, with the feature-count control when n_components is given.
    gram: Y's centred Gram matrix when the caller has it (RidgeSmoothers)."""
    method = check_reduction(n_components, reduce)
    if method is None or n_components >= X.shape[-1]:
        return RidgeSmoothers(X, Y, splits, alphas, be, gram=gram)
    if method == "random-projection":
        return RidgeSmoothers(random_projection(X, int(n_components), int(reduce_seed)), Y, splits, alphas, be,
                              gram=gram)
    return PCARidgeSmoothers(X, Y, splits, alphas, n_components, be)


def ridge_predictivity(X, Y, *, groups=None, subjects=None, n_splits=10, random_state=1234,
                       alphas=DEFAULT_ALPHAS, correlation="batched", splits=None, backend="auto",
                       device=None, train_size=0.9, n_components=None, reduce=None, reduce_seed=0):
    """Cross-validated ridge predictivity of Y [n, neuroids] from X [n, d] or [layers, n, d].

    groups: one label per row (the `story`); whole groups are held out together (GroupKFold,
    n_splits, random_state); groups=None: ShuffleSplit over the rows (`train_size`; Brain-Score's
    default cross-validation, e.g. Tuckute2024-ridge). splits: list of (train_idx, test_idx) integer
    arrays replacing those folds. backend, device, n_components, reduce, reduce_seed: as for
    `linear_predictivity` (the reduction is refitted on each fold's training rows). Returns a
    Score (with .alphas, the penalty chosen per split) or a list of Scores for 3-D X."""
    X, Y, single = check_inputs(X, Y, subjects)
    if splits is None:
        if groups is not None and len(groups) != len(Y):
            raise ValueError(f"groups has {len(groups)} labels but there are {len(Y)} rows")
        splits = (shuffle_splits(len(Y), n_splits, train_size, random_state) if groups is None
                  else group_splits(groups, n_splits, random_state))
    else:
        splits = check_splits(splits, len(Y))
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    be = get_backend(backend, device)
    smoothers = ridge_smoothers(X, Y, splits, alphas, be, n_components, reduce, reduce_seed)
    r = cross_validate(Y, splits, smoothers, len(X), correlation, be)
    scores = [make_score(layer_r, subjects, alphas=layer_alphas)
              for layer_r, layer_alphas in zip(r, smoothers.chosen)]
    return scores[0] if single else scores
