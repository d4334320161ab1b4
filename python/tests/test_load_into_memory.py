"""load_into_memory: a reopened database's snapshot copied into the handle's
own memory instead of mapped; same answers, reported by info()."""

import numpy as np
import pytest

import iqdb


def rows(n, dim=8, seed=11):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_copied_snapshot_answers_as_the_mapped_one(tmp_path):
    path = tmp_path / "l.iqdb"
    data = rows(500)
    with iqdb.open(path, dim=8, metric="l2", index="hnsw", fsync="never") as db:
        db.upsert(np.arange(500), data)
        db.flush()
        assert db.info()["load_into_memory"] is False
    queries = rows(20, seed=12)
    with iqdb.open(path) as db:
        assert db.info()["load_into_memory"] is False
        mapped_ids, mapped_distances, _ = db.search(queries, k=5)
    with iqdb.open(path, load_into_memory=True) as db:
        assert db.info()["load_into_memory"] is True
        ids, distances, _ = db.search(queries, k=5)
        np.testing.assert_array_equal(ids, mapped_ids)
        np.testing.assert_array_equal(distances, mapped_distances)
        db.upsert([500], data[:1] + 100.0)
    # Writes made on a copied handle are in the file.
    with iqdb.open(path, dim=8, metric="l2", load_into_memory=True) as db:
        assert db.info()["load_into_memory"] is True
        assert len(db) == 501
        np.testing.assert_array_equal(db.get(500).vector, data[0] + 100.0)


def test_in_memory_databases_report_false():
    with iqdb.open_in_memory(dim=4) as db:
        assert db.info()["load_into_memory"] is False


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_bad_values_are_refused(tmp_path, bad):
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open(tmp_path / "bad.iqdb", dim=4, load_into_memory=bad)
    assert not (tmp_path / "bad.iqdb").exists()
