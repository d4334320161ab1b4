#include "ann/png.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace iqdb::bench {
namespace {

void put_u32_be(std::string& out, uint32_t v) {
  out.push_back(char(v >> 24));
  out.push_back(char(v >> 16));
  out.push_back(char(v >> 8));
  out.push_back(char(v));
}

void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32_be(out, uint32_t(data.size()));
  const size_t type_at = out.size();
  out.append(type, 4);
  out += data;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + type_at), uInt(4 + data.size()));
  put_u32_be(out, uint32_t(crc));
}

// Filter 1 (Sub): each byte minus the byte one pixel to its left. Plots are
// mostly flat colour, so this leaves long runs of zeros for deflate.
std::string filtered_scanlines(const RgbImage& image) {
  const size_t stride = image.width * 3;
  std::string raw;
  raw.reserve(image.height * (stride + 1));
  for (size_t y = 0; y < image.height; ++y) {
    const uint8_t* row = image.rgb.data() + y * stride;
    raw.push_back(char(1));
    for (size_t i = 0; i < stride; ++i)
      raw.push_back(char(i < 3 ? row[i] : uint8_t(row[i] - row[i - 3])));
  }
  return raw;
}

}  // namespace

Result<std::string> encode_png(const RgbImage& image) {
  if (image.width == 0 || image.height == 0 || image.width > (1u << 24) ||
      image.height > (1u << 24) || image.rgb.size() != image.width * image.height * 3) {
    return Status::InvalidArgument("png: the image is empty or its pixels do not match its size");
  }
  const std::string raw = filtered_scanlines(image);
  uLongf packed_size = compressBound(uLong(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()),
                Z_BEST_COMPRESSION) != Z_OK) {
    return Status::ResourceExhausted("png: zlib could not compress the image");
  }
  packed.resize(packed_size);

  std::string header;
  put_u32_be(header, uint32_t(image.width));
  put_u32_be(header, uint32_t(image.height));
  header += std::string("\x08\x02\x00\x00\x00",
                        5);  // depth 8, RGB, deflate, adaptive filters, no interlace

  std::string png("\x89PNG\r\n\x1a\n", 8);
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", packed);
  put_chunk(png, "IEND", "");
  return png;
}

Status write_png(const std::string& path, const RgbImage& image) {
  auto bytes = encode_png(image);
  if (!bytes.ok()) return bytes.status();
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::IOError("cannot write " + path);
  out.write(bytes->data(), std::streamsize(bytes->size()));
  return out ? Status::OK() : Status::IOError("write failed: " + path);
}

}  // namespace iqdb::bench
