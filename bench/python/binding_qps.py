"""Queries per second through the Python package against the C++ library on
the same index: the binding's cost per call, and batch throughput by thread
count.

Builds an HNSW database (M 16, ef_construction 200) over Fashion-MNIST's
60,000 training images from Python, then on the first --queries test images:
  - C++: `iqdb bench` (one thread, one query at a time) at the same ef;
  - Python: db.search(q, k, ef=...) one query at a time in a loop;
  - Python: db.search(all queries, k, ef=..., threads=1) and threads=2.
Ratios are the point (both sides run in this process's machine state at the
same time); absolute numbers drift with the machine.

    ninja -C build python-package tools/iqdb
    PYTHONPATH=build/python /usr/bin/python3 bench/python/binding_qps.py
"""

import argparse
import gzip
import json
import os
import pathlib
import subprocess
import tempfile
import time

import numpy as np

import iqdb

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx_images(path):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32)


def best_of(repeats, fn):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", type=int, default=64)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iqdb", default=str(ROOT / "build" / "tools" / "iqdb"))
    args = parser.parse_args()

    train = read_idx_images(DATA / "train-images-idx3-ubyte.gz")
    queries = np.ascontiguousarray(read_idx_images(DATA / "t10k-images-idx3-ubyte.gz")[:args.queries])
    work = pathlib.Path(tempfile.mkdtemp(prefix="iqdb-binding-qps-"))
    path = work / "fashion-mnist.iqdb"
    np.save(work / "queries.npy", queries)

    with iqdb.open(path, dim=784, metric="l2", index="hnsw", m=16, ef_construction=200, fsync="never") as db:
        db.upsert(np.arange(len(train)), train)
        db.flush()

    cpp = subprocess.run([args.iqdb, "bench", str(path), "--queries", str(work / "queries.npy"), "--limit",
                          str(args.queries), "--ef", str(args.ef), "-k", str(args.k), "--json"],
                         check=True, capture_output=True, text=True).stdout
    points = [json.loads(line) for line in cpp.splitlines() if line.startswith("{")]
    cpp_qps = next(p["qps"] for p in points if "qps" in p)

    with iqdb.open(path, dim=784, metric="l2") as db:
        def singles():
            for q in queries:
                db.search(q, args.k, ef=args.ef)

        singles()  # warm the pages and caches
        py_qps = len(queries) / best_of(args.repeats, singles)
        batch = {t: len(queries) / best_of(args.repeats, lambda t=t: db.search(queries, args.k, ef=args.ef,
                                                                                   threads=t))
                 for t in (1, 2)}

    print(f"single query, one thread, ef {args.ef}, k {args.k}, {len(queries)} queries, {os.cpu_count()} cores")
    print(f"  C++ (iqdb bench):       {cpp_qps:10.0f} QPS")
    print(f"  Python db.search(q):    {py_qps:10.0f} QPS  ({py_qps / cpp_qps:.2f}x C++; "
          f"{1e6 / py_qps - 1e6 / cpp_qps:.1f} us more per call)")
    print("batch db.search(queries)")
    print(f"  threads=1:              {batch[1]:10.0f} QPS")
    print(f"  threads=2:              {batch[2]:10.0f} QPS  ({batch[2] / batch[1]:.2f}x threads=1)")


if __name__ == "__main__":
    main()
