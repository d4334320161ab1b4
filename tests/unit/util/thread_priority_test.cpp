// util/thread_priority.h: the scheduling classes background work and
// writers run in, read back from the OS where it reports them (Linux).
#include <doctest/doctest.h>

#include <thread>

#include "util/thread_priority.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>

namespace {

int my_policy() {
  int policy = -1;
  sched_param param{};
  REQUIRE(pthread_getschedparam(pthread_self(), &policy, &param) == 0);
  return policy;
}

}  // namespace

TEST_CASE("thread priority: a writer's scope is SCHED_BATCH and restores SCHED_OTHER after") {
  std::thread([] {
    REQUIRE(my_policy() == SCHED_OTHER);
    {
      iqdb::util::NoWakeupPreemption scope;
      CHECK(my_policy() == SCHED_BATCH);
    }
    CHECK(my_policy() == SCHED_OTHER);
  }).join();
}

TEST_CASE("thread priority: a lowered thread is SCHED_IDLE and a writer's scope leaves it so") {
  std::thread([] {
    iqdb::util::lower_this_thread_priority();
    CHECK(my_policy() == SCHED_IDLE);
    {
      iqdb::util::NoWakeupPreemption scope;
      CHECK(my_policy() == SCHED_IDLE);
    }
    CHECK(my_policy() == SCHED_IDLE);
  }).join();
}
#endif
