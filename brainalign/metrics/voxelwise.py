"""Voxelwise encoding models of story listening (Huth et al. 2016; LeBel et al. 2023): word features ->
Lanczos interpolation to TR times -> trim and z-score per story -> FIR delays -> ridge with a penalty
per voxel chosen by cross-validation over whole stories -> Pearson r per voxel on held-out stories.

The ridge is solved once per fold in the smaller of the primal (features x features) and dual (TRs x
TRs) forms: both give predictions `L diag(1 / (e + alpha)) M Y` (e the eigenvalues of X'X or XX'), so
the decomposition is shared by every penalty and every batch of voxels, and only `voxel_batch`
voxels are held in float64 at once. The penalty is chosen as himalaya's RidgeCV chooses it: the
largest mean over validation folds of minus the mean squared error (the first on ties).
"""

from dataclasses import dataclass, field

import numpy as np

from brainalign.metrics.backend import get_backend

ALPHAS = tuple(10.0 ** k for k in range(0, 8))


def lanczos_kernel(t: np.ndarray, window: int) -> np.ndarray:
    """The Lanczos window of `window` lobes at times `t` (in units of the cutoff period)."""
    t = np.asarray(t, dtype=np.float64)
    out = np.ones_like(t)
    nz = t != 0
    x = np.pi * t[nz]
    out[nz] = window * np.sin(x) * np.sin(x / window) / (x * x)
    out[np.abs(t) > window] = 0.0
    return out


def lanczos_matrix(old_times, new_times, window: int = 3, cutoff_mult: float = 1.0) -> np.ndarray:
    """[new, old] weights that resample a signal known at `old_times` to `new_times`, low-passed at the
    new sampling's Nyquist frequency (Huth et al.'s lanczosinterp2D: cutoff = 1 / mean new spacing)."""
    old_times, new_times = np.asarray(old_times, float), np.asarray(new_times, float)
    cutoff = cutoff_mult / np.mean(np.diff(new_times))
    return lanczos_kernel((new_times[:, None] - old_times[None, :]) * cutoff, window)


def delayed(X: np.ndarray, delays) -> np.ndarray:
    """[n, len(delays) * d]: X shifted down by each delay (in rows), zeros where nothing came before,
    one block of d columns per delay (voxelwise_tutorials' Delayer)."""
    n, d = X.shape
    out = np.zeros((n, len(delays) * d), dtype=X.dtype)
    for k, lag in enumerate(delays):
        block = out[:, k * d:(k + 1) * d]
        if lag >= 0:
            block[lag:] = X[:n - lag]
        else:
            block[:lag] = X[-lag:]
    return out


def zscore(a: np.ndarray) -> np.ndarray:
    """Columns to mean 0 and standard deviation 1 (a constant column becomes 0)."""
    a = np.asarray(a, dtype=np.float64)
    sd = a.std(0)
    return (a - a.mean(0)) / np.where(sd > 0, sd, 1.0)


def story_design(word_values: np.ndarray, word_times, n_trs: int, tr: float, *, trim_start: int, trim_end: int,
                 delays, window: int = 3) -> np.ndarray:
    """One story's design matrix [n_trs - trims, delays x d]: word features interpolated to the TR
    centres, trimmed, z-scored, delayed."""
    tr_times = (np.arange(n_trs) + 0.5) * tr
    at_trs = lanczos_matrix(word_times, tr_times, window) @ np.asarray(word_values, dtype=np.float64)
    return delayed(zscore(at_trs[trim_start:n_trs - trim_end]), delays)


def story_folds(stories, n_folds: int) -> list[tuple[list, list]]:
    """(train stories, validation stories): `n_folds` contiguous groups of whole stories (leave-one-story-out
    when n_folds >= the number of stories)."""
    stories = list(stories)
    groups = np.array_split(np.arange(len(stories)), min(int(n_folds), len(stories)))
    return [([s for i, s in enumerate(stories) if i not in g], [stories[i] for i in g]) for g in groups]


def _rows(stories, lengths) -> dict:
    starts = np.concatenate([[0], np.cumsum([lengths[s] for s in stories])])
    return {s: np.arange(starts[i], starts[i + 1]) for i, s in enumerate(stories)}


