"""Activations of every layer for every stimulus, computed once and cached on disk."""

from brainalign.activations.cache import cached_extract
from brainalign.activations.extract import Features, extract
from brainalign.activations.model import model_features

__all__ = ["Features", "cached_extract", "extract", "model_features"]
