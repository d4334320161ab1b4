// The C ABI: versions, errors, options, opening and closing, info.
#include <algorithm>
#include <cstddef>
#include <chrono>
#include <string>
#include <vector>

#include "capi/capi_internal.h"

static_assert(static_cast<int>(iqdb::StatusCode::kOk) == IQDB_OK);
static_assert(static_cast<int>(iqdb::StatusCode::kInvalidArgument) == IQDB_INVALID_ARGUMENT);
static_assert(static_cast<int>(iqdb::StatusCode::kNotFound) == IQDB_NOT_FOUND);
static_assert(static_cast<int>(iqdb::StatusCode::kCorruption) == IQDB_CORRUPTION);
static_assert(static_cast<int>(iqdb::StatusCode::kIOError) == IQDB_IO_ERROR);
static_assert(static_cast<int>(iqdb::StatusCode::kConfigMismatch) == IQDB_CONFIG_MISMATCH);
static_assert(static_cast<int>(iqdb::StatusCode::kBusy) == IQDB_BUSY);
static_assert(static_cast<int>(iqdb::StatusCode::kUnsupported) == IQDB_UNSUPPORTED);
static_assert(static_cast<int>(iqdb::StatusCode::kResourceExhausted) == IQDB_RESOURCE_EXHAUSTED);
static_assert(static_cast<int>(iqdb::StatusCode::kClosed) == IQDB_CLOSED);
static_assert(static_cast<int>(iqdb::Metric::kHamming) == IQDB_METRIC_HAMMING);
static_assert(static_cast<int>(iqdb::StorageType::kU8) == IQDB_STORAGE_U8);

namespace iqdb::capi {
namespace {

Result<Config> to_config(const iqdb_options* options) {
  iqdb_options o;
  iqdb_options_init(&o);
  if (!read_sized(options, o))
    return Status::InvalidArgument("options are NULL or struct_size is unset");
  if (o.metric < IQDB_METRIC_COSINE || o.metric > IQDB_METRIC_HAMMING) {
    return Status::InvalidArgument("unknown metric");
  }
  Config config(o.dim, static_cast<Metric>(o.metric));
  switch (o.index) {
    case IQDB_INDEX_FLAT: break;
    case IQDB_INDEX_HNSW: {
      HnswConfig h;
      if (o.hnsw_m != 0) h.m = o.hnsw_m;
      if (o.hnsw_ef_construction != 0) h.ef_construction = o.hnsw_ef_construction;
      if (o.hnsw_ef_search != 0) h.ef_search = o.hnsw_ef_search;
      config.index(h);
      break;
    }
    case IQDB_INDEX_IVF: {
      IvfConfig v;
      v.n_clusters = o.ivf_n_clusters;
      if (o.ivf_n_probes != 0) v.n_probes = o.ivf_n_probes;
      if (o.ivf_pq < IQDB_IVF_PQ_NONE || o.ivf_pq > IQDB_IVF_PQ_4BIT) {
        return Status::InvalidArgument("unknown IVF PQ mode");
      }
      v.pq = static_cast<IvfConfig::Pq>(o.ivf_pq);
      v.pq_subvectors = o.ivf_pq_subvectors;
      config.index(v);
      break;
    }
    default: return Status::InvalidArgument("unknown index kind");
  }
  if (o.storage < IQDB_STORAGE_F32 || o.storage > IQDB_STORAGE_U8) {
    return Status::InvalidArgument("unknown storage type");
  }
  config.storage(VectorStorage{static_cast<StorageType>(o.storage), o.keep_f32 != 0});
  switch (o.fsync) {
    case IQDB_FSYNC_ALWAYS: config.fsync(FsyncPolicy::always()); break;
    case IQDB_FSYNC_PERIODIC:
      config.fsync(FsyncPolicy::periodic(std::chrono::milliseconds(o.fsync_interval_ms)));
      break;
    case IQDB_FSYNC_NEVER: config.fsync(FsyncPolicy::never()); break;
    default: return Status::InvalidArgument("unknown fsync policy");
  }
  if (o.indexed_field_count != 0) {
    if (o.indexed_fields == nullptr) return Status::InvalidArgument("indexed_fields is NULL");
    if (o.indexed_field_count > Config::kMaxIndexedFields) {
      return Status::InvalidArgument("too many indexed fields");
    }
    std::vector<std::string> fields;
    for (size_t i = 0; i < o.indexed_field_count; ++i) {
      if (o.indexed_fields[i] == nullptr)
        return Status::InvalidArgument("an indexed field is NULL");
      fields.emplace_back(o.indexed_fields[i]);
    }
    config.indexed_fields(std::move(fields));
  }
  config.write_threads(o.write_threads);
  return config;
}

template <typename Open>
iqdb_status open_with(const iqdb_options* options, iqdb_db** db, iqdb_error** err, Open&& open) {
  return guarded(err, [&]() -> iqdb_status {
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db (the output handle) is NULL");
    *db = nullptr;
    Result<Config> config = to_config(options);
    if (!config.ok()) return fail(err, config.status());
    Result<Database> opened = open(*config);
    if (!opened.ok()) return fail(err, opened.status());
    *db = new iqdb_db{std::move(*opened)};
    return IQDB_OK;
  });
}

}  // namespace
}  // namespace iqdb::capi

