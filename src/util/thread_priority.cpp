#include "util/thread_priority.h"

#include <algorithm>

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <pthread.h>
#if defined(__APPLE__)
#include <pthread/qos.h>
#endif
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

void set_this_thread_below_normal() noexcept {
#if defined(_WIN32)
  (void)SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL);
#elif defined(__APPLE__)
  (void)pthread_set_qos_class_self_np(QOS_CLASS_UTILITY, 0);
#elif defined(__linux__)
  // Nice is per thread on Linux; getpriority's -1 for an error is also a
  // valid nice, which only makes the step start lower.
  const auto tid = static_cast<id_t>(gettid());
  const int now = getpriority(PRIO_PROCESS, tid);
  (void)setpriority(PRIO_PROCESS, tid, std::min(19, now + kBelowNormalNice));
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
