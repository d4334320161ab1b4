// Conversions between Python objects and iqdb values. Every function here
// needs the GIL; what they return is plain C++ that is safe to use without
// it.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <iqdb/filter.h>
#include <iqdb/types.h>

namespace iqdb::py {

namespace pyb = pybind11;

// Rows of float32 in C order. float32 C-contiguous arrays are borrowed as
// they are (no copy); other numeric dtypes and layouts are converted to a
// float32 C-order copy; a non-numeric input raises InvalidArgument. `keep`
// holds whichever array `data` points into.
struct FloatRows {
  const float* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  bool one_row = false;  // the input was 1-D
  bool copied = false;   // the input needed a conversion
  pyb::object keep;
};
FloatRows as_float_rows(pyb::handle obj, const char* what);

// An id from a Python int (0 .. 2**64-1), bytes-like or str (its UTF-8).
VectorId to_id(pyb::handle obj);
// True for what to_id accepts as one id (rather than a sequence of ids).
bool is_scalar_id(pyb::handle obj);
// Ids from a sequence or a 1-D integer array.
std::vector<VectorId> to_ids(pyb::handle obj);
pyb::object from_id(const VectorId& id);

// A dict of str -> None/bool/int/float/str.
Metadata to_metadata(pyb::handle obj);
pyb::dict from_metadata(const Metadata& md);
Value to_value(pyb::handle obj);
pyb::object from_value(const Value& v);

// None, filter text, or an iqdb.Filter.
std::optional<Filter> to_filter(pyb::handle obj);

}  // namespace iqdb::py
