#include "convert.h"

#include <climits>
#include <cstdint>
#include <string>

#include "errors.h"

namespace iqdb::py {

FloatRows as_float_rows(pyb::handle obj, const char* what) {
  FloatRows out;
  pyb::array arr;
  if (pyb::isinstance<pyb::array>(obj)) {
    arr = pyb::reinterpret_borrow<pyb::array>(obj);
  } else {
    arr = pyb::array::ensure(obj);
    if (!arr) {
      PyErr_Clear();
      invalid(std::string(what) + " must be an array-like of numbers");
    }
  }
  const char kind = arr.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u') {
    invalid(std::string(what) + " must be numeric, got an array of dtype " +
            std::string(pyb::str(arr.dtype())));
  }
  if (arr.ndim() != 1 && arr.ndim() != 2) {
    invalid(std::string(what) + " must be 1-D (one row) or 2-D (rows), got " +
            std::to_string(arr.ndim()) + " dimensions");
  }
  const bool borrowable = arr.dtype().is(pyb::dtype::of<float>()) &&
                          (arr.flags() & pyb::array::c_style) != 0 &&
                          (arr.flags() & pyb::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0;
  if (!borrowable) {
    auto converted = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>::ensure(arr);
    if (!converted) throw pyb::error_already_set();
    arr = converted;
    out.copied = true;
  }
  out.one_row = arr.ndim() == 1;
  out.rows = out.one_row ? 1 : static_cast<size_t>(arr.shape(0));
  out.cols = static_cast<size_t>(arr.shape(out.one_row ? 0 : 1));
  out.data = static_cast<const float*>(arr.data());
  out.keep = arr;
  return out;
}

bool is_scalar_id(pyb::handle obj) {
  return PyLong_Check(obj.ptr()) || PyBytes_Check(obj.ptr()) || PyByteArray_Check(obj.ptr()) ||
         PyUnicode_Check(obj.ptr()) || PyMemoryView_Check(obj.ptr()) ||
         (pyb::isinstance<pyb::array>(obj) ? pyb::reinterpret_borrow<pyb::array>(obj).ndim() == 0
                                           : PyIndex_Check(obj.ptr()) != 0);
}

VectorId to_id(pyb::handle obj) {
  if (PyBool_Check(obj.ptr())) throw pyb::type_error("an id is an int, bytes or str, not a bool");
  if (PyBytes_Check(obj.ptr()) || PyByteArray_Check(obj.ptr()) || PyMemoryView_Check(obj.ptr()) ||
      PyUnicode_Check(obj.ptr())) {
    std::string bytes = PyUnicode_Check(obj.ptr())
                            ? std::string(pyb::str(obj))
                            : std::string(pyb::bytes(pyb::reinterpret_borrow<pyb::object>(obj)));
    Result<VectorId> id = VectorId::from_bytes(bytes);
    check(id.status());
    return *id;
  }
  if (PyIndex_Check(obj.ptr())) {
    pyb::object index = pyb::reinterpret_steal<pyb::object>(PyNumber_Index(obj.ptr()));
    if (!index) throw pyb::error_already_set();
    int overflow = 0;
    const long long signed_value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (overflow == 0 && signed_value < 0)
      invalid("an integer id must be in 0 .. 2**64-1, got a negative one");
    const unsigned long long v = PyLong_AsUnsignedLongLong(index.ptr());
    if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      invalid("an integer id must be in 0 .. 2**64-1");
    }
    return VectorId(static_cast<uint64_t>(v));
  }
  throw pyb::type_error("an id is an int, bytes or str, got " +
                        std::string(pyb::str(pyb::type::handle_of(obj).attr("__name__"))));
}