class Solver:
    """A ridge fit on (X_train, X_test) shared by every penalty and voxel batch: predictions on the
    test rows are `L @ ((M @ Y_train) / (e + alpha))`."""

    def __init__(self, X_train, X_test, backend):
        b = backend
        X, Xt = b.asarray(X_train), b.asarray(X_test)
        if X.shape[1] <= X.shape[0]:   # primal: X'X = V e V'
            e, V = b.eigh(X.T @ X)
            self.L, self.M = Xt @ V, (X @ V).T
        else:                           # dual: XX' = U e U'
            e, U = b.eigh(X @ X.T)
            self.L, self.M = (Xt @ X.T) @ U, U.T
        self.e = e.clip(min=0) if b.name == "torch" else np.clip(e, 0, None)

    def predict(self, Y_train, alphas) -> list:
        """One prediction [n_test, voxels] per penalty."""
        R = self.M @ Y_train
        return [self.L @ (R / (self.e + a)[:, None]) for a in alphas]

    def predict_each(self, Y_train, alphas, choice, backend) -> object:
        """Predictions with voxel j's own penalty alphas[choice[j]]."""
        R = self.M @ Y_train
        scale = 1.0 / (self.e[:, None] + backend.asarray(np.asarray(alphas)[choice])[None, :])
        return self.L @ (R * scale)


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a - a.mean(0), b - b.mean(0)
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    return np.divide((a * b).sum(0), den, out=np.zeros(a.shape[1]), where=den > 0)


@dataclass
class VoxelFit:
    """One layer's fit on one split: per voxel r on the test stories, the chosen penalty and its
    validation score, and the predictions of the test stories ([TRs, voxels] each)."""
    r: np.ndarray
    alpha: np.ndarray
    cv_score: np.ndarray
    predictions: dict = field(default_factory=dict)


def fit_voxels(X: dict, Y: dict, train: list, test: list, *, alphas=ALPHAS, inner_folds: int = 5,
               backend="numpy", device=None, voxel_batch: int = 4096) -> VoxelFit:
    """Fit on the `train` stories (penalty per voxel by leaving groups of whole training stories out),
    predict the `test` stories. X[story] [TRs, features] and Y[story] [TRs, voxels] are z-scored per
    story already; Y may be float32 (each batch is cast to float64)."""
    b = get_backend(backend, device)
    alphas = [float(a) for a in alphas]
    lengths = {s: len(X[s]) for s in X}
    X_train = np.concatenate([X[s] for s in train])
    X_test = np.concatenate([X[s] for s in test])
    rows = _rows(train, lengths)
    inner = []
    for fit_stories, val_stories in story_folds(train, inner_folds):
        fit_rows = np.concatenate([rows[s] for s in fit_stories])
        val_rows = np.concatenate([rows[s] for s in val_stories])
        inner.append((fit_rows, val_rows, Solver(X_train[fit_rows], X_train[val_rows], b)))
    outer = Solver(X_train, X_test, b)
    n_vox = next(iter(Y.values())).shape[1]
    r, alpha, score = np.zeros(n_vox), np.zeros(n_vox), np.zeros(n_vox)
    pred = np.zeros((len(X_test), n_vox), dtype=np.float32)
    for v0 in range(0, n_vox, voxel_batch):
        cols = slice(v0, v0 + voxel_batch)
        Y_train = b.asarray(np.concatenate([Y[s][:, cols] for s in train]))
        scores = 0.0
        for fit_rows, val_rows, solver in inner:
            target = Y_train[b.index(val_rows)]
            errors = [((target - p) ** 2).mean(0) for p in solver.predict(Y_train[b.index(fit_rows)], alphas)]
            scores = scores - b.stack(errors)
        scores = b.to_numpy(scores) / len(inner)
        choice = scores.argmax(0)
        p = b.to_numpy(outer.predict_each(Y_train, alphas, choice, b))
        truth = np.concatenate([Y[s][:, cols] for s in test]).astype(np.float64)
        r[cols], alpha[cols] = _pearson(p, truth), np.asarray(alphas)[choice]
        score[cols], pred[:, cols] = scores[choice, np.arange(len(choice))], p
    test_rows = _rows(test, lengths)
    return VoxelFit(r=r, alpha=alpha, cv_score=score, predictions={s: pred[test_rows[s]] for s in test})