using iqdb::capi::fail;
using iqdb::capi::guarded;
using iqdb::capi::report;

extern "C" {

uint32_t iqdb_abi_version(void) { return IQDB_ABI_VERSION; }

const char* iqdb_version(void) { return iqdb::version(); }

const char* iqdb_status_name(iqdb_status status) {
  switch (status) {
    case IQDB_OK: return "OK";
    case IQDB_INVALID_ARGUMENT: return "InvalidArgument";
    case IQDB_NOT_FOUND: return "NotFound";
    case IQDB_CORRUPTION: return "Corruption";
    case IQDB_IO_ERROR: return "IOError";
    case IQDB_CONFIG_MISMATCH: return "ConfigMismatch";
    case IQDB_BUSY: return "Busy";
    case IQDB_UNSUPPORTED: return "Unsupported";
    case IQDB_RESOURCE_EXHAUSTED: return "ResourceExhausted";
    case IQDB_CLOSED: return "Closed";
  }
  return "Unknown";
}

iqdb_status iqdb_error_status(const iqdb_error* err) {
  return err == nullptr ? IQDB_OK : err->status;
}

const char* iqdb_error_message(const iqdb_error* err) {
  return err == nullptr ? "" : err->message.c_str();
}

void iqdb_error_free(iqdb_error* err) { delete err; }

void iqdb_options_init(iqdb_options* options) {
  if (options == nullptr) return;
  *options = iqdb_options{};
  options->struct_size = sizeof(iqdb_options);
  options->metric = IQDB_METRIC_COSINE;
  options->index = IQDB_INDEX_FLAT;
  options->ivf_pq = IQDB_IVF_PQ_NONE;
  options->storage = IQDB_STORAGE_F32;
  options->fsync = IQDB_FSYNC_ALWAYS;
}

iqdb_status iqdb_open(const char* path, const iqdb_options* options, iqdb_db** db,
                      iqdb_error** err) {
  if (path == nullptr || *path == '\0') {
    if (db != nullptr) *db = nullptr;
    return fail(err, IQDB_INVALID_ARGUMENT, "path is NULL or empty");
  }
  return iqdb::capi::open_with(
      options, db, err, [&](const iqdb::Config& c) { return iqdb::Database::open(path, c); });
}

iqdb_status iqdb_open_in_memory(const iqdb_options* options, iqdb_db** db, iqdb_error** err) {
  return iqdb::capi::open_with(
      options, db, err, [](const iqdb::Config& c) { return iqdb::Database::open_in_memory(c); });
}

iqdb_status iqdb_close(iqdb_db* db, iqdb_error** err) {
  if (db == nullptr) return report(err, iqdb::Status::OK());
  return guarded(err, [&]() -> iqdb_status {
    iqdb::Status s = db->db.close();
    delete db;
    return report(err, s);
  });
}

void iqdb_info_init(iqdb_info* info) {
  if (info == nullptr) return;
  *info = iqdb_info{};
  info->struct_size = sizeof(iqdb_info);
}

iqdb_status iqdb_get_info(const iqdb_db* db, iqdb_info* info, iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (db == nullptr || info == nullptr)
      return fail(err, IQDB_INVALID_ARGUMENT, "db or info is NULL");
    iqdb_info out;
    iqdb_info_init(&out);
    out.dim = db->db.dim();
    out.metric = static_cast<iqdb_metric>(db->db.metric());
    const iqdb::IndexKind kind = db->db.index_kind();
    out.index = kind.is_hnsw() ? IQDB_INDEX_HNSW : kind.is_ivf() ? IQDB_INDEX_IVF : IQDB_INDEX_FLAT;
    const iqdb::VectorStorage storage = db->db.storage();
    out.storage = static_cast<iqdb_storage_type>(storage.type);
    out.keep_f32 = storage.keep_f32 ? 1 : 0;
    out.size = db->db.size();
    if (info->struct_size < sizeof(size_t))
      return fail(err, IQDB_INVALID_ARGUMENT, "info.struct_size is unset");
    const size_t caller_size = info->struct_size;
    // Asked of the full info only by callers whose struct has the field.
    if (caller_size >= offsetof(iqdb_info, write_threads) + sizeof(size_t)) {
      if (iqdb::Result<iqdb::DatabaseInfo> full = db->db.info(); full.ok())
        out.write_threads = full->write_threads;
    }
    std::memcpy(info, &out, std::min(caller_size, sizeof(iqdb_info)));
    info->struct_size = caller_size;
    return IQDB_OK;
  });
}

size_t iqdb_size(const iqdb_db* db) { return db == nullptr ? 0 : db->db.size(); }

iqdb_status iqdb_flush(iqdb_db* db, iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db is NULL");
    return report(err, db->db.flush());
  });
}

iqdb_status iqdb_optimize(iqdb_db* db, iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db is NULL");
    return report(err, db->db.optimize());
  });
}

}  // extern "C"
