#include "exec/executor.h"

#include <tbb/task_arena.h>

#include <condition_variable>
#include <mutex>

namespace iqdb::exec {

struct Executor::Impl {
  explicit Impl(size_t threads)
      : arena(threads == 0 ? tbb::task_arena::automatic : static_cast<int>(threads), 0) {}
  tbb::task_arena arena;
  std::mutex mu;
  std::condition_variable idle;
  size_t in_flight = 0;
};

Executor::Executor(size_t threads) : impl_(std::make_unique<Impl>(threads)) {}

Executor::~Executor() { wait(); }

void Executor::submit(std::function<void()> task) {
  {
    std::lock_guard l(impl_->mu);
    ++impl_->in_flight;
  }
  impl_->arena.enqueue([impl = impl_.get(), task = std::move(task)] {
    task();
    std::lock_guard l(impl->mu);
    if (--impl->in_flight == 0) impl->idle.notify_all();
  });
}

void Executor::wait() {
  std::unique_lock l(impl_->mu);
  impl_->idle.wait(l, [&] { return impl_->in_flight == 0; });
}

}  // namespace iqdb::exec
