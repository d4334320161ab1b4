"""The library's files API from Python: open by path, read-only handles,
info, verify, compact and exact search."""

import subprocess
import sys

import numpy as np
import pytest

import iqdb


@pytest.fixture
def hnsw_file(tmp_path, rng):
    path = tmp_path / "files.iqdb"
    rows = rng.standard_normal((400, 8)).astype(np.float32)
    with iqdb.open(path, dim=8, metric="l2", index="hnsw", m=8) as db:
        db.upsert(np.arange(400), rows)
    return path, rows


def test_open_by_path_takes_the_shape_from_the_file(hnsw_file):
    path, rows = hnsw_file
    with iqdb.open(path) as db:
        assert db.dim == 8 and db.metric == "l2" and len(db) == 400
        info = db.info()
        assert info["index"] == "hnsw" and info["snapshot_bytes"] > 0
        assert {s["kind"] for s in info["sections"]} >= {"rows", "ids"}
        assert info["integrity"] in ("verified", "in progress")
    with pytest.raises(iqdb.NotFound):
        iqdb.open(path.parent / "absent.iqdb")
    with pytest.raises(iqdb.ConfigMismatch):
        iqdb.open(path, dim=9, read_only=True)


def test_read_only_handles_share_and_refuse_writes(hnsw_file):
    path, rows = hnsw_file
    first = iqdb.open(path, read_only=True)
    second = iqdb.open(path, read_only=True)
    assert first.info()["read_only"]
    with pytest.raises(iqdb.Unsupported):
        first.upsert(1000, rows[0])
    with pytest.raises(iqdb.Busy):
        iqdb.open(path, dim=8, metric="l2")
    # Another process may read it too.
    code = ("import iqdb, sys\n"
            f"db = iqdb.open({str(path)!r}, read_only=True)\n"
            "print(len(db))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "400"
    np.testing.assert_array_equal(first.search(rows[:3], k=2)[0], second.search(rows[:3], k=2)[0])
    first.close()
    second.close()
    with iqdb.open(path, dim=8, metric="l2") as writer:  # the readers are gone
        writer.upsert(1000, rows[0])


def test_verify_compact_and_exact_search(hnsw_file):
    path, rows = hnsw_file
    with iqdb.open(path) as db:
        report = db.verify()
        assert report["ok"] and report["problems"] == 0 and report["records"] == 400
        assert all(len(f) == 3 for f in report["findings"])
        db.upsert(np.arange(400, 450), rows[:50] + 1)
        done = db.compact(compression="zstd")
        assert done["records"] == 450 and done["log_records_folded"] >= 1 and done["compression"] == "zstd"
        assert db.info()["compression"] == "zstd"
        exact = iqdb.open_in_memory(8, "l2")
        exact.upsert(np.arange(450), np.concatenate([rows, rows[:50] + 1]))
        want = exact.search(rows[:20], k=10)
        got = db.search(rows[:20], k=10, exact=True)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    with iqdb.open(path) as db:
        assert db.verify()["ok"] and len(db) == 450


def test_verify_reports_damage(tmp_path, rng):
    path = tmp_path / "damaged.iqdb"
    rows = rng.standard_normal((3000, 128)).astype(np.float32)  # 1.5 MB of rows: not checksummed at open
    rows[1234] = 1234.5
    with iqdb.open(path, dim=128, metric="l2") as db:
        db.upsert(np.arange(3000), rows)
    data = bytearray(path.read_bytes())
    at = bytes(data).find(rows[1234].tobytes())
    assert at > 0
    data[at + 1] ^= 0x10  # one bit of row 1234
    path.write_bytes(bytes(data))
    # Found by verify(), or already by the background scrub (which then
    # answers every call with Corruption): never a clean bill of health.
    db = iqdb.open(path, read_only=True)
    try:
        report = db.verify()
    except iqdb.Corruption:
        report = None
    try:
        db.close()
    except iqdb.Corruption:
        pass  # a handle that found damage says so to the end
    if report is not None:
        assert not report["ok"] and report["problems"] >= 1
        assert any(severity == "damaged" for _, severity, _ in report["findings"])
