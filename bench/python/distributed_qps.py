"""What fanning out over shards costs: single-query latency and batch QPS of
a sharded database on Dask (1, 2 and 4 shards) against one in-process
database holding the same rows with the same knobs.

Fashion-MNIST's 60,000 training images in an HNSW database (M 16), the
first --queries test images, ef 32; a LocalCluster of --workers worker
processes on this machine. A single query through the cluster pays one
scheduler round trip and one task per shard; a batch amortises both.
Ratios are the point; absolute numbers drift with the machine.

    ninja -C build python-package
    PYTHONPATH=build/python /usr/bin/python3 bench/python/distributed_qps.py
"""

import argparse
import gzip
import logging
import pathlib
import statistics
import tempfile
import time

import numpy as np
from distributed import Client, LocalCluster

import iqdb
from iqdb.distributed import ShardedDatabase

DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx_images(path):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32)


def measure(search, queries, single_queries, repeats):
    latencies = []
    for q in queries[:single_queries]:
        start = time.perf_counter()
        search(q)
        latencies.append(time.perf_counter() - start)
    batch = []
    for _ in range(repeats):
        start = time.perf_counter()
        search(queries)
        batch.append(time.perf_counter() - start)
    latencies.sort()
    return {"p50_ms": 1e3 * statistics.median(latencies),
            "p99_ms": 1e3 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "batch_qps": len(queries) / statistics.median(batch)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--single-queries", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ef", type=int, default=32)
    args = parser.parse_args()

    base = read_idx_images(DATA / "train-images-idx3-ubyte.gz")
    queries = read_idx_images(DATA / "t10k-images-idx3-ubyte.gz")[:args.queries]
    ids = np.arange(len(base))
    rows = []

    one = iqdb.open_in_memory(784, "l2", "hnsw", m=16)
    one.upsert(ids, base)
    truth = iqdb.open_in_memory(784, "l2")
    truth.upsert(ids, base)
    exact = truth.search(queries, k=10)[0]

    def recall(found):
        return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, exact)]))

    result = measure(lambda q: one.search(q, k=10, ef=args.ef), queries, args.single_queries, args.repeats)
    result["recall"] = recall(one.search(queries, k=10, ef=args.ef)[0])
    rows.append(("one database (in process)", result))

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client, \
            tempfile.TemporaryDirectory() as tmp:
        for shards in (1, 2, 4):
            db = ShardedDatabase.create(f"{tmp}/s{shards}", client, shards=shards, dim=784, metric="l2",
                                        index="hnsw", m=16, fsync="never")
            db.upsert(ids, base)
            result = measure(lambda q: db.search(q, k=10, ef=args.ef), queries, args.single_queries, args.repeats)
            result["recall"] = recall(db.search(queries, k=10, ef=args.ef)[0])
            rows.append((f"{shards} shard(s) on {args.workers} Dask workers", result))
            db.close()

    base_row = rows[0][1]
    print(f"Fashion-MNIST 60k, HNSW M=16, ef {args.ef}, {len(queries)} queries, simd {iqdb.simd_target()}")
    print("| setup | recall@10 | single query p50 | p99 | batch QPS | batch QPS vs one database |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['recall']:.4f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['batch_qps']:,.0f} "
              f"| {r['batch_qps'] / base_row['batch_qps']:.2f}x |")


if __name__ == "__main__":
    main()
