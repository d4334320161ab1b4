"""iqdb: an embedded vector database, from Python.

    >>> import numpy as np, iqdb
    >>> with iqdb.open_in_memory(dim=3, metric="l2") as db:
    ...     db.upsert([1, 2], np.array([[0, 0, 0], [1, 1, 1]], dtype=np.float32))
    ...     ids, distances, count = db.search(np.zeros(3, dtype=np.float32), k=5)

Vectors are numpy arrays: float32 C-contiguous input is read in place; any
other numeric dtype or layout is converted to a float32 copy first (float64
values are rounded to float32). A 1-D array is one row, a 2-D array is rows.
Failures raise iqdb.Error subclasses (InvalidArgument, Corruption, Busy, ...)
carrying the library's status code.
"""

import os

from iqdb import _errors
from iqdb._errors import (Busy, Closed, ConfigMismatch, Corruption, Error, InvalidArgument, IOError,
                          NotFound, ResourceExhausted, StatusCode, Unsupported)
from iqdb._records import Record
from iqdb._iqdb import Database, Filter, __version__, simd_target
from iqdb import _iqdb

__all__ = [
    "open", "open_in_memory", "Database", "Filter", "Record", "Error", "InvalidArgument", "NotFound",
    "Corruption", "IOError", "ConfigMismatch", "Busy", "Unsupported", "ResourceExhausted", "Closed",
    "StatusCode", "simd_target", "__version__",
]

_INDEX_PARAMS = {
    "flat": set(),
    "hnsw": {"m", "ef_construction", "ef_search", "seed", "quantized_walk"},
    "ivf": {"n_clusters", "n_probes", "training_sample_size", "pq", "pq_subvectors", "refine_factor", "seed"},
}


def _check_write_threads(write_threads):
    if isinstance(write_threads, bool) or not isinstance(write_threads, int) or write_threads < 0:
        raise InvalidArgument(f"write_threads must be an int >= 0, got {write_threads!r}")
    return write_threads


def _open(path, dim, metric, index, storage, keep_f32, fsync, fsync_interval_ms, compression,
          compression_level, cache_capacity, index_params, indexed_fields=None, write_threads=0):
    if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
        raise InvalidArgument(f"dim must be a positive int, got {dim!r}")
    _check_write_threads(write_threads)
    if index not in _INDEX_PARAMS:
        raise InvalidArgument(f"index is 'flat', 'hnsw' or 'ivf', got {index!r}")
    unknown = set(index_params) - _INDEX_PARAMS[index]
    if unknown:
        allowed = ", ".join(sorted(_INDEX_PARAMS[index])) or "none"
        raise InvalidArgument(f"unknown {index} parameter(s) {', '.join(sorted(unknown))} (allowed: {allowed})")
    if indexed_fields is None:
        indexed_fields = []
    if isinstance(indexed_fields, str) or not all(isinstance(f, str) for f in indexed_fields):
        raise InvalidArgument(f"indexed_fields is a list of field names, got {indexed_fields!r}")
    return _iqdb._open(path, dim, str(metric), index, dict(index_params), str(storage), bool(keep_f32),
                       str(fsync), int(fsync_interval_ms), str(compression), int(compression_level),
                       int(cache_capacity), list(indexed_fields), write_threads)


def open(path, dim=None, metric="cosine", index="flat", *, read_only=False, storage="f32", keep_f32=False,
         fsync="always", fsync_interval_ms=0, compression="none", compression_level=0, cache_capacity=0,
         indexed_fields=None, write_threads=0, **index_params):  # noqa: A001 - iqdb.open, like sqlite3.connect or io.open
    """Open the database file at `path`.

    Without dim: open an existing database, taking dim, metric, index and
    storage from the file (iqdb.NotFound when there is none). With
    read_only=True any number of processes may hold it at once (a shared
    lock); every write raises iqdb.Unsupported, and a writer elsewhere makes
    the open raise iqdb.Busy (and the other way round).

    With dim: create the database when absent, else open it. dim, metric:
    the shape of the vectors. metric is "cosine", "dot", "l2", "l1" or
    "hamming"; on reopen both must match what the file holds (else
    iqdb.ConfigMismatch), and the stored index wins.
    index: "flat" (exact), "hnsw" or "ivf"; its knobs as keywords:
    hnsw: m, ef_construction, ef_search, seed, quantized_walk;
    ivf: n_clusters, n_probes, training_sample_size, pq ("none", "8bit",
    "4bit"), pq_subvectors, refine_factor, seed.
    storage: "f32", "f16", "bf16", "sq8" or "u8" (keep_f32 keeps exact rows
    beside a lossy type). fsync: "always" (default), "periodic" (with
    fsync_interval_ms) or "never". compression: "none", "zstd" or "lz4".
    cache_capacity > 0 adds a result cache of that many entries.
    indexed_fields: the metadata fields filters are answered from by set
    algebra (a list of names); None (default): every field with at most
    4,096 distinct values. Reopening with another list rebuilds that index;
    opening without dim keeps the file's.
    write_threads: at most this many threads do the index work of writes
    and optimize() at once; 0 (default): every hardware thread, the fastest
    bulk load. A service that searches while it writes sets one fewer than
    its hardware threads, so searches keep a core. Not stored in the file;
    info()["write_threads"] reports the value in force.

    Raises iqdb.Busy when another process has the file open for writing.
    """
    if dim is None or read_only:
        if indexed_fields is not None:
            raise InvalidArgument("indexed_fields is kept in the file; pass it only with dim")
        if index_params:
            raise InvalidArgument("index knobs are stored in the file; pass them only when creating (with dim)")
        handle = _iqdb._open_existing(os.fspath(path), bool(read_only), str(fsync), int(fsync_interval_ms),
                                      int(cache_capacity), _check_write_threads(write_threads))
        if dim is not None and dim != handle.dim:
            handle.close()
            raise ConfigMismatch(f"{os.fspath(path)} holds dim {handle.dim}, asked for {dim}")
        return handle
    return _open(os.fspath(path), dim, metric, index, storage, keep_f32, fsync, fsync_interval_ms, compression,
                 compression_level, cache_capacity, index_params, indexed_fields, write_threads)


def open_in_memory(dim, metric="cosine", index="flat", *, storage="f32", keep_f32=False, cache_capacity=0,
                   indexed_fields=None, write_threads=0, **index_params):
    """A database that lives as long as its handle; arguments as for iqdb.open()."""
    return _open(None, dim, metric, index, storage, keep_f32, "always", 0, "none", 0, cache_capacity,
                 index_params, indexed_fields, write_threads)
