// Fuzzes the filter text parser: any text must parse or fail with
// kInvalidArgument naming a column; never crash or recurse without bound.
// A parsed filter must print to text that parses back to an equal filter,
// and evaluating it must not crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "iqdb/filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = iqdb::Filter::parse(text);
  if (!f.ok()) {
    if (f.status().code() != iqdb::StatusCode::kInvalidArgument) __builtin_trap();
    if (f.status().message().find("column ") == std::string_view::npos &&
        f.status().message().find("too large") == std::string_view::npos) {
      __builtin_trap();
    }
    return 0;
  }
  auto again = iqdb::Filter::parse(f->to_string());
  if (!again.ok() || !(*again == *f)) __builtin_trap();
  iqdb::Metadata m{{"a", 1}, {"b", 2.5}, {"c", "x"}, {"d", true}, {"e", nullptr}};
  (void)f->matches(m);
  (void)f->matches_empty();
  return 0;
}
