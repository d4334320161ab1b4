// CallGate: how a handle's close() coexists with calls on other threads.
// Every call holds a Pass while it runs; close_and_drain() shuts the gate,
// waits until no Pass is out, and from then on enter() refuses, so a call
// after close gets an error instead of touching released state.
//
// Thread-safety: every method may be called from many threads at once. A
// thread holding a Pass must not call close_and_drain() (it would wait for
// itself).
#pragma once

#include <atomic>
#include <cstdint>

#include "util/atomic_wait.h"

namespace iqdb::db {

class CallGate {
 public:
  class Pass {
   public:
    Pass(Pass&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    Pass& operator=(Pass&&) = delete;
    ~Pass() {
      if (gate_) gate_->leave();
    }
    // False when the gate was closed: the call must not proceed.
    explicit operator bool() const noexcept { return gate_ != nullptr; }

   private:
    friend class CallGate;
    explicit Pass(CallGate* gate) noexcept : gate_(gate) {}
    CallGate* gate_;
  };

  Pass enter() noexcept {
    // seq_cst on both sides: either close sees this call in flight, or this
    // call sees the gate closed (never neither).
    in_flight_.fetch_add(1, std::memory_order_seq_cst);
    if (closed_.load(std::memory_order_seq_cst)) {
      leave();
      return Pass(nullptr);
    }
    return Pass(this);
  }

  // Shuts the gate and waits for every call in flight; false if it was
  // already shut.
  bool close_and_drain() noexcept {
    if (closed_.exchange(true, std::memory_order_seq_cst)) return false;
    for (uint64_t n = in_flight_.load(std::memory_order_seq_cst); n != 0;
         n = in_flight_.load(std::memory_order_seq_cst)) {
      util::wait_while_equal(in_flight_, n);
    }
    return true;
  }

  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

 private:
  void leave() noexcept {
    if (in_flight_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        closed_.load(std::memory_order_seq_cst)) {
      util::wake_all(in_flight_);
    }
  }

  std::atomic<uint64_t> in_flight_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace iqdb::db
