"""brainalign: how brain-like is a language model, and what made it so."""

__version__ = "0.2.0"
