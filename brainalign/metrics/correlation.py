"""Pearson r per neuroid (column) over the test stimuli (rows), in Brain-Score's two conventions.

* "batched" (Brain-Score since 2025, `XarrayCorrelationBatched`): centre both columns, divide each
  by (its norm + 1e-8), sum the products. A constant column gives r = 0.
* "scipy" (the 2023 library, `scipy.stats.pearsonr` per neuroid): plain r, clipped to [-1, 1];
  a constant column gives NaN (which the median over neuroids then skips); with 2 rows r is
  rounded to +-1, as scipy does.

Both take the prediction already centred over the test rows, shaped [..., n_test, neuroids]
(a leading layer axis is fine), and the target [n_test, neuroids].
"""

import numpy as np

from .backend import NumpyBackend

NUMPY = NumpyBackend()

EPSILON = 1e-8  # Brain-Score's batched pearsonr adds this to each column norm
CONVENTIONS = ("batched", "scipy")


def prepare_target(target, convention, be=None):
    """The part of the correlation that only depends on the target: shared by every layer."""
    be = be or NUMPY
    centred = target - target.mean(axis=0)
    norm = be.sqrt(be.einsum("ij,ij->j", centred, centred))
    if convention == "batched":
        return centred / (norm + EPSILON), None
    constant = be.all_equal_first_row(target)
    with np.errstate(invalid="ignore", divide="ignore"):
        return centred / norm, constant


def correlate(pred_centred, target_prepared, convention, be=None):
    """r [..., neuroids] from a centred prediction and `prepare_target`'s output."""
    be = be or NUMPY
    unit_target, constant_target = target_prepared
    spec = "...ij,ij->...j"
    norm = be.sqrt(be.einsum("...ij,...ij->...j", pred_centred, pred_centred))
    if convention == "batched":
        return be.einsum(spec, pred_centred, unit_target) / (norm + EPSILON)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = be.einsum(spec, pred_centred, unit_target) / norm
    r = be.clip(r, -1.0, 1.0)
    if pred_centred.shape[-2] == 2:
        r = be.round(r)
    r[..., constant_target] = be.nan
    r[norm == 0] = be.nan
    return r


def pearsonr(x, y, convention="batched"):
    """r per column of x and y ([n] or [n, columns]); handy on its own, e.g. pearsonr(a, b)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    vector = x.ndim == 1
    x, y = (x[:, None], y[:, None]) if vector else (x, y)
    r = correlate(x - x.mean(axis=0), prepare_target(y, convention), convention)
    return float(r[0]) if vector else r
