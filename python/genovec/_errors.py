"""genovec's exceptions. The native module raises them with genovec's own message."""


class GenovecError(Exception):
    """Any failure inside genovec. ``code`` is genovec's snake_case error code (the same
    as the HTTP server's ``error.code``: ``bad_sequence``, ``wrong_dimension``,
    ``unknown_id``, ``corrupt_collection``, ...)."""

    def __init__(self, message: str, code: str = "error"):
        super().__init__(message)
        self.code = code


class InputError(GenovecError, ValueError):
    """The caller can fix it: bad sequence letters, a missing label, a wrong vector
    dimension, an unknown id or label, a collection that does not exist or was built with
    another embedder, an argument out of range."""


class InternalError(GenovecError, RuntimeError):
    """Not the caller's fault: I/O, a damaged collection file, a model or classifier
    failure, or a bug (a caught panic, code ``panic``)."""


# Shown as genovec.InputError in tracebacks, where users import them from.
for _cls in (GenovecError, InputError, InternalError):
    _cls.__module__ = "genovec"
