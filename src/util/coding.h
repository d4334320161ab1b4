// Little-endian fixed-width encoding, and a bounds-checked reader for bytes
// that came from disk.
//
// Every on-disk integer in iqdb is little-endian regardless of the host. The
// put_* functions append to a std::string; the encode_*/decode_* functions
// work on raw pointers that the caller has already bounds-checked. Code that
// parses untrusted bytes should use ByteReader, which checks every read
// against the bytes that exist and never reads past them.
//
// Thread-safety: free functions are pure; a ByteReader is a cursor over
// borrowed bytes and must not be shared between threads while it moves.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "iqdb/status.h"

namespace iqdb::util {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "mixed-endian hosts are not supported");

namespace detail {
template <typename U>
constexpr U to_little(U v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    return v;
  } else {
    U out = 0;
    for (size_t i = 0; i < sizeof(U); ++i)
      out = static_cast<U>((out << 8) | ((v >> (8 * i)) & 0xFF));
    return out;
  }
}
}  // namespace detail

// ---- raw pointer encode/decode: the caller guarantees sizeof(T) bytes exist ----

inline void encode_u16(uint8_t* dst, uint16_t v) noexcept {
  v = detail::to_little(v);
  std::memcpy(dst, &v, sizeof v);
}
inline void encode_u32(uint8_t* dst, uint32_t v) noexcept {
  v = detail::to_little(v);
  std::memcpy(dst, &v, sizeof v);
}
inline void encode_u64(uint8_t* dst, uint64_t v) noexcept {
  v = detail::to_little(v);
  std::memcpy(dst, &v, sizeof v);
}
inline uint16_t decode_u16(const uint8_t* src) noexcept {
  uint16_t v;
  std::memcpy(&v, src, sizeof v);
  return detail::to_little(v);
}
inline uint32_t decode_u32(const uint8_t* src) noexcept {
  uint32_t v;
  std::memcpy(&v, src, sizeof v);
  return detail::to_little(v);
}
inline uint64_t decode_u64(const uint8_t* src) noexcept {
  uint64_t v;
  std::memcpy(&v, src, sizeof v);
  return detail::to_little(v);
}
// Floats travel as their IEEE-754 bit patterns (NaN payloads survive).
inline void encode_f32(uint8_t* dst, float v) noexcept {
  encode_u32(dst, std::bit_cast<uint32_t>(v));
}
inline void encode_f64(uint8_t* dst, double v) noexcept {
  encode_u64(dst, std::bit_cast<uint64_t>(v));
}
inline float decode_f32(const uint8_t* src) noexcept {
  return std::bit_cast<float>(decode_u32(src));
}
inline double decode_f64(const uint8_t* src) noexcept {
  return std::bit_cast<double>(decode_u64(src));
}

// ---- appending to a std::string ----

inline void put_u8(std::string& dst, uint8_t v) { dst.push_back(static_cast<char>(v)); }
inline void put_u16(std::string& dst, uint16_t v) {
  uint8_t b[2];
  encode_u16(b, v);
  dst.append(reinterpret_cast<const char*>(b), sizeof b);
}
inline void put_u32(std::string& dst, uint32_t v) {
  uint8_t b[4];
  encode_u32(b, v);
  dst.append(reinterpret_cast<const char*>(b), sizeof b);
}
inline void put_u64(std::string& dst, uint64_t v) {
  uint8_t b[8];
  encode_u64(b, v);
  dst.append(reinterpret_cast<const char*>(b), sizeof b);
}
inline void put_f32(std::string& dst, float v) { put_u32(dst, std::bit_cast<uint32_t>(v)); }
inline void put_f64(std::string& dst, double v) { put_u64(dst, std::bit_cast<uint64_t>(v)); }
inline void put_bytes(std::string& dst, std::span<const uint8_t> bytes) {
  dst.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
// A u32 length followed by the bytes. Requires bytes.size() <= UINT32_MAX.
inline void put_length_prefixed(std::string& dst, std::string_view bytes) {
  put_u32(dst, static_cast<uint32_t>(bytes.size()));
  dst.append(bytes);
}

// Views a string's storage as bytes (no copy).
inline std::span<const uint8_t> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(std::span<const uint8_t> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Overflow-safe "offset + length <= limit" for lengths read from disk.
constexpr bool range_fits(uint64_t offset, uint64_t length, uint64_t limit) noexcept {
  return offset <= limit && length <= limit - offset;
}

// A cursor over borrowed bytes. Every read checks that the bytes exist; on
// overrun it returns false and leaves the position unchanged. The bytes must
// outlive the reader and the spans it hands out.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) noexcept : bytes_(bytes) {}

  size_t position() const noexcept { return pos_; }
  size_t remaining() const noexcept { return bytes_.size() - pos_; }
  bool at_end() const noexcept { return pos_ == bytes_.size(); }

  [[nodiscard]] bool read_u8(uint8_t* out) noexcept {
    if (remaining() < 1) return false;
    *out = bytes_[pos_++];
    return true;
  }
  [[nodiscard]] bool read_u16(uint16_t* out) noexcept { return read_fixed(out, decode_u16); }
  [[nodiscard]] bool read_u32(uint32_t* out) noexcept { return read_fixed(out, decode_u32); }
  [[nodiscard]] bool read_u64(uint64_t* out) noexcept { return read_fixed(out, decode_u64); }
  [[nodiscard]] bool read_f32(float* out) noexcept {
    uint32_t bits;
    if (!read_u32(&bits)) return false;
    *out = std::bit_cast<float>(bits);
    return true;
  }
  [[nodiscard]] bool read_f64(double* out) noexcept {
    uint64_t bits;
    if (!read_u64(&bits)) return false;
    *out = std::bit_cast<double>(bits);
    return true;
  }
  // A view of the next `n` bytes (no copy).
  [[nodiscard]] bool read_bytes(uint64_t n, std::span<const uint8_t>* out) noexcept {
    if (n > remaining()) return false;
    *out = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  // A u32 length, then that many bytes; fails (consuming nothing) if the
  // length exceeds `max_length` or the bytes that remain.
  [[nodiscard]] bool read_length_prefixed(std::span<const uint8_t>* out,
                                          uint64_t max_length = UINT32_MAX) noexcept {
    const size_t start = pos_;
    uint32_t n;
    if (!read_u32(&n)) return false;
    if (n > max_length || !read_bytes(n, out)) {
      pos_ = start;
      return false;
    }
    return true;
  }
  [[nodiscard]] bool skip(uint64_t n) noexcept {
    if (n > remaining()) return false;
    pos_ += static_cast<size_t>(n);
    return true;
  }

  // The kCorruption status a parser returns when a read above failed:
  // "<what>: truncated at byte <position> of <size>".
  Status overrun(std::string_view what) const {
    return Status::Corruption(std::string(what) + ": truncated at byte " + std::to_string(pos_) +
                              " of " + std::to_string(bytes_.size()));
  }

 private:
  template <typename U>
  bool read_fixed(U* out, U (*decode)(const uint8_t*) noexcept) noexcept {
    if (remaining() < sizeof(U)) return false;
    *out = decode(bytes_.data() + pos_);
    pos_ += sizeof(U);
    return true;
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace iqdb::util
