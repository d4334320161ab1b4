// The C ABI: ids, metadata in and out, upsert, get and remove.
#include <memory>
#include <optional>
#include <vector>

#include "capi/capi_internal.h"

struct iqdb_metadata {
  // Names and values in the Metadata's (name) order; strings point into it.
  iqdb::Metadata fields;
  std::vector<const std::pair<const std::string, iqdb::Value>*> order;
};

namespace iqdb::capi {

Result<VectorId> to_id(const iqdb_id* id) {
  if (id == nullptr) return Status::InvalidArgument("id is NULL");
  if (id->bytes == nullptr) return VectorId(id->u64);
  return VectorId::from_bytes(std::string_view(static_cast<const char*>(id->bytes), id->bytes_len));
}

namespace {

// The n ids of a batch call.
Result<std::vector<VectorId>> to_ids(const iqdb_id* ids, size_t n) {
  std::vector<VectorId> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto id = to_id(&ids[i]);
    if (!id.ok()) return id.status();
    out.push_back(std::move(*id));
  }
  return out;
}

Result<Value> to_value(const iqdb_value& v) {
  switch (v.type) {
    case IQDB_VALUE_NULL: return Value();
    case IQDB_VALUE_BOOL: return Value(v.boolean != 0);
    case IQDB_VALUE_INT: return Value(static_cast<long long>(v.integer));
    case IQDB_VALUE_DOUBLE: return Value(v.real);
    case IQDB_VALUE_STRING:
      if (v.str == nullptr && v.str_len != 0)
        return Status::InvalidArgument("string value is NULL");
      return Value(std::string(v.str == nullptr ? "" : v.str, v.str_len));
  }
  return Status::InvalidArgument("unknown metadata value type");
}

// NULL fields: no metadata (nullopt).
Result<std::optional<Metadata>> to_metadata(const iqdb_field* fields, size_t n) {
  if (fields == nullptr) {
    if (n != 0) return Status::InvalidArgument("fields is NULL but n_fields is not 0");
    return std::optional<Metadata>();
  }
  Metadata md;
  for (size_t i = 0; i < n; ++i) {
    if (fields[i].name == nullptr) return Status::InvalidArgument("metadata field name is NULL");
    Result<Value> v = to_value(fields[i].value);
    if (!v.ok()) return v.status();
    md.set(fields[i].name, std::move(*v));
  }
  return std::optional<Metadata>(std::move(md));
}

}  // namespace
}  // namespace iqdb::capi

using iqdb::capi::fail;
using iqdb::capi::guarded;
using iqdb::capi::report;

extern "C" {

iqdb_status iqdb_upsert(iqdb_db* db, const iqdb_id* id, const float* vector, size_t dim,
                        const iqdb_field* fields, size_t n_fields, iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db is NULL");
    if (vector == nullptr && dim != 0) return fail(err, IQDB_INVALID_ARGUMENT, "vector is NULL");
    auto vid = iqdb::capi::to_id(id);
    if (!vid.ok()) return fail(err, vid.status());
    auto md = iqdb::capi::to_metadata(fields, n_fields);
    if (!md.ok()) return fail(err, md.status());
    const iqdb::Metadata* m = md->has_value() ? &**md : nullptr;
    return report(err, db->db.upsert(*vid, std::span<const float>(vector, dim), m));
  });
}

iqdb_status iqdb_upsert_batch(iqdb_db* db, const iqdb_id* ids, size_t n, const float* rows,
                              size_t dim, const iqdb_record_metadata* metadata, iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db is NULL");
    if (n == 0) return report(err, iqdb::Status::OK());
    if (ids == nullptr || rows == nullptr)
      return fail(err, IQDB_INVALID_ARGUMENT, "ids or rows is NULL");
    if (dim != db->db.dim()) {
      return fail(err, IQDB_INVALID_ARGUMENT,
                  "rows have " + std::to_string(dim) + " dimensions, the database has " +
                      std::to_string(db->db.dim()));
    }
    auto vids = iqdb::capi::to_ids(ids, n);
    if (!vids.ok()) return fail(err, vids.status());
    std::vector<std::optional<iqdb::Metadata>> mds;
    std::vector<const iqdb::Metadata*> md_ptrs;
    if (metadata != nullptr) {
      mds.reserve(n);
      md_ptrs.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        auto md = iqdb::capi::to_metadata(metadata[i].fields, metadata[i].n_fields);
        if (!md.ok()) return fail(err, md.status());
        mds.push_back(std::move(*md));
      }
      for (const auto& md : mds) md_ptrs.push_back(md.has_value() ? &*md : nullptr);
    }
    return report(err, db->db.upsert_batch(*vids, std::span<const float>(rows, n * dim), md_ptrs));
  });
}

