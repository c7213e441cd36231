"""Loading language models and naming their layers."""

from brainalign.models.load import LoadedModel, load_model

__all__ = ["LoadedModel", "load_model"]
