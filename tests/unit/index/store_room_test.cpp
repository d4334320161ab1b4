// VectorStore::prepare_room / commit_room: the growth a write needs is made
// before its exclusive step, so that step finds room for its records, and
// making or committing room changes no record a reader can see.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "index/vector_store.h"

namespace iqdb::index {
namespace {

constexpr size_t kDim = 5;

std::vector<float> vec(uint64_t id) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float(id % 97) + 0.5f * float(d);
  return v;
}

Metadata meta(uint64_t id) { return Metadata{{"id", Value(int64_t(id))}}; }

// Every record 0..count-1 (odd ids carry metadata) reads back as written.
void check_records(const VectorStore& store, uint64_t count) {
  CHECK(store.size() == count);
  for (uint64_t id = 0; id < count; ++id) {
    CAPTURE(id);
    const uint32_t slot = store.find(VectorId(id));
    REQUIRE(slot != kNoSlot);
    CHECK(store.id(slot) == VectorId(id));
    const std::vector<float> want = vec(id);
    CHECK(std::vector<float>(store.row(slot), store.row(slot) + kDim) == want);
    if (id % 2 == 1) {
      REQUIRE(store.metadata(slot) != nullptr);
      CHECK(*store.metadata(slot) == meta(id));
    } else {
      CHECK(store.metadata(slot) == nullptr);
    }
  }
}

}  // namespace

TEST_CASE("store: room made before a write leaves its exclusive step nothing to grow") {
  VectorStore store(kDim, Metric::kL2);
  uint64_t next = 0;
  for (size_t n : {size_t{1}, size_t{3}, size_t{64}, size_t{1}, size_t{700}, size_t{5}}) {
    CAPTURE(n);
    VectorStore::Room room = store.prepare_room(n);
    check_records(store, next);  // making room changed nothing a reader sees
    store.commit_room(room);
    check_records(store, next);
    // Room for n records is there: asking again finds nothing to grow.
    VectorStore::Room again = store.prepare_room(n);
    CHECK(!again.slots);
    CHECK(!again.table);
    for (size_t i = 0; i < n; ++i, ++next) {
      const Metadata m = meta(next);
      auto r = store.upsert(VectorId(next), vec(next), next % 2 == 1 ? &m : nullptr);
      REQUIRE(r.ok());
      CHECK(!r->replaced);
    }
    check_records(store, next);
  }
}

TEST_CASE("store: room counts freed slots, and an empty room commits as a no-op") {
  VectorStore store(kDim, Metric::kL2);
  for (uint64_t id = 0; id < 40; ++id) REQUIRE(store.upsert(VectorId(id), vec(id), nullptr).ok());
  VectorStore::Room grown = store.prepare_room(200);
  store.commit_room(grown);
  for (uint64_t id = 0; id < 40; id += 2) CHECK(store.remove(VectorId(id)) != kNoSlot);
  // 20 free slots: 20 new records reuse them and need no room.
  VectorStore::Room none = store.prepare_room(20);
  CHECK(!none.slots);
  CHECK(!none.table);
  store.commit_room(none);
  for (uint64_t id = 100; id < 120; ++id) {
    auto r = store.upsert(VectorId(id), vec(id), nullptr);
    REQUIRE(r.ok());
    CHECK(r->slot < 40);
  }
  CHECK(store.size() == 40);
  CHECK(store.slot_end() == 40);
}

}  // namespace iqdb::index
