#include "exec/parallel.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace iqdb::exec {

void parallel_for(size_t begin, size_t end, size_t grain,
                  const std::function<void(size_t, size_t)>& body) {
  if (begin >= end) return;
  if (grain != 0 && end - begin <= grain) {
    body(begin, end);
    return;
  }
  tbb::blocked_range<size_t> range(begin, end, grain == 0 ? 1 : grain);
  tbb::parallel_for(range, [&](const tbb::blocked_range<size_t>& r) { body(r.begin(), r.end()); });
}

size_t concurrency() { return static_cast<size_t>(tbb::this_task_arena::max_concurrency()); }

void run_with_threads(size_t threads, const std::function<void()>& fn) {
  if (threads == 0 || threads >= concurrency()) {
    fn();
    return;
  }
  // An arena of its own caps the workers that can join the loops inside fn.
  tbb::task_arena arena(static_cast<int>(threads));
  arena.execute(fn);
}

}  // namespace iqdb::exec
