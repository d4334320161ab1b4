// A Publisher that runs each exclusive step at once and counts them, for
// tests of how many steps a write takes.
#pragma once

#include <cstddef>

#include "index/ann_index.h"

namespace iqdb::index::testing {

class CountingPublisher final : public Publisher {
 public:
  size_t steps = 0;

 protected:
  void run(void* step, void (*call)(void*)) override {
    ++steps;
    call(step);
  }
};

}  // namespace iqdb::index::testing
