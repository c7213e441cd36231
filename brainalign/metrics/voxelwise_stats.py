"""Per-voxel ceilings and significance for story-listening encoding models (arrays in, arrays out).

* Explainable variance (EV) from a repeated test story: the fraction of a voxel's single-repeat variance
  that the stimulus explains, var(mean over repeats) / mean(var of each repeat), with the bias correction
  for a finite number of repeats (Hsu et al. 2004; as voxelwise_tutorials.utils.explainable_variance).
* The noise-ceiled score is on the correlation scale: r / ceiling, with ceiling = sqrt(EV) for a
  prediction correlated with one repeat, and sqrt(n EV / (1 + (n - 1) EV)) with the mean of n repeats
  (Schoppe et al. 2016's CC_norm = CC_abs / CC_max; the Spearman-Brown step is theirs too). Not clipped:
  noise in EV can put a good voxel above 1. Voxels with EV <= 0 have no ceiling; they are excluded and
  counted, never averaged as NaN.
* Without repeats (Narratives), the inter-subject correlation (ISC): each subject against the mean of
  the others (Nastase et al. 2019, 2021). The mean of the others is noisy too, so ISC is below the
  subject's own ceiling sqrt(EV) and ceiled scores read high; the gap closes as subjects are added.
* Block permutation p: the held-out prediction is cut into blocks of `block` TRs (~10: longer than the
  haemodynamic autocorrelation) and the blocks are shuffled, so the null keeps the autocorrelation that
  an i.i.d. shuffle of TRs destroys (Huth et al. 2016; Deniz et al. 2019). One-sided, with the +1
  correction (Phipson & Smyth 2010).
* Benjamini-Hochberg FDR across voxels (Benjamini & Hochberg 1995) via scipy.

bench/calibration_voxelwise.py checks the rates by simulation.
"""

import math

import numpy as np
from scipy import sparse, stats

from brainalign.errors import ConfigError, DataMismatch

MAX_BYTES = 2 ** 27   # working memory of one voxel batch in block_permutation_p


def explainable_variance(repeats, bias_correction=True, zscore=True):
    """Explainable variance of each voxel from responses to a repeated stimulus.

    Parameters
    ----------
    repeats : array [n_repeats, n_times, n_voxels]
    bias_correction : bool
        Subtract the expected EV of pure noise, (1 - EV) / (n_repeats - 1).
    zscore : bool
        z-score each repeat in time first (turn off only for data already z-scored).

    Returns
    -------
    ev : array [n_voxels]; can be negative for voxels with no stimulus-driven signal.
    """
    data = np.asarray(repeats, dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 2:
        raise DataMismatch(f"explainable_variance needs [repeats >= 2, times, voxels], got shape {data.shape}")
    if zscore:
        data = (data - data.mean(axis=1, keepdims=True)) / data.std(axis=1, keepdims=True)
    total = data.var(axis=1, ddof=1).mean(axis=0)
    signal = data.mean(axis=0).var(axis=0, ddof=1)
    ev = signal / total
    if bias_correction:
        ev = ev - (1 - ev) / (data.shape[0] - 1)
    return ev


def ev_ceiling(ev, n_averaged=1):
    """Ceiling of a correlation with the mean of `n_averaged` repeats, from single-repeat EV [V].

    NaN where EV <= 0 (no ceiling); `ceiled` excludes those voxels and counts them."""
    ev = np.asarray(ev, dtype=np.float64)
    if n_averaged < 1:
        raise ConfigError(f"n_averaged={n_averaged}: the prediction is compared with the mean of >= 1 repeats")
    with np.errstate(invalid="ignore"):
        ceiling = np.sqrt(n_averaged * ev / (1 + (n_averaged - 1) * ev))
    return np.where(ev > 0, ceiling, np.nan)


def ceiled(r, ceiling):
    """(r / ceiling [V], has_ceiling [V]): NaN and False where the ceiling is not a positive number."""
    r, ceiling = np.broadcast_arrays(np.asarray(r, dtype=np.float64), np.asarray(ceiling, dtype=np.float64))
    ok = np.isfinite(ceiling) & (ceiling > 0)
    out = np.full(r.shape, np.nan)
    out[ok] = r[ok] / ceiling[ok]
    return out, ok


def _zscore(x):
    """Columns z-scored (population std) and which columns vary; a constant column becomes zeros."""
    x = x - x.mean(axis=0)
    sd = x.std(axis=0)
    varies = sd > 0
    return np.divide(x, sd, out=np.zeros_like(x), where=varies), varies


def columnwise_r(a, b):
    """Pearson r of each column of a [T, V] with the same column of b [T, V]; NaN for constant columns."""
    za, va = _zscore(np.asarray(a, dtype=np.float64))
    zb, vb = _zscore(np.asarray(b, dtype=np.float64))
    return np.where(va & vb, (za * zb).mean(axis=0), np.nan)


def intersubject_ceiling(responses):
    """Leave-one-subject-out ISC: each subject's correlation with the mean of the other subjects.

    Parameters
    ----------
    responses : array [n_subjects >= 2, n_times, n_voxels], all subjects on the same stimuli and voxels
        (e.g. fsaverage vertices).

    Returns
    -------
    isc : array [n_subjects, n_voxels]; NaN where a time course is constant.
    """
    data = np.asarray(responses)
    if data.ndim != 3 or data.shape[0] < 2:
        raise DataMismatch(f"intersubject_ceiling needs [subjects >= 2, times, voxels], got shape {data.shape}")
    total = data.sum(axis=0, dtype=np.float64)
    n = data.shape[0]
    return np.stack([columnwise_r(data[s], (total - data[s]) / (n - 1)) for s in range(n)])


def _block_permutations(n_blocks, n_perm, rng):
    """Sparse [n_perm, n_blocks**2] selector: row p has a 1 at k * n_blocks + perm_p(k) for every block k."""
    perms = rng.permuted(np.tile(np.arange(n_blocks), (n_perm, 1)), axis=1)
    cols = (np.arange(n_blocks) * n_blocks + perms).ravel()
    rows = np.repeat(np.arange(n_perm), n_blocks)
    return sparse.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(n_perm, n_blocks ** 2))


