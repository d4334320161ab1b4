#include "util/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define IQDB_CRC32C_X86 1
#else
#define IQDB_CRC32C_X86 0
#endif

namespace iqdb::util {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // Castagnoli, bit-reflected

// kTables[k][b]: the register after feeding byte b followed by k zero bytes
// into a zero register (slicing-by-8).
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}
constexpr auto kTables = make_tables();

inline uint64_t load_u64_le(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

#if IQDB_CRC32C_X86

// The hardware path splits long inputs into three equal lanes, runs one
// crc32 dependency chain per lane (the instruction has a latency of 3 cycles
// but a throughput of 1 per cycle, so three chains keep it busy), then joins
// the lanes: crc(A ++ B) = shift(crc(A), |B|) ^ crc0(B), where shift appends
// |B| zero bytes to the register. Appending zeros is linear over GF(2), so
// it is a 32x32 bit matrix, applied here as four 256-entry byte tables.
constexpr size_t kLongLane = 8192;
constexpr size_t kShortLane = 256;

struct ZeroShift {
  uint32_t t[4][256];

  explicit ZeroShift(size_t zero_bytes) noexcept {
    uint32_t image[32];
    for (int bit = 0; bit < 32; ++bit) {
      uint32_t c = 1u << bit;
      for (size_t i = 0; i < zero_bytes; ++i) c = (c >> 8) ^ kTables[0][c & 0xFF];
      image[bit] = c;
    }
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int j = 0; j < 8; ++j) {
          if (b & (1u << j)) v ^= image[8 * k + j];
        }
        t[k][b] = v;
      }
    }
  }
  uint32_t apply(uint32_t c) const noexcept {
    return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24];
  }
};

const ZeroShift& long_shift() {
  static const ZeroShift s(kLongLane);
  return s;
}
const ZeroShift& short_shift() {
  static const ZeroShift s(kShortLane);
  return s;
}

template <size_t kLane>
__attribute__((target("sse4.2"))) inline uint64_t three_lanes(uint64_t c0, const uint8_t* p,
                                                              const ZeroShift& shift) noexcept {
  uint64_t c1 = 0, c2 = 0;
  for (size_t i = 0; i < kLane; i += 8) {
    c0 = _mm_crc32_u64(c0, load_u64_le(p + i));
    c1 = _mm_crc32_u64(c1, load_u64_le(p + kLane + i));
    c2 = _mm_crc32_u64(c2, load_u64_le(p + 2 * kLane + i));
  }
  c0 = shift.apply(static_cast<uint32_t>(c0)) ^ c1;
  return shift.apply(static_cast<uint32_t>(c0)) ^ c2;
}

#endif  // IQDB_CRC32C_X86

}  // namespace

uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n) noexcept {
  auto p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w = load_u64_le(p) ^ c;
    c = kTables[7][w & 0xFF] ^ kTables[6][(w >> 8) & 0xFF] ^ kTables[5][(w >> 16) & 0xFF] ^
        kTables[4][(w >> 24) & 0xFF] ^ kTables[3][(w >> 32) & 0xFF] ^ kTables[2][(w >> 40) & 0xFF] ^
        kTables[1][(w >> 48) & 0xFF] ^ kTables[0][w >> 56];
  }
  for (; n > 0; --n, ++p) c = (c >> 8) ^ kTables[0][(c ^ *p) & 0xFF];
  return ~c;
}

bool crc32c_hardware_available() noexcept {
#if IQDB_CRC32C_X86
  static const bool kAvailable = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return kAvailable;
#else
  return false;
#endif
}

#if IQDB_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t crc32c_extend_hardware(uint32_t crc, const void* data,
                                                                  size_t n) noexcept {
  auto p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  if (n >= 3 * kLongLane) {
    const ZeroShift& shift = long_shift();
    for (; n >= 3 * kLongLane; n -= 3 * kLongLane, p += 3 * kLongLane) {
      c = three_lanes<kLongLane>(c, p, shift);
    }
  }
  if (n >= 3 * kShortLane) {
    const ZeroShift& shift = short_shift();
    for (; n >= 3 * kShortLane; n -= 3 * kShortLane, p += 3 * kShortLane) {
      c = three_lanes<kShortLane>(c, p, shift);
    }
  }
  for (; n >= 8; n -= 8, p += 8) c = _mm_crc32_u64(c, load_u64_le(p));
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return ~c32;
}
#else
uint32_t crc32c_extend_hardware(uint32_t crc, const void* data, size_t n) noexcept {
  return crc32c_extend_portable(crc, data, n);
}
#endif

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) noexcept {
  return crc32c_hardware_available() ? crc32c_extend_hardware(crc, data, n)
                                     : crc32c_extend_portable(crc, data, n);
}

std::string_view crc32c_implementation() noexcept {
  return crc32c_hardware_available() ? "sse4.2" : "portable";
}

}  // namespace iqdb::util
