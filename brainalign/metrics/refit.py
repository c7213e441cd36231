"""One benchmark part refitted on a resample of its rows (the dual bootstrap's refits), each distinct
row computed once.

A resample repeats rows (units are drawn with replacement), and copies of a row carry the same features
and responses. So copies of a test row get the same prediction (computed once, then repeated for the
correlation), and copies of a training row enter a prediction through one column of the smoother (their
weights summed): the product with the responses runs over distinct rows only.

The linear metric (brainalign.metrics.linear) under the same conditions as its fast path (no singular
value near the cutoff, checked; otherwise its own SVD on the copies):
* at least n - 1 features (a wide layer's row basis): it interpolates its training rows, and the
  minimum-norm interpolation of a training set with copies is that of its distinct rows. Its smoother
  follows from the full data's leave-out kernel Z: S = -Z[H, H]^-1 Z[H, T] for the distinct training
  rows T and all other rows H, the rows the resample left out eliminated once per refit (only the
  test rows of the block's inverse are computed).
* fewer features than rows: where a split keeps no more distinct training rows than features + 1, the
  fit still interpolates them (from the features' Gram matrix, its check made on the copies); where
  it keeps more, least squares with copies is least squares on the distinct rows weighted by their
  number of copies: the normal equations' Gram matrix of the whole resample is formed once per
  refit and each split takes its test rows' part off.
Otherwise (the ridge metric, a feature-count control) the metric's own smoother is computed on the
resampled rows, copies included, then reduced to distinct rows; the ridge metric takes the responses'
Gram matrix from one product over the original rows instead of one per refit.
"""

import numpy as np

from .backend import get_backend
from .correlation import CONVENTIONS, correlate, prepare_target
from .crossval import CONSTANT_RTOL
from .linear import CUTOFF_MARGIN, DUAL_PRECISION, PRIMAL_PRECISION, default_rcond, leave_out_kernel, linear_smoothers
from .ridge import DEFAULT_ALPHAS, ridge_smoothers


