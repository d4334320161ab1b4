"""A sharded flat database answers exactly what one database answers, and
checks its input before any shard writes."""

import os
import pickle
import warnings

import numpy as np
import pytest
from distributed import get_task_stream

import iqdb
from iqdb.distributed import PartialWriteError, ShardedDatabase, ShardUnavailable, shard_of

DIM = 16
# shard_of(i, 1000) for ids 0, 1, 2, 2**64-1, and of b"abc": the rule's
# fixed answers (FNV-1a 64 of the key bytes, splitmix64 finaliser, modulo).
PINNED_U64 = [883, 125, 963, 373]
PINNED_BYTES = 808


def rows_and_metadata(n, seed=7):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    metadata = [{"c": int(i % 10), "even": i % 2 == 0} for i in range(n)]
    return rows, metadata


@pytest.fixture
def pair(tmp_path, client):
    """The same 2,000 rows in a 4-shard flat database and in one in-memory database."""
    rows, metadata = rows_and_metadata(2000)
    ids = np.arange(10_000, 12_000, dtype=np.uint64)
    sharded = ShardedDatabase.create(tmp_path / "s", client, shards=4, dim=DIM, metric="l2", fsync="never")
    sharded.upsert(ids, rows, metadata)
    single = iqdb.open_in_memory(DIM, "l2")
    single.upsert(ids, rows, metadata)
    yield sharded, single, rows
    sharded.close()
    single.close()


def assert_same(got, want):
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])


@pytest.mark.parametrize("filter", [None, "c = 3", iqdb.Filter.eq("even", True), "c in (1, 2) and not even"])
def test_sharded_flat_search_equals_one_database(pair, filter):
    sharded, single, rows = pair
    queries = rows[:40] + 0.01
    assert_same(sharded.search(queries, k=10, filter=filter), single.search(queries, k=10, filter=filter))
    assert_same(sharded.search(queries[3], k=7, filter=filter), single.search(queries[3], k=7, filter=filter))


def test_one_filter_per_query_and_short_results_are_padded(pair):
    sharded, single, rows = pair
    filters = ["c = 1", None, "c = 99", iqdb.Filter.eq("c", 4)]
    assert_same(sharded.search(rows[:4], k=5, filter=filters), single.search(rows[:4], k=5, filter=filters))
    ids, distances, count = sharded.search(rows[0], k=10, filter="c = 99")
    assert count == 0 and (ids == -1).all() and np.isinf(distances).all()


def test_byte_ids_route_and_search_like_one_database(tmp_path, client):
    rows, metadata = rows_and_metadata(600, seed=3)
    ids = [f"doc-{i}".encode() for i in range(600)]
    single = iqdb.open_in_memory(DIM, "cosine")
    single.upsert(ids, rows, metadata)
    with ShardedDatabase.create(tmp_path / "b", client, shards=3, dim=DIM, metric="cosine") as sharded:
        sharded.upsert(ids, rows, metadata)
        assert len(sharded) == 600
        assert_same(sharded.search(rows[:20], k=8), single.search(rows[:20], k=8))
        assert_same(sharded.search(rows[:20], k=8, filter="c >= 8"), single.search(rows[:20], k=8, filter="c >= 8"))
        record = sharded.get(b"doc-17")
        np.testing.assert_array_equal(record.vector, rows[17])
        assert record.metadata == metadata[17]
        assert b"doc-5" in sharded and b"doc-600" not in sharded
        assert sharded.remove([b"doc-5", b"doc-6", b"nope"]) == 2
        assert sharded.remove(b"doc-7") is True
        assert len(sharded) == 597
        per_shard = [s["size"] for s in sharded.info()["per_shard"]]
        assert sum(per_shard) == 597 and min(per_shard) > 0


def test_routing_rule_is_stable_and_the_same_for_both_kinds_of_id():
    # Pinned values: a change here would move every existing row.
    assert [shard_of(i, 8) for i in range(6)] == [shard_of(i.to_bytes(8, "little"), 8) for i in range(6)]
    assert [shard_of(i, 1000) for i in (0, 1, 2, 2**64 - 1)] == PINNED_U64
    assert shard_of(b"abc", 1000) == shard_of("abc", 1000) == PINNED_BYTES
    # Ids that share their low bits still spread over every shard.
    counts = np.bincount([shard_of(i, 4) for i in range(0, 4000, 4)], minlength=4)
    assert counts.min() > 150
    with pytest.raises(ValueError):
        shard_of(-1, 4)
    with pytest.raises(TypeError):
        shard_of(1.5, 4)


