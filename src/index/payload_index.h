// PayloadIndex: for each metadata field, which live slots hold each value,
// so that a Filter can be answered by set algebra instead of testing every
// row's metadata (see filter_predicate.h).
//
// What is indexed (the rule): by default every field, as long as it has at
// most max_values_per_field distinct values (default kDefaultMaxValues). A
// field that grows past the limit stops being indexed (its postings are
// dropped) until the index is rebuilt; filters on it are tested row by row.
// With declared fields (Config::indexed_fields), exactly those are indexed,
// whatever their number of values, and filters on any other field are
// tested row by row. Values
// are kept per type, because a filter never matches across types
// (Value(1) is not Value(1.0)); doubles that are NaN are kept apart, since
// they equal and order against nothing. Within a type, values are ordered as
// Filter compares them, so lt/le/gt/ge are ranges of keys.
//
// Maintenance: the store calls add() when a slot becomes live with its
// metadata, and remove() with the metadata it had when the slot is replaced
// or freed. If memory runs out part way, the index marks itself unusable
// (usable() is false, filters are tested row by row) rather than answer
// from a partial state; a rebuild from the records restores it.
//
// Thread-safety: const methods may run concurrently with each other;
// add/remove need exclusive access (the store's).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iqdb/filter.h"
#include "iqdb/status.h"
#include "index/payload_keys.h"
#include "iqdb/types.h"
#include "util/bitmap.h"

namespace iqdb::index {

class PayloadIndex {
 public:
  static constexpr size_t kDefaultMaxValues = 4096;

  explicit PayloadIndex(size_t max_values_per_field = kDefaultMaxValues)
      : max_values_(max_values_per_field) {}
  // Indexes exactly the `declared` fields (none: the value-limit rule).
  explicit PayloadIndex(std::vector<std::string> declared);

  // `slot` became live holding `metadata` (null: none). noexcept: out of
  // memory makes the index unusable instead.
  void add(uint32_t slot, const Metadata* metadata) noexcept;
  // `slot` stops holding `metadata` (what add() was given for it).
  void remove(uint32_t slot, const Metadata* metadata) noexcept;
  // remove(slot, before) then add(slot, after), but a field holding the
  // same key in both is left as it is.
  void replace(uint32_t slot, const Metadata* before, const Metadata* after) noexcept;
  // Forgets everything but the rule; usable again.
  void clear() noexcept;

  // False after an allocation failure during maintenance.
  bool usable() const noexcept { return usable_; }
  // Whether filters on `field` can be answered here: usable, and the field
  // is not over the value limit (a field no row holds is covered: it
  // matches nothing).
  bool covers(std::string_view field) const noexcept;
  // Live slots, as far as this index was told.
  const util::Bitmap& live() const noexcept { return live_; }
  size_t live_count() const noexcept { return live_count_; }

  // The live slots matching `filter`, or nullopt when some leaf's field is
  // not covered. `filter` must have passed Filter::validate().
  std::optional<util::Bitmap> evaluate(const Filter& filter) const;

  // The snapshot section (format in payload_codec.cpp) for a store of
  // `slot_end` slots. Requires usable().
  std::string encode(uint32_t slot_end) const;
  // Reads a section written by encode() for a store whose slot i is live
  // when live[i] != 0. kCorruption on anything malformed or inconsistent
  // with `live` (the caller then rebuilds from the records).
  static Result<PayloadIndex> decode(std::span<const uint8_t> bytes, std::span<const uint8_t> live);
  size_t max_values_per_field() const noexcept { return max_values_; }
  // The declared fields, ascending and distinct; empty under the value-limit
  // rule.
  const std::vector<std::string>& declared_fields() const noexcept { return declared_; }
  // Whether `other` indexes by the same rule.
  bool same_rule(const PayloadIndex& other) const noexcept {
    return declared_ == other.declared_ && (!declared_.empty() || max_values_ == other.max_values_);
  }
  // Whether the rule indexes `field` at all.
  bool indexes(std::string_view field) const noexcept {
    return declared_.empty() || is_declared(field);
  }