def block_permutation_p(y_true, y_pred, block=10, n_perm=1000, seed=0, max_bytes=MAX_BYTES):
    """One-sided p of each voxel's correlation r(y_true, y_pred), from shuffling blocks of the prediction.

    The first (T // block) * block TRs are cut into blocks of `block` TRs that are shuffled as units; the
    last T % block TRs (under one block) stay in place, which can only make the test conservative.
    p = (1 + #{null r >= r}) / (1 + n_perm). block=1 is the i.i.d. shuffle of TRs (anti-conservative on
    autocorrelated data; for comparison).

    With zero-mean unit-variance columns, a permuted r is a sum of block-by-block inner products
    C[k, perm(k)], so each voxel batch builds C once [blocks**2, batch] and all permutations are one sparse
    product. Voxel batches keep the working memory near `max_bytes`.

    Parameters
    ----------
    y_true, y_pred : arrays [n_times, n_voxels]
    block : int, TRs per block (at least 2 blocks must fit)
    n_perm : int, number of permutations
    seed : int, of the permutations (the same for every voxel)

    Returns
    -------
    p : array [n_voxels]; NaN where either time course is constant (no test).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise DataMismatch(f"y_true {y_true.shape} and y_pred {y_pred.shape} must both be [times, voxels]")
    n_times, n_vox = y_true.shape
    if n_perm < 1:
        raise ConfigError(f"n_perm={n_perm}: the permutation test needs n_perm >= 1")
    if not 1 <= block <= n_times // 2:
        raise ConfigError(f"block={block} TRs: with {n_times} TRs a block must be 1..{n_times // 2} TRs so that "
                          "at least two blocks are shuffled")
    n_blocks = n_times // block
    cut = n_blocks * block
    per_voxel = 8 * (n_blocks ** 2 + n_perm + 3 * n_times)
    if per_voxel > max_bytes:
        raise ConfigError(f"block={block} with {n_times} TRs gives {n_blocks} blocks, whose {n_blocks}x{n_blocks} "
                          f"products per voxel exceed {max_bytes} bytes; use longer blocks")
    select = _block_permutations(n_blocks, n_perm, np.random.default_rng(seed))
    batch = max(1, max_bytes // per_voxel)
    p = np.full(n_vox, np.nan)
    for start in range(0, n_vox, batch):
        part = slice(start, min(start + batch, n_vox))
        zt, vt = _zscore(y_true[:, part].astype(np.float64))
        zp, vp = _zscore(y_pred[:, part].astype(np.float64))
        observed = (zt * zp).sum(axis=0)
        tail = (zt[cut:] * zp[cut:]).sum(axis=0)
        bt = zt[:cut].reshape(n_blocks, block, -1).transpose(2, 0, 1)   # [batch, blocks, block]
        bp = zp[:cut].reshape(n_blocks, block, -1).transpose(2, 1, 0)       # [batch, block, blocks]
        products = np.matmul(bt, bp).reshape(bt.shape[0], -1).T           # [blocks * blocks, batch]
        null = select @ products + tail                                     # [n_perm, batch]
        exceed = (null >= observed - 1e-12 * n_times).sum(axis=0)
        p[part] = np.where(vt & vp, (1 + exceed) / (1 + n_perm), np.nan)
    return p


def fdr_bh(p, q=0.05):
    """Benjamini-Hochberg across voxels: (reject [V] bool, adjusted p [V]).

    Voxels with a NaN p (not tested) are left out of the family: adjusted NaN, never rejected."""
    if not 0 < q < 1:
        raise ConfigError(f"q={q}: the false discovery rate must be between 0 and 1")
    p = np.asarray(p, dtype=np.float64)
    tested = np.isfinite(p)
    adjusted = np.full(p.shape, np.nan)
    if tested.any():
        adjusted[tested] = stats.false_discovery_control(p[tested], method="bh")
    reject = np.zeros(p.shape, dtype=bool)
    reject[tested] = adjusted[tested] <= q
    return reject, adjusted


def _mean(values, where):
    return float(values[where].mean()) if where.any() else math.nan


def summary(r, reject, ceiling=None, network_mask=None):
    """The per-voxel result in numbers: how many voxels are significant and how well they are predicted.

    Parameters
    ----------
    r : array [V], held-out correlation per voxel
    reject : array [V] bool, FDR-significant voxels (fdr_bh)
    ceiling : array [V] or None, ceiling of r per voxel (ev_ceiling, or the ISC); voxels without a positive
        ceiling are left out of the ceiled means and counted in `*_no_ceiling`
    network_mask : array [V] bool or None, e.g. the language network

    Returns
    -------
    dict: n_voxels, n_significant, mean_r_significant (and mean_ceiled_r_significant), the same over the
    network mask when given, and `score` with `score_over` saying which: the mean ceiled r (mean r
    without a ceiling) over the network mask when given, else over the significant voxels. Means over
    no voxel are NaN.
    """
    r = np.asarray(r, dtype=np.float64)
    reject = np.asarray(reject, dtype=bool)
    if reject.shape != r.shape:
        raise DataMismatch(f"reject {reject.shape} does not match r {r.shape}")
    out = {"n_voxels": int(r.size), "n_significant": int(reject.sum())}
    groups = {"significant": reject}
    if network_mask is not None:
        mask = np.asarray(network_mask, dtype=bool)
        if mask.shape != r.shape:
            raise DataMismatch(f"network_mask {mask.shape} does not match r {r.shape}")
        groups["network"] = mask
        out["n_network"] = int(mask.sum())
        out["n_network_significant"] = int((mask & reject).sum())
    if ceiling is not None:
        if np.shape(ceiling) != r.shape:
            raise DataMismatch(f"ceiling {np.shape(ceiling)} does not match r {r.shape}")
        scaled, has = ceiled(r, ceiling)
    for name, where in groups.items():
        out[f"mean_r_{name}"] = _mean(r, where & np.isfinite(r))
        if ceiling is not None:
            out[f"mean_ceiled_r_{name}"] = _mean(scaled, where & has & np.isfinite(r))
            out[f"n_{name}_no_ceiling"] = int((where & ~has).sum())
    group = "network" if network_mask is not None else "significant"
    kind = "mean_ceiled_r" if ceiling is not None else "mean_r"
    out["score"] = out[f"{kind}_{group}"]
    out["score_over"] = (f"{kind.replace('_', ' ')} over the "
                         + ("network mask" if group == "network" else "FDR-significant voxels"))
    return out
