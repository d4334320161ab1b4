"""A worker killed with SIGKILL while writes flow: its nanny restarts it, the
plugin reopens its shard from snapshot and log, and every write the client
saw acknowledged is there."""

import os
import signal
import threading
import time

import numpy as np

from iqdb.distributed import PartialWriteError, ShardedDatabase, ShardUnavailable

DIM = 8


def test_sigkill_of_a_shard_worker_during_writes_loses_no_acknowledged_write(tmp_path, client):
    db = ShardedDatabase.create(tmp_path / "k", client, shards=4, dim=DIM, metric="l2", timeout=120)
    victim = db.placement[0]
    pid_before = {s["worker"]: s["pid"] for s in db.info()["per_shard"]}[victim]
    rng = np.random.default_rng(11)
    acknowledged = {}
    failures = []
    stop = threading.Event()

    def write():
        batch = 0
        while not stop.is_set():
            ids = np.arange(batch * 40, batch * 40 + 40, dtype=np.uint64)
            rows = rng.standard_normal((40, DIM)).astype(np.float32)
            try:
                db.upsert(ids, rows)
                acknowledged.update(zip(ids.tolist(), rows))
            except PartialWriteError as e:
                written = set(int(i) for i in e.written_ids)
                acknowledged.update((i, r) for i, r in zip(ids.tolist(), rows) if i in written)
                failures.append(e)
            except ShardUnavailable as e:
                failures.append(e)
            batch += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 800 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acknowledged) >= 800
        os.kill(pid_before, signal.SIGKILL)
        killed_at = len(acknowledged)
        # Writes go on once the nanny has restarted the worker and the
        # plugin has reopened shard 0.
        while len(acknowledged) < killed_at + 800 and time.monotonic() < deadline + 60:
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join()
    assert len(acknowledged) >= killed_at + 800
    pid_after = {s["worker"]: s["pid"] for s in db.info()["per_shard"]}[victim]
    assert pid_after != pid_before  # the shard really was reopened by a new process
    ids = np.array(sorted(acknowledged), dtype=np.uint64)
    rows = np.stack([acknowledged[i] for i in ids.tolist()])
    found, distances, _ = db.search(rows, k=1)
    missing = ids[found[:, 0] != ids.astype(np.int64)]
    assert missing.size == 0, f"{missing.size} acknowledged rows lost, e.g. {missing[:5]}"
    np.testing.assert_array_equal(distances[:, 0], 0)
    db.close()
