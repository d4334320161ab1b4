// Fuzzes the .npy decoder (tools/dataset/npy.h): any bytes must decode or
// fail with kInvalidArgument / kUnsupported, never crash, overread or
// allocate what the header promises but the input does not hold. A decoded
// array must have exactly rows x dim finite values.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataset/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto header = iqdb::dataset::parse_npy_header(bytes);
  auto decoded = iqdb::dataset::decode_npy(bytes);
  if (!decoded.ok()) {
    const auto code = decoded.status().code();
    if (code != iqdb::StatusCode::kInvalidArgument && code != iqdb::StatusCode::kUnsupported)
      __builtin_trap();
    return 0;
  }
  // A file that decodes has a header that parses, and agrees with it.
  if (!header.ok()) __builtin_trap();
  if (decoded->dim != header->dim || decoded->values.size() != header->rows * header->dim)
    __builtin_trap();
  if (header->data_offset + header->data_bytes() != size) __builtin_trap();
  for (float v : decoded->values) {
    if (!std::isfinite(v)) __builtin_trap();
  }
  return 0;
}
