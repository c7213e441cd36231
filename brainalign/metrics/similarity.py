"""Brain-Score's representational-similarity metrics `cka` and `rdm`, for every layer at once.

* cka: linear centred kernel alignment (Kornblith et al. 2019, ICML): with K = X X^T and
  L = Y Y^T over the test stimuli and H the centring matrix, CKA = <HKH, HLH> / (|HKH| |HLH|).
* rdm: representational similarity analysis (Kriegeskorte et al. 2008, Front. Syst. Neurosci.):
  each side's RDM is 1 - Pearson r between stimulus rows (over features / neuroids); the score
  is Spearman's rho between the two RDMs' upper triangles.

Cross-validation as Brain-Score's `CKACrossValidated` / `RDMCrossValidated`: "test only", i.e.
nothing is fitted; ShuffleSplit(10 splits, test_size 0.9, seed 1) over the rows in the brain data's
stored order, the similarity of each 90 % test set, the mean over splits. All neuroids are pooled
(Brain-Score's score); `per_subject` also gives each subject's neuroids on their own.

Both similarities only need stimulus x stimulus matrices, and a split's matrix is a block of the
full one: one n x n Gram (cka) or correlation (rdm) matrix per layer serves all splits.
"""

import warnings

import numpy as np
from scipy.stats import median_abs_deviation, rankdata
from sklearn.model_selection import ShuffleSplit

from .crossval import check_inputs, row_basis
from .score import Score

N_SPLITS, TEST_SIZE, RANDOM_STATE = 10, 0.9, 1  # Brain-Score's defaults for both metrics


def similarity_splits(n, n_splits=N_SPLITS, test_size=TEST_SIZE, random_state=RANDOM_STATE):
    """Brain-Score's `TestOnlyCrossValidation(test_size=.9)` splits: ShuffleSplit with train_size None."""
    splitter = ShuffleSplit(n_splits=n_splits, test_size=test_size, train_size=None, random_state=random_state)
    return list(splitter.split(np.zeros(n)))


def _centred_unit_gram(K, test):
    """The test block of a Gram matrix, double-centred, as a unit vector: CKA is a dot product of two."""
    block = K[np.ix_(test, test)]
    block = block - block.mean(axis=0) - block.mean(axis=1)[:, None] + block.mean()
    return (block / np.linalg.norm(block)).ravel()


def _gram(values):
    basis = row_basis(values)  # same Gram up to a centring that CKA removes anyway
    return basis @ basis.T


def _row_correlations(x):
    """Pearson r between the rows of x [n, features] (what np.corrcoef(x) gives), clipped to [-1, 1]."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def _rdm(values):
    return 1.0 - _row_correlations(values)


def _unit_triangle_ranks(rdm, test):
    """Centred average ranks of the upper triangle of rdm[test][:, test], as a unit vector:
    Spearman's rho is a dot product of two (NaN where an RDM has NaN, as scipy's spearmanr)."""
    values = rdm[np.ix_(test, test)][np.triu_indices(len(test), k=1)]
    if np.isnan(values).any():
        return np.full(values.shape, np.nan)
    ranks = rankdata(values)
    ranks -= ranks.mean()
    return ranks / np.linalg.norm(ranks)


def _similarity(X, Y, subjects, n_splits, test_size, random_state, full_matrix, split_vector):
    """Scores of split_vector(full_matrix(x), test) . split_vector(full_matrix(y), test), per split."""
    X, Y, single = check_inputs(X, Y, subjects)
    splits = similarity_splits(len(Y), n_splits, test_size, random_state)
    groups = {"all": np.arange(Y.shape[1])}
    if subjects is not None:
        subjects = np.asarray(subjects)
        groups.update({s.item(): np.flatnonzero(subjects == s) for s in np.unique(subjects)})
    targets = {}  # per group and split, shared by every layer
    for name, cols in groups.items():
        matrix = full_matrix(Y[:, cols])
        targets[name] = [split_vector(matrix, test) for _, test in splits]
    values = {name: np.empty((len(X), len(splits))) for name in groups}
    for layer, x in enumerate(X):
        matrix = full_matrix(x)
        for k, (_, test) in enumerate(splits):
            vector = split_vector(matrix, test)
            for name in groups:
                values[name][layer, k] = vector @ targets[name][k]
    scores = []
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN means give NaN, quietly
        for layer in range(len(X)):
            per_split = values["all"][layer]
            raw = float(np.nanmean(per_split))
            per_subject = mad = None
            if subjects is not None:
                per_subject = {name: float(np.nanmean(values[name][layer])) for name in groups if name != "all"}
                mad = float(median_abs_deviation(list(per_subject.values())))
            # one "neuroid" (the whole population) per split, so Score's shapes hold
            scores.append(Score(raw=raw, per_split=per_split, per_split_neuroid=per_split[:, None],
                                per_neuroid=np.array([raw]), per_subject=per_subject, mad_over_subjects=mad))
    return scores[0] if single else scores


def cka(X, Y, *, subjects=None, n_splits=N_SPLITS, test_size=TEST_SIZE, random_state=RANDOM_STATE):
    """Brain-Score's cross-validated linear CKA between model features and brain responses.

    Parameters
    ----------
    X : array [n, d] or [layers, n, d]
        Model features, rows in the same (stored) order as Y.
    Y : array [n, neuroids]
        Responses; neuroids with NaN must be dropped first (as for the other metrics).
    subjects : array [neuroids], optional
        Subject of each neuroid, for `Score.per_subject` (the CKA of that subject's neuroids alone).
    n_splits, test_size, random_state
        ShuffleSplit over the rows; the similarity is computed on each test set.

    Returns
    -------
    Score (or a list of Scores, one per layer, for 3-D X): raw = mean CKA over splits,
    per_split [splits]; per_split_neuroid is per_split as one column (CKA pools all neuroids).
    """
    return _similarity(X, Y, subjects, n_splits, test_size, random_state, _gram, _centred_unit_gram)


def rdm(X, Y, *, subjects=None, n_splits=N_SPLITS, test_size=TEST_SIZE, random_state=RANDOM_STATE):
    """Brain-Score's cross-validated RDM similarity (Spearman rho between the 1 - Pearson RDMs).

    Parameters and returns as `cka`; raw = mean over splits of Spearman's rho between the upper
    triangles of the model's and the brain's stimulus x stimulus RDMs on the test rows.
    """
    return _similarity(X, Y, subjects, n_splits, test_size, random_state, _rdm, _unit_triangle_ranks)
