"""ShardedDatabase: one iqdb database spread over shards held by Dask workers."""

import math
import os
import time
import uuid

import numpy as np
from distributed import wait

import iqdb
from iqdb import _errors
from iqdb.distributed import _manifest, _routing, _worker
from iqdb.distributed._errors import PartialWriteError, ShardUnavailable

# Arguments above this size go to their workers by scatter, not inside the
# task, so the scheduler never carries rows or large query batches.
_INLINE_BYTES = 1 << 20
# How often a call looks for tasks stranded by a worker's death, and how
# many times one shard's task is submitted again.
_POLL_S = 0.5
_MAX_RETRIES = 5
# Failures that say the request was wrong, not that a shard could not answer.
_CALLER_ERRORS = (_errors.InvalidArgument, _errors.NotFound, _errors.Unsupported, _errors.ConfigMismatch)


class ShardedDatabase:
    """A database whose rows are spread over shards, each an ordinary iqdb file
    opened by exactly one Dask worker.

    Writes go to the shard that owns each id (one task per shard, in
    parallel); searches ask every shard for its top k on the shard's own
    worker and merge them. Every method may be called from many threads.
    There are no cross-shard transactions: a batch that one shard fails to
    write raises PartialWriteError naming the ids that were written.
    """

    def __init__(self, client, directory, manifest, placement, timeout):
        self._client = client
        self._directory = directory
        self._manifest = manifest
        self._placement = dict(placement)
        self._timeout = timeout
        self._key = os.path.realpath(directory)
        self._closed = False
        self._address_of = None

    # ---- opening -------------------------------------------------------

    @classmethod
    def create(cls, path, client, shards, dim, metric="cosine", index="flat", *, storage="f32", keep_f32=False,
               fsync="always", fsync_interval_ms=0, compression="none", compression_level=0, placement=None,
               timeout=None, **index_params):
        """Creates a sharded database in directory `path` and opens it.

        shards: how many shards (fixed for the life of the database).
        dim, metric, index, storage ... and the index knobs: as for
        iqdb.open(); every shard is opened with them. placement: shard ->
        worker name (a dict or a list); by default shards go round-robin
        over the workers' names in sorted order. timeout: seconds a call
        waits for its shards (None: no limit).
        """
        if isinstance(shards, bool) or not isinstance(shards, int) or shards <= 0:
            raise _errors.InvalidArgument(f"shards must be a positive int, got {shards!r}")
        options = dict(storage=storage, keep_f32=keep_f32, fsync=fsync, fsync_interval_ms=fsync_interval_ms,
                       compression=compression, compression_level=compression_level)
        manifest = _manifest.Manifest(dim=dim, metric=str(metric), index=index, shards=shards,
                                      index_params=dict(index_params), options=options)
        # The single database's own checks, on the client, before anything is written.
        iqdb.open_in_memory(dim, str(metric), index, storage=storage, keep_f32=keep_f32, **index_params).close()
        _manifest.write(os.fspath(path), manifest)
        return cls._start(client, os.fspath(path), manifest, placement, timeout)

    @classmethod
    def open(cls, path, client, dim=None, metric=None, *, placement=None, timeout=None):
        """Opens the sharded database in directory `path` (iqdb.NotFound if there is none).

        dim and metric, when given, must match the manifest (else
        iqdb.ConfigMismatch), as for a single database.
        """
        manifest = _manifest.read(os.fspath(path))
        if dim is not None and dim != manifest.dim:
            raise _errors.ConfigMismatch(f"{path}: holds dim {manifest.dim}, asked for {dim}")
        if metric is not None and str(metric) != manifest.metric:
            raise _errors.ConfigMismatch(f"{path}: holds metric {manifest.metric}, asked for {metric}")
        return cls._start(client, os.fspath(path), manifest, placement, timeout)

    @classmethod
    def _start(cls, client, directory, manifest, placement, timeout):
        names = sorted((info["name"] for info in client.scheduler_info()["workers"].values()), key=str)
        if not names:
            raise ShardUnavailable("the Dask cluster has no workers")
        if placement is None:
            placement = {shard: names[shard % len(names)] for shard in range(manifest.shards)}
        elif not isinstance(placement, dict):
            placement = dict(enumerate(placement))
        if sorted(placement) != list(range(manifest.shards)):
            raise _errors.InvalidArgument(f"placement must name a worker for each of shards 0..{manifest.shards - 1}")
        db = cls(client, directory, manifest, placement, timeout)
        client.register_worker_plugin(
            _worker.ShardPlugin(db._key, directory, manifest, placement),
            name=_worker.plugin_name(db._key))
        try:
            db._each_shard(_worker.size)  # every shard is open, or the reason it is not
        except BaseException:
            client.unregister_worker_plugin(_worker.plugin_name(db._key))
            raise
        return db

    # ---- properties ----------------------------------------------------

    @property
    def dim(self):
        return self._manifest.dim

    @property
    def metric(self):
        return self._manifest.metric

    @property
    def shards(self):
        return self._manifest.shards

    @property
    def placement(self):
        """shard -> the name of the worker that writes it."""
        return dict(self._placement)

    @property
    def closed(self):
        return self._closed

    def shard_of(self, id_):
        """The shard that holds `id_` (see iqdb.distributed._routing for the rule)."""
        return _routing.shard_of(id_, self.shards)

    # ---- running tasks -------------------------------------------------

    def _check_open(self):
        if self._closed:
            raise _errors.Closed("the sharded database is closed")

    def _call(self, calls):
        """Runs calls = {shard: (task, args)}, each on its shard's worker.

        Returns ({shard: result}, {shard: exception}). Tasks are pinned to
        the owner's current address, looked up by worker name (Dask itself
        resolves a name once, at submission, so a task waiting for a worker
        that died would wait for the dead address forever, and a name that
        is momentarily absent is refused). A task stranded that way, or
        whose owner is restarting, is submitted again once the owner is back
        (every task here is safe to repeat), its large arguments shipped
        again, since scattered data dies with its worker.
        """
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        shipped = {}
        retries = dict.fromkeys(calls, 0)

        def submit(shard):
            fn, args = calls[shard]
            address = self._addresses().get(self._placement[shard])
            if address is None:
                return None  # the owner is not in the cluster now: try again at the next poll
            args = [self._ship(a, address, shipped) for a in args]
            return self._client.submit(fn, self._key, shard, *args, workers=[address], allow_other_workers=False,
                                       pure=False, key=f"iqdb-{fn.__name__}-{shard}-{uuid.uuid4().hex}")

        futures = {shard: submit(shard) for shard in calls}
        while True:
            pending = [f for f in futures.values() if f is not None and f.status == "pending"]
            unsent = [shard for shard, f in futures.items() if f is None]
            if not pending and not unsent:
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            interval = _POLL_S if left is None else min(_POLL_S, left)
            if pending:
                try:
                    wait(pending, timeout=interval)
                except Exception:  # the interval passed: look for stranded tasks
                    pass
            else:
                time.sleep(interval)
            waiting = [f.key for f in futures.values() if f is not None and f.status == "pending"]
            stranded = set(self._client.run_on_scheduler(_stranded, keys=waiting)) if waiting else set()
            redo = [shard for shard, f in futures.items()
                    if f is None or ((f.key in stranded or f.status == "lost") and retries[shard] < _MAX_RETRIES)]
            if redo:
                self._addresses(refresh=True)
            for shard in redo:
                if futures[shard] is not None:
                    futures[shard].cancel()
                    retries[shard] += 1
                    shipped.clear()
                futures[shard] = submit(shard)
        done, failed = {}, {}
        for shard, future in futures.items():
            if future is not None and future.status == "finished":
                done[shard] = future.result()
            elif future is not None and future.status == "error":
                failed[shard] = future.exception()
            else:
                if future is not None:
                    future.cancel()
                failed[shard] = ShardUnavailable(
                    f"shard {shard} did not answer within {self._timeout} s (worker {self._placement[shard]!r})",
                    shards=[shard])
        return done, failed

    def _addresses(self, refresh=False):
        """worker name -> address, as the scheduler last told us."""
        if refresh or self._address_of is None:
            self._address_of = self._client.run_on_scheduler(_worker_addresses)
        return self._address_of

    def _ship(self, value, owner, shipped):
        """`value`, or when it is large a future of it already on worker `owner` (once per call)."""
        if getattr(value, "nbytes", 0) <= _INLINE_BYTES:
            return value
        key = (id(value), owner)
        if key not in shipped:
            shipped[key] = self._client.scatter(value, workers=[owner], hash=False)
        return shipped[key]

    @staticmethod
    def _raise_for(failed):
        """Raises for the failed shards of one call.

        A mistake in the request (every shard answered InvalidArgument, say)
        is raised as the shards raised it; anything else means shards could
        not answer, raised as ShardUnavailable naming them, the cause chained.
        """
        shards = sorted(failed)
        errors = [failed[s] for s in shards]
        if all(isinstance(e, _CALLER_ERRORS) for e in errors):
            raise errors[0]
        reasons = "; ".join(f"shard {s}: {failed[s]!r}" for s in shards)
        raise ShardUnavailable(f"no answer from shard(s) {shards}: {reasons}", shards=shards) from errors[0]

    def _each_shard(self, fn, *args):
        self._check_open()
        done, failed = self._call({s: (fn, args) for s in range(self.shards)})
        if failed:
            self._raise_for(failed)
        return [done[s] for s in range(self.shards)]

    # ---- validation on the client ----------------------------------------

    def _rows(self, vectors, one):
        try:
            rows = np.asarray(vectors)
        except Exception as e:
            raise _errors.InvalidArgument(f"vectors are not an array: {e}") from None
        if rows.dtype.kind not in "biuf":
            raise _errors.InvalidArgument(f"vectors must be numeric, got dtype {rows.dtype}")
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        if one:
            if rows.ndim != 1:
                raise _errors.InvalidArgument(f"one id takes a 1-D vector, got shape {rows.shape}")
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != self.dim:
            raise _errors.InvalidArgument(f"vectors have shape {rows.shape}; this database holds dim {self.dim}")
        if not np.isfinite(rows).all():
            raise _errors.InvalidArgument("vectors hold NaN or Inf")
        return rows

    @staticmethod
    def _ids(ids):
        """(list-or-array of ids, whether one scalar id was given)."""
        if isinstance(ids, (int, np.integer, bytes, bytearray, str)) and not isinstance(ids, bool):
            return [ids], True
        if isinstance(ids, np.ndarray):
            if ids.ndim != 1:
                raise _errors.InvalidArgument(f"ids must be 1-D, got shape {ids.shape}")
            if ids.dtype.kind in "iu":
                return ids, False
            return list(ids), False
        try:
            return list(ids), False
        except TypeError:
            raise _errors.InvalidArgument(f"ids must be an id or a sequence of ids, not {type(ids).__name__}") from None

    def _route(self, ids):
        try:
            return _routing.shards_of(ids, self.shards)
        except (TypeError, ValueError) as e:
            raise _errors.InvalidArgument(str(e)) from None

    @staticmethod
    def _check_metadata(metadata, n):
        if metadata is None:
            return None
        if isinstance(metadata, dict):
            metadata = [metadata]
        metadata = list(metadata)
        if len(metadata) != n:
            raise _errors.InvalidArgument(f"{len(metadata)} metadata entries for {n} ids")
        for entry in metadata:
            if entry is None:
                continue
            if not isinstance(entry, dict):
                raise _errors.InvalidArgument(f"metadata is a dict or None, not {type(entry).__name__}")
            for field, value in entry.items():
                if not isinstance(field, str):
                    raise _errors.InvalidArgument(f"metadata field names are str, got {field!r}")
                if value is not None and not isinstance(value, (bool, int, float, str)):
                    raise _errors.InvalidArgument(
                        f"metadata values are None, bool, int, float or str; {field!r} holds {type(value).__name__}")
                if isinstance(value, int) and not isinstance(value, bool) and not -(1 << 63) <= value < 1 << 63:
                    raise _errors.InvalidArgument(f"metadata integer {field!r} = {value} does not fit in 64 bits")
                if isinstance(value, float) and not math.isfinite(value):
                    raise _errors.InvalidArgument(f"metadata number {field!r} is not finite")
        return metadata

    @staticmethod
    def _check_filter(filter, n_queries, one_row):
        def parse(f):
            if f is None or isinstance(f, iqdb.Filter):
                return f
            if isinstance(f, str):
                iqdb.Filter.parse(f)  # raises InvalidArgument for bad text
                return f
            raise _errors.InvalidArgument(f"a filter is text or an iqdb.Filter, not {type(f).__name__}")

        if isinstance(filter, (list, tuple)):
            if one_row:
                raise _errors.InvalidArgument("a list of filters needs a 2-D batch of queries")
            if len(filter) != n_queries:
                raise _errors.InvalidArgument(f"{len(filter)} filters for {n_queries} queries")
            return [parse(f) for f in filter]
        return parse(filter)

    # ---- writes ----------------------------------------------------------

    def _by_shard(self, ids):
        """{shard: (positions in ids, those ids)} for every shard that owns one of `ids`."""
        owners = self._route(ids)
        parts = {}
        for shard in np.unique(owners):
            index = np.flatnonzero(owners == shard)
            parts[int(shard)] = (index, ids[index] if isinstance(ids, np.ndarray) else [ids[i] for i in index])
        return parts

    def _write(self, calls, members, what):
        """Runs write calls {shard: (task, args)}; raises PartialWriteError when only some shards wrote."""
        done, failed = self._call(calls)
        if failed:
            if not done:
                self._raise_for(failed)
            written = [i for s in sorted(done) for i in list(members[s])]
            raise PartialWriteError(
                f"shards {sorted(done)} {what}, shards {sorted(failed)} did not: "
                + "; ".join(f"shard {s}: {failed[s]!r}" for s in sorted(failed)),
                written_ids=written, failures=failed)
        return done

    def upsert(self, ids, vectors, metadata=None):
        """Inserts or replaces records, each on the shard that owns its id.

        Arguments as for iqdb.Database.upsert. Everything is checked here
        before any shard writes. Returns once every shard has written (and
        synced, under the default fsync policy) its rows.
        """
        self._check_open()
        ids, one = self._ids(ids)
        rows = self._rows(vectors, one)
        if rows.shape[0] != len(ids):
            raise _errors.InvalidArgument(f"{len(ids)} ids for {rows.shape[0]} vectors")
        metadata = self._check_metadata(metadata, len(ids))
        parts = self._by_shard(ids)
        calls = {shard: (_worker.upsert, (part, rows[index], None if metadata is None else
                                          [metadata[i] for i in index]))
                 for shard, (index, part) in parts.items()}
        self._write(calls, {shard: part for shard, (_, part) in parts.items()}, "wrote their rows")

    def remove(self, ids):
        """Removes one id (returns True if it was present) or a sequence (returns how many were)."""
        self._check_open()
        ids, one = self._ids(ids)
        parts = self._by_shard(ids)
        calls = {shard: (_worker.remove, (part[0] if one else part,)) for shard, (_, part) in parts.items()}
        done = self._write(calls, {shard: part for shard, (_, part) in parts.items()}, "removed their ids")
        if one:
            return bool(next(iter(done.values())))
        return int(sum(done.values()))

    # ---- reads -----------------------------------------------------------

    def _one(self, fn, id_):
        self._check_open()
        shard = int(self._route([id_])[0])
        done, failed = self._call({shard: (fn, (id_,))})
        if failed:
            self._raise_for(failed)
        return done[shard]

    def get(self, id_):
        """The record under `id_` as iqdb.Record, or None when absent."""
        return self._one(_worker.get, id_)

    def __contains__(self, id_):
        return self._one(_worker.contains, id_)

    def __len__(self):
        return int(sum(self._each_shard(_worker.size)))

    def search(self, queries, k=10, *, filter=None, ef=None, n_probes=None, threads=None):
        """The k nearest records of each query over every shard, nearest first.

        Arguments and results as for iqdb.Database.search: a 1-D query gives
        (ids, distances, count), an (n, dim) batch gives (n, k) arrays and
        n counts, short rows padded with id -1 (None in object arrays) and
        distance inf. Each shard answers on its own worker; the merge keeps
        a shard's own order, and equal distances from different shards are
        ordered by shard number. Raises ShardUnavailable rather than return a
        merge that lacks a shard.
        """
        self._check_open()
        one_row = np.ndim(queries) == 1
        rows = self._rows(queries, one_row)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
            raise _errors.InvalidArgument(f"k must be a positive int, got {k!r}")
        k = int(k)
        filter = self._check_filter(filter, rows.shape[0], one_row)
        done, failed = self._call({s: (_worker.search, (rows, k, filter, ef, n_probes, threads))
                                   for s in range(self.shards)})
        if failed:
            self._raise_for(failed)
        for shard, result in done.items():
            if result[3] != self._placement[shard]:
                raise ShardUnavailable(f"shard {shard} answered from worker {result[3]!r}, "
                                       f"not its owner {self._placement[shard]!r}", shards=[shard])
        ids, distances, counts = _merge([done[s] for s in range(self.shards)], k)
        if one_row:
            return ids[0], distances[0], int(counts[0])
        return ids, distances, counts

    # ---- maintenance -------------------------------------------------------

    def flush(self):
        """Every shard writes a snapshot of what it holds."""
        self._each_shard(_worker.flush)

    def optimize(self):
        """Every shard optimises its index (retraining IVF, repairing the HNSW graph)."""
        self._each_shard(_worker.optimize)

    def info(self):
        """The manifest's shape and, per shard, its worker and iqdb.Database.info()."""
        per_shard = self._each_shard(_worker.info)
        return {"path": self._directory, "dim": self.dim, "metric": self.metric, "index": self._manifest.index,
                "shards": self.shards, "routing": self._manifest.routing, "size": sum(s["size"] for s in per_shard),
                "per_shard": per_shard}

    def close(self):
        """Flushes every shard and closes them on their workers; later calls raise iqdb.Closed."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._client.unregister_worker_plugin(_worker.plugin_name(self._key))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        raise TypeError("a ShardedDatabase cannot be pickled: open it again with ShardedDatabase.open")

    def __repr__(self):
        state = "closed" if self._closed else f"{self.shards} shards"
        return f"<iqdb.distributed.ShardedDatabase {self._directory!r} dim={self.dim} {self.metric} {state}>"


def _merge(results, k):
    """The global top k of per-shard (ids, distances, counts, worker) results."""
    ids = [r[0] for r in results]
    distances = np.concatenate([np.asarray(r[1], dtype=np.float32).reshape(-1, k) for r in results], axis=1)
    counts = [np.asarray(r[2]).reshape(-1) for r in results]
    n = distances.shape[0]
    as_objects = any(np.asarray(i).dtype == object for i in ids)
    all_ids = np.concatenate([np.asarray(i, dtype=object if as_objects else np.int64).reshape(n, k) for i in ids],
                             axis=1)
    slot = np.arange(k)
    real = np.concatenate([slot[None, :] < c[:, None] for c in counts], axis=1)
    # Real hits before padding, then by distance; lexsort is stable, so ties
    # keep shard order and each shard's own order.
    order = np.lexsort((distances, ~real), axis=1)[:, :k]
    out_ids = np.take_along_axis(all_ids, order, axis=1)
    out_distances = np.take_along_axis(distances, order, axis=1)
    out_counts = np.minimum(sum(counts), k).astype(np.int64)
    empty = slot[None, :] >= out_counts[:, None]
    out_ids[empty] = None if as_objects else -1
    out_distances[empty] = np.inf
    return out_ids, out_distances, out_counts


def _stranded(dask_scheduler, keys):
    """The tasks among `keys` that wait for a worker address no longer in the cluster (runs on the scheduler)."""
    out = []
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        if ts is not None and ts.state == "no-worker":
            if not any(address in dask_scheduler.workers for address in (ts.worker_restrictions or ())):
                out.append(key)
    return out


def _worker_addresses(dask_scheduler):
    """Every worker's name -> address (runs on the scheduler)."""
    return {ws.name: address for address, ws in dask_scheduler.workers.items()}
