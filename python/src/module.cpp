// The _iqdb extension module: the C++ half of the iqdb Python package.
// The pure-Python half (iqdb/__init__.py) adds open(), open_in_memory()
// and the exception classes.
#include <pybind11/pybind11.h>

#include <iqdb/simd.h>
#include <iqdb/version.h>

#include "errors.h"
#include "py_database.h"

namespace iqdb::py {
void bind_filter(pyb::module_& m);
}

PYBIND11_MODULE(_iqdb, m) {
  m.doc() = "iqdb's C++ core; use the iqdb package.";
  iqdb::py::register_error_translator();
  iqdb::py::bind_filter(m);
  iqdb::py::bind_database(m);
  m.attr("__version__") = iqdb::version();
  m.def("simd_target", &iqdb::simd_target,
        "The instruction set the distance kernels chose on this CPU.");
}
