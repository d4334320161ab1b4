#include "util/thread_priority.h"

#if defined(_WIN32)
#include "util/windows.h"
#else
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace iqdb::util {

void lower_this_thread_priority() noexcept {
#if defined(_WIN32)
  (void)SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_LOWEST);
#elif defined(__APPLE__)
  (void)setpriority(PRIO_DARWIN_THREAD, 0, PRIO_DARWIN_BG);
#elif defined(__linux__)
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  // SCHED_IDLE weighs less than nice 19 and never preempts a normal thread
  // on wakeup, so a search or a write always gets the core first.
  sched_param param{};
  param.sched_priority = 0;
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
#endif
}

void name_this_thread(const char* name) noexcept {
#if defined(__APPLE__)
  (void)pthread_setname_np(name);
#elif defined(__linux__)
  char shortened[16] = {};
  for (size_t i = 0; i + 1 < sizeof shortened && name[i] != '\0'; ++i) shortened[i] = name[i];
  (void)pthread_setname_np(pthread_self(), shortened);
#else
  (void)name;
#endif
}

}  // namespace iqdb::util
