// per_thread<T, Tag>(): one T for each thread that asks, built on its first
// call in that thread and destroyed when the thread ends. For the scratch
// buffers searches reuse across calls.
//
// Where thread_local works (GCC and Clang on POSIX, MSVC) it is a
// thread_local. MinGW-w64 is different: its thread_local storage (GCC's
// emulated TLS) can be freed at thread exit before the object's destructor
// runs, which then reads freed memory (GCC PR 80816, mingw-w64 bug 527): a
// search thread that ends could corrupt the heap. There the object lives
// on the heap, its address in a Windows fiber-local slot, and the slot's
// callback deletes it when the thread ends.
//
// Tag tells apart two objects of the same type (T by default).
//
// Thread-safety: each thread gets its own T; a reference must not be used
// by another thread or after its thread ends.
#pragma once

namespace iqdb::util {

#if defined(__MINGW32__)
namespace per_thread_detail {

struct Box {
  virtual ~Box() = default;
};

template <class T>
struct BoxOf final : Box {
  T value{};
};

// A fiber-local slot whose callback deletes the Box stored in it; ~0u when
// the process has none left.
unsigned long new_slot() noexcept;
Box* get(unsigned long slot) noexcept;
// False when the slot cannot take it (the caller then keeps the Box).
bool set(unsigned long slot, Box* box) noexcept;

}  // namespace per_thread_detail

template <class T, class Tag = T>
T& per_thread() {
  using namespace per_thread_detail;
  static const unsigned long slot = new_slot();
  if (Box* box = get(slot)) return static_cast<BoxOf<T>*>(box)->value;
  // Only when the process has no slot left: a trivially destroyed
  // thread_local pointer keeps the object, which is then never freed.
  thread_local BoxOf<T>* unslotted = nullptr;
  if (unslotted != nullptr) return unslotted->value;
  auto* box = new BoxOf<T>();
  if (!set(slot, box)) unslotted = box;
  return box->value;
}
#else
template <class T, class Tag = T>
T& per_thread() {
  thread_local T value{};
  return value;
}
#endif

}  // namespace iqdb::util
