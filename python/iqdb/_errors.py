"""Exceptions raised by iqdb: one class per status code of the C++ library."""

import enum


class StatusCode(enum.IntEnum):
    """The C++ library's StatusCode, value for value (and the C ABI's iqdb_status)."""

    OK = 0
    INVALID_ARGUMENT = 1
    NOT_FOUND = 2
    CORRUPTION = 3
    IO_ERROR = 4
    CONFIG_MISMATCH = 5
    BUSY = 6
    UNSUPPORTED = 7
    RESOURCE_EXHAUSTED = 8
    CLOSED = 9


class Error(Exception):
    """Base of every iqdb failure. ``code`` is a StatusCode, ``message`` the library's text."""

    code = None

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = StatusCode(code)


class InvalidArgument(Error, ValueError):
    """The input was wrong: dimension, NaN/Inf, k = 0, a malformed filter, a non-numeric array."""

    code = StatusCode.INVALID_ARGUMENT


class NotFound(Error):
    """A named thing does not exist."""

    code = StatusCode.NOT_FOUND


class Corruption(Error):
    """A file's bytes are damaged or not an iqdb database."""

    code = StatusCode.CORRUPTION


class IOError(Error):  # noqa: A001 - mirrors the library's code name, lives in iqdb's namespace
    """The operating system refused a read, write, fsync, lock ..."""

    code = StatusCode.IO_ERROR


class ConfigMismatch(Error):
    """The file was created with another dimension or metric."""

    code = StatusCode.CONFIG_MISMATCH


class Busy(Error):
    """Another process holds the database."""

    code = StatusCode.BUSY


class Unsupported(Error):
    """A valid request that this build or index cannot serve."""

    code = StatusCode.UNSUPPORTED


class ResourceExhausted(Error):
    """Out of memory or address space."""

    code = StatusCode.RESOURCE_EXHAUSTED


class Closed(Error):
    """The handle was closed."""

    code = StatusCode.CLOSED


_BY_CODE = {cls.code: cls for cls in (InvalidArgument, NotFound, Corruption, IOError, ConfigMismatch,
                                      Busy, Unsupported, ResourceExhausted, Closed)}


def from_status(code, message):
    """The exception for a failed status (used by the C++ half)."""
    cls = _BY_CODE.get(code, Error)
    return cls(message, code if cls is Error else None)

# Shown as iqdb.InvalidArgument etc. in tracebacks.
for _cls in (Error, StatusCode, *_BY_CODE.values()):
    _cls.__module__ = "iqdb"
