"""bench/ann-benchmarks/iqdb against a stand-in for the harness: the module is
imported from an ann_benchmarks/algorithms/ package layout, with a minimal
BaseANN in algorithms/base/module.py, and driven the way the harness does."""

import importlib
import pathlib
import shutil
import sys
import textwrap

import numpy as np
import pytest
import yaml

PLUGIN = pathlib.Path(__file__).resolve().parents[2] / "bench" / "ann-benchmarks" / "iqdb"

# The parts of the harness's base class that the plug-in relies on.
BASE_ANN = textwrap.dedent('''
    class BaseANN:
        def done(self):
            pass

        def get_memory_usage(self):
            return None

        def fit(self, X):
            pass

        def query(self, q, n):
            return []

        def batch_query(self, X, n):
            self.res = [self.query(q, n) for q in X]

        def get_batch_results(self):
            return self.res

        def get_additional(self):
            return {}

        def __str__(self):
            return self.name
''')


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    algorithms = tmp_path / "ann_benchmarks" / "algorithms"
    (algorithms / "base").mkdir(parents=True)
    (tmp_path / "ann_benchmarks" / "__init__.py").write_text("")
    (algorithms / "__init__.py").write_text("")
    (algorithms / "base" / "__init__.py").write_text("")
    (algorithms / "base" / "module.py").write_text(BASE_ANN)
    shutil.copytree(PLUGIN, algorithms / "iqdb")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("ann_benchmarks")]:
        del sys.modules[name]
    config = yaml.safe_load((algorithms / "iqdb" / "config.yml").read_text())
    return config, importlib.import_module


def exact_neighbours(X, Q, k):
    d = ((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def recall(found, truth):
    return np.mean([len(set(map(int, f)) & set(map(int, t))) / len(t) for f, t in zip(found, truth)])


def test_config_names_existing_constructors_with_valid_arguments(plugin):
    config, import_module = plugin
    entries = config["float"]["any"]
    assert {e["name"] for e in entries} == {"iqdb-hnsw", "iqdb-ivfpq"}
    for entry in entries:
        module = import_module(entry["module"] + ".module")
        constructor = getattr(module, entry["constructor"])
        for group in entry["run_groups"].values():
            builds = group.get("arg_groups") or [a for args in group["args"] for a in args]
            for build in builds:
                algo = constructor("euclidean", build)
                for q in group["query_args"][0]:
                    algo.set_query_arguments(q)
                    assert str(q) in str(algo)


@pytest.mark.parametrize("make,knob", [
    (lambda m: m.IqdbHnsw("euclidean", {"M": 12, "efConstruction": 100}), 400),
    (lambda m: m.IqdbIvfPq("euclidean", 16), 16),  # every list probed
])
def test_fit_query_and_batch_query_find_the_true_neighbours(plugin, rng, make, knob):
    _, import_module = plugin
    module = import_module("ann_benchmarks.algorithms.iqdb.module")
    X = rng.standard_normal((3000, 16)).astype(np.float32)
    Q = rng.standard_normal((50, 16)).astype(np.float32)
    truth = exact_neighbours(X, Q, 10)
    algo = make(module)
    algo.fit(X)
    algo.set_query_arguments(knob)
    singles = [algo.query(q, 10) for q in Q]
    algo.batch_query(Q, 10)
    batch = algo.get_batch_results()
    assert all(len(s) == 10 for s in singles)
    for s, b in zip(singles, batch):
        np.testing.assert_array_equal(s, b)
    assert recall(singles, truth) >= 0.9
    algo.done()


def test_only_real_hits_go_back_to_the_harness(plugin):
    _, import_module = plugin
    module = import_module("ann_benchmarks.algorithms.iqdb.module")
    algo = module.IqdbHnsw("angular", {"M": 8, "efConstruction": 50})
    algo.fit(np.eye(5, dtype=np.float32))
    algo.set_query_arguments(10)
    found = algo.query(np.ones(5, dtype=np.float32), 10)
    assert sorted(map(int, found)) == [0, 1, 2, 3, 4]
    algo.batch_query(np.ones((2, 5), dtype=np.float32), 10)
    assert [len(r) for r in algo.get_batch_results()] == [5, 5]
    with pytest.raises(NotImplementedError):
        module.IqdbHnsw("jaccard", {"M": 8, "efConstruction": 50})