  // What audit() found wrong.
  struct Audit {
    size_t fields = 0;        // fields compared
    size_t wrong_fields = 0;  // covered fields whose postings differ from the rows'
    bool wrong_live = false;  // the live set differs
    std::string first_bad_field;
  };
  // Compares this index with `truth`, one built by add() from every live
  // row's metadata with no value limit: the live sets must agree, and every
  // field this index covers must hold exactly truth's slots for each value
  // (a covered field no row holds must have no postings, and a field the
  // rows hold must be here, since covers() says an absent field matches
  // nothing). Fields over the limit are not answered here and not compared.
  Audit audit(const PayloadIndex& truth) const;

  // Distinct values of a covered field (0 when absent or not covered).
  size_t distinct_values(std::string_view field) const noexcept;
  size_t memory_bytes() const noexcept;

 private:
  // Orders values of one type as Filter compares them (NaN never stored).
  struct KeyLess {
    bool operator()(const Value& a, const Value& b) const noexcept;
  };
  // Ascending slots. A value held by many slots also keeps them as a bitmap
  // (dense), so a filter reads its set a word at a time: from when the list
  // is as large as the bitmap (4 bytes a slot against one bit per slot up
  // to the largest) until it is half that.
  struct Postings : std::vector<uint32_t> {
    util::Bitmap dense;
    bool has_dense = false;
  };
  // `slot` was just inserted into `postings`.
  static void added(Postings& postings, uint32_t slot) {
    if (postings.has_dense) {
      postings.dense.set(slot);
    } else if (!postings.empty() && postings.size() * 32 >= size_t{postings.back()} + 1) {
      make_dense(postings);
    }
  }
  [[gnu::noinline]] static void make_dense(Postings& postings);
  static void removed(Postings& postings, uint32_t slot) noexcept;
  using Values = std::map<Value, Postings, KeyLess>;
  struct Field {
    Field() = default;
    Field(Field&&) = default;
    Field& operator=(Field&&) = default;
    // `lookup` points into `by_type`: a copy would point into the original.
    Field(const Field&) = delete;
    Field& operator=(const Field&) = delete;

    // A new key (not held yet, not NaN; hash: key_hash(value)) with empty
    // postings.
    Values::iterator insert_key(Value value, size_t hash);
    // Forgets every key and marks the field over the value limit.
    [[gnu::noinline]] void drop() noexcept;

    // Keys in Filter's order, for ranges and the section.
    std::array<Values, 5> by_type;  // Value::Type index
    // Every key of by_type, hashed: what writes find values by. The keys are
    // by_type's own (map nodes never move, so neither do they).
    KeyTable<Values::iterator> lookup;
    Postings nan;  // doubles that are NaN
    size_t distinct = 0;
    bool over_limit = false;
  };
  using Fields = std::map<std::string, Field, std::less<>>;

  // The entry of `name`, trying `hint` first (records and fields_ are both
  // in name order, so the entry after the last one found is usually next).
  Fields::iterator find_field(Fields::iterator hint, const std::string& name) {
    return hint != fields_.end() && hint->first == name ? hint : fields_.find(name);
  }
  bool is_declared(std::string_view field) const noexcept;
  void add_value(Field& field, const Value& value, uint32_t slot);
  void remove_value(Field& field, const Value& value, uint32_t slot) noexcept;
  bool evaluate_into(const Filter& filter, util::Bitmap& out) const;
  void leaf(const Field& field, const Filter& filter, util::Bitmap& out) const;

  size_t max_values_;
  std::vector<std::string> declared_;
  Fields fields_;
  util::Bitmap live_;
  size_t live_count_ = 0;
  bool usable_ = true;
};

}  // namespace iqdb::index
