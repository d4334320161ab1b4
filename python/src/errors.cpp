#include "errors.h"

#include <pybind11/pybind11.h>

namespace iqdb::py {

void register_error_translator() {
  pybind11::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const StatusError& e) {
      // iqdb._errors is imported by the package before the extension is
      // used, so this lookup finds it in sys.modules.
      pybind11::object make = pybind11::module_::import("iqdb._errors").attr("from_status");
      pybind11::object exc = make(e.code(), e.what());
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });
}

}  // namespace iqdb::py
