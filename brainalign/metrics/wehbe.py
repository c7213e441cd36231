"""The Wehbe2014 encoding pipeline of Aw et al. (2024), as the authors' code runs it.

For one layer's word features [n_words, d] and the responses [n_kept_TRs, n_voxels]:

  per outer fold (4 contiguous folds over the kept TRs):
    PCA to 10 components, fit on the words of the training TRs only, applied to all words
    -> mean of the words within each TR -> delays of 1..4 TRs (40 features)
    -> drop the first 20 / last 15 TRs of each run, z-score per run
    -> split; trim 5 TRs at the train/test boundary; z-score train and test separately
    -> ridge, penalty per voxel by nested 10-fold CV over 1e-6..1e9 -> Pearson r per voxel
  score = mean over folds, then over a subject's voxels, then over subjects (MAD over subjects).

Where the paper's text and the code differ, `variant="code"` (default) follows the code and
`variant="text"` the text; each difference is also its own setting (see VARIANTS, docs/wehbe.md).
"""

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.linalg import eigh

from brainalign.errors import ConfigError
from brainalign.metrics.ridge_per_target import ALPHAS, pearson_columns, ridge_nested_cv, zscore_columns

# What the text says vs what the code does. Settings left at None take the variant's value.
VARIANTS = {
    "code": dict(folds="contiguous", boundary_trim=5, test_end_trim=0, word_split="code"),
    "text": dict(folds="runs", boundary_trim=0, test_end_trim=10, word_split="exact"),
}
CHOICES = dict(variant=tuple(VARIANTS), folds=("contiguous", "runs"), word_split=("code", "exact"),
               pca_fit=("train", "all"), r_over=("folds", "concatenated"))


@dataclass(frozen=True)
class WehbeSettings:
    variant: str = "code"
    folds: str | None = None  # contiguous: the code's CV_ind; runs: one fold per run (text)
    boundary_trim: int | None = None  # code's skip=5 at the train/test boundary
    test_end_trim: int | None = None  # text: 10 TRs removed at the ends of each test fold
    word_split: str | None = None  # which words fit the PCA: the code's TR lookup (off by one) or exact
    n_folds: int = 4
    n_components: int = 10
    delays: tuple[int, ...] = (1, 2, 3, 4)
    skip_words: int = 20  # the code's SKIP_WORDS: the first words enter neither PCA nor TR means
    pca_fit: str = "train"  # train: training words only (code); all: every word
    alphas: tuple[float, ...] = tuple(ALPHAS.tolist())
    inner_folds: int = 10
    r_over: str = "folds"  # folds: r per test fold, averaged; concatenated: r over all folds' predictions

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) is not None and getattr(self, name) not in allowed:
                raise ConfigError(f"wehbe pipeline: {name}={getattr(self, name)!r}; choose one of {allowed}")
        for name, value in VARIANTS[self.variant].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        object.__setattr__(self, "delays", tuple(int(d) for d in self.delays))
        object.__setattr__(self, "alphas", tuple(float(a) for a in self.alphas))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Fold:
    train_mask: np.ndarray  # [n_kept] bool, before trimming (decides which words fit the PCA)
    train: np.ndarray  # kept-TR indices used to fit, after trimming
    test: np.ndarray  # kept-TR indices scored, after trimming


