// Status and Result<T>: how every iqdb call reports success or failure.
// Both are [[nodiscard]]: a dropped status is a lost error; cast to void to
// drop one on purpose.
//
// No exception crosses the public API. A call either succeeds (Status::OK(),
// or a Result holding a value) or returns a Status whose code says what kind
// of failure it was and whose message is safe to log (it never contains
// vector data or metadata values, only library-produced text).
//
// Thread-safety: Status and Result are values; distinct objects may be used
// from different threads freely, one object needs external synchronisation.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "iqdb/export.h"

namespace iqdb {

enum class StatusCode {
  kOk,
  kInvalidArgument,    // the caller's input was wrong (dim, NaN, k = 0, ...)
  kNotFound,           // a named thing does not exist
  kCorruption,         // a file's bytes are damaged or not ours
  kIOError,            // the OS refused a read, write, fsync, ...
  kConfigMismatch,     // reopened with another dim or metric
  kBusy,               // another process holds the database
  kUnsupported,        // valid request the build or index cannot serve
  kResourceExhausted,  // out of memory or address space
  kClosed,             // the handle was closed (or moved from)
};

// The name of a code, e.g. "InvalidArgument".
IQDB_EXPORT std::string_view status_code_name(StatusCode code);

// The out-of-line members are exported one by one: a class-level
// visibility attribute cannot be combined with [[nodiscard]].
class [[nodiscard]] Status {
 public:
  // Success. Costs a null pointer: OK statuses never allocate.
  Status() noexcept = default;
  IQDB_EXPORT Status(StatusCode code, std::string_view message);

  IQDB_EXPORT Status(const Status& other);
  IQDB_EXPORT Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status OK() noexcept { return Status(); }
  static Status InvalidArgument(std::string_view msg) {
    return {StatusCode::kInvalidArgument, msg};
  }
  static Status NotFound(std::string_view msg) { return {StatusCode::kNotFound, msg}; }
  static Status Corruption(std::string_view msg) { return {StatusCode::kCorruption, msg}; }
  static Status IOError(std::string_view msg) { return {StatusCode::kIOError, msg}; }
  static Status ConfigMismatch(std::string_view msg) { return {StatusCode::kConfigMismatch, msg}; }
  static Status Busy(std::string_view msg) { return {StatusCode::kBusy, msg}; }
  static Status Unsupported(std::string_view msg) { return {StatusCode::kUnsupported, msg}; }
  static Status ResourceExhausted(std::string_view msg) {
    return {StatusCode::kResourceExhausted, msg};
  }
  static Status Closed(std::string_view msg) { return {StatusCode::kClosed, msg}; }

  bool ok() const noexcept { return rep_ == nullptr; }
  StatusCode code() const noexcept { return rep_ ? rep_->code : StatusCode::kOk; }
  // Empty for OK.
  std::string_view message() const noexcept {
    return rep_ ? std::string_view(rep_->message) : std::string_view();
  }
  // "OK" or "<CodeName>: <message>".
  IQDB_EXPORT std::string to_string() const;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<Rep> rep_;
};

namespace detail {
[[noreturn]] IQDB_EXPORT void die_bad_result_access(const Status& status);
}

// A value of type T or the Status saying why there is none.
// Accessing value() of a failed Result is a programming error and aborts with
// the status printed; check ok() (or the bool conversion) first.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status(StatusCode::kInvalidArgument, "Result built from OK status");
  }

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  // OK when a value is present.
  const Status& status() const noexcept { return status_; }

  T& value() & {
    check();
    return *value_;
  }
  const T& value() const& {
    check();
    return *value_;
  }
  T&& value() && {
    check();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check() const {
    if (!value_) detail::die_bad_result_access(status_);
  }
  std::optional<T> value_;
  Status status_;
};

}  // namespace iqdb

// Propagates a failed Status out of the calling function.
#define IQDB_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::iqdb::Status iqdb_status_ = (expr);        \
    if (!iqdb_status_.ok()) return iqdb_status_; \
  } while (0)
