"""numpy input: float32 C-contiguous arrays are read in place, everything else
is converted to float32 (never misread), non-numeric input is refused."""

import tracemalloc

import numpy as np
import pytest

import iqdb


def traced_peak(fn):
    """Peak bytes of Python/numpy allocations while fn runs (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_float32_c_contiguous_input_is_not_copied(rng):
    rows = rng.standard_normal((20000, 64)).astype(np.float32)  # 5 MiB
    ids = np.arange(20000, dtype=np.uint64)
    with iqdb.open_in_memory(dim=64, metric="l2") as db:
        assert traced_peak(lambda: db.upsert(ids, rows)) < rows.nbytes // 8
        assert traced_peak(lambda: db.search(rows, k=1)) < rows.nbytes // 8


def test_other_dtypes_are_converted_and_the_copy_shows(rng):
    rows64 = rng.standard_normal((20000, 64))  # float64: converted to a float32 copy
    with iqdb.open_in_memory(dim=64, metric="l2") as db:
        assert traced_peak(lambda: db.upsert(np.arange(20000), rows64)) >= rows64.nbytes // 2
        np.testing.assert_array_equal(db.get(7).vector, rows64[7].astype(np.float32))


@pytest.mark.parametrize("make", [
    lambda a: a.astype(np.float64),
    lambda a: np.asfortranarray(a),
    lambda a: a.astype(np.int64),
    lambda a: a.astype(np.uint8),
    lambda a: a.astype(np.float16),
    lambda a: a.tolist(),
    lambda a: np.repeat(a, 2, axis=1)[:, ::2],  # strided view
])
def test_every_numeric_layout_reads_the_same_values(make):
    base = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    with iqdb.open_in_memory(dim=3, metric="l2") as db:
        db.upsert([1, 2], make(base))
        np.testing.assert_array_equal(db.get(1).vector, base[0])
        np.testing.assert_array_equal(db.get(2).vector, base[1])
        ids, _, _ = db.search(make(base), k=1)
        assert ids[:, 0].tolist() == [1, 2]


@pytest.mark.parametrize("bad", [np.array(["1", "2"]), np.array([object(), object()]),
                                 np.array([1 + 2j, 3j]), "ab", np.zeros((1, 1, 2)), np.float32(1.0)])
def test_non_numeric_or_misshapen_input_is_invalid(bad):
    with iqdb.open_in_memory(dim=2, metric="l2") as db:
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert(1, bad)
        assert len(db) == 0


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_float64_values_beyond_float32_are_refused_not_stored_as_inf():
    with iqdb.open_in_memory(dim=2, metric="l2") as db:
        with pytest.raises(iqdb.InvalidArgument, match="non-finite"):
            db.upsert(1, np.array([1e300, 0.0]))
        assert len(db) == 0


def test_ids_from_integer_arrays_of_any_width():
    with iqdb.open_in_memory(dim=1, metric="l2") as db:
        db.upsert(np.array([1, 2], dtype=np.int8), np.zeros((2, 1)))
        db.upsert(np.array([2**64 - 1], dtype=np.uint64), np.zeros((1, 1)))
        assert 1 in db and 2 in db and 2**64 - 1 in db
        with pytest.raises(iqdb.InvalidArgument):
            db.upsert(np.array([3, -4]), np.zeros((2, 1)))
        assert len(db) == 3
