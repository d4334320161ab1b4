// Executor: runs submitted tasks on a TBB task arena of its own, behind a
// TBB-free interface.
//
// submit() never blocks the caller: tasks are enqueued, not run inline.
// wait() blocks until every task submitted before it has finished.
// Destruction waits too.
//
// Thread-safety: submit() and wait() may be called from many threads at once.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace iqdb::exec {

class Executor {
 public:
  // `threads` = 0: as many as the machine has.
  explicit Executor(size_t threads);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // The task must not throw (wrap it); a throwing task terminates.
  void submit(std::function<void()> task);
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace iqdb::exec
