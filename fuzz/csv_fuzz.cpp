// Fuzzes the CSV row decoder (tools/dataset/csv.h): any text must decode or
// fail with kInvalidArgument, never crash; decoded rows are rectangular.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataset/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (char delimiter : {',', '\t'}) {
    auto rows = iqdb::dataset::decode_csv(text, {}, delimiter);
    if (!rows.ok()) {
      if (rows.status().code() != iqdb::StatusCode::kInvalidArgument) __builtin_trap();
      continue;
    }
    const size_t n = rows->rows();
    if (rows->dim != 0 && rows->values.size() != n * rows->dim) __builtin_trap();
    if (!rows->ids.empty() && rows->ids.size() != n) __builtin_trap();
    if (!rows->metadata.empty() && rows->metadata.size() != n) __builtin_trap();
  }
  return 0;
}
