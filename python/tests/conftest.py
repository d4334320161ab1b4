"""Shared fixtures. The suite runs against the package on sys.path: the
build tree's copy (PYTHONPATH=build/python, as tools/test sets it) or an
installed one."""

import numpy as np
import pytest

import iqdb


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def line_db():
    """Ten 2-D rows on a line (x = 0..9), ids 100..109, metadata kind even/odd and x."""
    db = iqdb.open_in_memory(dim=2, metric="l2")
    rows = np.array([[x, 0.0] for x in range(10)], dtype=np.float32)
    metadata = [{"kind": "even" if x % 2 == 0 else "odd", "x": x} for x in range(10)]
    db.upsert(np.arange(100, 110), rows, metadata)
    yield db
    db.close()
