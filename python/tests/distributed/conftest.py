"""A Dask LocalCluster shared by the sharded-database tests: two worker
processes, each with a nanny (so a killed worker is restarted)."""

import gzip
import logging
import os

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="session")
def cluster():
    # Workers start with this environment: the package under test must be
    # importable there too.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as c:
        yield c


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        yield c


def read_idx_images(name, limit=None):
    """Fashion-MNIST images from Debian's dataset-fashion-mnist as float32 rows."""
    with gzip.open(os.path.join(FASHION_MNIST, name), "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    count = count if limit is None else min(limit, count)
    pixels = np.frombuffer(data, dtype=np.uint8, count=count * rows * cols, offset=16)
    return pixels.reshape(count, rows * cols).astype(np.float32)


def read_idx_labels(name, limit=None):
    with gzip.open(os.path.join(FASHION_MNIST, name), "rb") as f:
        data = f.read()
    count = int.from_bytes(data[4:8], "big")
    count = count if limit is None else min(limit, count)
    return np.frombuffer(data, dtype=np.uint8, count=count, offset=8)
