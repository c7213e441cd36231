"""Data sets: stimuli, recorded responses and their labels (see docs/data.md)."""

from brainalign.datasets.blank import load_blank
from brainalign.datasets.brain import BrainData
from brainalign.datasets.pereira import load_pereira
from brainalign.datasets.store import fetch

__all__ = ["BrainData", "fetch", "load_blank", "load_pereira"]
