"""User-facing errors: main.py prints their message alone, without a traceback."""

import errno

# what a write into a folder that cannot be written fails with (read-only, a file in the way, full, ...)
WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENOSPC,
                errno.EDQUOT}


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


class NotWritable(BrainalignError):
    """A folder the run writes (results, cache, Hydra's log) that cannot be written."""


def not_writable(err: BaseException | None) -> NotWritable | None:
    """The user error behind `err` when a file could not be written (the OSError itself, or the cause of
    logging's "Unable to configure handler 'file'"), else None."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in WRITE_ERRNOS and err.filename:
            return NotWritable(f"{err.filename}: {err.strerror}; results_dir and cache_dir must be folders you can "
                               "write")
        err = err.__cause__ or err.__context__
    return None
