// cpu_relax: one pause of a spin-wait loop, telling the core that this
// thread is waiting (x86 `pause`, aarch64 `yield`); nothing elsewhere.
#pragma once

namespace iqdb::util {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace iqdb::util
