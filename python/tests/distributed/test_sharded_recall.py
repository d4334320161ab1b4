"""On Fashion-MNIST, four shards find what one database with the same knobs finds."""

import numpy as np
import pytest

import iqdb
from iqdb.distributed import ShardedDatabase

from conftest import read_idx_images

QUERIES = 500


@pytest.fixture(scope="module")
def fashion_mnist():
    base = read_idx_images("train-images-idx3-ubyte.gz")
    queries = read_idx_images("t10k-images-idx3-ubyte.gz", QUERIES)
    exact = iqdb.open_in_memory(784, "l2")
    exact.upsert(np.arange(len(base)), base)
    truth = exact.search(queries, k=10)[0]
    exact.close()
    return base, queries, truth


def recall_at_10(found, truth):
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))


@pytest.mark.parametrize("index, knobs, search", [
    ("hnsw", {}, {"ef": 10}),
    ("ivf", {"n_clusters": 128, "pq": "8bit", "pq_subvectors": 196, "refine_factor": 2}, {"n_probes": 2}),
])
def test_four_shards_recall_at_least_one_database(tmp_path, client, fashion_mnist, index, knobs, search):
    base, queries, truth = fashion_mnist
    ids = np.arange(len(base))
    single = iqdb.open_in_memory(784, "l2", index, **knobs)
    single.upsert(ids, base)
    single_recall = recall_at_10(single.search(queries, k=10, **search)[0], truth)
    single.close()
    with ShardedDatabase.create(tmp_path / index, client, shards=4, dim=784, metric="l2", index=index,
                                fsync="never", **knobs) as sharded:
        sharded.upsert(ids, base)
        sharded_recall = recall_at_10(sharded.search(queries, k=10, **search)[0], truth)
    print(f"{index} recall@10: one database {single_recall:.4f}, four shards {sharded_recall:.4f}")
    # Each shard returns its own top 10 at the same knobs, so the merge
    # sees four times the candidates: its recall may be higher, never lower
    # by more than the noise of 500 queries' differently built graphs/lists.
    assert sharded_recall >= single_recall - 0.005
