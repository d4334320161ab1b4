"""iqdb for ann-benchmarks: HNSW and IVF-PQ behind the harness's BaseANN interface.

Copy this folder to ann_benchmarks/algorithms/iqdb/ in an ann-benchmarks
checkout (see bench/ann-benchmarks/README.md). The harness builds the index
with fit(), sets query knobs with set_query_arguments(), and reads ids back
from query() or batch_query()/get_batch_results(). Only real hits go back:
the padding iqdb uses for short results is dropped here.
"""

import numpy as np

import iqdb

from ..base.module import BaseANN

# ann-benchmarks' distance names -> iqdb metrics.
_METRICS = {"euclidean": "l2", "angular": "cosine", "hamming": "hamming"}


def _metric(name):
    if name not in _METRICS:
        raise NotImplementedError(f"iqdb has no metric for ann-benchmarks' {name!r}")
    return _METRICS[name]


class _Iqdb(BaseANN):
    """What both index kinds share: an in-memory database over rows 0..n-1."""

    def __init__(self, metric):
        self._metric = _metric(metric)
        self._db = None
        self._query_knobs = {}
        self._batch = None
        self.name = "iqdb"

    def _open(self, dim):
        raise NotImplementedError

    def fit(self, X):
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self._db is not None:
            self._db.close()
        self._db = self._open(X.shape[1])
        self._db.upsert(np.arange(len(X), dtype=np.uint64), X)
        self._db.optimize()

    def query(self, q, n):
        ids, _, count = self._db.search(np.ascontiguousarray(q, dtype=np.float32), k=n, **self._query_knobs)
        return ids[:count]

    def batch_query(self, X, n):
        ids, _, counts = self._db.search(np.ascontiguousarray(X, dtype=np.float32), k=n, **self._query_knobs)
        self._batch = [row[:c] for row, c in zip(ids, counts)]

    def get_batch_results(self):
        return self._batch

    def done(self):
        if self._db is not None:
            self._db.close()
            self._db = None

    def __str__(self):
        return self.name


class IqdbHnsw(_Iqdb):
    """HNSW; build args {"M": .., "efConstruction": ..}, query arg ef."""

    def __init__(self, metric, method_param):
        super().__init__(metric)
        self._m = int(method_param["M"])
        self._ef_construction = int(method_param["efConstruction"])
        self.name = f"iqdb-hnsw (M={self._m}, efConstruction={self._ef_construction})"

    def _open(self, dim):
        return iqdb.open_in_memory(dim, self._metric, index="hnsw", m=self._m,
                                   ef_construction=self._ef_construction)

    def set_query_arguments(self, ef):
        self._query_knobs = {"ef": int(ef)}
        self.name = f"iqdb-hnsw (M={self._m}, efConstruction={self._ef_construction}, ef={ef})"


class IqdbIvfPq(_Iqdb):
    """IVF-PQ (8-bit codes, exact rerank); build arg the number of lists, query arg probes."""

    def __init__(self, metric, n_lists):
        super().__init__(metric)
        self._n_lists = int(n_lists)
        self.name = f"iqdb-ivfpq (lists={self._n_lists})"

    def _open(self, dim):
        return iqdb.open_in_memory(dim, self._metric, index="ivf", n_clusters=self._n_lists, pq="8bit")

    def set_query_arguments(self, n_probes):
        self._query_knobs = {"n_probes": int(n_probes)}
        self.name = f"iqdb-ivfpq (lists={self._n_lists}, probes={n_probes})"
