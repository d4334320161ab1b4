// Turning exceptions into Status at the edges where no exception may pass:
// the public API and the apply step of the write path.
//
// Thread-safety: pure functions.
#pragma once

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "iqdb/status.h"

namespace iqdb::db {

// The exception in flight as a Status (std::bad_alloc -> kResourceExhausted).
inline Status status_from_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory");
  } catch (const std::length_error&) {
    return Status::ResourceExhausted("a container outgrew its limits");
  } catch (const std::exception& ex) {
    return Status::IOError(std::string("internal error: ") + ex.what());
  } catch (...) {
    return Status::IOError("internal error: unknown exception");
  }
}

// Runs fn() and turns any exception into a Status (or a failed Result).
template <typename Fn>
auto guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    return status_from_exception(std::current_exception());
  }
}

}  // namespace iqdb::db
