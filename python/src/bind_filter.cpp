// iqdb.Filter: metadata predicates built in Python and evaluated in C++.
#include <string>
#include <vector>

#include <pybind11/operators.h>
#include <pybind11/stl.h>

#include <iqdb/filter.h>

#include "convert.h"
#include "errors.h"

namespace iqdb::py {

namespace {

std::vector<Value> to_values(pyb::handle seq_obj) {
  std::vector<Value> values;
  for (pyb::handle v : pyb::reinterpret_borrow<pyb::iterable>(seq_obj))
    values.push_back(to_value(v));
  return values;
}

std::vector<Filter> to_filters(const pyb::args& operands) {
  std::vector<Filter> out;
  for (pyb::handle f : operands) {
    std::optional<Filter> filter = to_filter(f);
    if (!filter) throw pyb::type_error("filter operands are filter text or iqdb.Filter, not None");
    out.push_back(std::move(*filter));
  }
  return out;
}

Filter parse(const std::string& text) {
  Result<Filter> f = Filter::parse(text);
  check(f.status());
  return *f;
}

}  // namespace

void bind_filter(pyb::module_& m) {
  using Leaf = Filter (*)(std::string, Value);
  auto leaf = [](Leaf make) {
    return [make](std::string field, pyb::handle value) {
      return make(std::move(field), to_value(value));
    };
  };
  pyb::class_<Filter>(m, "Filter", R"doc(
A predicate over a record's metadata, evaluated in C++ during a search.

Build one with the static methods (``Filter.eq("class", "Sandal")``,
``Filter.ge("year", 2020)``, ``Filter.in_("tag", ["a", "b"])``), combine
with ``&``, ``|``, ``~`` (or and_/or_/not_), or parse the text form with
``Filter.parse("class = 'Sandal' and year >= 2020")``. A comparison on a
missing field or a value of another type is false; int and float are
different types. Filters are immutable and can be pickled.)doc")
      .def_static("eq", leaf(&Filter::eq), pyb::arg("field"), pyb::arg("value"))
      .def_static("ne", leaf(&Filter::ne), pyb::arg("field"), pyb::arg("value"))
      .def_static("lt", leaf(&Filter::lt), pyb::arg("field"), pyb::arg("value"))
      .def_static("le", leaf(&Filter::le), pyb::arg("field"), pyb::arg("value"))
      .def_static("gt", leaf(&Filter::gt), pyb::arg("field"), pyb::arg("value"))
      .def_static("ge", leaf(&Filter::ge), pyb::arg("field"), pyb::arg("value"))
      .def_static(
          "in_",
          [](std::string field, pyb::handle values) {
            return Filter::in(std::move(field), to_values(values));
          },
          pyb::arg("field"), pyb::arg("values"))
      .def_static("and_",
                  [](const pyb::args& operands) { return Filter::and_(to_filters(operands)); })
      .def_static("or_",
                  [](const pyb::args& operands) { return Filter::or_(to_filters(operands)); })
      .def_static(
          "not_", [](const Filter& f) { return Filter::not_(f); }, pyb::arg("operand"))
      .def_static("parse", &parse, pyb::arg("text"),
                  "Parse the text form; iqdb.InvalidArgument names the column.")
      .def(
          "matches",
          [](const Filter& f, pyb::handle metadata) {
            if (metadata.is_none()) return f.matches_empty();
            return f.matches(to_metadata(metadata));
          },
          pyb::arg("metadata"), "Whether a metadata dict (or None) satisfies the filter.")
      .def("__and__",
           [](const Filter& a, const Filter& b) {
             return Filter::and_({a, b});
           })
      .def("__or__",
           [](const Filter& a, const Filter& b) {
             return Filter::or_({a, b});
           })
      .def("__invert__", [](const Filter& a) { return Filter::not_(a); })
      .def("__eq__", [](const Filter& a, const Filter& b) { return a == b; })
      .def("__hash__", [](const Filter& f) { return pyb::hash(pyb::str(f.to_string())); })
      .def("__str__", &Filter::to_string)
      .def("__repr__",
           [](const Filter& f) {
             return "iqdb.Filter.parse(" + std::string(pyb::repr(pyb::str(f.to_string()))) + ")";
           })
      .def(pyb::pickle([](const Filter& f) { return f.to_string(); },
                       [](const std::string& text) { return parse(text); }));
}

}  // namespace iqdb::py
