// The vocabulary of iqdb: metrics, record ids, metadata values, hits.
//
// All types here are plain values. Distinct objects may be used from different
// threads; a single object needs external synchronisation for writes.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "iqdb/export.h"
#include "iqdb/status.h"

namespace iqdb {

// How distance is measured. For every metric a smaller distance is nearer.
enum class Metric : uint8_t {
  kCosine = 0,   // 1 - cos(q, x); a zero vector is at distance 1 from everything
  kDot = 1,      // -(q . x)
  kL2 = 2,       // Euclidean distance sqrt(sum (q_i - x_i)^2)
  kL1 = 3,       // sum |q_i - x_i|
  kHamming = 4,  // number of positions i with q_i != x_i
};

// "cosine", "dot", "l2", "l1", "hamming".
IQDB_EXPORT std::string_view metric_name(Metric metric);
// Accepts the names above (and "euclidean", "ip", "manhattan").
IQDB_EXPORT Result<Metric> parse_metric(std::string_view name);

// A record's identity: either a 64-bit integer or a non-empty byte string
// (at most kMaxBytes long). The two kinds never compare equal to each other.
class IQDB_EXPORT VectorId {
 public:
  static constexpr size_t kMaxBytes = 1024;

  VectorId(uint64_t id) noexcept : u64_(id) {}  // NOLINT: implicit by design
  // Fails with kInvalidArgument when bytes is empty or longer than kMaxBytes.
  static Result<VectorId> from_bytes(std::string_view bytes);

  bool is_u64() const noexcept { return !is_bytes_; }
  // Requires is_u64().
  uint64_t as_u64() const noexcept { return u64_; }
  // Requires !is_u64().
  const std::string& bytes() const noexcept { return bytes_; }
  // Decimal for integer ids, lower-case hex for byte ids.
  std::string to_string() const;

  friend bool operator==(const VectorId& a, const VectorId& b) noexcept {
    return a.is_bytes_ == b.is_bytes_ && a.u64_ == b.u64_ && a.bytes_ == b.bytes_;
  }
  // Integer ids order before byte ids; then by value.
  friend bool operator<(const VectorId& a, const VectorId& b) noexcept {
    if (a.is_bytes_ != b.is_bytes_) return !a.is_bytes_;
    if (!a.is_bytes_) return a.u64_ < b.u64_;
    return a.bytes_ < b.bytes_;
  }
  size_t hash() const noexcept;

 private:
  VectorId() = default;
  bool is_bytes_ = false;
  uint64_t u64_ = 0;
  std::string bytes_;
};

// A metadata scalar: null, bool, 64-bit integer, double or string.
class IQDB_EXPORT Value {
 public:
  enum class Type : uint8_t { kNull = 0, kBool = 1, kInt = 2, kDouble = 3, kString = 4 };

  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}  // NOLINT
  Value(bool b) noexcept : v_(b) {}  // NOLINT
  // Every integer type (char types and bool excepted) is an int. An
  // unsigned value above INT64_MAX cannot be one: it becomes the nearest
  // double instead.
  template <typename I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char> &&
           !std::is_same_v<I, char8_t> && !std::is_same_v<I, char16_t> &&
           !std::is_same_v<I, char32_t> && !std::is_same_v<I, wchar_t>) Value(I i)
  noexcept  // NOLINT: implicit by design
      : v_(to_variant(i)) {}
  Value(double d) noexcept : v_(d) {}                // NOLINT
  Value(float f) noexcept : v_(double{f}) {}         // NOLINT
  Value(std::string s) : v_(std::move(s)) {}         // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  Value(const char* s) : v_(std::string(s)) {}       // NOLINT

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  bool is_null() const noexcept { return type() == Type::kNull; }
  bool is_bool() const noexcept { return type() == Type::kBool; }
  bool is_int() const noexcept { return type() == Type::kInt; }
  bool is_double() const noexcept { return type() == Type::kDouble; }
  bool is_string() const noexcept { return type() == Type::kString; }
  // Each requires the matching is_*().
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }

  // A readable rendering: null, true, 42, 0.5, "text" (quoted, escaped).
  std::string to_string() const;

  // Exact equality: same type and same value (so Value(1) != Value(1.0)).
  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  using Variant = std::variant<std::monostate, bool, int64_t, double, std::string>;
  template <typename I>
  static Variant to_variant(I i) noexcept {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(int64_t)) {
      if (i > static_cast<uint64_t>(INT64_MAX)) return static_cast<double>(i);
    }
    return static_cast<int64_t>(i);
  }
  Variant v_;
};

// An ordered map from field name to Value.
class IQDB_EXPORT Metadata {
 public:
  using Map = std::map<std::string, Value, std::less<>>;
  using const_iterator = Map::const_iterator;

  Metadata() = default;
  Metadata(std::initializer_list<std::pair<const std::string, Value>> fields) : fields_(fields) {}

  // Inserts or replaces a field.
  Metadata& set(std::string field, Value value) {
    fields_.insert_or_assign(std::move(field), std::move(value));
    return *this;
  }
  // Null when the field is absent.
  const Value* get(std::string_view field) const {
    auto it = fields_.find(field);
    return it == fields_.end() ? nullptr : &it->second;
  }
  bool erase(std::string_view field) {
    auto it = fields_.find(field);
    if (it == fields_.end()) return false;
    fields_.erase(it);
    return true;
  }
  size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  const_iterator begin() const noexcept { return fields_.begin(); }
  const_iterator end() const noexcept { return fields_.end(); }

  friend bool operator==(const Metadata& a, const Metadata& b) { return a.fields_ == b.fields_; }

 private:
  Map fields_;
};

// One search result.
struct Hit {
  VectorId id;
  float distance;                    // smaller is nearer; see Metric
  std::optional<Metadata> metadata;  // filled when SearchParams::with_metadata
};

// What get() returns: exactly the floats written, and the metadata if any.
struct Record {
  std::vector<float> vector;
  std::optional<Metadata> metadata;
};

}  // namespace iqdb

template <>
struct std::hash<iqdb::VectorId> {
  size_t operator()(const iqdb::VectorId& id) const noexcept { return id.hash(); }
};
