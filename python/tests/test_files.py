"""File-backed databases: round trips, reopen rules, and the lock between processes."""

import os
import subprocess
import sys

import numpy as np
import pytest

import iqdb


def test_round_trip_through_a_file(tmp_path, rng):
    path = tmp_path / "vectors.iqdb"
    rows = rng.standard_normal((300, 16)).astype(np.float32)
    with iqdb.open(path, dim=16, metric="l2", index="hnsw", m=8, fsync="never") as db:
        db.upsert(np.arange(300), rows, [{"i": int(i)} for i in range(300)])
        db.upsert(b"named", rows[0] * 2)
        db.remove(5)
        before = db.search(rows[:10], k=4)
        assert db.path == str(path)
    with iqdb.open(str(path), dim=16, metric="l2") as db:
        assert len(db) == 300
        assert db.info()["index"] == "hnsw"  # the stored index wins
        np.testing.assert_array_equal(db.get(17).vector, rows[17])
        assert db.get(17).metadata == {"i": 17}
        assert 5 not in db and b"named" in db
        after = db.search(rows[:10], k=4)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_flush_then_reopen_keeps_writes(tmp_path):
    path = tmp_path / "flushed.iqdb"
    db = iqdb.open(path, dim=2, metric="cosine")
    db.upsert([1, 2], np.eye(2))
    db.flush()
    db.upsert(3, [1, 1])
    db.close()
    with iqdb.open(path, dim=2, metric="cosine") as db:
        assert len(db) == 3


def test_reopen_with_another_shape_is_a_config_mismatch(tmp_path):
    path = tmp_path / "shape.iqdb"
    iqdb.open(path, dim=4, metric="l2").close()
    with pytest.raises(iqdb.ConfigMismatch):
        iqdb.open(path, dim=5, metric="l2")
    with pytest.raises(iqdb.ConfigMismatch):
        iqdb.open(path, dim=4, metric="cosine")


def test_a_damaged_file_is_corruption(tmp_path):
    path = tmp_path / "damaged.iqdb"
    with iqdb.open(path, dim=4, metric="l2") as db:
        db.upsert(np.arange(50), np.ones((50, 4)))
        db.flush()
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF  # the magic number
    path.write_bytes(bytes(data))
    with pytest.raises(iqdb.Corruption):
        iqdb.open(path, dim=4, metric="l2")


def test_a_second_process_gets_busy(tmp_path):
    path = tmp_path / "held.iqdb"
    package_root = os.path.dirname(os.path.dirname(iqdb.__file__))
    env = dict(os.environ, PYTHONPATH=package_root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    probe = ("import sys, iqdb\n"
             "try:\n"
             "    iqdb.open(sys.argv[1], dim=2, metric='l2')\n"
             "except iqdb.Busy as e:\n"
             "    print('busy', int(e.code))\n")
    with iqdb.open(path, dim=2, metric="l2") as db:
        db.upsert(1, [0, 0])
        out = subprocess.run([sys.executable, "-c", probe, str(path)], env=env, capture_output=True, text=True,
                             check=True)
        assert out.stdout.split() == ["busy", str(int(iqdb.StatusCode.BUSY))]
    # Released on close: the other process may open it now.
    out = subprocess.run([sys.executable, "-c", probe.replace("except", "    print('opened')\nexcept"),
                          str(path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["opened"]
