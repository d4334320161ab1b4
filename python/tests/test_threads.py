"""The GIL is released while iqdb works: other Python threads keep running
during a long search or batch upsert, and threads share a handle safely.

Progress is counted in "ticks": the main thread wakes from a short sleep and
must take the GIL to count. A call that held the GIL throughout would allow
no tick while it runs (at most one at its edges), so several ticks inside one
call show the GIL was free. No wall-clock duration is asserted."""

import threading
import time

import numpy as np

import iqdb


def ticks_during(call):
    """Runs call() on a worker thread; returns the main thread's ticks while the worker was inside it."""
    inside = threading.Event()
    done = threading.Event()
    errors = []

    def worker():
        try:
            inside.set()
            call()
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors.append(e)
        finally:
            done.set()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait()
    ticks = 0
    while not done.is_set():
        time.sleep(0.002)
        if not done.is_set():
            ticks += 1
    t.join()
    assert not errors, errors
    return ticks


def big_flat_db(rng, rows=20000, dim=128):
    db = iqdb.open_in_memory(dim=dim, metric="l2")
    db.upsert(np.arange(rows), rng.standard_normal((rows, dim)).astype(np.float32))
    return db


def test_other_threads_run_during_a_long_batch_search(rng):
    with big_flat_db(rng) as db:
        queries = rng.standard_normal((3000, 128)).astype(np.float32)
        assert ticks_during(lambda: db.search(queries, k=10, threads=1)) >= 5


def test_other_threads_run_during_a_long_batch_upsert(rng):
    rows = rng.standard_normal((20000, 64)).astype(np.float32)
    with iqdb.open_in_memory(dim=64, metric="l2", index="hnsw", m=16, ef_construction=200) as db:
        assert ticks_during(lambda: db.upsert(np.arange(20000), rows)) >= 5
        assert len(db) == 20000


def test_threads_share_one_handle_and_get_the_same_answers(rng):
    with big_flat_db(rng, rows=5000, dim=32) as db:
        queries = rng.standard_normal((200, 32)).astype(np.float32)
        expected = db.search(queries, k=5, threads=1)[0]
        results = [None] * 4

        def run(i):
            results[i] = np.stack([db.search(q, k=5)[0] for q in queries])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            np.testing.assert_array_equal(r, expected)


def test_close_waits_for_a_call_in_flight_and_later_calls_raise_closed(rng):
    db = big_flat_db(rng)
    queries = rng.standard_normal((2000, 128)).astype(np.float32)
    outcome = []
    started = threading.Event()

    def search():
        started.set()
        try:
            outcome.append(db.search(queries, k=3, threads=1)[2])
        except iqdb.Closed:
            outcome.append(None)  # close() came first

    t = threading.Thread(target=search)
    t.start()
    started.wait()
    db.close()  # may run before, during or after the search: never under it
    t.join()
    assert len(outcome) == 1
    if outcome[0] is not None:
        assert (outcome[0] == 3).all()
    assert db.closed
    try:
        db.search(queries[0], k=1)
        raise AssertionError("search on a closed handle returned")
    except iqdb.Closed:
        pass
