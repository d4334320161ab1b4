// Tests for how src/index/payload_index* keys its values: found by hash on
// writes, visited in Filter's order by ranges. Every answer is compared with
// Filter::matches on the rows the index was given: many values of every
// type, ranges over them, values of different types that look alike, -0.0
// and NaN, the last slot of a value leaving (and the value coming back), the
// field dropped at the value limit, and the section written and read back.

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "index/payload_index.h"

namespace iqdb::index {
namespace {

// The rows an index was told about, to answer filters the slow way.
struct Rows {
  std::map<uint32_t, std::optional<Metadata>> live;

  void add(PayloadIndex& index, uint32_t slot, std::optional<Metadata> m) {
    index.add(slot, m ? &*m : nullptr);
    live[slot] = std::move(m);
  }
  void remove(PayloadIndex& index, uint32_t slot) {
    auto it = live.find(slot);
    REQUIRE(it != live.end());
    index.remove(slot, it->second ? &*it->second : nullptr);
    live.erase(it);
  }
  std::vector<uint32_t> matching(const Filter& f) const {
    std::vector<uint32_t> out;
    for (const auto& [slot, m] : live) {
      if (m ? f.matches(*m) : f.matches_empty()) out.push_back(slot);
    }
    return out;
  }
  size_t distinct(const std::string& field) const {
    std::vector<Value> seen;
    for (const auto& [slot, m] : live) {
      const Value* v = m ? m->get(field) : nullptr;
      if (v == nullptr || (v->is_double() && std::isnan(v->as_double()))) continue;
      bool found = false;
      for (const Value& s : seen) {
        // -0.0 and 0.0 are one value to a filter.
        found = found || (s.type() == v->type() &&
                          (s == *v || (v->is_double() && s.as_double() == v->as_double())));
      }
      if (!found) seen.push_back(*v);
    }
    return seen.size();
  }
};

void check_same(const PayloadIndex& index, const Rows& rows, const Filter& f) {
  CAPTURE(f.to_string());
  REQUIRE(f.validate().ok());
  const std::optional<util::Bitmap> got = index.evaluate(f);
  REQUIRE(got.has_value());
  const std::vector<uint32_t> want = rows.matching(f);
  CHECK(got->count() == want.size());
  for (uint32_t s : want) CHECK(got->test(s));
}

// Every comparison against `probes` on `field`, and an `in` of all of them.
void check_field(const PayloadIndex& index, const Rows& rows, const std::string& field,
                 const std::vector<Value>& probes) {
  for (const Value& v : probes) {
    for (const Filter& f : {Filter::eq(field, v), Filter::ne(field, v), Filter::lt(field, v),
                            Filter::le(field, v), Filter::gt(field, v), Filter::ge(field, v)}) {
      check_same(index, rows, f);
    }
  }
  check_same(index, rows, Filter::in(field, probes));
}

Metadata row(uint32_t s) {
  Metadata m;
  // 1500 ints, negatives among them, in an order unrelated to the slots.
  m.set("i", Value(static_cast<int64_t>((s * 7919u) % 1500) - 750));
  // 1000 strings whose bytewise order is not their numeric one.
  m.set("s", Value("k" + std::to_string((s * 31u) % 1000)));
  if (s % 50 == 0) {
    m.set("d", Value(std::numeric_limits<double>::quiet_NaN()));
  } else if (s % 50 == 1) {
    m.set("d", Value(s % 100 == 1 ? -0.0 : 0.0));
  } else {
    m.set("d", Value(static_cast<double>((s * 13u) % 700) / 8.0 - 40.0));
  }
  return m;
}

const std::vector<Value> kIntProbes = {
    Value(int64_t{-751}), Value(int64_t{-750}), Value(int64_t{-1}),  Value(int64_t{0}),
    Value(int64_t{3}),    Value(int64_t{749}),  Value(int64_t{750}), Value(1.5)};
const std::vector<Value> kStringProbes = {Value(""),      Value("k"),  Value("k0"),
                                          Value("k10"),   Value("k5"), Value("k999"),
                                          Value("k9990"), Value("l"),  Value(int64_t{5})};
const std::vector<Value> kDoubleProbes = {Value(-40.0),
                                          Value(-0.0),
                                          Value(0.0),
                                          Value(0.125),
                                          Value(47.375),
                                          Value(1e300),
                                          Value(-std::numeric_limits<double>::infinity()),
                                          Value(std::numeric_limits<double>::quiet_NaN()),
                                          Value(int64_t{0})};

void check_all(const PayloadIndex& index, const Rows& rows) {
  check_field(index, rows, "i", kIntProbes);
  check_field(index, rows, "s", kStringProbes);
  check_field(index, rows, "d", kDoubleProbes);
  for (const char* field : {"i", "s", "d"}) {
    CAPTURE(field);
    CHECK(index.distinct_values(field) == rows.distinct(field));
  }
}

TEST_CASE("payload keys: many values of each type answer every range as rows do") {
  PayloadIndex index(PayloadIndex::kDefaultMaxValues);
  Rows rows;
  for (uint32_t s = 0; s < 3000; ++s)
    rows.add(index, s, s % 97 == 5 ? std::nullopt : std::optional(row(s)));
  CHECK(index.distinct_values("i") == 1500);
  CHECK(index.distinct_values("s") == 1000);
  check_all(index, rows);

  // Every slot of some values leaves (their keys go), then slots are reused
  // with other values, and with values that had gone.
  for (uint32_t s = 0; s < 3000; ++s) {
    if ((s * 7919u) % 1500 < 300 || s % 3 == 0) rows.remove(index, s);
  }
  CHECK(index.distinct_values("i") == rows.distinct("i"));
  CHECK(index.distinct_values("i") < 1500);
  check_all(index, rows);
  for (uint32_t s = 0; s < 3000; s += 3) rows.add(index, s, row(s + 1));
  check_all(index, rows);

  // Written and read back, the section answers the same and takes writes.
  std::vector<uint8_t> live(3000, 0);
  for (const auto& [slot, m] : rows.live) live[slot] = 1;
  const std::string bytes = index.encode(3000);
  auto decoded = PayloadIndex::decode(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), live);
  REQUIRE(decoded.ok());
  CHECK(decoded->encode(3000) == bytes);
  check_all(*decoded, rows);
  for (uint32_t s = 1; s < 3000; s += 3) {
    if (rows.live.count(s) != 0) rows.remove(*decoded, s);
  }
  for (uint32_t s = 1; s < 3000; s += 6) rows.add(*decoded, s, row(s * 5));
  check_all(*decoded, rows);
}

TEST_CASE("payload keys: values of different types that look alike stay apart") {
  PayloadIndex index;
  Rows rows;
  const std::vector<Value> alike = {Value(int64_t{1}), Value(1.0), Value("1"), Value(true),
                                    Value(int64_t{0}), Value(0.0), Value("0"), Value(false),
                                    Value(nullptr),    Value(""),  Value(-0.0)};
  for (uint32_t s = 0; s < 44; ++s) rows.add(index, s, Metadata{{"x", alike[s % alike.size()]}});
  // -0.0 and 0.0 are one key; every other value is its own.
  CHECK(index.distinct_values("x") == alike.size() - 1);
  for (const Value& v : alike) {
    CAPTURE(v.to_string());
    const auto eq = index.evaluate(Filter::eq("x", v));
    REQUIRE(eq.has_value());
    CHECK(eq->count() == rows.matching(Filter::eq("x", v)).size());
    CHECK(eq->count() == (v.is_double() && v.as_double() == 0.0 ? 8 : 4));
  }
  check_field(index, rows, "x", alike);

  // The last slot of a value leaving takes its key; the value can return.
  for (uint32_t s = 0; s < 44; s += static_cast<uint32_t>(alike.size()))
    rows.remove(index, s);  // every Value(1)
  CHECK(index.distinct_values("x") == alike.size() - 2);
  CHECK(index.evaluate(Filter::eq("x", Value(int64_t{1})))->none());
  CHECK(index.evaluate(Filter::eq("x", Value(1.0)))->count() == 4);
  rows.add(index, 100, Metadata{{"x", Value(int64_t{1})}});
  CHECK(index.distinct_values("x") == alike.size() - 1);
  check_field(index, rows, "x", alike);
}

TEST_CASE("payload keys: NaN is no key, and -0.0 and 0.0 leave as one") {
  PayloadIndex index;
  Rows rows;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  rows.add(index, 0, Metadata{{"d", Value(nan)}});
  rows.add(index, 1, Metadata{{"d", Value(-0.0)}});
  rows.add(index, 2, Metadata{{"d", Value(0.0)}});
  rows.add(index, 3, Metadata{{"d", Value(nan)}});
  CHECK(index.distinct_values("d") == 1);
  const std::vector<Value> probes = {Value(nan), Value(0.0), Value(-0.0), Value(1.0)};
  check_field(index, rows, "d", probes);
  // The key was written as -0.0; the slot that wrote it leaving keeps it.
  rows.remove(index, 1);
  CHECK(index.distinct_values("d") == 1);
  check_field(index, rows, "d", probes);
  rows.remove(index, 2);
  CHECK(index.distinct_values("d") == 0);
  rows.remove(index, 0);
  check_field(index, rows, "d", probes);
  CHECK(index.evaluate(Filter::not_(Filter::eq("d", Value(nan))))->count() == 1);
}

TEST_CASE("payload keys: a field dropped at the value limit forgets its keys") {
  PayloadIndex index(16);
  Rows rows;
  for (uint32_t s = 0; s < 16; ++s) {
    rows.add(index, s,
             Metadata{{"few", Value(int64_t(s % 4))}, {"many", Value("v" + std::to_string(s))}});
  }
  CHECK(index.distinct_values("many") == 16);
  check_field(index, rows, "many", {Value("v3"), Value("v30")});
  rows.add(index, 16, Metadata{{"few", Value(int64_t{0})}, {"many", Value("v16")}});
  CHECK_FALSE(index.covers("many"));
  CHECK(index.distinct_values("many") == 0);
  CHECK_FALSE(index.evaluate(Filter::eq("many", Value("v3"))).has_value());
  // Removing rows of the dropped field, and adding more, leaves it dropped
  // and the other field exact.
  for (uint32_t s = 0; s < 17; s += 2) rows.remove(index, s);
  rows.add(index, 40, Metadata{{"few", Value(int64_t{2})}, {"many", Value("v3")}});
  CHECK_FALSE(index.covers("many"));
  check_field(index, rows, "few", {Value(int64_t{0}), Value(int64_t{2}), Value(int64_t{5})});
  CHECK(index.distinct_values("few") == rows.distinct("few"));
  CHECK(index.distinct_values("few") == 3);  // 1 and 3 of the odd slots, 2 of slot 40
}

TEST_CASE("payload keys: a replace that keeps some fields ends as remove and add would") {
  // Records drawn from a few values each, so replaces often keep a field's
  // key (or its NaN, or -0.0 for 0.0) and often change it, add or drop it.
  std::mt19937 rng(11);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Value> pool = {Value(int64_t{1}), Value(1.0),       Value(0.0), Value(-0.0),
                                   Value(nan),        Value("1"),       Value("a"), Value(true),
                                   Value(nullptr),    Value(int64_t{2})};
  const auto draw = [&]() -> std::optional<Metadata> {
    if (rng() % 8 == 0) return std::nullopt;
    Metadata m;
    for (const char* name : {"a", "b", "c", "d"}) {
      if (rng() % 4 != 0) m.set(name, pool[rng() % pool.size()]);
    }
    return m;
  };
  for (const size_t limit : {size_t{5}, PayloadIndex::kDefaultMaxValues}) {
    CAPTURE(limit);
    PayloadIndex index(limit);
    std::vector<std::optional<Metadata>> rows(64);
    for (uint32_t s = 0; s < rows.size(); ++s) {
      rows[s] = draw();
      index.add(s, rows[s] ? &*rows[s] : nullptr);
    }
    for (int step = 0; step < 2000; ++step) {
      const uint32_t s = rng() % rows.size();
      std::optional<Metadata> next = draw();
      index.replace(s, rows[s] ? &*rows[s] : nullptr, next ? &*next : nullptr);
      rows[s] = std::move(next);
    }
    PayloadIndex truth(std::numeric_limits<size_t>::max());
    Rows expected;
    for (uint32_t s = 0; s < rows.size(); ++s) {
      truth.add(s, rows[s] ? &*rows[s] : nullptr);
      expected.live[s] = rows[s];
    }
    const PayloadIndex::Audit audit = index.audit(truth);
    CHECK_FALSE(audit.wrong_live);
    CHECK(audit.wrong_fields == 0);
    CHECK(audit.first_bad_field == "");
    CHECK(index.live_count() == rows.size());
    for (const char* name : {"a", "b", "c", "d"}) {
      if (index.covers(name)) check_field(index, expected, name, pool);
    }
    // With 10 values on offer and a limit of 5, some field went over.
    if (limit == 5) CHECK_FALSE((index.covers("a") && index.covers("b")));
  }
}

}  // namespace
}  // namespace iqdb::index
