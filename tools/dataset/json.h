// A small, strict JSON (RFC 8259) reader and the writing helpers the tools
// share.
//
// Strict means: no comments, no trailing commas, no single quotes, no NaN or
// Infinity, no leading zeros or '+' signs, no control characters in
// strings, valid UTF-8 only, \u escapes with paired surrogates, no
// duplicate keys in an object, and nothing but whitespace after the value.
// Nesting deeper than kMaxJsonDepth is refused, so a hostile input cannot
// exhaust the stack. Errors are kInvalidArgument and say "column N: ..."
// (1-based byte column), so a caller can point at the mistake.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iqdb/status.h"

namespace iqdb::dataset {

inline constexpr size_t kMaxJsonDepth = 64;

struct JsonValue {
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type = Type::kNull;
  bool boolean = false;
  // Numbers: the value as a double, and, when the literal is an integer
  // (no fraction or exponent) that fits, exactly as int64 / uint64.
  double number = 0;
  bool fits_i64 = false;
  bool fits_u64 = false;
  int64_t i64 = 0;
  uint64_t u64 = 0;
  std::string string;                                      // kString
  std::vector<JsonValue> items;                            // kArray
  std::vector<std::pair<std::string, JsonValue>> members;  // kObject, in input order

  bool is_null() const { return type == Type::kNull; }
  bool is_number() const { return type == Type::kNumber; }
  bool is_integer() const { return type == Type::kNumber && (fits_i64 || fits_u64); }
  // Member `key` of an object, or null.
  const JsonValue* find(std::string_view key) const;

  friend bool operator==(const JsonValue& a, const JsonValue& b);
};

// "null", "bool", "number", "string", "array", "object".
std::string_view json_type_name(JsonValue::Type type);

// Parses one JSON text.
Result<JsonValue> parse_json(std::string_view text);

// The canonical text of a value: no whitespace, members in their order,
// integers as integers, other numbers in the shortest form that reads back
// to the same double, always with a '.' or an exponent.
std::string to_json(const JsonValue& value);

// `text` as a JSON string literal, quotes included. Bytes that are not valid
// UTF-8 become U+FFFD, so the output is always valid JSON.
std::string json_quote(std::string_view text);
// A double as a JSON number (null for NaN and infinities, which JSON lacks).
std::string json_number(double value);

}  // namespace iqdb::dataset
