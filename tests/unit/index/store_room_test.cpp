// VectorStore::prepare_room / commit_room: the growth a write needs is made
// before its exclusive step, so that step finds room for its records, and
// making or committing room changes no record a reader can see. stage /
// publish: a new record's row is written where no reader looks, and only
// publishing it makes it a record.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "iqdb/filter.h"
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

TEST_CASE("store: a staged row is no record until published, then reads back as upsert writes it") {
  VectorStore store(kDim, Metric::kL2);
  // The first record sets the arenas' base: nothing to stage into yet.
  {
    VectorStore::Room room = store.prepare_room(1);
    store.commit_room(room);
    auto staged = store.stage(vec(0));
    REQUIRE(staged.ok());
    CHECK(*staged == kNoSlot);
    REQUIRE(store.upsert(VectorId(0), vec(0), nullptr).ok());
  }
  for (uint64_t id = 1; id < 300; ++id) {
    CAPTURE(id);
    const uint32_t end = store.slot_end();
    VectorStore::Room room = store.prepare_room(1);
    auto staged = store.stage(vec(id));
    REQUIRE(staged.ok());
    REQUIRE(*staged == end);
    // Nothing a reader sees changed: same slots, same records.
    CHECK(store.slot_end() == end);
    CHECK(!store.is_live(end));
    CHECK(store.find(VectorId(id)) == kNoSlot);
    check_records(store, id);
    CHECK(std::vector<float>(store.row(end), store.row(end) + kDim) == vec(id));
    store.commit_room(room);
    const Metadata m = meta(id);
    REQUIRE(store.publish(end, VectorId(id), id % 2 == 1 ? std::make_unique<Metadata>(m) : nullptr)
                .ok());
    CHECK(store.is_live(end));
    check_records(store, id + 1);
  }
  // Metadata published this way is in the payload index like upsert's.
  CHECK(store.payload().live_count() == 300);
  const auto seven = store.payload().evaluate(Filter::eq("id", Value(int64_t(7))));
  REQUIRE(seven.has_value());
  CHECK(seven->count() == 1);
  CHECK(seven->test(store.find(VectorId(7))));
}

TEST_CASE("store: stage refuses what upsert would refuse, and slots a reader may still read") {
  VectorStore store(kDim, Metric::kL2);
  for (uint64_t id = 0; id < 10; ++id) REQUIRE(store.upsert(VectorId(id), vec(id), nullptr).ok());
  VectorStore::Room room = store.prepare_room(1);
  store.commit_room(room);
  // An unpublished staged row is overwritten by the next write there.
  auto staged = store.stage(vec(50));
  REQUIRE(staged.ok());
  REQUIRE(*staged == 10);
  auto r = store.upsert(VectorId(11), vec(11), nullptr);
  REQUIRE(r.ok());
  CHECK(r->slot == 10);
  CHECK(std::vector<float>(store.row(10), store.row(10) + kDim) == vec(11));
  // Publishing a slot that was not staged for a new id fails and changes nothing.
  CHECK(!store.publish(3, VectorId(99), nullptr).ok());
  CHECK(!store.publish(store.slot_end(), VectorId(4), nullptr).ok());
  CHECK(store.size() == 11);
  CHECK(store.find(VectorId(99)) == kNoSlot);
  // A freed slot would be reused: a search may score it before skipping it.
  REQUIRE(store.remove(VectorId(2)) != kNoSlot);
  VectorStore::Room again = store.prepare_room(1);
  store.commit_room(again);
  staged = store.stage(vec(60));
  REQUIRE(staged.ok());
  CHECK(*staged == kNoSlot);

  // u8 rows hold whole numbers in [0, 255] only: refused, nothing written.
  VectorStore u8(kDim, Metric::kL2, VectorStorage{StorageType::kU8});
  std::vector<float> whole(kDim, 3.0f);
  REQUIRE(u8.upsert(VectorId(1), whole, nullptr).ok());
  VectorStore::Room u8_room = u8.prepare_room(1);
  u8.commit_room(u8_room);
  std::vector<float> bad(kDim, 0.5f);
  CHECK(u8.stage(bad).status().code() == StatusCode::kInvalidArgument);
  CHECK(u8.size() == 1);
  CHECK(u8.slot_end() == 1);

  // SQ8 before training may train on publication: not staged.
  VectorStore sq8(kDim, Metric::kL2, VectorStorage{StorageType::kSq8});
  REQUIRE(sq8.upsert(VectorId(1), vec(1), nullptr).ok());
  VectorStore::Room sq8_room = sq8.prepare_room(1);
  sq8.commit_room(sq8_room);
  auto sq8_staged = sq8.stage(vec(2));
  REQUIRE(sq8_staged.ok());
  CHECK(*sq8_staged == kNoSlot);
}

}  // namespace iqdb::index
