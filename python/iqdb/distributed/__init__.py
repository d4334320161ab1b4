"""iqdb past one machine: a sharded database on Dask distributed.

    >>> from distributed import Client, LocalCluster
    >>> from iqdb.distributed import ShardedDatabase
    >>> client = Client(LocalCluster(n_workers=2))
    >>> db = ShardedDatabase.create("vectors.shards", client, shards=4, dim=784, metric="l2", index="hnsw")
    >>> db.upsert(ids, rows)                  # one task per shard, on its worker
    >>> ids, distances, counts = db.search(queries, k=10)

A sharded database is a directory: MANIFEST.json (format version, dim,
metric, index and storage options, shard count, the id -> shard rule) and
one ordinary iqdb database file per shard. Dask schedules the work and
restarts dead workers; a worker plugin opens each shard on exactly one
worker (by worker name), so database handles never travel: tasks carry
ids, rows and queries, results come back.
"""

from iqdb.distributed._client import ShardedDatabase
from iqdb.distributed._errors import PartialWriteError, ShardUnavailable
from iqdb.distributed._routing import RULE as ROUTING_RULE
from iqdb.distributed._routing import shard_of

__all__ = ["ShardedDatabase", "ShardUnavailable", "PartialWriteError", "shard_of", "ROUTING_RULE"]
