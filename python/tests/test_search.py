"""Searching: result shapes, padding of short results, filters in every form, knobs."""

import pickle

import numpy as np
import pytest

import iqdb


def test_one_query_gives_k_slots_and_a_count(line_db):
    ids, distances, count = line_db.search(np.array([0, 0], dtype=np.float32), k=3)
    assert ids.shape == (3,) and distances.shape == (3,)
    assert ids.dtype == np.int64 and distances.dtype == np.float32
    assert count == 3
    assert ids.tolist() == [100, 101, 102]
    assert distances.tolist() == [0.0, 1.0, 2.0]


def test_short_results_are_padded_not_raised(line_db):
    # The filter matches 5 rows and k = 8: three empty slots per row.
    ids, distances, counts = line_db.search(np.zeros((2, 2)), k=8, filter="kind = 'even'")
    assert ids.shape == (2, 8) and distances.shape == (2, 8) and counts.tolist() == [5, 5]
    assert ids[0, :5].tolist() == [100, 102, 104, 106, 108]
    assert (ids[:, 5:] == -1).all() and np.isinf(distances[:, 5:]).all()
    # More than the database holds.
    ids, distances, count = line_db.search([9, 0], k=15)
    assert count == 10 and (ids[10:] == -1).all() and np.isinf(distances[10:]).all()
    # Nothing matches.
    ids, distances, count = line_db.search([9, 0], k=2, filter="kind = 'none'")
    assert count == 0 and ids.tolist() == [-1, -1]


def test_filter_text_builders_and_operators_agree(line_db):
    text = "kind = 'odd' and x >= 5"
    built = iqdb.Filter.and_(iqdb.Filter.eq("kind", "odd"), iqdb.Filter.ge("x", 5))
    combined = iqdb.Filter.eq("kind", "odd") & ~iqdb.Filter.lt("x", 5)
    answers = [line_db.search([0, 0], k=10, filter=f)[0].tolist() for f in (text, built, combined)]
    assert answers[0] == answers[1] == answers[2] == [105, 107, 109, -1, -1, -1, -1, -1, -1, -1]
    in_list = iqdb.Filter.in_("x", [1, 3]) | iqdb.Filter.eq("x", 9)
    assert line_db.search([0, 0], k=3, filter=in_list)[0].tolist() == [101, 103, 109]


def test_one_filter_per_query_in_a_batch(line_db):
    queries = np.array([[0, 0], [0, 0], [9, 0]], dtype=np.float32)
    ids, _, counts = line_db.search(queries, k=2, filter=["kind = 'odd'", None, iqdb.Filter.eq("x", 4)])
    assert ids.tolist() == [[101, 103], [100, 101], [104, -1]]
    assert counts.tolist() == [2, 2, 1]
    with pytest.raises(iqdb.InvalidArgument, match="2 filters for 3 queries"):
        line_db.search(queries, k=2, filter=["kind = 'odd'", None])


def test_malformed_filters_are_invalid_arguments(line_db):
    with pytest.raises(iqdb.InvalidArgument, match="column"):
        line_db.search([0, 0], k=1, filter="kind = ")
    with pytest.raises(TypeError):
        line_db.search([0, 0], k=1, filter=42)


def test_filter_objects_evaluate_pickle_and_print():
    f = iqdb.Filter.parse("class = 'Sandal' and year >= 2020")
    assert f.matches({"class": "Sandal", "year": 2021})
    assert not f.matches({"class": "Sandal", "year": 2019.5 + 1})  # float is not int
    assert not f.matches(None)
    assert pickle.loads(pickle.dumps(f)) == f
    assert iqdb.Filter.parse(str(f)) == f


def test_batch_equals_single_searches_for_every_thread_limit(rng):
    rows = rng.standard_normal((500, 8)).astype(np.float32)
    queries = rng.standard_normal((40, 8)).astype(np.float32)
    for index in ("flat", "hnsw"):
        with iqdb.open_in_memory(dim=8, metric="l2", index=index) as db:
            db.upsert(np.arange(500), rows)
            singles = np.stack([db.search(q, k=5)[0] for q in queries])
            for threads in (None, 1, 2):
                ids, _, counts = db.search(queries, k=5, threads=threads)
                np.testing.assert_array_equal(ids, singles)
                assert (counts == 5).all()
            with pytest.raises(iqdb.InvalidArgument):
                db.search(queries, k=5, threads=0)


def test_hnsw_ef_and_ivf_probes_are_accepted(rng):
    rows = rng.standard_normal((2000, 8)).astype(np.float32)
    with iqdb.open_in_memory(dim=8, metric="l2", index="hnsw", m=8, ef_construction=64) as db:
        db.upsert(np.arange(2000), rows)
        ids, _, count = db.search(rows[3], k=1, ef=200)
        assert count == 1 and ids[0] == 3
    with iqdb.open_in_memory(dim=8, metric="l2", index="ivf", n_clusters=16) as db:
        db.upsert(np.arange(2000), rows)
        db.optimize()
        # Probing every list is exhaustive: the row itself is its own nearest.
        ids, distances, count = db.search(rows[:5], k=1, n_probes=16)
        assert ids[:, 0].tolist() == [0, 1, 2, 3, 4] and (distances[:, 0] == 0).all()


def test_bad_queries_raise_cleanly(line_db):
    with pytest.raises(iqdb.InvalidArgument):
        line_db.search([0, 0, 0], k=1)
    with pytest.raises(iqdb.InvalidArgument):
        line_db.search([np.nan, 0], k=1)
    with pytest.raises(iqdb.InvalidArgument):
        line_db.search([0, 0], k=0)
    with pytest.raises(iqdb.InvalidArgument):
        line_db.search(np.zeros((2, 2, 2)), k=1)
    with pytest.raises(iqdb.InvalidArgument):
        line_db.search(["a", "b"], k=1)
    with pytest.raises(TypeError):
        line_db.search([0, 0], k=-1)


def test_declared_indexed_fields_answer_filters_and_survive_reopen(tmp_path):
    path = tmp_path / "fields.iqdb"
    db = iqdb.open(path, dim=2, metric="l2", indexed_fields=["uid"])
    assert db.info()["indexed_fields"] == ["uid"]
    rows = np.array([[float(i), 0.0] for i in range(50)], dtype=np.float32)
    metadata = [{"uid": i, "kind": "even" if i % 2 == 0 else "odd"} for i in range(50)]
    db.upsert(list(range(50)), rows, metadata)
    ids, _, count = db.search([0, 0], k=3, filter="uid >= 40")
    assert count == 3 and ids.tolist() == [40, 41, 42]
    # A field not declared is tested record by record: the same answers.
    ids, _, _ = db.search([0, 0], k=2, filter="kind = 'odd'")
    assert ids.tolist() == [1, 3]
    db.close()
    # Opened from the file alone: the file's rule; with another list: that one.
    db = iqdb.open(path)
    assert db.info()["indexed_fields"] == ["uid"]
    db.close()
    db = iqdb.open(path, dim=2, metric="l2")
    assert db.info()["indexed_fields"] == []
    assert db.search([0, 0], k=3, filter="uid >= 40")[0].tolist() == [40, 41, 42]
    db.close()
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open_in_memory(2, indexed_fields="uid")
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open_in_memory(2, indexed_fields=[""])
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open(path, indexed_fields=["uid"])