def cv_labels(n: int, n_folds: int) -> np.ndarray:
    """The code's CV_ind: n_folds contiguous blocks of floor(n/n_folds), the last one takes the rest."""
    return np.minimum(np.arange(n) // (n // n_folds), n_folds - 1)


def outer_folds(kept_runs: np.ndarray, s: WehbeSettings) -> list[Fold]:
    n = len(kept_runs)
    labels = cv_labels(n, s.n_folds) if s.folds == "contiguous" else np.searchsorted(np.unique(kept_runs), kept_runs)
    n_folds = int(labels.max()) + 1
    folds = []
    for f in range(n_folds):
        train, test = np.flatnonzero(labels != f), np.flatnonzero(labels == f)
        b, t = s.boundary_trim, s.test_end_trim
        if b:  # the code: the train side's edge next to the test fold, or both ends of a middle test fold
            if f == 0:
                train = train[b:]
            elif f == n_folds - 1:
                train = train[:-b]
            else:
                test = test[b:-b]
        if t:
            test = test[t:-t]
        if len(test) < 2 or len(train) < s.inner_folds:
            raise ConfigError(f"wehbe pipeline: fold {f} keeps {len(train)} train / {len(test)} test TRs "
                              "after trimming")
        folds.append(Fold(train_mask=labels != f, train=train, test=test))
    return folds


def kept_index(timing) -> np.ndarray:
    """[n_tr] position of each untrimmed TR among the kept ones, -1 where trimmed."""
    pos = np.full(len(timing.runs), -1)
    pos[timing.kept] = np.arange(timing.n_kept)
    return pos


def word_train_mask(timing, tr_train: np.ndarray, rule: str) -> np.ndarray:
    """[n_words] True for the words whose TR is a training TR (these fit the PCA).

    rule="code" reproduces TR_to_word_CV_ind: kept index = TR - (20*run + 15*(run-1)) - 1, i.e. the
    TR before the word's own (negative indices wrap around), and words in the last 14 TRs of the
    scan are never training words. rule="exact" uses the word's own TR (trimmed TRs: not training).
    """
    t = timing.word_tr
    if rule == "exact":
        pos = kept_index(timing)[t]
        return (pos >= 0) & tr_train[np.maximum(pos, 0)]
    runs = timing.runs  # numbered 1..R, contiguous
    start = np.array([np.flatnonzero(runs == r)[0] for r in timing.run_labels])
    kept_start = np.array([np.flatnonzero(timing.kept_runs == r)[0] for r in timing.run_labels])
    r = runs[t] - 1
    j = t - start[r] - timing.head_trim + kept_start[r] - 1  # = t - (20*run + 15*(run-1)) - 1
    in_range = t <= len(runs) - timing.tail_trim
    return in_range & tr_train[np.clip(j, -len(tr_train), len(tr_train) - 1)]


def pca_project(F: np.ndarray, fit_rows: np.ndarray, k: int) -> np.ndarray:
    """All rows of F projected on the top-k principal components of F[fit_rows].

    The same numbers as sklearn's PCA(k, svd_solver='full') (signs as its svd_flip), from an
    eigendecomposition of the smaller of the covariance and the Gram matrix.
    """
    F = np.asarray(F, dtype=np.float64)
    mu = F[fit_rows].mean(axis=0)
    Xc = F[fit_rows] - mu
    n, d = Xc.shape
    k = min(k, n, d)
    if d <= n:
        _, V = eigh(Xc.T @ Xc, subset_by_index=[d - k, d - 1])
        comps = V[:, ::-1].T
    else:
        e, U = eigh(Xc @ Xc.T, subset_by_index=[n - k, n - 1])
        e, U = e[::-1], U[:, ::-1]
        comps = (Xc.T @ (U / np.sqrt(np.maximum(e, 1e-300)))).T
        comps /= np.maximum(np.linalg.norm(comps, axis=1, keepdims=True), 1e-300)
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    return (F - mu) @ comps.T


def tr_means(word_values: np.ndarray, word_tr: np.ndarray, n_tr: int) -> np.ndarray:
    """[n_tr, k] mean of the words in each TR; NaN for a TR without words (as np.mean of nothing)."""
    sums = np.zeros((n_tr, word_values.shape[1]))
    np.add.at(sums, word_tr, word_values)
    counts = np.bincount(word_tr, minlength=n_tr)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def delay(mat: np.ndarray, delays) -> np.ndarray:
    """Row t holds rows t-d for each d, side by side; rows before the start are 0 (the code's delay_mat)."""
    out = []
    for d in delays:
        m = np.zeros_like(mat)
        if d > 0:
            m[d:] = mat[:-d]
        elif d < 0:
            m[:d] = mat[-d:]
        else:
            m = mat.copy()
        out.append(m)
    return np.concatenate(out, axis=1)


def _zscore_nan(a: np.ndarray) -> np.ndarray:
    """scipy's zscore (a NaN anywhere makes its column NaN), then nan_to_num: such columns become 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (a - a.mean(axis=0)) / a.std(axis=0)
    return np.nan_to_num(z)


def design(word_features: np.ndarray, timing, word_fit: np.ndarray, s: WehbeSettings) -> np.ndarray:
    """[n_kept, k * len(delays)]: PCA -> TR means -> delays -> kept TRs z-scored per run."""
    k = s.skip_words
    projected = pca_project(word_features[k:], word_fit[k:], s.n_components)
    per_tr = delay(tr_means(projected, timing.word_tr[k:], len(timing.runs)), s.delays)
    return np.concatenate([_zscore_nan(per_tr[timing.kept & (timing.runs == r)]) for r in timing.run_labels])


@dataclass
class LayerScores:
    r: np.ndarray  # [n_folds, n_voxels] Pearson r per test fold (one row when r_over="concatenated")
    alphas: np.ndarray  # [n_folds, n_voxels] chosen penalties

    def per_voxel(self) -> np.ndarray:
        return _nanmean(self.r, axis=0)


def _nanmean(a, axis=None):
    """np.nanmean without the all-NaN warning (a voxel constant in every fold stays NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def score_layer(word_features: np.ndarray, responses: np.ndarray, timing, s: WehbeSettings,
                targets_batch: int | None = None) -> LayerScores:
    """Cross-validated r of every voxel (column of `responses`) for one layer's word features."""
    word_features = np.asarray(word_features)
    if len(word_features) != len(timing.word_tr):
        raise ValueError(f"{len(word_features)} word feature rows for {len(timing.word_tr)} words")
    folds = outer_folds(timing.kept_runs, s)
    rs, alphas, preds, tests = [], [], [], []
    for fold in folds:
        word_fit = (np.ones(len(timing.word_tr), bool) if s.pca_fit == "all"
                    else word_train_mask(timing, fold.train_mask, s.word_split))
        X = design(word_features, timing, word_fit, s)
        y_train = zscore_columns(np.nan_to_num(responses[fold.train]))
        y_test = zscore_columns(np.nan_to_num(responses[fold.test]))
        fit = ridge_nested_cv(zscore_columns(X[fold.train]), y_train, zscore_columns(X[fold.test]),
                              alphas=s.alphas, n_splits=s.inner_folds, targets_batch=targets_batch)
        alphas.append(fit.alphas)
        if s.r_over == "folds":
            rs.append(pearson_columns(fit.predictions, y_test))
        else:
            preds.append(fit.predictions)
            tests.append(y_test)
    if s.r_over == "concatenated":
        rs = [pearson_columns(np.concatenate(preds), np.concatenate(tests))]
    return LayerScores(r=np.array(rs), alphas=np.array(alphas))


@dataclass
class Aggregate:
    raw: float  # mean over subjects of (mean over the subject's voxels of r)
    per_subject: dict[str, float]
    mad: float  # median absolute deviation of the per-subject scores (unscaled)
    per_fold: np.ndarray  # [n_folds] the same mean computed within each fold


def aggregate(scores: LayerScores, subjects: np.ndarray) -> Aggregate:
    names = list(dict.fromkeys(np.asarray(subjects).tolist()))
    per_voxel = scores.per_voxel()
    per_subject = {s: float(_nanmean(per_voxel[subjects == s])) for s in names}
    per_fold = np.array([np.mean([_nanmean(row[subjects == s]) for s in names]) for row in scores.r])
    values = np.array(list(per_subject.values()))
    return Aggregate(raw=float(values.mean()), per_subject=per_subject,
                     mad=float(np.median(np.abs(values - np.median(values)))), per_fold=per_fold)