std::vector<VectorId> to_ids(pyb::handle obj) {
  std::vector<VectorId> ids;
  if (pyb::isinstance<pyb::array>(obj)) {
    auto arr = pyb::reinterpret_borrow<pyb::array>(obj);
    const char kind = arr.dtype().kind();
    if (arr.ndim() != 1) invalid("ids must be a 1-D sequence");
    if (kind == 'i' || kind == 'u') {
      auto as_u64 = pyb::array_t<uint64_t, pyb::array::forcecast>::ensure(arr);
      if (kind == 'i') {
        auto as_i64 = pyb::array_t<int64_t, pyb::array::forcecast>::ensure(arr);
        auto r = as_i64.unchecked<1>();
        for (pyb::ssize_t i = 0; i < r.shape(0); ++i) {
          if (r(i) < 0) invalid("an integer id must be in 0 .. 2**64-1, got a negative one");
        }
      }
      auto r = as_u64.unchecked<1>();
      ids.reserve(static_cast<size_t>(r.shape(0)));
      for (pyb::ssize_t i = 0; i < r.shape(0); ++i) ids.emplace_back(r(i));
      return ids;
    }
  }
  if (is_scalar_id(obj)) throw pyb::type_error("expected a sequence of ids");
  pyb::sequence seq = pyb::reinterpret_borrow<pyb::object>(obj).cast<pyb::sequence>();
  ids.reserve(seq.size());
  for (pyb::handle item : seq) ids.push_back(to_id(item));
  return ids;
}

pyb::object from_id(const VectorId& id) {
  if (id.is_u64()) return pyb::int_(id.as_u64());
  return pyb::bytes(id.bytes());
}

Value to_value(pyb::handle obj) {
  if (obj.is_none()) return Value();
  if (PyBool_Check(obj.ptr())) return Value(obj.ptr() == Py_True);
  if (PyLong_Check(obj.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    if (overflow != 0) invalid("a metadata integer must fit in 64 signed bits");
    return Value(v);
  }
  if (PyFloat_Check(obj.ptr())) return Value(PyFloat_AsDouble(obj.ptr()));
  if (PyUnicode_Check(obj.ptr())) return Value(std::string(pyb::str(obj)));
  // numpy scalars: np.bool_, np.integer, np.floating.
  if (pyb::isinstance<pyb::array>(obj) || PyObject_HasAttrString(obj.ptr(), "dtype")) {
    const char kind = pyb::dtype::from_args(obj.attr("dtype")).kind();
    if (kind == 'b') return Value(obj.cast<bool>());
    if (kind == 'i' || kind == 'u')
      return to_value(pyb::int_(pyb::reinterpret_borrow<pyb::object>(obj)));
    if (kind == 'f') return Value(obj.cast<double>());
  }
  throw pyb::type_error("metadata values are None, bool, int, float or str, got " +
                        std::string(pyb::str(pyb::type::handle_of(obj).attr("__name__"))));
}

pyb::object from_value(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return pyb::none();
    case Value::Type::kBool: return pyb::bool_(v.as_bool());
    case Value::Type::kInt: return pyb::int_(v.as_int());
    case Value::Type::kDouble: return pyb::float_(v.as_double());
    case Value::Type::kString: return pyb::str(v.as_string());
  }
  return pyb::none();
}

Metadata to_metadata(pyb::handle obj) {
  if (!PyDict_Check(obj.ptr())) {
    throw pyb::type_error("metadata is a dict of str to None/bool/int/float/str");
  }
  Metadata md;
  for (auto [key, value] : pyb::reinterpret_borrow<pyb::dict>(obj)) {
    if (!PyUnicode_Check(key.ptr())) throw pyb::type_error("metadata field names are str");
    md.set(std::string(pyb::str(key)), to_value(value));
  }
  return md;
}

pyb::dict from_metadata(const Metadata& md) {
  pyb::dict d;
  for (const auto& [field, value] : md) d[pyb::str(field)] = from_value(value);
  return d;
}

std::optional<Filter> to_filter(pyb::handle obj) {
  if (obj.is_none()) return std::nullopt;
  if (PyUnicode_Check(obj.ptr())) {
    Result<Filter> f = Filter::parse(std::string(pyb::str(obj)));
    check(f.status());
    return *f;
  }
  if (pyb::isinstance<Filter>(obj)) return obj.cast<Filter>();
  throw pyb::type_error("a filter is None, filter text (str) or an iqdb.Filter");
}

}  // namespace iqdb::py
