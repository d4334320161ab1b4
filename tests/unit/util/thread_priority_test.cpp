// util/thread_priority.h: the scheduling class and nice value background
// work runs at, read back from the OS where it reports them (Linux).
#include <doctest/doctest.h>

#include <thread>

#include "util/thread_priority.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

namespace {

int my_policy() {
  int policy = -1;
  sched_param param{};
  REQUIRE(pthread_getschedparam(pthread_self(), &policy, &param) == 0);
  return policy;
}

}  // namespace

TEST_CASE("thread priority: a lowered thread is SCHED_IDLE at nice 19, others are untouched") {
  std::thread([] {
    REQUIRE(my_policy() == SCHED_OTHER);
    iqdb::util::lower_this_thread_priority();
    CHECK(my_policy() == SCHED_IDLE);
    errno = 0;
    CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())) == 19);
  }).join();
  CHECK(my_policy() == SCHED_OTHER);
}
#endif
