// IdTable against std::unordered_map under random inserts and erases,
// with integer and byte-string ids, including long probe runs.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/id_table.h"

namespace iqdb::index {

TEST_CASE("IdTable agrees with std::unordered_map through random inserts and erases") {
  for (bool bytes : {false, true}) {
    CAPTURE(bytes);
    std::mt19937_64 rng(bytes ? 11 : 12);
    IdTable table;
    std::unordered_map<VectorId, uint32_t> oracle;
    std::vector<VectorId> ids;  // per slot, like the store's
    std::vector<uint32_t> free_slots;
    auto make_id = [&](uint64_t k) {
      return bytes ? *VectorId::from_bytes("key-" + std::to_string(k)) : VectorId(k);
    };
    for (int step = 0; step < 40000; ++step) {
      const uint64_t key = rng() % 3000;  // small key space: many hits, erases, reinserts
      const VectorId id = make_id(key);
      const auto it = oracle.find(id);
      REQUIRE(table.find(id, ids) == (it == oracle.end() ? IdTable::kEmpty : it->second));
      if (rng() % 3 != 0) {
        if (it != oracle.end()) continue;
        uint32_t slot;
        if (!free_slots.empty()) {
          slot = free_slots.back();
          free_slots.pop_back();
          ids[slot] = id;
        } else {
          slot = static_cast<uint32_t>(ids.size());
          ids.push_back(id);
        }
        table.reserve(table.size() + 1);
        table.insert(id, slot);
        oracle.emplace(id, slot);
      } else {
        const uint32_t erased = table.erase(id, ids);
        if (it == oracle.end()) {
          CHECK(erased == IdTable::kEmpty);
          continue;
        }
        CHECK(erased == it->second);
        free_slots.push_back(erased);
        ids[erased] = VectorId(uint64_t{~0ull});
        oracle.erase(it);
      }
      REQUIRE(table.size() == oracle.size());
    }
    for (const auto& [id, slot] : oracle) CHECK(table.find(id, ids) == slot);
  }
}

TEST_CASE("IdTable: an empty table finds and erases nothing") {
  IdTable table;
  std::vector<VectorId> ids;
  CHECK(table.find(VectorId(uint64_t{1}), ids) == IdTable::kEmpty);
  CHECK(table.erase(VectorId(uint64_t{1}), ids) == IdTable::kEmpty);
  CHECK(table.size() == 0);
}

}  // namespace iqdb::index
