// Fuzzes the strict JSON reader and the JSON Lines row decoder
// (tools/dataset/json.h, jsonl.h). Any text must parse or fail with
// kInvalidArgument naming a column; never crash or recurse without bound.
// What parses must print canonically and read back to an equal value, and
// decoded rows must be rectangular.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataset/json.h"
#include "dataset/jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using iqdb::StatusCode;

  auto doc = iqdb::dataset::parse_json(text);
  if (doc.ok()) {
    const std::string canonical = iqdb::dataset::to_json(*doc);
    auto again = iqdb::dataset::parse_json(canonical);
    if (!again.ok() || !(*again == *doc)) __builtin_trap();
    if (iqdb::dataset::to_json(*again) != canonical) __builtin_trap();
  } else {
    if (doc.status().code() != StatusCode::kInvalidArgument) __builtin_trap();
    if (doc.status().message().find("column ") == std::string_view::npos) __builtin_trap();
  }

  auto rows = iqdb::dataset::decode_jsonl(text);
  if (!rows.ok()) {
    if (rows.status().code() != StatusCode::kInvalidArgument) __builtin_trap();
    if (rows.status().message().find("line ") == std::string_view::npos) __builtin_trap();
    return 0;
  }
  const size_t n = rows->rows();
  if (rows->dim != 0 && rows->values.size() != n * rows->dim) __builtin_trap();
  if (!rows->ids.empty() && rows->ids.size() != n) __builtin_trap();
  if (!rows->metadata.empty() && rows->metadata.size() != n) __builtin_trap();
  return 0;
}
