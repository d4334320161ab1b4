#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "iqdb/filter.h"

using namespace iqdb;

namespace {
const Metadata kDoc{
    {"kind", "doc"}, {"year", 2021}, {"score", 0.25}, {"published", true}, {"tag", "b"}};
}

TEST_CASE("comparisons on present fields of the same type") {
  CHECK(Filter::eq("kind", "doc").matches(kDoc));
  CHECK_FALSE(Filter::eq("kind", "image").matches(kDoc));
  CHECK(Filter::ne("kind", "image").matches(kDoc));
  CHECK(Filter::lt("year", 2022).matches(kDoc));
  CHECK(Filter::le("year", 2021).matches(kDoc));
  CHECK_FALSE(Filter::lt("year", 2021).matches(kDoc));
  CHECK(Filter::gt("score", 0.1).matches(kDoc));
  CHECK(Filter::ge("score", 0.25).matches(kDoc));
  CHECK(Filter::lt("kind", "dog").matches(kDoc));  // strings order bytewise
  CHECK(Filter::in("tag", {"a", "b"}).matches(kDoc));
  CHECK_FALSE(Filter::in("tag", {"c"}).matches(kDoc));
  CHECK_FALSE(Filter::in("tag", {}).matches(kDoc));
}

TEST_CASE("closed world: a missing field or a type mismatch is false, even for ne") {
  CHECK_FALSE(Filter::eq("missing", 1).matches(kDoc));
  CHECK_FALSE(Filter::ne("missing", 1).matches(kDoc));
  CHECK_FALSE(Filter::ne("year", "2021").matches(kDoc));     // string vs int
  CHECK_FALSE(Filter::eq("year", 2021.0).matches(kDoc));     // double vs int
  CHECK_FALSE(Filter::lt("published", true).matches(kDoc));  // bools do not order
  CHECK(Filter::not_(Filter::eq("missing", 1)).matches(kDoc));
  CHECK(Filter::not_(Filter::ne("missing", 1)).matches(kDoc));
  CHECK_FALSE(Filter::eq("kind", "doc").matches_empty());
  CHECK(Filter::not_(Filter::eq("kind", "doc")).matches_empty());
}

TEST_CASE("NaN compares false everywhere") {
  double nan = std::numeric_limits<double>::quiet_NaN();
  Metadata m{{"x", nan}};
  CHECK_FALSE(Filter::eq("x", nan).matches(m));
  CHECK_FALSE(Filter::ne("x", nan).matches(m));
  CHECK_FALSE(Filter::lt("x", 1.0).matches(m));
  CHECK_FALSE(Filter::ge("x", 1.0).matches(m));
}

TEST_CASE("and, or, not compose; empty and is true, empty or is false") {
  CHECK(Filter::and_({Filter::eq("published", true), Filter::ge("year", 2021)}).matches(kDoc));
  CHECK_FALSE(
      Filter::and_({Filter::eq("published", true), Filter::ge("year", 2026)}).matches(kDoc));
  CHECK(Filter::or_({Filter::eq("kind", "x"), Filter::eq("tag", "b")}).matches(kDoc));
  CHECK(Filter::and_({}).matches(kDoc));
  CHECK_FALSE(Filter::or_({}).matches(kDoc));
}

TEST_CASE("validate rejects filters deeper or larger than the limits") {
  Filter deep = Filter::eq("a", 1);
  for (size_t i = 0; i < Filter::kMaxDepth + 1; ++i) deep = Filter::not_(deep);
  CHECK(deep.validate().code() == StatusCode::kInvalidArgument);
  std::vector<Value> many(Filter::kMaxNodes + 1, Value(1));
  CHECK(Filter::in("a", many).validate().code() == StatusCode::kInvalidArgument);
  CHECK(Filter::and_({Filter::eq("a", 1), Filter::in("b", {1, 2})}).validate().ok());
}

