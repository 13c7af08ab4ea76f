"""The one error type the data layer raises for bad input, so callers can tell it from bugs."""


class DataError(ValueError):
    """Bad or missing data: the message names the path or value and how to fix it."""
