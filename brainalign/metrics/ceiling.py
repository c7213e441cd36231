"""Ceiling normalisation, as Brain-Score's utils/ceiling.py: raw / ceiling, clipped to [0, 1].

(Estimating a ceiling from subjects is another module: extrapolation.py.)
"""

import numpy as np


def ceiling_normalize(raw, ceiling):
    """(ceiled, unclipped): raw / ceiling clipped to [0, 1], and the value before clipping.

    Works on scalars (returns floats) and arrays (element-wise); NaN stays NaN."""
    unclipped = np.asarray(raw, dtype=np.float64) / np.asarray(ceiling, dtype=np.float64)
    ceiled = np.clip(unclipped, 0.0, 1.0)
    if ceiled.ndim == 0:
        return float(ceiled), float(unclipped)
    return ceiled, unclipped
