"""The errors the data layer raises for bad input or an unusable cache, so callers can tell them from bugs."""

CACHE_ENV_VAR = "NLP_TRANSFER_CACHE"


class DataError(ValueError):
    """Bad or missing data: the message names the path (and line) or value and how to fix it."""


class CacheError(OSError):
    """The on-disk cache cannot be written (unwritable, full, not a directory): the message names the
    directory and how to move the cache with `NLP_TRANSFER_CACHE`."""
