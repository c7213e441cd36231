"""Activations of every layer for every stimulus, computed once and cached on disk."""

from brainalign.activations.cache import cached_extract
from brainalign.activations.extract import Features, extract

__all__ = ["Features", "cached_extract", "extract"]
