"""What replacing rows costs an HNSW database, and what it leaves behind.

Fashion-MNIST's 60,000 training images in an HNSW database (M 16); then
9,000 of them (every sixth id) are upserted again, one call each, with the
first 9,000 test images, so every replaced row moves to another image.
Reported:
  - replaces per second, against inserting the same 9,000 images as new ids
    into a database of the other 51,000 rows, one call each;
  - recall@10 of the replaced database at several ef, against a database
    built in one batch on the final rows (the last 1,000 test images as
    queries, exact neighbours from the flat path).
Ratios are the point; absolute numbers drift with the machine.

    ninja -C build python-package
    PYTHONPATH=build/python /usr/bin/python3 bench/python/replace_moved.py
"""

import argparse
import gzip
import os
import time

import numpy as np

import iqdb


def images(path):
    with gzip.open(path) as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, 784).astype(np.float32)


def recall(db, queries, truth, ef):
    got = db.search(queries, k=10, ef=ef)[0]
    return np.mean([len(set(got[i]) & set(truth[i])) / 10 for i in range(len(queries))])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    train = images(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    test = images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
    new_rows, queries = test[:9000], test[9000:]
    ids = np.arange(0, 54000, 6)
    final = train.copy()
    final[ids] = new_rows
    kept = np.setdiff1d(np.arange(60000), ids)
    print(f"iqdb {iqdb.__version__}, SIMD {iqdb.simd_target()}")

    def hnsw():
        return iqdb.open_in_memory(dim=784, metric="l2", index="hnsw", m=16)

    with hnsw() as db, hnsw() as fresh, hnsw() as grown:
        db.upsert(np.arange(60000), train)
        start = time.perf_counter()
        for i, row in zip(ids, new_rows):
            db.upsert(int(i), row)
        replace_s = time.perf_counter() - start
        grown.upsert(kept, train[kept])
        start = time.perf_counter()
        for i, row in zip(ids, new_rows):
            grown.upsert(int(i) + 100000, row)
        insert_s = time.perf_counter() - start
        print(f"9000 replaces: {9000 / replace_s:.0f}/s; 9000 inserts: {9000 / insert_s:.0f}/s "
              f"(replace / insert {insert_s / replace_s:.2f})")
        fresh.upsert(np.arange(60000), final)
        truth = fresh.search(queries, k=10, exact=True)[0]
        for ef in (10, 16, 32, 64):
            a, b = recall(db, queries, truth, ef), recall(fresh, queries, truth, ef)
            print(f"ef {ef:3d}: recall@10 replaced {a:.4f}, built on the final rows {b:.4f} "
                  f"(difference {a - b:+.4f})")


if __name__ == "__main__":
    main()
