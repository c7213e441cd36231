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
