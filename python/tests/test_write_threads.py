"""write_threads: the cap on threads doing the index work of writes, set at
open (create, reopen, in memory) and reported by info()."""

import numpy as np
import pytest

import iqdb


def rows(n, dim=8, seed=7):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_default_resolves_to_a_thread_count():
    with iqdb.open_in_memory(dim=8, metric="l2", index="hnsw") as db:
        assert db.info()["write_threads"] >= 1
    # 0 asked explicitly is the same default.
    with iqdb.open_in_memory(dim=8, metric="l2", index="hnsw") as a, \
            iqdb.open_in_memory(dim=8, metric="l2", index="hnsw", write_threads=0) as b:
        assert a.info()["write_threads"] == b.info()["write_threads"]


def test_in_memory_cap_is_in_force_and_writes_land():
    data = rows(300)
    with iqdb.open_in_memory(dim=8, metric="l2", index="hnsw", write_threads=1) as db:
        assert db.info()["write_threads"] == 1
        db.upsert(np.arange(300), data)
        db.optimize()
        assert len(db) == 300
        # Each row's own vector finds it (exact search: no dependence on the graph).
        ids, distances, count = db.search(data[:5], k=1, exact=True)
        assert list(ids[:, 0]) == [0, 1, 2, 3, 4]


def test_file_create_and_reopen_take_their_own_value(tmp_path):
    path = tmp_path / "w.iqdb"
    data = rows(100)
    with iqdb.open(path, dim=8, metric="l2", index="ivf", write_threads=1, fsync="never") as db:
        assert db.info()["write_threads"] == 1
        db.upsert(np.arange(100), data)
    # Not stored in the file: a reopen without it gets the default.
    with iqdb.open(path) as db:
        default = db.info()["write_threads"]
        assert default >= 1
        assert len(db) == 100
    with iqdb.open(path, write_threads=1) as db:
        assert db.info()["write_threads"] == 1
        db.upsert([100], data[:1])
        assert len(db) == 101
    with iqdb.open(path, dim=8, metric="l2", write_threads=1) as db:
        assert db.info()["write_threads"] == 1


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True, None])
def test_bad_values_are_refused(tmp_path, bad):
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open_in_memory(dim=4, write_threads=bad)
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open(tmp_path / "bad.iqdb", dim=4, write_threads=bad)
    assert not (tmp_path / "bad.iqdb").exists()
