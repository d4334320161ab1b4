// ApplyOrder: logged writes reach memory in log order, so memory always
// equals a replay of the log. A writer holds a Turn for its sequence range:
// constructing it waits until every earlier write was applied; destroying it
// (on every path, exceptions included) lets the next one go. abandon()
// releases every waiter for good once the database stops taking writes.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "db/journal.h"

namespace iqdb::db {

class ApplyOrder {
 public:
  // `next` is the first sequence to be applied.
  explicit ApplyOrder(uint64_t next) : next_(next) {}

  class Turn {
   public:
    // Waits for `range`'s turn, or until the order is abandoned.
    Turn(ApplyOrder& order, SeqRange range) : order_(order), range_(range) {
      std::unique_lock l(order_.mu_);
      order_.cv_.wait(l, [&] { return order_.next_ == range_.first || order_.abandoned_; });
      mine_ = order_.next_ == range_.first && !order_.abandoned_;
    }
    ~Turn() {
      if (!mine_) return;
      {
        std::lock_guard l(order_.mu_);
        order_.next_ = range_.last + 1;
      }
      order_.cv_.notify_all();
    }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    // False when the order was abandoned: do not apply.
    bool ok() const noexcept { return mine_; }

   private:
    ApplyOrder& order_;
    SeqRange range_;
    bool mine_ = false;
  };

  // Waits until every sequence <= last was applied; false if abandoned.
  bool wait_applied(uint64_t last) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return next_ > last || abandoned_; });
    return !abandoned_;
  }

  void abandon() {
    {
      std::lock_guard l(mu_);
      abandoned_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_;
  bool abandoned_ = false;
};

}  // namespace iqdb::db