def test_manifest_rules(tmp_path, client):
    path = tmp_path / "m"
    ShardedDatabase.create(path, client, shards=2, dim=4, metric="l2", index="hnsw", m=8).close()
    with pytest.raises(iqdb.InvalidArgument, match="already exists"):
        ShardedDatabase.create(path, client, shards=2, dim=4, metric="l2")
    with pytest.raises(iqdb.ConfigMismatch):
        ShardedDatabase.open(path, client, dim=5)
    with pytest.raises(iqdb.ConfigMismatch):
        ShardedDatabase.open(path, client, metric="cosine")
    with pytest.raises(iqdb.NotFound):
        ShardedDatabase.open(tmp_path / "absent", client)
    with ShardedDatabase.open(path, client, dim=4, metric="l2") as db:
        assert db.info()["index"] == "hnsw" and db.shards == 2
    (path / "MANIFEST.json").write_text('{"format": "iqdb-sharded", "version": 1, "dim": -4}')
    with pytest.raises(iqdb.Corruption):
        ShardedDatabase.open(path, client)
    with pytest.raises(iqdb.InvalidArgument):
        ShardedDatabase.create(tmp_path / "bad", client, shards=2, dim=4, metric="l2", index="hnsw", bogus=1)
    assert not (tmp_path / "bad" / "MANIFEST.json").exists()


def test_bad_input_is_refused_before_any_shard_writes(pair):
    sharded, _, rows = pair
    before = len(sharded)
    bad_calls = [
        lambda: sharded.upsert([1, 2], np.ones((2, DIM + 1), np.float32)),
        lambda: sharded.upsert([1, 2], np.array([[np.nan] * DIM, [0] * DIM], np.float32)),
        lambda: sharded.upsert([1, 2, 3], np.ones((2, DIM), np.float32)),
        lambda: sharded.upsert([1, 2], np.ones((2, DIM), np.float32), [{"a": [1]}, None]),
        lambda: sharded.upsert([1, -2], np.ones((2, DIM), np.float32)),
        lambda: sharded.upsert([1, 2], np.array([["a"] * DIM] * 2)),
        lambda: sharded.search(rows[0], k=5, filter="c = = 1"),
        lambda: sharded.search(rows[0, :3], k=5),
        lambda: sharded.search(rows[0], k=0),
    ]
    for call in bad_calls:
        with pytest.raises(iqdb.InvalidArgument):
            call()
    assert len(sharded) == before
    assert 1 not in sharded


def test_every_search_task_runs_on_its_shards_worker_and_nothing_large_rides_the_graph(pair, client):
    sharded, single, rows = pair
    queries = np.tile(rows, (10, 1))  # 20,000 queries: over the 1 MiB kept inline, so scattered
    bulk = np.tile(rows, (100, 1))  # 200,000 rows, 12.8 MB: over Dask's 10 MB large-graph warning
    assert queries.nbytes > 1 << 20 and bulk.nbytes > 10_000_000
    names = {addr: info["name"] for addr, info in client.scheduler_info()["workers"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Large object ... detected in task graph" would fail here
        with get_task_stream(client) as stream:
            got = sharded.search(queries, k=3)
            sharded.upsert(np.arange(1_000_000, 1_200_000), bulk)
    assert len(sharded) == 202_000
    want = single.search(queries, k=3)
    np.testing.assert_array_equal(got[1], want[1])
    ran = [(t["key"], names[t["worker"]]) for t in stream.data if str(t["key"]).startswith("iqdb-")]
    assert ran
    for key, worker in ran:
        shard = int(str(key).split("-")[2])
        assert worker == sharded.placement[shard], key
    logs = client.get_worker_logs()
    assert not any("unresponsive" in line for lines in logs.values() for _, line in lines)


def test_a_shard_that_fails_mid_batch_reports_which_ids_were_written(tmp_path, client):
    rows, _ = rows_and_metadata(400)
    sharded = ShardedDatabase.create(tmp_path / "p", client, shards=4, dim=DIM, metric="l2")
    victim = 1
    owner = sharded.placement[victim]

    def close_shard(dask_worker, key=sharded._key, shard=victim):
        dask_worker._iqdb_shards[key][shard].close()

    client.run(close_shard, workers=[a for a, i in client.scheduler_info()["workers"].items() if i["name"] == owner])
    ids = np.arange(90_000, 90_400, dtype=np.uint64)
    with pytest.raises(PartialWriteError) as failure:
        sharded.upsert(ids, rows)
    written = set(int(i) for i in failure.value.written_ids)
    assert written == {int(i) for i in ids if shard_of(int(i), 4) != victim}
    assert list(failure.value.failures) == [victim]
    assert isinstance(failure.value.failures[victim], iqdb.Closed)
    # A search never merges without a shard.
    with pytest.raises(ShardUnavailable) as lacking:
        sharded.search(rows[0], k=5)
    assert lacking.value.shards == [victim]
    # Nor does close pretend every shard flushed; the handle is closed anyway.
    with pytest.raises(ShardUnavailable):
        sharded.close()
    assert sharded.closed
    with ShardedDatabase.open(tmp_path / "p", client) as reopened:
        assert len(reopened) == len(written)


def test_a_closed_or_pickled_handle_is_refused(tmp_path, client):
    db = ShardedDatabase.create(tmp_path / "c", client, shards=2, dim=4, metric="l2")
    with pytest.raises(TypeError):
        pickle.dumps(db)
    db.close()
    db.close()  # a second close is harmless
    with pytest.raises(iqdb.Closed):
        db.search(np.zeros(4, np.float32), k=1)
    with pytest.raises(iqdb.Closed):
        db.upsert(1, np.zeros(4, np.float32))
