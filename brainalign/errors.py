"""Errors a user can act on. `main.py` prints these without a traceback."""


class BrainalignError(Exception):
    """A user-facing error, printed without traceback."""


class DataUnavailable(BrainalignError):
    """Data could not be read or downloaded; the message says how to get it."""


class ConfigError(BrainalignError):
    """A configuration value is missing, unknown or inconsistent."""


class DataMismatch(BrainalignError):
    """Data do not have the expected format, shape, labels or checksum."""
