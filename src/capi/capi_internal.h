// Shared plumbing of the C ABI (include/iqdb/iqdb.h): the handle types,
// Status -> iqdb_status/iqdb_error conversion, and the exception barrier.
// Built over the public C++ API only.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "iqdb/iqdb.h"
#include "iqdb/iqdb.hpp"

struct iqdb_db {
  iqdb::Database db;
};

struct iqdb_error {
  iqdb_status status;
  std::string message;
};

namespace iqdb::capi {

inline iqdb_status to_c(StatusCode code) {
  return static_cast<iqdb_status>(static_cast<int>(code));
}

// Stores an error object in *err (when err is not NULL) and returns its code.
// Allocation failure of the error object itself leaves *err NULL.
inline iqdb_status fail(iqdb_error** err, iqdb_status code, std::string_view message) {
  if (err != nullptr) {
    *err = new (std::nothrow) iqdb_error{code, std::string()};
    if (*err != nullptr) {
      try {
        (*err)->message.assign(message);
      } catch (...) {
        (*err)->message.clear();
      }
    }
  }
  return code;
}

inline iqdb_status fail(iqdb_error** err, const Status& s) {
  return fail(err, to_c(s.code()), s.message());
}

inline iqdb_status report(iqdb_error** err, const Status& s) {
  if (s.ok()) {
    if (err != nullptr) *err = nullptr;
    return IQDB_OK;
  }
  return fail(err, s);
}

// Runs fn (returning iqdb_status) so that no exception escapes into C.
template <typename Fn>
iqdb_status guarded(iqdb_error** err, Fn&& fn) noexcept {
  if (err != nullptr) *err = nullptr;
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::bad_alloc&) {
    return fail(err, IQDB_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::exception& e) {
    return fail(err, IQDB_IO_ERROR, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(err, IQDB_IO_ERROR, "internal error: unknown exception");
  }
}

// Copies a caller's options struct of any known size over `out` (which holds
// the defaults): fields the caller's header lacks keep their defaults.
template <typename T>
bool read_sized(const T* in, T& out) {
  if (in == nullptr || in->struct_size < sizeof(size_t)) return false;
  std::memcpy(&out, in, std::min(in->struct_size, sizeof(T)));
  out.struct_size = sizeof(T);
  return true;
}

// The C id as a VectorId; kInvalidArgument for an empty or oversized key.
Result<VectorId> to_id(const iqdb_id* id);

}  // namespace iqdb::capi
