"""Cross-validation splits, exactly as Brain-Score builds them (brainscore_language.utils.transformations).

A split is a pair of integer index arrays (train, test) into the rows in their given order.
"""

import inspect

import numpy as np
from sklearn.model_selection import GroupKFold, ShuffleSplit


def shuffle_splits(n, n_splits=10, train_size=0.9, random_state=1):
    """Monte-Carlo splits of the "-linear" benchmarks: n_train = floor(train_size * n), rest is test.

    Test sets of different splits may overlap (this is ShuffleSplit, not k-fold)."""
    splitter = ShuffleSplit(n_splits=n_splits, train_size=train_size, test_size=None,
                            random_state=random_state)
    return list(splitter.split(np.zeros(n)))


def group_splits(groups, n_splits=10, random_state=1234):
    """GroupKFold(shuffle=True) of the 2025 "-ridge" benchmarks: whole groups (stories) are held out.

    The unique groups (sorted) are permuted with RandomState(random_state), array_split into
    n_splits chunks, and each chunk is one test fold. sklearn >= 1.6 does this itself; older
    versions lack `shuffle`, so we do the same steps here."""
    groups = np.asarray(groups)
    if "shuffle" in inspect.signature(GroupKFold).parameters:
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        return list(splitter.split(np.zeros(len(groups)), groups=groups))
    unique = np.unique(groups)
    if n_splits > len(unique):
        raise ValueError(f"n_splits={n_splits} is more than the {len(unique)} groups")
    order = np.random.RandomState(random_state).permutation(unique)
    splits = []
    for chunk in np.array_split(order, n_splits):
        test = np.isin(groups, chunk)
        splits.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return splits


def contiguous_splits(n, n_splits=10, blocks=None, trim=0):
    """K folds of consecutive rows: the contiguous cross-validation of Hadidi et al. (2025).

    Within each block (rows sharing a label in `blocks`, e.g. the story; one block when None) the
    rows, in their stored order, are cut into `n_splits` runs of consecutive rows (np.array_split);
    test fold k is the k-th run of every block. `trim` drops from training the `trim` rows on each
    side of every test run of the same block, so that a neighbour of a test row never trains."""
    if n_splits < 2:
        raise ValueError(f"contiguous cross-validation needs n_splits >= 2, got {n_splits}")
    blocks = np.zeros(n, dtype=int) if blocks is None else np.asarray(blocks)
    if len(blocks) != n:
        raise ValueError(f"blocks has {len(blocks)} labels for {n} rows")
    folds = [[] for _ in range(n_splits)]
    dropped = [[] for _ in range(n_splits)]
    for label in _in_order(blocks):
        rows = np.flatnonzero(blocks == label)
        if len(rows) < n_splits:
            raise ValueError(f"block {label!r} has {len(rows)} rows, fewer than n_splits={n_splits}")
        start = 0
        for k, run in enumerate(np.array_split(rows, n_splits)):
            folds[k].append(run)
            stop = start + len(run)
            dropped[k].append(rows[max(0, start - trim):start])
            dropped[k].append(rows[stop:stop + trim])
            start = stop
    splits = []
    for test, gone in zip(folds, dropped):
        test = np.concatenate(test)
        train = np.setdiff1d(np.arange(n), np.concatenate([test, *gone]))
        if len(train) < 2:
            raise ValueError("trim leaves fewer than 2 training rows")
        splits.append((train, np.sort(test)))
    return splits


def _in_order(labels):
    """Unique labels in order of first appearance."""
    _, first = np.unique(labels, return_index=True)
    return labels[np.sort(first)]