TEST_CASE("parse reads the text form with precedence and bare boolean fields") {
  auto f = Filter::parse("kind = \"doc\" and (year >= 2020 or not published)");
  REQUIRE(f.ok());
  CHECK(f->matches(kDoc));
  CHECK_FALSE(f->matches(Metadata{{"kind", "doc"}, {"year", 2019}, {"published", true}}));
  CHECK(f->matches(Metadata{{"kind", "doc"}, {"year", 2019}, {"published", false}}));
  // not(published = true) is true when published is missing.
  CHECK(f->matches(Metadata{{"kind", "doc"}, {"year", 2019}}));

  CHECK(Filter::parse("tag in (\"a\", \"b\")")->matches(kDoc));
  CHECK(Filter::parse("score < 0.5")->matches(kDoc));
  CHECK_FALSE(Filter::parse("score < 0.5 && kind != 'doc'")->matches(kDoc));
  CHECK(Filter::parse("a = 1 or b = 2 and c = 3")->op() == Filter::Op::kOr);  // and binds tighter
  CHECK(Filter::parse("`odd name` = -3")->matches(Metadata{{"odd name", -3}}));
  CHECK(Filter::parse("x = 1e3")->values()[0] == Value(1000.0));
  CHECK(Filter::parse("x = null")->matches(Metadata{{"x", nullptr}}));
  CHECK(Filter::parse("true")->matches(kDoc));
  CHECK(Filter::parse("  YEAR_X  IN ( ) ").ok());
}

TEST_CASE("parse errors name the column of the mistake") {
  auto bad = Filter::parse("year >= ");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK(std::string(bad.status().message()).find("column 9") != std::string::npos);
  CHECK(std::string(Filter::parse("a = 1 )").status().message()).find("column 7") !=
        std::string::npos);
  CHECK(std::string(Filter::parse("(a = 1").status().message()).find("column 7") !=
        std::string::npos);
  CHECK(std::string(Filter::parse("a = \"open").status().message()).find("column 5") !=
        std::string::npos);
  CHECK_FALSE(Filter::parse("a = 99999999999999999999").ok());
  CHECK_FALSE(Filter::parse("").ok());
  CHECK_FALSE(Filter::parse("= 3").ok());
}

TEST_CASE("parse refuses nesting beyond the depth limit without overflowing the stack") {
  std::string deep(100000, '(');
  auto r = Filter::parse(deep + "a = 1" + std::string(100000, ')'));
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  CHECK_FALSE(Filter::parse(nots + "a").ok());
}

TEST_CASE("to_string round-trips through parse for random filters") {
  std::mt19937_64 rng(42);
  auto leaf = [&]() -> Filter {
    const char* fields[] = {"a", "b", "odd name", "and"};
    std::string field = fields[rng() % 4];
    Value values[] = {Value(int64_t(rng() % 100) - 50), Value(double(rng() % 1000) / 8.0),
                      Value("s\"q\\x"), Value(true), Value(nullptr)};
    Value v = values[rng() % 5];
    switch (rng() % 7) {
      case 0: return Filter::eq(field, v);
      case 1: return Filter::ne(field, v);
      case 2: return Filter::lt(field, v);
      case 3: return Filter::le(field, v);
      case 4: return Filter::gt(field, v);
      case 5: return Filter::ge(field, v);
      default: return Filter::in(field, {v, Value(7)});
    }
  };
  std::function<Filter(int)> gen = [&](int depth) -> Filter {
    if (depth == 0 || rng() % 3 == 0) return leaf();
    switch (rng() % 3) {
      case 0: return Filter::and_({gen(depth - 1), gen(depth - 1)});
      case 1: return Filter::or_({gen(depth - 1), gen(depth - 1), gen(depth - 1)});
      default: return Filter::not_(gen(depth - 1));
    }
  };
  for (int i = 0; i < 300; ++i) {
    Filter f = gen(4);
    auto back = Filter::parse(f.to_string());
    REQUIRE_MESSAGE(back.ok(), f.to_string());
    CHECK_MESSAGE(*back == f, f.to_string());
  }
}
