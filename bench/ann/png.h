// A minimal PNG encoder: 8-bit RGB, no interlacing, deflate from zlib.
// Enough for the benchmark's plots, with no image library to depend on.
//
// File layout (PNG specification, ISO/IEC 15948): the 8-byte signature,
// then chunks of (u32 big-endian length | 4-byte type | data | CRC-32 of
// type and data): IHDR (width, height, bit depth 8, colour type 2 = RGB),
// IDAT (the zlib stream of the scanlines, each prefixed by its filter
// type), IEND.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "iqdb/status.h"

namespace iqdb::bench {

struct RgbImage {
  size_t width = 0;
  size_t height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3, row-major, top row first
};

// The PNG file bytes of `image`. kInvalidArgument for an empty or
// inconsistent image; kResourceExhausted when zlib fails.
Result<std::string> encode_png(const RgbImage& image);

// encode_png, written to `path` (parent directories created).
Status write_png(const std::string& path, const RgbImage& image);

}  // namespace iqdb::bench
