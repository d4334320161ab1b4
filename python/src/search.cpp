// Database.search: queries in (borrowed when float32 C-contiguous), padded
// (ids, distances, counts) arrays out, the GIL released while iqdb searches.
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <pybind11/numpy.h>

#include "convert.h"
#include "py_database.h"

namespace iqdb::py {
namespace {

constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// Fills row `row` of the int64 ids / float32 distances buffers (k slots
// each), padding with -1 / inf. Returns false when an id does not fit int64
// (a byte id or an integer >= 2**63). Needs no GIL.
bool fill_row(const std::vector<Hit>& hits, size_t row, size_t k, int64_t* ids, float* distances,
              int64_t* counts) {
  bool fits = true;
  for (size_t j = 0; j < k; ++j) {
    const size_t slot = row * k + j;
    if (j < hits.size()) {
      const VectorId& id = hits[j].id;
      if (id.is_u64() && id.as_u64() <= kMaxInt64) {
        ids[slot] = static_cast<int64_t>(id.as_u64());
      } else {
        ids[slot] = -1;
        fits = false;
      }
      distances[slot] = hits[j].distance;
    } else {
      ids[slot] = -1;
      distances[slot] = std::numeric_limits<float>::infinity();
    }
  }
  counts[row] = static_cast<int64_t>(std::min(hits.size(), k));
  return fits;
}

// The object-array form of ids, for results holding byte ids or integers
// past int64 (None in empty slots).
pyb::array object_ids(const std::vector<std::vector<Hit>>& results, size_t k, bool one_row) {
  const size_t n = results.size();
  pyb::list flat(n * k);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < k; ++j) {
      flat[i * k + j] = j < results[i].size() ? from_id(results[i][j].id) : pyb::none();
    }
  }
  pyb::array arr = pyb::module_::import("numpy").attr("array")(flat, pyb::arg("dtype") = "object");
  if (one_row) return arr;
  return arr.attr("reshape")(n, k);
}

// Filters for the batch: one shared, or one per query.
struct BatchFilters {
  std::optional<Filter> shared;
  std::vector<std::optional<Filter>> per_query;
  std::vector<const Filter*> pointers;
};

BatchFilters to_batch_filters(pyb::handle filter, size_t n, bool one_row) {
  BatchFilters out;
  if (PyList_Check(filter.ptr()) || PyTuple_Check(filter.ptr())) {
    pyb::sequence seq = pyb::reinterpret_borrow<pyb::sequence>(filter);
    if (seq.size() != n) {
      invalid(std::to_string(seq.size()) + " filters for " + std::to_string(n) + " queries");
    }
    if (one_row) {
      out.shared = to_filter(seq[0]);
      return out;
    }
    out.per_query.reserve(n);
    for (pyb::handle f : seq) out.per_query.push_back(to_filter(f));
    for (const auto& f : out.per_query) out.pointers.push_back(f ? &*f : nullptr);
    return out;
  }
  out.shared = to_filter(filter);
  return out;
}

}  // namespace

pyb::object search(PyDatabase& self, pyb::handle queries, size_t k, pyb::handle filter,
                   std::optional<size_t> ef, std::optional<size_t> n_probes,
                   std::optional<size_t> threads, bool exact) {
  FloatRows rows = as_float_rows(queries, "queries");
  if (k == 0) invalid("k must be at least 1");
  BatchFilters filters = to_batch_filters(filter, rows.rows, rows.one_row);
  SearchParams params;
  params.k = k;
  params.filter = filters.shared ? &*filters.shared : nullptr;
  params.filters = filters.pointers;
  params.ef = ef.value_or(0);
  params.n_probes = n_probes.value_or(0);
  params.threads = threads.value_or(0);
  params.exact = exact;
  if (threads && *threads == 0) invalid("threads must be at least 1 (None: all)");

  const size_t n = rows.rows;
  pyb::array_t<int64_t> ids(rows.one_row
                                ? std::vector<pyb::ssize_t>{pyb::ssize_t(k)}
                                : std::vector<pyb::ssize_t>{pyb::ssize_t(n), pyb::ssize_t(k)});
  pyb::array_t<float> distances(ids.request().shape);
  pyb::array_t<int64_t> counts(static_cast<pyb::ssize_t>(n));
  int64_t* ids_out = ids.mutable_data();
  float* dist_out = distances.mutable_data();
  int64_t* counts_out = counts.mutable_data();

  std::vector<std::vector<Hit>> results;
  bool all_fit = true;
  {
    pyb::gil_scoped_release release;
    self.with_db([&](const Database& db) {
      if (rows.one_row) {
        Result<std::vector<Hit>> hits =
            db.search(std::span<const float>(rows.data, rows.cols), params);
        check(hits.status());
        results.push_back(std::move(*hits));
      } else {
        Result<std::vector<std::vector<Hit>>> batch =
            db.search_batch(std::span<const float>(rows.data, rows.rows * rows.cols), params);
        check(batch.status());
        results = std::move(*batch);
      }
    });
    for (size_t i = 0; i < n; ++i)
      all_fit &= fill_row(results[i], i, k, ids_out, dist_out, counts_out);
  }
  pyb::object ids_obj =
      all_fit ? pyb::object(ids) : pyb::object(object_ids(results, k, rows.one_row));
  if (rows.one_row) return pyb::make_tuple(ids_obj, distances, pyb::int_(counts_out[0]));
  return pyb::make_tuple(ids_obj, distances, counts);
}

}  // namespace iqdb::py
