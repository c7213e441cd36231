"""What extraction returns: every layer's activation for every stimulus part, or for every word (Wehbe)."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Features:
    values: np.ndarray  # [layers, parts or words, features], passage order; a read-only memmap for cached words
    layers: list[str]
