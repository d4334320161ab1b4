"""Writing, reading and removing records: ids, vectors and metadata round trips."""

import pickle

import numpy as np
import pytest

import iqdb


def test_single_and_batch_upsert_round_trip_exact_floats(rng):
    with iqdb.open_in_memory(dim=5, metric="cosine") as db:
        one = rng.standard_normal(5).astype(np.float32)
        db.upsert(7, one, {"name": "seven"})
        rows = rng.standard_normal((4, 5)).astype(np.float32)
        db.upsert([10, 11, 12, 13], rows)
        assert len(db) == 5
        record = db.get(7)
        assert isinstance(record, iqdb.Record)
        assert record.vector.dtype == np.float32
        np.testing.assert_array_equal(record.vector, one)
        assert record.metadata == {"name": "seven"}
        np.testing.assert_array_equal(db.get(12).vector, rows[2])
        assert db.get(12).metadata is None
        assert db.get(99) is None


def test_replacing_keeps_the_count_and_takes_the_new_row():
    with iqdb.open_in_memory(dim=2, metric="l2") as db:
        db.upsert(1, [1, 2])
        db.upsert(1, [3, 4], {"v": 2})
        assert len(db) == 1
        assert db.get(1).vector.tolist() == [3.0, 4.0]
        assert db.get(1).metadata == {"v": 2}


def test_metadata_values_keep_their_types():
    md = {"none": None, "flag": True, "count": -(2**63), "ratio": 0.5, "text": "Sandal", "np_int": np.int32(3),
          "np_float": np.float64(1.5), "np_bool": np.bool_(False)}
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        db.upsert(1, [0.0], md)
        back = db.get(1).metadata
    assert back == {"none": None, "flag": True, "count": -(2**63), "ratio": 0.5, "text": "Sandal", "np_int": 3,
                    "np_float": 1.5, "np_bool": False}
    assert type(back["flag"]) is bool and type(back["count"]) is int and type(back["np_int"]) is int


@pytest.mark.parametrize("bad", [{"x": [1, 2]}, {"x": object()}, {1: "key not str"}, ["not", "a dict"]])
def test_bad_metadata_raises_type_error_and_writes_nothing(bad):
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        with pytest.raises(TypeError):
            db.upsert(1, [0.0], bad)
        assert len(db) == 0


def test_metadata_integer_outside_64_bits_is_invalid():
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert(1, [0.0], {"big": 2**63})


def test_byte_str_and_u64_ids():
    with iqdb.open_in_memory(dim=2, metric="l2") as db:
        db.upsert(b"\x00\xffraw", [0, 0])
        db.upsert("doc-1", [1, 1])  # stored as its UTF-8 bytes
        db.upsert(2**64 - 1, [2, 2])
        db.upsert(np.uint64(5), [3, 3])
        assert b"\x00\xffraw" in db and b"doc-1" in db and "doc-1" in db
        assert 2**64 - 1 in db and 5 in db
        assert 6 not in db and b"5" not in db  # an integer id never equals a byte id
        ids, _, count = db.search([0, 0], k=4)
        assert count == 4
        assert ids.dtype == object  # byte ids (and ids >= 2**63) come back as Python objects
        assert list(ids) == [b"\x00\xffraw", b"doc-1", 2**64 - 1, 5]


@pytest.mark.parametrize("bad_id", [-1, 2**64, b"", "x" * 1025])
def test_ids_out_of_range_are_invalid(bad_id):
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert(bad_id, [0.0])
        assert len(db) == 0


@pytest.mark.parametrize("bad_id", [1.5, None, True, object()])
def test_ids_of_other_types_raise_type_error(bad_id):
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        with pytest.raises(TypeError):
            db.upsert(bad_id, [0.0])


