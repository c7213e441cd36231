"""Per-voxel ceilings, p-values and the summary of one subject's held-out predictions (arrays in, arrays out).

The pieces are brainalign.metrics.voxelwise_stats'; this module puts them together as the benchmark
scores them, and adds the ceiling of a prediction compared with the **mean of S subjects** (Narratives'
group response) from their leave-one-subject-out ISC.

Group-mean ceiling: with a common signal and equal noise, a subject's explainable variance e and the
mean of n subjects' EV_n = n e / (1 + (n - 1) e) (Spearman-Brown) give ISC^2 = e EV_{S-1}
(voxelwise_stats.intersubject_ceiling's docs). Solving for e,
(S - 1) e^2 - ISC^2 (S - 2) e - ISC^2 = 0, and the ceiling of r with the mean of all S is sqrt(EV_S).
Using the ISC itself as the ceiling of a group-mean prediction would read far too high (S = 2, e = 0.1:
ISC 0.10 vs a ceiling of 0.43).
"""

import numpy as np

from brainalign.metrics.voxelwise_stats import (block_permutation_p, ceiled, ev_ceiling, explainable_variance,
                                                fdr_bh, intersubject_ceiling, summary)


def single_ev_from_isc(isc, n_subjects):
    """A subject's explainable variance [V] from the mean leave-one-out ISC [V] of `n_subjects` (equal noise);
    NaN where the ISC is not positive."""
    c = np.asarray(isc, dtype=np.float64) ** 2
    s = int(n_subjects)
    with np.errstate(invalid="ignore"):
        e = (c * (s - 2) + np.sqrt(c * c * (s - 2) ** 2 + 4 * (s - 1) * c)) / (2 * (s - 1))
    return np.where(np.asarray(isc) > 0, e, np.nan)


def group_mean_ceiling(responses):
    """Ceiling [V] of r between a prediction and the mean of the subjects' responses [subjects, TRs, voxels]."""
    responses = np.asarray(responses)
    isc = np.nanmean(intersubject_ceiling(responses), axis=0)
    return ev_ceiling(single_ev_from_isc(isc, responses.shape[0]), n_averaged=responses.shape[0])


def story_group_ceiling(by_story):
    """The group-mean ceiling over several stories: {story: [subjects, TRs, voxels]} -> [V], the TR-weighted
    mean of each story's ceiling (stories heard by one subject only give none). None without any."""
    parts = [(group_mean_ceiling(x), x.shape[1]) for x in by_story.values() if np.shape(x)[0] >= 2]
    if not parts:
        return None
    values = np.stack([c for c, _ in parts])
    weights = np.array([n for _, n in parts], dtype=np.float64)[:, None] * np.isfinite(values)
    total = weights.sum(0)
    with np.errstate(invalid="ignore"):
        return np.where(total > 0, np.nansum(values * weights, 0) / np.where(total > 0, total, 1), np.nan)


def repeat_ceiling(repeats):
    """(ceiling [V], EV [V]) of r with the mean of the repeats [repeats, TRs, voxels]."""
    ev = explainable_variance(repeats)
    return ev_ceiling(ev, n_averaged=np.shape(repeats)[0]), ev


def voxel_significance(r, y_true, y_pred, ceiling=None, *, block=10, n_perm=1000, q=0.05, seed=0):
    """One subject's per-voxel arrays and summary.

    r : [V] held-out correlation (the reported one); y_true, y_pred : [TRs, V] held-out series for the block
    permutation test; ceiling : [V] or None.
    Returns (arrays: p, p_fdr, significant, and ceiling + ceiled_r with a ceiling; summary dict).
    """
    p = block_permutation_p(y_true, y_pred, block=block, n_perm=n_perm, seed=seed)
    reject, adjusted = fdr_bh(p, q)
    arrays = {"p": p, "p_fdr": adjusted, "significant": reject}
    if ceiling is not None:
        arrays["ceiling"] = ceiling
        arrays["ceiled_r"] = ceiled(r, ceiling)[0]
    return arrays, summary(r, reject, ceiling)
