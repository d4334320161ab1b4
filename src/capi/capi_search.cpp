// The C ABI: search, single and batched, into caller-owned buffers.
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "capi/capi_internal.h"

namespace iqdb::capi {
namespace {

// Writes one query's hits into its k slots of the output, padding the rest.
Status write_hits(const std::vector<Hit>& hits, size_t row, size_t k,
                  const iqdb_search_output& out) {
  const size_t base = row * k;
  for (size_t j = 0; j < k; ++j) {
    const size_t slot = base + j;
    if (out.key_lens != nullptr) out.key_lens[slot] = 0;
    if (j >= hits.size()) {
      out.ids[slot] = IQDB_EMPTY_ID;
      if (out.distances != nullptr) out.distances[slot] = std::numeric_limits<float>::infinity();
      continue;
    }
    const Hit& hit = hits[j];
    if (out.distances != nullptr) out.distances[slot] = hit.distance;
    if (hit.id.is_u64()) {
      out.ids[slot] = hit.id.as_u64();
      continue;
    }
    const std::string& key = hit.id.bytes();
    if (out.key_bytes == nullptr || out.key_lens == nullptr) {
      return Status::InvalidArgument(
          "a hit has a byte-string id; pass key_bytes and key_lens to receive it");
    }
    if (key.size() > out.key_capacity) {
      return Status::InvalidArgument("a hit's byte-string id has " + std::to_string(key.size()) +
                                     " bytes, more than key_capacity");
    }
    std::memcpy(out.key_bytes + slot * out.key_capacity, key.data(), key.size());
    out.key_lens[slot] = key.size();
    out.ids[slot] = IQDB_EMPTY_ID;
  }
  if (out.counts != nullptr) out.counts[row] = std::min(hits.size(), k);
  return Status::OK();
}

}  // namespace
}  // namespace iqdb::capi

using iqdb::capi::fail;
using iqdb::capi::guarded;
using iqdb::capi::report;

extern "C" {

void iqdb_search_options_init(iqdb_search_options* options) {
  if (options == nullptr) return;
  *options = iqdb_search_options{};
  options->struct_size = sizeof(iqdb_search_options);
  options->k = 10;
}

void iqdb_search_output_init(iqdb_search_output* output) {
  if (output == nullptr) return;
  *output = iqdb_search_output{};
  output->struct_size = sizeof(iqdb_search_output);
}

iqdb_status iqdb_search(const iqdb_db* db, const float* queries, size_t n, size_t dim,
                        const iqdb_search_options* options, const iqdb_search_output* output,
                        iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    iqdb_search_options o;
    iqdb_search_options_init(&o);
    iqdb_search_output out;
    iqdb_search_output_init(&out);
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db is NULL");
    if (!iqdb::capi::read_sized(options, o)) {
      return fail(err, IQDB_INVALID_ARGUMENT, "search options are NULL or struct_size is unset");
    }
    if (!iqdb::capi::read_sized(output, out) || out.ids == nullptr) {
      return fail(err, IQDB_INVALID_ARGUMENT,
                  "search output is NULL, has no ids buffer or no struct_size");
    }
    if (n == 0) return report(err, iqdb::Status::OK());
    if (queries == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "queries is NULL");
    if (dim != db->db.dim()) {
      return fail(err, IQDB_INVALID_ARGUMENT,
                  "queries have " + std::to_string(dim) + " dimensions, the database has " +
                      std::to_string(db->db.dim()));
    }
    if (o.filter != nullptr && o.filters != nullptr) {
      return fail(err, IQDB_INVALID_ARGUMENT, "give either filter or filters, not both");
    }

    std::optional<iqdb::Filter> shared;
    if (o.filter != nullptr) {
      auto f = iqdb::Filter::parse(o.filter);
      if (!f.ok()) return fail(err, f.status());
      shared = std::move(*f);
    }
    std::vector<std::optional<iqdb::Filter>> per_query;
    std::vector<const iqdb::Filter*> per_query_ptrs;
    if (o.filters != nullptr) {
      per_query.resize(n);
      per_query_ptrs.assign(n, nullptr);
      for (size_t i = 0; i < n; ++i) {
        if (o.filters[i] == nullptr) continue;
        auto f = iqdb::Filter::parse(o.filters[i]);
        if (!f.ok()) {
          return fail(
              err, iqdb::capi::to_c(f.status().code()),
              "filter of query " + std::to_string(i) + ": " + std::string(f.status().message()));
        }
        per_query[i] = std::move(*f);
        per_query_ptrs[i] = &*per_query[i];
      }
    }

    iqdb::SearchParams params;
    params.k = o.k;
    params.filter = shared ? &*shared : nullptr;
    params.filters = per_query_ptrs;
    params.ef = o.ef;
    params.n_probes = o.n_probes;
    params.threads = o.threads;

    if (n == 1 && per_query_ptrs.empty()) {
      auto hits = db->db.search(std::span<const float>(queries, dim), params);
      if (!hits.ok()) return fail(err, hits.status());
      return report(err, iqdb::capi::write_hits(*hits, 0, o.k, out));
    }
    auto batch = db->db.search_batch(std::span<const float>(queries, n * dim), params);
    if (!batch.ok()) return fail(err, batch.status());
    for (size_t i = 0; i < n; ++i) {
      iqdb::Status s = iqdb::capi::write_hits((*batch)[i], i, o.k, out);
      if (!s.ok()) return fail(err, s);
    }
    return IQDB_OK;
  });
}

}  // extern "C"