def test_batch_rejects_mismatched_counts_and_writes_nothing():
    with iqdb.open_in_memory(dim=2, metric="l2") as db:
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert([1, 2, 3], np.zeros((2, 2)))
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert([1, 2], np.zeros((2, 2)), [{"a": 1}])
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert([1, 2], np.array([[0, 0], [np.nan, 0]]))
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert(1, np.zeros((2, 2)))  # one id, two rows
        assert len(db) == 0


def test_remove_one_and_many():
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        db.upsert([1, 2, 3, 4], np.arange(4, dtype=np.float32).reshape(4, 1))
        assert db.remove(1) is True
        assert db.remove(1) is False
        assert db.remove([2, 3, 99]) == 2
        assert len(db) == 1 and 4 in db and 2 not in db


def test_remove_many_from_a_file_is_one_write_and_survives_reopening(tmp_path):
    path = str(tmp_path / "db.iqdb")
    rows = np.random.default_rng(3).standard_normal((300, 8)).astype(np.float32)
    with iqdb.open(path, dim=8, metric="l2", index="hnsw", m=8) as db:
        db.upsert(np.arange(300), rows)
        assert db.remove(np.arange(0, 300, 2)) == 150
        assert db.remove([1, 1, 1000]) == 1  # repeated and absent ids are skipped
        assert db.remove([]) == 0
        ids, _, count = db.search(rows[3], k=5, ef=200)
        assert count == 5 and all(i % 2 == 1 and i != 1 for i in ids)
    with iqdb.open(path) as db:
        assert len(db) == 149
        assert 0 not in db and 1 not in db and 3 in db


def test_closed_handle_raises_closed_and_close_is_idempotent():
    db = iqdb.open_in_memory(dim=1, metric="l2")
    db.upsert(1, [0.0])
    db.close()
    db.close()
    assert db.closed
    for call in (lambda: len(db), lambda: db.get(1), lambda: db.upsert(2, [1.0]), lambda: db.search([0.0], 1),
                 lambda: 1 in db, lambda: db.flush(), lambda: db.info()):
        with pytest.raises(iqdb.Closed) as excinfo:
            call()
        assert excinfo.value.code == iqdb.StatusCode.CLOSED


def test_context_manager_closes_even_when_the_block_raises():
    with pytest.raises(RuntimeError):
        with iqdb.open_in_memory(dim=1, metric="l2") as db:
            raise RuntimeError("boom")
    assert db.closed


def test_a_handle_refuses_pickling_with_a_clear_error():
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(db)


def test_errors_carry_the_status_code_and_are_error_subclasses():
    with iqdb.open_in_memory(dim=3, metric="l2") as db:
        with pytest.raises(iqdb.Error) as excinfo:
            db.upsert(1, [1.0, 2.0])
    err = excinfo.value
    assert isinstance(err, iqdb.InvalidArgument) and isinstance(err, ValueError)
    assert err.code == iqdb.StatusCode.INVALID_ARGUMENT == 1
    assert "dimensions" in err.message


def test_open_rejects_unknown_settings():
    with pytest.raises(iqdb.InvalidArgument, match="unknown hnsw parameter"):
        iqdb.open_in_memory(dim=4, metric="l2", index="hnsw", efc=3)
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open_in_memory(dim=4, metric="manhattanish")
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open_in_memory(dim=0, metric="l2")
    with pytest.raises(iqdb.InvalidArgument):
        iqdb.open_in_memory(dim=4, metric="l2", storage="f8")


def test_info_describes_the_database():
    with iqdb.open_in_memory(dim=4, metric="dot", index="hnsw", m=8, storage="f16", keep_f32=True) as db:
        db.upsert([1, 2], np.ones((2, 4)))
        info = db.info()
    shape = {"path": None, "dim": 4, "metric": "dot", "index": "hnsw", "storage": "f16", "keep_f32": True, "size": 2}
    assert {k: info[k] for k in shape} == shape
    assert info["snapshot_bytes"] == 0 and info["log_bytes"] == 0 and info["sections"] == []
    assert info["integrity"] == "verified" and not info["read_only"]