class Refit:
    """refit(rows, splits) -> r [splits, neuroids] of the metric fitted on design rows `rows` (copies
    allowed) with `splits` over those rows' positions. metric: score_protocol's keyword arguments."""

    def __init__(self, basis, responses, metric):
        self.kind = metric["kind"]
        self.convention = metric.get("correlation", "batched")
        if self.convention not in CONVENTIONS:
            raise ValueError(f"correlation must be one of {CONVENTIONS}, got {self.convention!r}")
        self.be = get_backend(metric.get("backend", "auto"), metric.get("device"))
        self.basis, self.Y = np.asarray(basis, dtype=np.float64), np.asarray(responses, dtype=np.float64)
        self.reduction = {k: metric.get(k) for k in ("n_components", "reduce")}
        self.reduction["reduce_seed"] = metric.get("reduce_seed") or 0
        self.rcond = default_rcond() if metric.get("rcond") is None else float(metric["rcond"])
        alphas = metric.get("alphas")
        self.alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64).ravel()
        n = len(self.Y)
        # a smoother centred over the test rows ignores a constant added to the training responses,
        # so they are centred once (over all rows) rather than per split
        self.centred = self.Y - self.Y.mean(axis=0)
        plain = self.reduction["n_components"] is None
        self.kernel = None
        if self.kind == "linear" and plain and self.basis.shape[1] >= n - 1:
            self.kernel = leave_out_kernel(self.basis, self.rcond, self.be)
        self.primal = self.kind == "linear" and plain and self.basis.shape[1] < n - 1
        # the features' Gram matrix, for resamples with fewer distinct training rows than features
        self.row_gram = self.basis @ self.basis.T if self.primal else None
        self.gram = None
        if self.kind == "ridge" and plain and self.Y.shape[1] >= n:
            self.gram = self.centred @ self.centred.T

    def __call__(self, rows, splits):
        rows = np.asarray(rows)
        own = None if self.kernel is not None or self.primal else self._own_smoothers(rows, splits)
        sample = None   # the resample's Gram matrix, made when a split needs the normal equations
        kernel = self._sample_kernel(np.unique(rows)) if self.kernel is not None else None
        smoothers = []   # per split: (S centred [distinct test rows, T], T, test copies -> distinct, test rows)
        for k, (train, test) in enumerate(splits):
            T, where, counts = np.unique(rows[train], return_inverse=True, return_counts=True)
            tests, first, repeat = np.unique(rows[test], return_index=True, return_inverse=True)
            weights = np.bincount(repeat, minlength=len(tests)).astype(np.float64)
            S = None
            if kernel is not None:
                S = self._kernel_smoother(kernel, T, tests)
            elif self.primal and len(T) - 1 <= self.basis.shape[1]:
                S = self._interpolation_smoother(T, counts, tests)
            elif self.primal:
                partition = len(train) + len(test) == len(rows)
                if partition and sample is None:
                    sample = self._sample_gram(rows)
                S = self._primal_smoother(T, counts, tests, weights, sample if partition else None)
            if S is None:   # the metric's own smoother on the copies, one column per distinct row
                if own is None:
                    own = self._own_smoothers(rows, splits)
                S = _collapse(self.be.to_numpy(own(k, train, test)[0])[first], where, len(T))
            smoothers.append((self._centre(self.be.asarray(S), weights), T, repeat, rows[test]))
        return self._correlate(smoothers, np.unique(rows))

    def _sample_gram(self, rows):
        """[1, x]^T [1, x] summed over the resample's rows (copies counted)."""
        distinct, counts = np.unique(rows, return_counts=True)
        X = self._augmented(distinct)
        return (X * self.be.asarray(counts.astype(np.float64))[:, None]).T @ X

    def _augmented(self, rows):
        X = self.be.zeros((len(rows), self.basis.shape[1] + 1))
        X[:, 0] = 1.0
        X[:, 1:] = self.be.asarray(self.basis[rows])
        return X

    def _interpolation_smoother(self, T, counts, tests):
        """S [distinct test rows, T] where the training rows T are no more than the features + 1: the
        minimum-norm interpolation of T (that of the copies too), from the features' Gram matrix; or
        None unless every nonzero singular value of the copies' centred features is well above the
        cutoff (the margins of brainalign.metrics.linear.leave_out_kernel's dual path, on the copies)."""
        be, size = self.be, len(T)
        G = be.asarray(self.row_gram[np.ix_(T, T)])
        m = be.asarray(counts.astype(np.float64))
        root = be.sqrt(m)
        copies = _centred(G, m / m.sum()) * (root[:, None] * root[None, :])   # the copies' Gram, one row per row
        scale = be.norm(copies)
        tau = max(CUTOFF_MARGIN * self.rcond**2 * scale, DUAL_PRECISION * scale)
        fill = float(be.einsum("ii->", copies)) / (size - 1) + tau   # for the null direction sqrt(counts)
        direction = root / be.norm(root)
        # every other eigenvalue >= tau: a Cholesky test of the filled matrix less tau I
        shifted = copies + fill * (direction[:, None] * direction[None, :]) - tau * be.eye(size)
        if not scale > 0 or be.cholesky(shifted) is None:
            return None
        gram = _centred(G, be.asarray(np.full(size, 1 / size)))   # centred on T's own mean
        lower = be.cholesky(gram + float(be.einsum("ii->", gram)) / (size - 1) / size)
        if lower is None:
            return None
        Gt = be.asarray(self.row_gram[np.ix_(tests, T)])
        mean = G.mean(axis=1)
        cross = Gt - Gt.mean(axis=1, keepdims=True) - mean[None, :] + mean.mean()   # centred test x training rows
        return be.cho_solve(lower, cross.T).T + 1.0 / size   # cross is orthogonal to the filled direction

    def _primal_smoother(self, T, counts, tests, weights, sample):
        """S [distinct test rows, T] of least squares with an intercept on the training rows T with
        their copies (counts), from the normal equations, or None where the centred training features
        are not well above the cutoff (brainalign.metrics.linear: the fast path's Cholesky test). sample:
        the resample's _sample_gram when train and test partition it (the test rows' part is taken off)."""
        be = self.be
        m = be.asarray(counts.astype(np.float64))
        XT = self._augmented(T)
        if sample is None:
            gram = (XT * m[:, None]).T @ XT
        else:
            Xt = self._augmented(tests)
            gram = sample - (Xt * be.asarray(weights)[:, None]).T @ Xt
        total, mean = gram[0, 0], gram[0, 1:] / gram[0, 0]
        cov = gram[1:, 1:] - total * (mean[:, None] * mean[None, :])   # centred, copies counted
        scale = be.norm(cov)
        floor = max(CUTOFF_MARGIN * self.rcond**2 * scale, PRIMAL_PRECISION * scale)
        if not scale > 0 or be.cholesky(cov - floor * be.eye(len(cov))) is None:
            return None
        lower = be.cholesky(cov)
        centred_tests = be.asarray(self.basis[tests]) - mean
        coef = be.cho_solve(lower, centred_tests.T)   # [d, distinct test rows]
        S = (coef.T @ (XT[:, 1:] - mean).T) * m[None, :]
        return S + m[None, :] / total   # the intercept: the training mean

    def _sample_kernel(self, sampled):
        """(the resample's distinct rows D, the kernel with the unsampled rows U eliminated:
        Z[D, D] - Z[D, U] Z[U, U]^-1 Z[U, D]), or None where Z[U, U] is not positive definite. A split's
        leave-out block then only holds its own held-out rows (block elimination is exact in steps)."""
        be, Z = self.be, self.kernel[0]
        U = np.setdiff1d(np.arange(len(self.Y)), sampled)
        D = be.index(sampled)
        if len(U) == 0:
            return sampled, Z[D][:, D]
        ZU = Z[be.index(U)]
        lower = be.cholesky(ZU[:, be.index(U)])
        if lower is None:
            return None
        cross = ZU[:, D]
        return sampled, Z[D][:, D] - cross.T @ be.cho_solve(lower, cross)

    def _kernel_smoother(self, kernel, T, tests):
        """S [distinct test rows, T] from the resample's kernel (D, Z_D): -Z_D[H, H]^-1 Z_D[H, T] for
        its rows H outside T, or None where that block is not positive definite (the kernel's check,
        brainalign.metrics.linear.leave_out_kernel). Only the test rows of the block's inverse are
        needed: one Cholesky factor, a solve per test row."""
        be = self.be
        D, Z = kernel
        H = np.setdiff1d(D, T)
        ZH = Z[be.index(np.searchsorted(D, H))]
        lower = be.cholesky(ZH[:, be.index(np.searchsorted(D, H))])
        if lower is None:
            return None
        unit = np.zeros((len(H), len(tests)))
        unit[np.searchsorted(H, tests), np.arange(len(tests))] = 1.0
        inverse_rows = be.cho_solve(lower, be.asarray(unit)).T   # the block is symmetric
        return -(inverse_rows @ ZH[:, be.index(np.searchsorted(D, T))])

    def _own_smoothers(self, rows, splits):
        be, X = self.be, self.basis[rows][None]
        if self.kind == "linear":
            return linear_smoothers(X, self.rcond, be, **self.reduction)
        gram = None if self.gram is None else _centred(self.gram[np.ix_(rows, rows)], np.full(len(rows), 1 / len(rows)))
        return ridge_smoothers(X, self.Y[rows], splits, self.alphas, be, **self.reduction, gram=gram)

    def _centre(self, S, weights):
        """S centred over the test rows, copies counted (a constant prediction made exactly 0, as
        brainalign.metrics.crossval does)."""
        be = self.be
        scale = float(be.abs(S).max())
        S = S - be.asarray(weights / weights.sum()) @ S
        return S if float(be.abs(S).max()) > CONSTANT_RTOL * scale else S * 0.0

    def _correlate(self, smoothers, sampled):
        """r [splits, neuroids]: every split's predictions from one product with the responses of the
        resample's distinct rows `sampled`, then the correlation per split."""
        be = self.be
        sizes = [len(S) for S, *_ in smoothers]
        stacked = be.zeros((sum(sizes), len(sampled)))
        for (S, T, *_), start in zip(smoothers, np.cumsum([0] + sizes[:-1])):
            stacked[start:start + len(S)][:, be.index(np.searchsorted(sampled, T))] = S
        predictions = stacked @ be.asarray(self.centred[sampled])
        r = np.empty((len(smoothers), self.Y.shape[1]))
        for k, ((_, _, repeat, test_rows), start) in enumerate(zip(smoothers, np.cumsum([0] + sizes[:-1]))):
            pred = predictions[start:start + sizes[k]][be.index(repeat)]
            target = prepare_target(be.asarray(self.Y[test_rows]), self.convention, be)
            r[k] = be.to_numpy(correlate(pred, target, self.convention, be))
        return r


def _centred(G, w):
    """The Gram matrix G of some rows, centred on their w-weighted mean (w sums to 1)."""
    c = G @ w
    return G - c[:, None] - c[None, :] + w @ c


def _collapse(S, where, size):
    """S [n_test, n_train] with one column per training copy -> one column per distinct row (summed)."""
    order = np.argsort(where, kind="stable")
    starts = np.searchsorted(where[order], np.arange(size))
    return np.add.reduceat(S[:, order], starts, axis=1)
