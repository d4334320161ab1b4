// Fuzzes the payload index section decoder: the first byte picks how many
// slots the store has and which are live, the rest is the section. Any
// input must decode or fail with kCorruption, never crash or over-read; a
// decoded index must encode back to exactly the section's bytes (one
// encoding per index), and evaluating filters on it must not crash.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "index/payload_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t slots = data[0] % 64;
  std::vector<uint8_t> live(slots);
  for (size_t s = 0; s < slots; ++s) live[s] = (s * 7 + data[0]) % 5 != 0 ? 1 : 0;
  const std::span<const uint8_t> section(data + 1, size - 1);
  auto index = iqdb::index::PayloadIndex::decode(section, live);
  if (!index.ok()) {
    if (index.status().code() != iqdb::StatusCode::kCorruption) __builtin_trap();
    return 0;
  }
  const std::string again = index->encode(static_cast<uint32_t>(slots));
  if (again.size() != section.size() ||
      (!again.empty() && __builtin_memcmp(again.data(), section.data(), again.size()) != 0)) {
    __builtin_trap();
  }
  using iqdb::Filter;
  using iqdb::Value;
  for (const Filter& f :
       {Filter::eq("a", Value(int64_t{1})), Filter::lt("b", Value(2.5)),
        Filter::not_(Filter::in("c", {Value("x"), Value(true)})),
        Filter::or_({Filter::ge("a", Value(int64_t{0})), Filter::ne("d", Value(nullptr))})}) {
    auto set = index->evaluate(f);
    if (set) {
      set->for_each([&](size_t s) {
        if (s >= slots || live[s] == 0) __builtin_trap();
      });
    }
  }
  return 0;
}
