// The MinGW half of per_thread.h: fiber-local slots whose callback deletes
// the object when its thread ends.
#if defined(__MINGW32__)

#include "util/windows.h"

#include "util/per_thread.h"

namespace iqdb::util::per_thread_detail {

namespace {

void NTAPI destroy(void* box) { delete static_cast<Box*>(box); }

}  // namespace

unsigned long new_slot() noexcept {
  const DWORD slot = FlsAlloc(destroy);
  return slot == FLS_OUT_OF_INDEXES ? ~0ul : slot;
}

Box* get(unsigned long slot) noexcept {
  return slot == ~0ul ? nullptr : static_cast<Box*>(FlsGetValue(slot));
}

bool set(unsigned long slot, Box* box) noexcept {
  return slot != ~0ul && FlsSetValue(slot, box) != 0;
}

}  // namespace iqdb::util::per_thread_detail

#endif  // __MINGW32__
