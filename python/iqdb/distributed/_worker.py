"""What runs on the Dask workers: the plugin that owns shards, and the tasks.

Each worker keeps its open shards on the worker object itself; tasks carry
only a database key, a shard number and their arguments (ids, rows,
queries), never a database handle, so nothing large or unpicklable travels
through the scheduler.
"""

import os

from distributed import WorkerPlugin, get_worker

import iqdb
from iqdb.distributed._errors import ShardUnavailable

_ATTRIBUTE = "_iqdb_shards"


def plugin_name(key):
    return f"iqdb-shards:{key}"


class ShardPlugin(WorkerPlugin):
    """Opens, on each worker, the shards the placement gives that worker's name.

    Registered with the scheduler, so it also runs on workers that join or
    are restarted by their nanny later: a restarted worker reopens its shards
    from snapshot and log. Each shard is opened by exactly one worker.
    """

    def __init__(self, key, directory, manifest, placement):
        self.name = plugin_name(key)
        self.key = key
        self.directory = directory
        self.manifest = manifest
        self.placement = dict(placement)

    def setup(self, worker):
        shards = getattr(worker, _ATTRIBUTE, None)
        if shards is None:
            shards = {}
            setattr(worker, _ATTRIBUTE, shards)
        opened = shards.setdefault(self.key, {})
        for shard, owner in self.placement.items():
            if owner != worker.name:
                continue
            path = self.manifest.shard_file(self.directory, shard)
            try:
                opened[shard] = iqdb.open(path, **self.manifest.open_arguments())
            except Exception as e:  # kept and raised by every task that needs this shard
                opened[shard] = ShardUnavailable(f"shard {shard} failed to open on worker {worker.name}: {e}",
                                                 shards=[shard])

    def teardown(self, worker):
        opened = getattr(worker, _ATTRIBUTE, {}).pop(self.key, {})
        for db in opened.values():
            if isinstance(db, iqdb.Database):
                db.close()


def _shard(key, shard):
    worker = get_worker()
    db = getattr(worker, _ATTRIBUTE, {}).get(key, {}).get(shard)
    if db is None:
        raise ShardUnavailable(f"shard {shard} is not open on worker {worker.name}", shards=[shard])
    if isinstance(db, Exception):
        raise db
    return db


def upsert(key, shard, ids, vectors, metadata):
    _shard(key, shard).upsert(ids, vectors, metadata)
    return len(ids)


def get(key, shard, id_):
    return _shard(key, shard).get(id_)


def contains(key, shard, id_):
    return id_ in _shard(key, shard)


def remove(key, shard, ids):
    return _shard(key, shard).remove(ids)


def search(key, shard, queries, k, filter, ef, n_probes, threads):
    ids, distances, counts = _shard(key, shard).search(queries, k, filter=filter, ef=ef, n_probes=n_probes,
                                                       threads=threads)
    return ids, distances, counts, get_worker().name


def size(key, shard):
    return len(_shard(key, shard))


def flush(key, shard):
    _shard(key, shard).flush()


def optimize(key, shard):
    _shard(key, shard).optimize()


def info(key, shard):
    out = dict(_shard(key, shard).info())
    out["worker"] = get_worker().name
    out["pid"] = os.getpid()
    return out
