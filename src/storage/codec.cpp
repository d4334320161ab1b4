#include "storage/codec.h"

#include <cstring>
#include <new>

namespace iqdb::storage {

std::optional<CodecKind> codec_from_byte(uint8_t byte) noexcept {
  switch (byte) {
    case static_cast<uint8_t>(CodecKind::kNone): return CodecKind::kNone;
    case static_cast<uint8_t>(CodecKind::kZstd): return CodecKind::kZstd;
    case static_cast<uint8_t>(CodecKind::kLz4): return CodecKind::kLz4;
    default: return std::nullopt;
  }
}

std::string_view codec_name(CodecKind kind) noexcept {
  switch (kind) {
    case CodecKind::kNone: return "none";
    case CodecKind::kZstd: return "zstd";
    case CodecKind::kLz4: return "lz4";
  }
  return "unknown";
}

bool codec_available(CodecKind kind) noexcept {
  switch (kind) {
    case CodecKind::kNone: return true;
    case CodecKind::kZstd: return detail::zstd_available();
    case CodecKind::kLz4: return detail::lz4_available();
  }
  return false;
}

Result<std::string> compress(CodecKind kind, int level, std::span<const uint8_t> src) {
  try {
    switch (kind) {
      case CodecKind::kNone:
        return std::string(reinterpret_cast<const char*>(src.data()), src.size());
      case CodecKind::kZstd: return detail::zstd_compress(level, src);
      case CodecKind::kLz4: return detail::lz4_compress(src);
    }
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory compressing " + std::to_string(src.size()) +
                                     " bytes");
  }
  return Status::Unsupported("unknown codec");
}

Status decompress_into(CodecKind kind, std::span<const uint8_t> src, std::span<uint8_t> dst) {
  switch (kind) {
    case CodecKind::kNone:
      if (src.size() != dst.size()) {
        return Status::Corruption("uncompressed section holds " + std::to_string(src.size()) +
                                  " bytes, expected " + std::to_string(dst.size()));
      }
      if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
      return Status::OK();
    case CodecKind::kZstd: return detail::zstd_decompress(src, dst);
    case CodecKind::kLz4: return detail::lz4_decompress(src, dst);
  }
  return Status::Unsupported("unknown codec");
}

Result<std::string> decompress(CodecKind kind, std::span<const uint8_t> src, size_t expected_size) {
  if (!codec_available(kind)) {
    return Status::Unsupported("codec " + std::string(codec_name(kind)) +
                               " is not compiled into this build");
  }
  std::string out;
  try {
    out.resize(expected_size);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory decompressing " +
                                     std::to_string(expected_size) + " bytes");
  } catch (const std::length_error&) {
    return Status::ResourceExhausted("cannot decompress " + std::to_string(expected_size) +
                                     " bytes: too large");
  }
  IQDB_RETURN_IF_ERROR(
      decompress_into(kind, src, std::span(reinterpret_cast<uint8_t*>(out.data()), out.size())));
  return out;
}

}  // namespace iqdb::storage
