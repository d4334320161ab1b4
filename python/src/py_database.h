// The Python handle over iqdb::Database (iqdb.Database).
//
// Every call that touches the database releases the GIL first, so other
// Python threads run while iqdb works. A shared lock held for the length of
// each call lets close() wait for calls in flight instead of pulling the
// database from under them; after close() every call raises iqdb.Closed.
#pragma once

#include <cstddef>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>

#include <pybind11/pybind11.h>

#include <iqdb/database.h>

#include "errors.h"

namespace iqdb::py {

namespace pyb = pybind11;

class PyDatabase {
 public:
  PyDatabase(Database db, std::optional<std::string> path);

  // Runs fn(Database&) under the shared lock. Call without the GIL; fn must
  // not touch Python objects.
  template <typename Fn>
  auto with_db(Fn&& fn) const {
    std::shared_lock lock(mutex_);
    if (!db_) throw StatusError(kClosedCode, "the database is closed");
    return std::forward<Fn>(fn)(*db_);
  }
  template <typename Fn>
  auto with_db_mut(Fn&& fn) {
    std::shared_lock lock(mutex_);
    if (!db_) throw StatusError(kClosedCode, "the database is closed");
    return std::forward<Fn>(fn)(*db_);
  }

  size_t dim() const noexcept { return dim_; }
  const std::string& metric() const noexcept { return metric_; }
  const std::optional<std::string>& path() const noexcept { return path_; }
  bool closed() const;

  // Waits for calls in flight, flushes and releases the database. Calling
  // it again does nothing. Call without the GIL.
  void close();

 private:
  mutable std::shared_mutex mutex_;
  std::optional<Database> db_;
  std::optional<std::string> path_;
  size_t dim_;
  std::string metric_;
};

void bind_database(pyb::module_& m);
// The search method (search.cpp).
pyb::object search(PyDatabase& self, pyb::handle queries, size_t k, pyb::handle filter,
                   std::optional<size_t> ef, std::optional<size_t> n_probes,
                   std::optional<size_t> threads, bool exact);

}  // namespace iqdb::py