size_t iqdb_metadata_size(const iqdb_metadata* md) { return md == nullptr ? 0 : md->order.size(); }

iqdb_status iqdb_metadata_field(const iqdb_metadata* md, size_t i, const char** name,
                                iqdb_value* value) {
  if (md == nullptr || i >= md->order.size() || name == nullptr || value == nullptr) {
    return IQDB_INVALID_ARGUMENT;
  }
  const auto& [field, v] = *md->order[i];
  *name = field.c_str();
  *value = iqdb_value{};
  switch (v.type()) {
    case iqdb::Value::Type::kNull: value->type = IQDB_VALUE_NULL; break;
    case iqdb::Value::Type::kBool:
      value->type = IQDB_VALUE_BOOL;
      value->boolean = v.as_bool() ? 1 : 0;
      break;
    case iqdb::Value::Type::kInt:
      value->type = IQDB_VALUE_INT;
      value->integer = v.as_int();
      break;
    case iqdb::Value::Type::kDouble:
      value->type = IQDB_VALUE_DOUBLE;
      value->real = v.as_double();
      break;
    case iqdb::Value::Type::kString:
      value->type = IQDB_VALUE_STRING;
      value->str = v.as_string().c_str();
      value->str_len = v.as_string().size();
      break;
  }
  return IQDB_OK;
}

void iqdb_metadata_free(iqdb_metadata* md) { delete md; }

iqdb_status iqdb_get(const iqdb_db* db, const iqdb_id* id, float* vector, size_t dim, int* found,
                     iqdb_metadata** metadata, iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (found != nullptr) *found = 0;
    if (metadata != nullptr) *metadata = nullptr;
    if (db == nullptr || found == nullptr)
      return fail(err, IQDB_INVALID_ARGUMENT, "db or found is NULL");
    if (dim != db->db.dim() || vector == nullptr) {
      return fail(err, IQDB_INVALID_ARGUMENT,
                  "the vector buffer must hold " + std::to_string(db->db.dim()) + " floats");
    }
    auto vid = iqdb::capi::to_id(id);
    if (!vid.ok()) return fail(err, vid.status());
    auto record = db->db.get(*vid);
    if (!record.ok()) return fail(err, record.status());
    if (!record->has_value()) return IQDB_OK;
    const iqdb::Record& r = **record;
    std::unique_ptr<iqdb_metadata> md;
    if (metadata != nullptr && r.metadata.has_value()) {
      md = std::make_unique<iqdb_metadata>();
      md->fields = *r.metadata;
      for (const auto& field : md->fields) md->order.push_back(&field);
    }
    std::copy(r.vector.begin(), r.vector.end(), vector);
    *found = 1;
    if (metadata != nullptr) *metadata = md.release();
    return IQDB_OK;
  });
}

iqdb_status iqdb_remove(iqdb_db* db, const iqdb_id* id, int* removed, iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (removed != nullptr) *removed = 0;
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db is NULL");
    auto vid = iqdb::capi::to_id(id);
    if (!vid.ok()) return fail(err, vid.status());
    auto r = db->db.remove(*vid);
    if (!r.ok()) return fail(err, r.status());
    if (removed != nullptr) *removed = *r ? 1 : 0;
    return IQDB_OK;
  });
}

iqdb_status iqdb_remove_batch(iqdb_db* db, const iqdb_id* ids, size_t n, size_t* removed,
                              iqdb_error** err) {
  return guarded(err, [&]() -> iqdb_status {
    if (removed != nullptr) *removed = 0;
    if (db == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "db is NULL");
    if (n == 0) return report(err, iqdb::Status::OK());
    if (ids == nullptr) return fail(err, IQDB_INVALID_ARGUMENT, "ids is NULL");
    auto vids = iqdb::capi::to_ids(ids, n);
    if (!vids.ok()) return fail(err, vids.status());
    auto r = db->db.remove_batch(*vids);
    if (!r.ok()) return fail(err, r.status());
    if (removed != nullptr) *removed = *r;
    return IQDB_OK;
  });
}

}  // extern "C"
