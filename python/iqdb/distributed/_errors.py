"""Failures particular to a sharded database (the rest are iqdb's own)."""

from iqdb import _errors


class ShardUnavailable(_errors.Error):
    """A shard could not answer: its worker is gone, restarting, or failed to open it.

    ``shards`` lists the shards concerned. A search never returns a merge that
    lacks a shard: it raises this instead.
    """

    code = _errors.StatusCode.IO_ERROR

    def __init__(self, message, shards=()):
        super().__init__(message)
        self.shards = list(shards)

    def __reduce__(self):
        return (type(self), (self.message, self.shards))


class PartialWriteError(_errors.Error):
    """A write reached some shards and not others.

    There are no cross-shard transactions: ``written_ids`` were written (and
    are durable under the shards' fsync policy), the rest were not.
    ``failures`` maps each failed shard to its exception. Upserts and
    removes are idempotent, so repeating the whole call is safe.
    """

    code = _errors.StatusCode.IO_ERROR

    def __init__(self, message, written_ids=(), failures=None):
        super().__init__(message)
        self.written_ids = list(written_ids)
        self.failures = dict(failures or {})

    def __reduce__(self):
        return (type(self), (self.message, self.written_ids, self.failures))
