// Filter: a predicate over a record's Metadata, used to restrict a search.
//
// Semantics are closed-world, as in the original iQDB:
//   - a comparison on a field that is absent, or whose Value has another type
//     than the operand, is false. That includes ne: ne("x", 1) is false when
//     "x" is missing or is a string;
//   - not_ negates whatever its operand evaluated to, so not_(eq(missing, v))
//     is true;
//   - int and double are different types (Value(1) does not equal Value(1.0));
//   - lt/le/gt/ge order ints, doubles and strings (bytewise); on bool and
//     null they are false; a NaN operand compares false;
//   - in(field, values) is true when the field equals any of the values;
//   - and_({}) is true, or_({}) is false.
// A record without metadata behaves as one with no fields.
//
// Filters are immutable values, cheap to copy (the tree is shared), and safe
// to evaluate from many threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iqdb/export.h"
#include "iqdb/status.h"
#include "iqdb/types.h"

namespace iqdb {

namespace detail {
struct FilterAccess;
struct FilterNode;  // the shared tree; defined inside the library
}  // namespace detail

class Filter;
// Structural equality: the same tree of operators, fields and values.
IQDB_EXPORT bool operator==(const Filter& a, const Filter& b);

class IQDB_EXPORT Filter {
 public:
  // Bounds that keep a hostile filter from exhausting the stack or memory.
  static constexpr size_t kMaxDepth = 64;
  static constexpr size_t kMaxNodes = 100'000;

  enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kAnd, kOr, kNot };

  static Filter eq(std::string field, Value value);
  static Filter ne(std::string field, Value value);
  static Filter lt(std::string field, Value value);
  static Filter le(std::string field, Value value);
  static Filter gt(std::string field, Value value);
  static Filter ge(std::string field, Value value);
  static Filter in(std::string field, std::vector<Value> values);
  static Filter and_(std::vector<Filter> operands);
  static Filter or_(std::vector<Filter> operands);
  static Filter not_(Filter operand);

  // Parses the text form, e.g.
  //   kind = "doc" and (year >= 2020 or not published = true)
  //   tag in ("a", "b")        score < 0.5        name != null
  // Operators: = == != < <= > >= in, and/or/not (also && || !), parentheses.
  // Literals: "strings" or 'strings' with \ escapes, integers, decimals
  // (1.0, 1e3), true, false, null. Errors are kInvalidArgument and name the
  // column (1-based) where the text stopped making sense.
  static Result<Filter> parse(std::string_view text);

  // True when the metadata satisfies the predicate (see the rules above).
  bool matches(const Metadata& metadata) const;
  // A record without metadata.
  bool matches_empty() const;

  // kInvalidArgument when the tree is deeper than kMaxDepth or larger than
  // kMaxNodes in total (counting in-list values). Searches call it.
  Status validate() const;

  // The text form, which parse() reads back to an equal filter.
  std::string to_string() const;

  Op op() const noexcept;
  // Leaves only.
  const std::string& field() const;
  // Comparison leaves: one value; kIn: the list.
  const std::vector<Value>& values() const;
  // kAnd, kOr: the operands; kNot: one operand.
  const std::vector<Filter>& operands() const;

 private:
  friend struct detail::FilterAccess;
  explicit Filter(std::shared_ptr<const detail::FilterNode> node) : node_(std::move(node)) {}
  std::shared_ptr<const detail::FilterNode> node_;
};

}  // namespace iqdb
