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

[[gnu::noinline]] void insert_inside(std::vector<uint32_t>& postings, uint32_t slot) {
  auto it = std::lower_bound(postings.begin(), postings.end(), slot);
  if (it == postings.end() || *it != slot) postings.insert(it, slot);
}

// New slots mostly come last (slots are handed out in order): one append.
inline void insert_sorted(std::vector<uint32_t>& postings, uint32_t slot) {
  if (postings.empty() || postings.back() < slot) {
    postings.push_back(slot);
  } else {
    insert_inside(postings, slot);
  }
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

void PayloadIndex::make_dense(Postings& postings) {
  postings.dense = util::Bitmap();
  postings.dense.set_sorted(postings);
  postings.has_dense = true;
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

PayloadIndex::Values::iterator PayloadIndex::Field::insert_key(Value value, size_t hash) {
  auto& values = by_type[type_index(value)];
  auto it = values.emplace(std::move(value), Postings{}).first;
  try {
    lookup.insert(&it->first, hash, it);
  } catch (...) {
    values.erase(it);
    throw;
  }
  ++distinct;
  return it;
}

void PayloadIndex::Field::drop() noexcept {
  *this = Field{};
  over_limit = true;
}

PayloadIndex::PayloadIndex(std::vector<std::string> declared)
    : max_values_(std::numeric_limits<size_t>::max()), declared_(std::move(declared)) {
  std::sort(declared_.begin(), declared_.end());
  declared_.erase(std::unique(declared_.begin(), declared_.end()), declared_.end());
  if (declared_.empty()) max_values_ = kDefaultMaxValues;
}

bool PayloadIndex::is_declared(std::string_view field) const noexcept {
  return std::binary_search(declared_.begin(), declared_.end(), field, std::less<>{});
}

void PayloadIndex::add(uint32_t slot, const Metadata* metadata) noexcept {
  if (!usable_) return;
  try {
    if (!live_.test(slot)) {
      live_.set(slot);
      ++live_count_;
    }
    if (metadata == nullptr) return;
    auto hint = fields_.begin();
    for (const auto& [name, value] : *metadata) {
      if (!indexes(name)) continue;
      auto it = find_field(hint, name);
      if (it == fields_.end()) it = fields_.try_emplace(name).first;
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
  const size_t hash = key_hash(value);
  Values::iterator* hit = field.lookup.find(value, hash);
  Values::iterator v;
  if (hit != nullptr) {
    v = *hit;
  } else {
    if (field.distinct == max_values_) {
      // Too many values to be worth a posting list each: test rows instead.
      field.drop();
      return;
    }
    v = field.insert_key(value, hash);
    // Room for a few slots at once: most values of a field with many of
    // them hold few slots, and growing by one, two, four costs three
    // allocations.
    v->second.reserve(4);
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
  auto hint = fields_.begin();
  for (const auto& [name, value] : *metadata) {
    auto it = find_field(hint, name);
    if (it == fields_.end()) continue;
    remove_value(it->second, value, slot);
    hint = std::next(it);
  }
}

void PayloadIndex::replace(uint32_t slot, const Metadata* before, const Metadata* after) noexcept {
  if (before == nullptr || after == nullptr) {
    remove(slot, before);
    add(slot, after);
    return;
  }
  if (!usable_) return;
  const auto same = [](const Value& a, const Value& b) {
    return is_nan(a) ? is_nan(b) : !is_nan(b) && same_key(a, b);
  };
  try {
    // Both records are in name order, as fields_ is: one merge of the two.
    auto b = before->begin(), a = after->begin();
    auto hint = fields_.begin();
    while (b != before->end() || a != after->end()) {
      const int order = b == before->end()  ? 1
                        : a == after->end() ? -1
                                            : b->first.compare(a->first);
      const bool old_field = order <= 0, new_field = order >= 0;
      const std::string& name = old_field ? b->first : a->first;
      if (!(old_field && new_field && same(b->second, a->second)) && indexes(name)) {
        auto it = find_field(hint, name);
        if (old_field && it != fields_.end()) remove_value(it->second, b->second, slot);
        if (new_field) {
          if (it == fields_.end()) it = fields_.try_emplace(name).first;
          add_value(it->second, a->second, slot);
        }
        if (it != fields_.end()) hint = std::next(it);
      }
      if (old_field) ++b;
      if (new_field) ++a;
    }
  } catch (const std::bad_alloc&) {
    clear();
    usable_ = false;
  }
}

void PayloadIndex::remove_value(Field& field, const Value& value, uint32_t slot) noexcept {
  if (field.over_limit) return;
  if (is_nan(value)) {
    erase_sorted(field.nan, slot);
    return;
  }
  const size_t hash = key_hash(value);
  Values::iterator* hit = field.lookup.find(value, hash);
  if (hit == nullptr) return;
  const Values::iterator v = *hit;
  erase_sorted(v->second, slot);
  removed(v->second, slot);
  if (v->second.empty()) {
    // The lookup entry first: its key is the map node's.
    field.lookup.erase(value, hash);
    field.by_type[type_index(value)].erase(v);
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
    bytes += name.capacity() + sizeof(Field) + field.nan.capacity() * sizeof(uint32_t) +
             field.lookup.memory_bytes();
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
