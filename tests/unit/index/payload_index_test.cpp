// Tests for src/index/payload_index* and filter_predicate*: filters answered
// by set algebra over the payload index agree with Filter::matches on every
// row, for random filters over mixed value types, while records are
// inserted, replaced, removed and their slots reused, and after the store is
// saved and loaded again; the value limit and the partly covered `and`.

#include "index/payload_index.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "index/filter_planner.h"
#include "index/filter_predicate.h"
#include "index/flat.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "unit/index/fake_source.h"

namespace iqdb::index {
namespace {

using Sink = iqdb::testing::FakeSink;

const char* const kFields[] = {"cls", "tag", "price", "flag", "note"};

// A value of a random type for a field: mostly the field's own type, now
// and then another (filters never match across types), NaN and -0.0 among
// the doubles.
Value random_value(std::mt19937& rng, size_t field) {
  std::uniform_int_distribution<int> pct(0, 99);
  const int p = pct(rng);
  if (p < 5) return Value(nullptr);
  if (p < 10) return Value(static_cast<int64_t>(rng() % 4));
  if (p < 15) return Value(static_cast<double>(rng() % 4));
  switch (field) {
    case 0: return Value(static_cast<int64_t>(rng() % 10));
    case 1: {
      static const char* const tags[] = {"a", "b", "c", "ab", ""};
      return Value(tags[rng() % 5]);
    }
    case 2: {
      if (p < 20) return Value(std::numeric_limits<double>::quiet_NaN());
      if (p < 25) return Value(-0.0);
      return Value(static_cast<double>(rng() % 20) / 4.0);
    }
    case 3: return Value(rng() % 2 == 0);
    default: return Value(std::to_string(rng() % 3));
  }
}

// Metadata with a random subset of the fields; null now and then.
std::optional<Metadata> random_metadata(std::mt19937& rng) {
  if (rng() % 10 == 0) return std::nullopt;
  Metadata m;
  for (size_t f = 0; f < 5; ++f) {
    if (rng() % 4 != 0) m.set(kFields[f], random_value(rng, f));
  }
  if (rng() % 8 == 0) m.set("unique", Value(static_cast<int64_t>(rng())));
  return m;
}

Filter random_filter(std::mt19937& rng, int depth) {
  const size_t field = rng() % 5;
  const std::string name = rng() % 20 == 0 ? "absent" : kFields[field];
  switch (depth > 0 ? rng() % 10 : 6 + rng() % 4) {
    case 0: return Filter::not_(random_filter(rng, depth - 1));
    case 1:
    case 2: {
      std::vector<Filter> parts;
      for (size_t i = rng() % 4; i > 0; --i) parts.push_back(random_filter(rng, depth - 1));
      return Filter::and_(std::move(parts));
    }
    case 3:
    case 4: {
      std::vector<Filter> parts;
      for (size_t i = rng() % 4; i > 0; --i) parts.push_back(random_filter(rng, depth - 1));
      return Filter::or_(std::move(parts));
    }
    case 5: {
      std::vector<Value> values;
      for (size_t i = rng() % 4; i > 0; --i) values.push_back(random_value(rng, field));
      return Filter::in(name, std::move(values));
    }
    default: {
      const Value v = random_value(rng, field);
      switch (rng() % 6) {
        case 0: return Filter::eq(name, v);
        case 1: return Filter::ne(name, v);
        case 2: return Filter::lt(name, v);
        case 3: return Filter::le(name, v);
        case 4: return Filter::gt(name, v);
        default: return Filter::ge(name, v);
      }
    }
  }
}

bool row_matches(const VectorStore& store, const Filter& f, uint32_t slot) {
  const Metadata* m = store.metadata(slot);
  return m != nullptr ? f.matches(*m) : f.matches_empty();
}

// The index's answer is exactly the live rows Filter::matches accepts, for
// `filters` random filters; returns how many the index answered by itself.
size_t check_filters(const VectorStore& store, std::mt19937& rng, size_t filters) {
  size_t answered = 0;
  for (size_t i = 0; i < filters; ++i) {
    const Filter f = random_filter(rng, 3);
    CAPTURE(f.to_string());
    const std::optional<util::Bitmap> set = store.payload().evaluate(f);
    const FilterPredicate predicate(store, f);
    if (set) ++answered;
    CHECK((predicate.matching_slots() != nullptr) == set.has_value());
    size_t expected = 0;
    for (uint32_t s = 0; s < store.slot_end(); ++s) {
      const bool live = store.is_live(s);
      const bool want = live && row_matches(store, f, s);
      expected += want ? 1 : 0;
      if (set) REQUIRE(set->test(s) == want);
      if (live) REQUIRE(predicate.matches(s) == want);
    }
    if (set) {
      const FilterCount count = count_matches(store, predicate);
      CHECK(count.exact);
      CHECK(count.matches == double(expected));
    }
  }
  return answered;
}

std::vector<float> vec(std::mt19937& rng) {
  std::normal_distribution<float> normal;
  return {normal(rng), normal(rng), normal(rng), normal(rng)};
}

TEST_CASE("payload index answers random filters exactly as row tests do, under every write") {
  std::mt19937 rng(101);
  VectorStore store(4, Metric::kL2);
  std::vector<uint64_t> ids;
  auto upsert = [&](uint64_t id) {
    const std::optional<Metadata> m = random_metadata(rng);
    REQUIRE(store.upsert(VectorId(id), vec(rng), m ? &*m : nullptr).ok());
  };
  for (uint64_t id = 0; id < 600; ++id) upsert(id);
  CHECK(check_filters(store, rng, 150) > 100);
  // Replace a third (new metadata, or none), remove a quarter, then insert
  // new ids into the freed slots.
  for (uint64_t id = 0; id < 600; id += 3) upsert(id);
  for (uint64_t id = 1; id < 600; id += 4) REQUIRE(store.remove(VectorId(id)) != kNoSlot);
  CHECK(store.payload().live_count() == store.size());
  CHECK(check_filters(store, rng, 150) > 100);
  for (uint64_t id = 1000; id < 1100; ++id) upsert(id);
  CHECK(store.payload().live_count() == store.size());
  CHECK(check_filters(store, rng, 150) > 100);

  SUBCASE("a saved store loads with an index that answers the same") {
    Sink sink;
    store.save(sink);
    REQUIRE(sink.sections.count(section::kPayloadIndex) == 1);
    testing::FakeSource source(sink.sections);
    auto loaded = VectorStore::load(4, Metric::kL2, source);
    REQUIRE(loaded.ok());
    CHECK(loaded->payload().live_count() == store.size());
    for (int i = 0; i < 100; ++i) {
      const Filter f = random_filter(rng, 3);
      const auto a = store.payload().evaluate(f);
      const auto b = loaded->payload().evaluate(f);
      REQUIRE(a.has_value() == b.has_value());
      if (a) CHECK(a->words() == b->words());
    }
    CHECK(check_filters(*loaded, rng, 100) > 60);
  }

  SUBCASE("without its section the index is rebuilt from the records") {
    Sink sink;
    store.save(sink);
    sink.sections.erase(section::kPayloadIndex);
    testing::FakeSource source(sink.sections);
    auto loaded = VectorStore::load(4, Metric::kL2, source);
    REQUIRE(loaded.ok());
    CHECK(check_filters(*loaded, rng, 100) > 60);
  }

  SUBCASE("a cut or malformed section is rejected and the index rebuilt") {
    Sink sink;
    store.save(sink);
    const std::vector<uint8_t> whole = sink.sections[section::kPayloadIndex];
    std::vector<uint8_t> live(store.slot_end());
    for (uint32_t s = 0; s < store.slot_end(); ++s) live[s] = store.is_live(s) ? 1 : 0;
    REQUIRE(PayloadIndex::decode(whole, live).ok());
    const Filter probe =
        Filter::or_({Filter::eq("cls", Value(int64_t{3})), Filter::lt("price", Value(2.0))});
    const auto expected = store.payload().evaluate(probe);
    REQUIRE(expected.has_value());
    std::vector<std::vector<uint8_t>> damaged;
    for (size_t cut = 0; cut < whole.size(); cut += 1 + cut / 16) {
      damaged.emplace_back(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut));
    }
    std::vector<uint8_t> bad_version = whole;
    bad_version[0] ^= 0x40;
    damaged.push_back(bad_version);
    std::vector<uint8_t> trailing = whole;
    trailing.push_back(0);
    damaged.push_back(trailing);
    for (const auto& bytes : damaged) {
      CAPTURE(bytes.size());
      auto decoded = PayloadIndex::decode(bytes, live);
      REQUIRE_FALSE(decoded.ok());
      CHECK(decoded.status().code() == StatusCode::kCorruption);
      sink.sections[section::kPayloadIndex] = bytes;
      testing::FakeSource source(sink.sections);
      auto loaded = VectorStore::load(4, Metric::kL2, source);
      REQUIRE(loaded.ok());
      const auto got = loaded->payload().evaluate(probe);
      REQUIRE(got.has_value());
      CHECK(got->words() == expected->words());
    }
    // Slots that are not live in the store are refused too.
    std::vector<uint8_t> fewer = live;
    for (auto& l : fewer) l = 0;
    CHECK_FALSE(PayloadIndex::decode(whole, fewer).ok());
  }
}

TEST_CASE("payload index: a field past the value limit is tested row by row") {
  PayloadIndex index(8);
  Metadata m;
  for (uint32_t s = 0; s < 8; ++s) {
    m.set("few", Value(static_cast<int64_t>(s % 3)));
    m.set("many", Value(static_cast<int64_t>(s)));
    index.add(s, &m);
  }
  CHECK(index.covers("many"));
  CHECK(index.distinct_values("many") == 8);
  m.set("many", Value(int64_t{100}));
  index.add(8, &m);
  CHECK_FALSE(index.covers("many"));
  CHECK(index.covers("few"));
  CHECK(index.covers("never seen"));
  CHECK_FALSE(index.evaluate(Filter::eq("many", Value(int64_t{3}))).has_value());
  CHECK_FALSE(index
                  .evaluate(Filter::or_({Filter::eq("few", Value(int64_t{1})),
                                         Filter::eq("many", Value(int64_t{3}))}))
                  .has_value());
  const auto few = index.evaluate(Filter::eq("few", Value(int64_t{1})));
  REQUIRE(few.has_value());
  CHECK(few->count() == 4);  // slots 1, 4, 7 and 8 (which kept few = 1)
  CHECK(few->test(1));
  CHECK(few->test(8));
  CHECK_FALSE(few->test(3));
  CHECK(index.evaluate(Filter::eq("never seen", Value(int64_t{1})))->none());
  CHECK(index.evaluate(Filter::not_(Filter::eq("never seen", Value(int64_t{1}))))->count() == 9);
}

TEST_CASE("filter predicate: an `and` covered in part narrows by the set, tests the rest") {
  std::mt19937 rng(7);
  VectorStore store(4, Metric::kL2);
  for (uint64_t id = 0; id < 5000; ++id) {
    Metadata m{{"cls", Value(static_cast<int64_t>(id % 10))},
               {"stamp", Value(static_cast<int64_t>(id * 7919 % 100003))}};
    REQUIRE(store.upsert(VectorId(id), vec(rng), &m).ok());
  }
  // 5000 distinct stamps: over the default limit.
  REQUIRE_FALSE(store.payload().covers("stamp"));
  const Filter f = Filter::and_(
      {Filter::eq("cls", Value(int64_t{3})), Filter::lt("stamp", Value(int64_t{50000}))});
  const FilterPredicate predicate(store, f);
  CHECK(predicate.matching_slots() == nullptr);  // not exact: part is tested per row
  size_t matched = 0;
  for (uint32_t s = 0; s < store.slot_end(); ++s) {
    const bool want = f.matches(*store.metadata(s));
    REQUIRE(predicate.matches(s) == want);
    matched += want ? 1 : 0;
  }
  CHECK(matched > 0);
  // The exact scan through the predicate equals the one by row tests.
  const float q[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  QueryScorer scorer(store, q);
  const auto got = flat_search(scorer, 20, &predicate);
  REQUIRE(got.size() == 20);
  for (const auto& c : got) CHECK(f.matches(*store.metadata(c.slot)));
}

TEST_CASE("exact scan over the matching set equals the scan that tests every row") {
  std::mt19937 rng(3);
  VectorStore store(4, Metric::kL2);
  for (uint64_t id = 0; id < 3000; ++id) {
    const std::optional<Metadata> m = random_metadata(rng);
    REQUIRE(store.upsert(VectorId(id), vec(rng), m ? &*m : nullptr).ok());
  }
  for (uint64_t id = 0; id < 3000; id += 5) REQUIRE(store.remove(VectorId(id)) != kNoSlot);
  class RowTest : public SlotPredicate {
   public:
    RowTest(const VectorStore& s, const Filter& f) : s_(s), f_(f) {}
    bool matches(uint32_t slot) const override { return row_matches(s_, f_, slot); }

   private:
    const VectorStore& s_;
    const Filter& f_;
  };
  for (int i = 0; i < 60; ++i) {
    const Filter f = random_filter(rng, 2);
    CAPTURE(f.to_string());
    const FilterPredicate indexed(store, f);
    const RowTest rows(store, f);
    const auto v = vec(rng);
    QueryScorer scorer(store, v.data());
    const auto a = flat_search(scorer, 10, &indexed);
    const auto b = flat_search(scorer, 10, &rows);
    REQUIRE(a.size() == b.size());
    for (size_t j = 0; j < a.size(); ++j) {
      CHECK(a[j].slot == b[j].slot);
      CHECK(a[j].distance == b[j].distance);
    }
  }
}

TEST_CASE("payload index: declared fields, kept by a section of their rule") {
  // 5,000 distinct "uid" values: past the default limit, indexed once declared.
  VectorStore store(4, Metric::kL2);
  std::mt19937 rng(21);
  for (uint64_t id = 0; id < 5000; ++id) {
    const Metadata m{{"uid", Value(static_cast<int64_t>(id))},
                     {"cls", Value(static_cast<int64_t>(id % 7))}};
    REQUIRE(store.upsert(VectorId(id), vec(rng), &m).ok());
  }
  CHECK_FALSE(store.payload().covers("uid"));
  CHECK(store.payload().covers("cls"));
  store.set_indexed_fields({"uid"});
  CHECK(store.payload().covers("uid"));
  CHECK_FALSE(store.payload().covers("cls"));
  CHECK_FALSE(store.payload().covers("absent"));
  CHECK_FALSE(store.payload().evaluate(Filter::eq("cls", Value(int64_t{1}))).has_value());
  // Writes keep it: replace one uid, remove another.
  const Metadata moved{{"uid", Value(int64_t{-1})}, {"cls", Value(int64_t{0})}};
  REQUIRE(store.upsert(VectorId(uint64_t{10}), vec(rng), &moved).ok());
  REQUIRE(store.remove(VectorId(uint64_t{11})) != kNoSlot);
  const auto below = store.payload().evaluate(Filter::lt("uid", Value(int64_t{20})));
  REQUIRE(below.has_value());
  CHECK(below->count() == 19);  // -1, 0..9, 12..19
  CHECK(below->test(store.find(VectorId(uint64_t{10}))));

  const auto audit_of = [](const VectorStore& s) {
    PayloadIndex truth(std::numeric_limits<size_t>::max());
    for (uint32_t slot = 0; slot < s.slot_end(); ++slot) {
      if (s.is_live(slot)) truth.add(slot, s.metadata(slot));
    }
    return s.payload().audit(truth);
  };
  Sink sink;
  store.save(sink);
  SUBCASE("the section keeps its rule; the same rule keeps the section") {
    testing::FakeSource source(sink.sections);
    auto loaded = VectorStore::load(4, Metric::kL2, source);
    REQUIRE(loaded.ok());
    CHECK(loaded->payload().declared_fields() == std::vector<std::string>{"uid"});
    loaded->set_indexed_fields({"uid"});
    CHECK(loaded->payload().covers("uid"));
    CHECK(audit_of(*loaded).wrong_fields == 0);
  }
  SUBCASE("a section of another rule is replaced by a rebuild") {
    // A well-formed section under the same rule but naming other slots is
    // kept by the same rule (only verify() sees it) and dropped by another.
    VectorStore other(4, Metric::kL2);
    for (uint64_t id = 0; id < 5000; ++id) {
      const Metadata m{{"uid", Value(static_cast<int64_t>((id + 1) % 5000))}};
      REQUIRE(other.upsert(VectorId(id), vec(rng), &m).ok());
    }
    REQUIRE(other.remove(VectorId(uint64_t{11})) != kNoSlot);
    other.set_indexed_fields({"uid"});
    Sink planted;
    other.save(planted);
    auto sections = sink.sections;
    sections[section::kPayloadIndex] = planted.sections[section::kPayloadIndex];
    {
      testing::FakeSource source(sections);
      auto loaded = VectorStore::load(4, Metric::kL2, source);
      REQUIRE(loaded.ok());
      loaded->set_indexed_fields({"uid"});
      CHECK(audit_of(*loaded).wrong_fields == 1);
    }
    testing::FakeSource source(sections);
    auto loaded = VectorStore::load(4, Metric::kL2, source);
    REQUIRE(loaded.ok());
    loaded->set_indexed_fields({"cls", "uid"});
    CHECK(loaded->payload().covers("cls"));
    CHECK(audit_of(*loaded).wrong_fields == 0);
    loaded->set_indexed_fields({});
    CHECK_FALSE(loaded->payload().covers("uid"));
    CHECK(audit_of(*loaded).wrong_fields == 0);
  }
  SUBCASE("cut sections of the declared format are rejected") {
    const std::vector<uint8_t> whole = sink.sections[section::kPayloadIndex];
    std::vector<uint8_t> live(store.slot_end());
    for (uint32_t s = 0; s < store.slot_end(); ++s) live[s] = store.is_live(s) ? 1 : 0;
    REQUIRE(PayloadIndex::decode(whole, live).ok());
    for (size_t cut = 0; cut < whole.size(); cut += 1 + cut / 8) {
      const std::vector<uint8_t> part(whole.begin(),
                                      whole.begin() + static_cast<std::ptrdiff_t>(cut));
      CHECK_FALSE(PayloadIndex::decode(part, live).ok());
    }
  }
}

TEST_CASE("payload index: a value held by many slots answers the same through its bitmap") {
  std::mt19937 rng(7);
  VectorStore store(4, Metric::kL2);
  auto put = [&](uint64_t id, int64_t cls) {
    const Metadata m{{"cls", Value(cls)}};
    REQUIRE(store.upsert(VectorId(id), vec(rng), &m).ok());
  };
  const Filter one = Filter::eq("cls", Value(int64_t{1}));
  const Filter ones = Filter::in("cls", {Value(int64_t{1}), Value(int64_t{3})});
  auto check = [&](const VectorStore& st) {
    for (const Filter* f : {&one, &ones}) {
      const auto got = st.payload().evaluate(*f);
      REQUIRE(got.has_value());
      size_t members = 0;
      for (uint32_t s = 0; s < st.slot_end(); ++s) {
        const Metadata* m = st.metadata(s);
        const bool want = st.is_live(s) && m != nullptr && f->matches(*m);
        CHECK(got->test(s) == want);
        members += want ? 1 : 0;
      }
      CHECK(got->count() == members);
    }
  };
  // Every row holds 1: its list is far larger than a bitmap of the slots.
  for (uint64_t id = 0; id < 3000; ++id) put(id, 1);
  check(store);
  // Most leave (a few of the last slots stay), so the bitmap is dropped;
  // others take value 3, then 1 again.
  for (uint64_t id = 0; id < 2990; ++id) REQUIRE(store.remove(VectorId(id)) != kNoSlot);
  check(store);
  for (uint64_t id = 5000; id < 6000; ++id) put(id, id % 2 == 0 ? 1 : 3);
  check(store);
  for (uint64_t id = 5000; id < 5600; ++id) put(id, 2);  // replaced: leave 1 and 3
  check(store);
  Sink sink;
  store.save(sink);
  testing::FakeSource source(sink.sections);
  auto loaded = VectorStore::load(4, Metric::kL2, source);
  REQUIRE(loaded.ok());
  check(*loaded);
  for (const Filter* f : {&one, &ones}) {
    CHECK(loaded->payload().evaluate(*f)->words() == store.payload().evaluate(*f)->words());
  }
}

}  // namespace
}  // namespace iqdb::index
