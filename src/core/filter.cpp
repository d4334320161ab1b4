// Filter construction, evaluation and validation. The text syntax lives in
// filter_parse.cpp.
#include "iqdb/filter.h"

#include <cmath>
#include <string>

#include "core/filter_node.h"

namespace iqdb {
namespace {

std::shared_ptr<const detail::FilterNode> leaf(Filter::Op op, std::string field,
                                               std::vector<Value> values) {
  auto node = std::make_shared<detail::FilterNode>();
  node->op = op;
  node->field = std::move(field);
  node->values = std::move(values);
  return node;
}

// -1, 0, 1 for ordered comparison of same-typed orderable values; 2 when the
// values do not compare (different types, bool/null, NaN).
int compare(const Value& a, const Value& b) {
  if (a.type() != b.type()) return 2;
  switch (a.type()) {
    case Value::Type::kInt: return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    case Value::Type::kDouble: {
      double x = a.as_double(), y = b.as_double();
      if (std::isnan(x) || std::isnan(y)) return 2;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case Value::Type::kString: {
      int c = a.as_string().compare(b.as_string());
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    default: return 2;
  }
}

bool equal(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  if (a.is_double()) return a.as_double() == b.as_double();  // NaN equals nothing
  return a == b;
}

bool evaluate(const detail::FilterNode& node, const Metadata* metadata) {
  using Op = Filter::Op;
  switch (node.op) {
    case Op::kAnd:
      for (const Filter& f : node.operands) {
        if (!evaluate(*detail::FilterAccess::node(f), metadata)) return false;
      }
      return true;
    case Op::kOr:
      for (const Filter& f : node.operands) {
        if (evaluate(*detail::FilterAccess::node(f), metadata)) return true;
      }
      return false;
    case Op::kNot: return !evaluate(*detail::FilterAccess::node(node.operands[0]), metadata);
    default: break;
  }
  const Value* field = metadata ? metadata->get(node.field) : nullptr;
  if (field == nullptr) return false;  // closed world: absent fields satisfy no comparison
  if (node.op == Op::kIn) {
    for (const Value& v : node.values) {
      if (equal(*field, v)) return true;
    }
    return false;
  }
  const Value& operand = node.values[0];  // comparison leaves hold exactly one
  switch (node.op) {
    case Op::kEq: return equal(*field, operand);
    case Op::kNe: {
      if (field->type() != operand.type()) return false;
      if (field->is_double() &&
          (std::isnan(field->as_double()) || std::isnan(operand.as_double()))) {
        return false;
      }
      return !(*field == operand);
    }
    case Op::kLt: return compare(*field, operand) == -1;
    case Op::kLe: {
      int c = compare(*field, operand);
      return c == -1 || c == 0;
    }
    case Op::kGt: return compare(*field, operand) == 1;
    case Op::kGe: {
      int c = compare(*field, operand);
      return c == 1 || c == 0;
    }
    default: return false;
  }
}

// Counts nodes (and in-list values) and depth without recursing past the
// limits, so a hostile tree cannot exhaust the stack here either.
bool within_limits(const detail::FilterNode& node, size_t depth, size_t& nodes) {
  if (depth > Filter::kMaxDepth) return false;
  nodes += 1 + node.values.size();
  if (nodes > Filter::kMaxNodes) return false;
  for (const Filter& f : node.operands) {
    if (!within_limits(*detail::FilterAccess::node(f), depth + 1, nodes)) return false;
  }
  return true;
}

}  // namespace

Filter Filter::eq(std::string field, Value value) {
  return Filter(leaf(Op::kEq, std::move(field), {std::move(value)}));
}
Filter Filter::ne(std::string field, Value value) {
  return Filter(leaf(Op::kNe, std::move(field), {std::move(value)}));
}
Filter Filter::lt(std::string field, Value value) {
  return Filter(leaf(Op::kLt, std::move(field), {std::move(value)}));
}
Filter Filter::le(std::string field, Value value) {
  return Filter(leaf(Op::kLe, std::move(field), {std::move(value)}));
}
Filter Filter::gt(std::string field, Value value) {
  return Filter(leaf(Op::kGt, std::move(field), {std::move(value)}));
}
Filter Filter::ge(std::string field, Value value) {
  return Filter(leaf(Op::kGe, std::move(field), {std::move(value)}));
}
Filter Filter::in(std::string field, std::vector<Value> values) {
  return Filter(leaf(Op::kIn, std::move(field), std::move(values)));
}

Filter Filter::and_(std::vector<Filter> operands) {
  auto node = std::make_shared<detail::FilterNode>();
  node->op = Op::kAnd;
  node->operands = std::move(operands);
  return Filter(std::move(node));
}

Filter Filter::or_(std::vector<Filter> operands) {
  auto node = std::make_shared<detail::FilterNode>();
  node->op = Op::kOr;
  node->operands = std::move(operands);
  return Filter(std::move(node));
}

Filter Filter::not_(Filter operand) {
  auto node = std::make_shared<detail::FilterNode>();
  node->op = Op::kNot;
  node->operands.push_back(std::move(operand));
  return Filter(std::move(node));
}

bool Filter::matches(const Metadata& metadata) const { return evaluate(*node_, &metadata); }
bool Filter::matches_empty() const { return evaluate(*node_, nullptr); }

Status Filter::validate() const {
  size_t nodes = 0;
  if (!within_limits(*node_, 1, nodes)) {
    return Status::InvalidArgument("filter is too large: at most " + std::to_string(kMaxDepth) +
                                   " levels deep and " + std::to_string(kMaxNodes) +
                                   " nodes and values");
  }
  return Status::OK();
}

Filter::Op Filter::op() const noexcept { return node_->op; }
const std::string& Filter::field() const { return node_->field; }
const std::vector<Value>& Filter::values() const { return node_->values; }
const std::vector<Filter>& Filter::operands() const { return node_->operands; }

bool operator==(const Filter& a, const Filter& b) {
  const detail::FilterNode* xp = detail::FilterAccess::node(a);
  const detail::FilterNode* yp = detail::FilterAccess::node(b);
  if (xp == yp) return true;
  const detail::FilterNode& x = *xp;
  const detail::FilterNode& y = *yp;
  return x.op == y.op && x.field == y.field && x.values == y.values && x.operands == y.operands;
}

}  // namespace iqdb
