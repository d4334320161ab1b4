// Parallel loops on TBB, behind a TBB-free interface so that only src/exec/
// includes TBB.
//
// Thread-safety: the body runs on many threads at once; it must only touch
// what is safe to share. Calls may nest.
#pragma once

#include <cstddef>
#include <functional>

namespace iqdb::exec {

// Calls body(begin_i, end_i) over disjoint sub-ranges covering
// [begin, end), each at most `grain` long (grain 0: chosen by TBB), on the
// TBB worker pool, and returns when all are done. Runs inline for small
// ranges.
void parallel_for(size_t begin, size_t end, size_t grain,
                  const std::function<void(size_t, size_t)>& body);

// Worker threads available to parallel_for.
size_t concurrency();

// Runs fn() so that the parallel loops inside it use at most `threads`
// threads, the calling one included (0: no limit beyond the pool's).
void run_with_threads(size_t threads, const std::function<void()>& fn);

}  // namespace iqdb::exec
