#include "index/payload_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

namespace iqdb::index {
namespace {

using Op = Filter::Op;

bool is_nan(const Value& v) noexcept { return v.is_double() && std::isnan(v.as_double()); }

size_t type_index(const Value& v) noexcept { return static_cast<size_t>(v.type()); }

void insert_sorted(std::vector<uint32_t>& postings, uint32_t slot) {
  if (postings.empty() || postings.back() < slot) {
    postings.push_back(slot);
    return;
  }
  auto it = std::lower_bound(postings.begin(), postings.end(), slot);
  if (it == postings.end() || *it != slot) postings.insert(it, slot);
}

void erase_sorted(std::vector<uint32_t>& postings, uint32_t slot) noexcept {
  auto it = std::lower_bound(postings.begin(), postings.end(), slot);
  if (it != postings.end() && *it == slot) postings.erase(it);
}

template <class It>
void set_range(It first, It last, util::Bitmap& out) {
  for (; first != last; ++first) {
    if (first->second.has_dense) {
      // Only up to the word of the largest slot, as set_sorted() would.
      out.or_words(first->second.dense, size_t{first->second.back()} / 64 + 1);
    } else {
      out.set_sorted(first->second);
    }
  }
}

}  // namespace

void PayloadIndex::added(Postings& postings, uint32_t slot) {
  if (postings.has_dense) {
    postings.dense.set(slot);
  } else if (!postings.empty() && postings.size() * 32 >= size_t{postings.back()} + 1) {
    postings.dense = util::Bitmap();
    postings.dense.set_sorted(postings);
    postings.has_dense = true;
  }
}

void PayloadIndex::removed(Postings& postings, uint32_t slot) noexcept {
  if (!postings.has_dense) return;
  postings.dense.reset(slot);
  if (postings.empty() || postings.size() * 64 < size_t{postings.back()} + 1) {
    postings.dense = util::Bitmap();
    postings.has_dense = false;
  }
}

bool PayloadIndex::KeyLess::operator()(const Value& a, const Value& b) const noexcept {
  switch (a.type()) {
    case Value::Type::kNull: return false;
    case Value::Type::kBool: return !a.as_bool() && b.as_bool();
    case Value::Type::kInt: return a.as_int() < b.as_int();
    case Value::Type::kDouble: return a.as_double() < b.as_double();
    case Value::Type::kString: return a.as_string() < b.as_string();
  }
  return false;
}

PayloadIndex::PayloadIndex(std::vector<std::string> declared)
    : max_values_(std::numeric_limits<size_t>::max()), declared_(std::move(declared)) {
  std::sort(declared_.begin(), declared_.end());
  declared_.erase(std::unique(declared_.begin(), declared_.end()), declared_.end());
  if (declared_.empty()) max_values_ = kDefaultMaxValues;
}

bool PayloadIndex::indexes(std::string_view field) const noexcept {
  return declared_.empty() ||
         std::binary_search(declared_.begin(), declared_.end(), field, std::less<>{});
}

void PayloadIndex::add(uint32_t slot, const Metadata* metadata) noexcept {
  if (!usable_) return;
  try {
    if (!live_.test(slot)) {
      live_.set(slot);
      ++live_count_;
    }
    if (metadata == nullptr) return;
    // The record's fields and fields_ are both in name order: the field
    // after the one last found is usually the next one wanted, and one
    // comparison finds it.
    auto hint = fields_.begin();
    for (const auto& [name, value] : *metadata) {
      if (!indexes(name)) continue;
      auto it = hint != fields_.end() && hint->first == name ? hint : fields_.find(name);
      if (it == fields_.end()) it = fields_.emplace(name, Field{}).first;
      add_value(it->second, value, slot);
      hint = std::next(it);
    }
  } catch (const std::bad_alloc&) {
    clear();
    usable_ = false;
  }
}

void PayloadIndex::add_value(Field& field, const Value& value, uint32_t slot) {
  if (field.over_limit) return;
  if (is_nan(value)) {
    insert_sorted(field.nan, slot);
    return;
  }
  auto& values = field.by_type[type_index(value)];
  auto v = values.find(value);
  if (v == values.end()) {
    if (field.distinct == max_values_) {
      // Too many values to be worth a posting list each: test rows instead.
      field = Field{};
      field.over_limit = true;
      return;
    }
    v = values.emplace(value, Postings{}).first;
    ++field.distinct;
  }
  insert_sorted(v->second, slot);
  added(v->second, slot);
}

void PayloadIndex::remove(uint32_t slot, const Metadata* metadata) noexcept {
  if (!usable_) return;
  if (live_.test(slot)) {
    live_.reset(slot);
    --live_count_;
  }
  if (metadata == nullptr) return;
  for (const auto& [name, value] : *metadata) remove_field(name, value, slot);
}

void PayloadIndex::remove_field(const std::string& name, const Value& value, uint32_t slot) {
  auto it = fields_.find(name);
  if (it == fields_.end() || it->second.over_limit) return;
  Field& field = it->second;
  if (is_nan(value)) {
    erase_sorted(field.nan, slot);
    return;
  }
  auto& values = field.by_type[type_index(value)];
  auto v = values.find(value);
  if (v == values.end()) return;
  erase_sorted(v->second, slot);
  removed(v->second, slot);
  if (v->second.empty()) {
    values.erase(v);
    --field.distinct;
  }
}

void PayloadIndex::clear() noexcept {
  fields_.clear();
  live_ = util::Bitmap();
  live_count_ = 0;
  usable_ = true;
}

bool PayloadIndex::covers(std::string_view field) const noexcept {
  if (!usable_ || !indexes(field)) return false;
  auto it = fields_.find(field);
  return it == fields_.end() || !it->second.over_limit;
}

size_t PayloadIndex::distinct_values(std::string_view field) const noexcept {
  auto it = fields_.find(field);
  return it == fields_.end() || it->second.over_limit ? 0 : it->second.distinct;
}

size_t PayloadIndex::memory_bytes() const noexcept {
  size_t bytes = live_.memory_bytes();
  for (const auto& [name, field] : fields_) {
    bytes += name.capacity() + sizeof(Field) + field.nan.capacity() * sizeof(uint32_t);
    for (const auto& values : field.by_type) {
      for (const auto& [value, postings] : values) {
        bytes += sizeof(Value) + 48 + postings.capacity() * sizeof(uint32_t) +
                 postings.dense.memory_bytes();
      }
    }
  }
  return bytes;
}

std::optional<util::Bitmap> PayloadIndex::evaluate(const Filter& filter) const {
  if (!usable_) return std::nullopt;
  util::Bitmap out;
  if (!evaluate_into(filter, out)) return std::nullopt;
  return out;
}

// Set algebra over the postings, with Filter's closed-world semantics: a
// row without the field satisfies no comparison, and `not` complements
// within the live rows.
bool PayloadIndex::evaluate_into(const Filter& filter, util::Bitmap& out) const {
  switch (filter.op()) {
    case Op::kAnd: {
      out = live_;
      util::Bitmap part;
      for (const Filter& f : filter.operands()) {
        part = util::Bitmap();
        if (!evaluate_into(f, part)) return false;
        out &= part;
      }
      return true;
    }
    case Op::kOr: {
      out = util::Bitmap();
      util::Bitmap part;
      for (const Filter& f : filter.operands()) {
        part = util::Bitmap();
        if (!evaluate_into(f, part)) return false;
        out |= part;
      }
      return true;
    }
    case Op::kNot: {
      util::Bitmap part;
      if (!evaluate_into(filter.operands()[0], part)) return false;
      out = live_;
      out.subtract(part);
      return true;
    }
    default: break;
  }
  if (!indexes(filter.field())) return false;
  auto it = fields_.find(filter.field());
  if (it == fields_.end()) return true;  // no row holds the field: nothing matches
  if (it->second.over_limit) return false;
  leaf(it->second, filter, out);
  return true;
}

void PayloadIndex::leaf(const Field& field, const Filter& filter, util::Bitmap& out) const {
  const Op op = filter.op();
  if (op == Op::kIn) {
    for (const Value& v : filter.values()) {
      if (is_nan(v)) continue;
      const auto& values = field.by_type[type_index(v)];
      auto hit = values.find(v);
      if (hit != values.end()) set_range(hit, std::next(hit), out);
    }
    return;
  }
  const Value& v = filter.values()[0];
  if (is_nan(v)) return;  // NaN equals, differs from and orders against nothing
  const auto& values = field.by_type[type_index(v)];
  const bool ordered = v.is_int() || v.is_double() || v.is_string();
  switch (op) {
    case Op::kEq: {
      auto hit = values.find(v);
      if (hit != values.end()) set_range(hit, std::next(hit), out);
      return;
    }
    case Op::kNe: {
      auto hit = values.find(v);
      set_range(values.begin(), hit, out);
      set_range(hit == values.end() ? hit : std::next(hit), values.end(), out);
      return;
    }
    case Op::kLt:
      if (ordered) set_range(values.begin(), values.lower_bound(v), out);
      return;
    case Op::kLe:
      if (ordered) set_range(values.begin(), values.upper_bound(v), out);
      return;
    case Op::kGt:
      if (ordered) set_range(values.upper_bound(v), values.end(), out);
      return;
    case Op::kGe:
      if (ordered) set_range(values.lower_bound(v), values.end(), out);
      return;
    default: return;
  }
}

PayloadIndex::Audit PayloadIndex::audit(const PayloadIndex& truth) const {
  Audit audit;
  audit.wrong_live = live_count_ != truth.live_count_ || live_.count() != truth.live_.count();
  if (!audit.wrong_live) {
    util::Bitmap extra = live_;
    extra.subtract(truth.live_);
    audit.wrong_live = !extra.none();
  }
  const auto same_keys = [](const Value& a, const Value& b) {
    return a.type() == b.type() && !KeyLess{}(a, b) && !KeyLess{}(b, a);
  };
  const auto same_field = [&](const Field& a, const Field& b) {
    if (a.nan != b.nan) return false;
    for (size_t t = 0; t < a.by_type.size(); ++t) {
      if (a.by_type[t].size() != b.by_type[t].size()) return false;
      auto x = a.by_type[t].begin();
      for (auto y = b.by_type[t].begin(); y != b.by_type[t].end(); ++x, ++y) {
        if (!same_keys(x->first, y->first) || x->second != y->second) return false;
      }
    }
    return true;
  };
  const auto empty = [](const Field& f) {
    if (!f.nan.empty()) return false;
    for (const auto& values : f.by_type) {
      if (!values.empty()) return false;
    }
    return true;
  };
  const auto wrong = [&](const std::string& name) {
    if (audit.wrong_fields++ == 0) audit.first_bad_field = name;
  };
  const Field none;
  for (const auto& [name, field] : fields_) {
    if (field.over_limit) continue;
    ++audit.fields;
    auto t = truth.fields_.find(name);
    if (!same_field(field, t == truth.fields_.end() ? none : t->second)) wrong(name);
  }
  for (const auto& [name, field] : truth.fields_) {
    if (indexes(name) && fields_.find(name) == fields_.end() && !empty(field)) {
      ++audit.fields;
      wrong(name);
    }
  }
  return audit;
}

}  // namespace iqdb::index
