// The tree behind a Filter, shared by evaluation, parsing and printing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "iqdb/filter.h"

namespace iqdb {

namespace detail {

struct FilterNode {
  Filter::Op op = Filter::Op::kAnd;
  std::string field;             // leaves
  std::vector<Value> values;     // one for comparisons, the list for kIn
  std::vector<Filter> operands;  // kAnd, kOr, kNot
};

struct FilterAccess {
  static const detail::FilterNode* node(const Filter& f) { return f.node_.get(); }
  static Filter make(std::shared_ptr<const detail::FilterNode> node) {
    return Filter(std::move(node));
  }
};
}  // namespace detail

}  // namespace iqdb
