"""What extraction returns: every layer's activation for every stimulus part."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Features:
    values: np.ndarray  # [layers, parts, features], float32, passage order
    layers: list[str]
