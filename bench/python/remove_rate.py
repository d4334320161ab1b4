"""How fast an HNSW database deletes, one id per call and 100 per call.

Fashion-MNIST's first 15,000 and all 60,000 training images in an HNSW
database (M 16); every 20th id is then removed, either one `remove(id)` per
id or `remove(ids)` with 100 ids at a time (one remove_batch write each).
A delete finds every link into the removed nodes with one pass over the
graph's lists, so the one-at-a-time rate falls as the graph grows, and a
batch pays that pass once. Absolute numbers drift with the machine.

    ninja -C build python-package
    PYTHONPATH=build/python /usr/bin/python3 bench/python/remove_rate.py
"""

import argparse
import gzip
import os
import time

import numpy as np

import iqdb


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    with gzip.open(os.path.join(args.data, "train-images-idx3-ubyte.gz")) as f:
        data = f.read()
    train = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
    print(f"iqdb {iqdb.__version__}, SIMD {iqdb.simd_target()}")
    for per_call in (1, 100):
        for n in (15000, 60000):
            with iqdb.open_in_memory(dim=784, metric="l2", index="hnsw", m=16) as db:
                db.upsert(np.arange(n), train[:n])
                ids = np.arange(0, n, 20)
                start = time.perf_counter()
                if per_call == 1:
                    for i in ids:
                        db.remove(int(i))
                else:
                    for chunk in np.array_split(ids, len(ids) // per_call):
                        db.remove(chunk)
                took = time.perf_counter() - start
                print(f"{n:6d} rows: {len(ids)} deletes, {per_call:3d} per call: "
                      f"{len(ids) / took:7.0f}/s")


if __name__ == "__main__":
    main()
