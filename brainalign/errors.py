"""User-facing errors: main.py prints their message alone, without a traceback."""


class BrainalignError(Exception):
    """An error the user can fix (bad config, missing data or weights); printed without traceback."""


class ConfigError(BrainalignError):
    """A config value that does not name anything valid."""


class DataUnavailable(BrainalignError):
    """Data (or weights) that are not here and cannot be fetched now."""


class DataMismatch(BrainalignError):
    """Inputs that do not line up (stimuli vs responses, words vs reading times, ...)."""


class ModelUnavailable(DataUnavailable):
    """Model weights that cannot be loaded here."""
