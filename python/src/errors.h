// How iqdb failures reach Python: a C++ StatusError carries the code and
// message across the binding code and a registered translator raises the
// matching iqdb.Error subclass (defined in iqdb/_errors.py).
#pragma once

#include <exception>
#include <string>

#include <iqdb/status.h>

namespace iqdb::py {

// StatusCode's numeric values, plus the code for a closed handle.
inline constexpr int kClosedCode = 9;

class StatusError : public std::exception {
 public:
  StatusError(int code, std::string message) : code_(code), message_(std::move(message)) {}
  int code() const noexcept { return code_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int code_;
  std::string message_;
};

// Throws StatusError when s is not OK. Safe without the GIL.
inline void check(const Status& s) {
  if (!s.ok()) throw StatusError(static_cast<int>(s.code()), std::string(s.message()));
}

[[noreturn]] inline void invalid(std::string message) {
  throw StatusError(static_cast<int>(StatusCode::kInvalidArgument), std::move(message));
}

// Installs the StatusError -> iqdb.Error translator.
void register_error_translator();

}  // namespace iqdb::py
