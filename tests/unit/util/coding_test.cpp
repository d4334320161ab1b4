#include "util/coding.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace iqdb::util {
namespace {

TEST_CASE("coding writes little-endian bytes whatever the host") {
  std::string s;
  put_u16(s, 0x0102);
  put_u32(s, 0x01020304u);
  put_u64(s, 0x0102030405060708ull);
  CHECK(s == std::string("\x02\x01\x04\x03\x02\x01\x08\x07\x06\x05\x04\x03\x02\x01", 14));
}

TEST_CASE("coding round-trips every width, extreme values and float bit patterns") {
  std::string s;
  put_u8(s, 0xAB);
  put_u16(s, 0xFFFF);
  put_u32(s, 0);
  put_u32(s, 0xDEADBEEFu);
  put_u64(s, std::numeric_limits<uint64_t>::max());
  put_f32(s, -1.5f);
  put_f32(s, std::numeric_limits<float>::quiet_NaN());
  put_f64(s, 3.141592653589793);
  put_f64(s, -0.0);
  put_length_prefixed(s, "hello");

  ByteReader r(as_bytes(s));
  uint8_t u8;
  uint16_t u16;
  uint32_t u32a, u32b;
  uint64_t u64;
  float f1 = 0, f2 = 0;
  double d1 = 0, d2 = 0;
  std::span<const uint8_t> str;
  REQUIRE(r.read_u8(&u8));
  REQUIRE(r.read_u16(&u16));
  REQUIRE(r.read_u32(&u32a));
  REQUIRE(r.read_u32(&u32b));
  REQUIRE(r.read_u64(&u64));
  REQUIRE(r.read_f32(&f1));
  REQUIRE(r.read_f32(&f2));
  REQUIRE(r.read_f64(&d1));
  REQUIRE(r.read_f64(&d2));
  REQUIRE(r.read_length_prefixed(&str));
  CHECK(r.at_end());
  CHECK(u8 == 0xAB);
  CHECK(u16 == 0xFFFF);
  CHECK(u32a == 0);
  CHECK(u32b == 0xDEADBEEFu);
  CHECK(u64 == std::numeric_limits<uint64_t>::max());
  CHECK(f1 == -1.5f);
  CHECK(std::isnan(f2));
  CHECK(d1 == 3.141592653589793);
  CHECK(std::signbit(d2));
  CHECK(as_chars(str) == "hello");
}

TEST_CASE("raw encode/decode agree with put/ByteReader, floats bit for bit") {
  uint8_t b[8];
  encode_f32(b, -2.25f);
  CHECK(decode_f32(b) == -2.25f);
  CHECK(decode_u32(b) == std::bit_cast<uint32_t>(-2.25f));
  encode_f64(b, 1e300);
  CHECK(decode_f64(b) == 1e300);
  encode_u16(b, 0xBEEF);
  CHECK(b[0] == 0xEF);
  CHECK(decode_u16(b) == 0xBEEF);
}

TEST_CASE("ByteReader refuses to read past the end and does not move on failure") {
  std::string s;
  put_u32(s, 7);
  put_u8(s, 1);
  ByteReader r(as_bytes(s));
  uint64_t u64;
  CHECK_FALSE(r.read_u64(&u64));
  CHECK(r.position() == 0);
  uint32_t u32;
  REQUIRE(r.read_u32(&u32));
  uint16_t u16;
  CHECK_FALSE(r.read_u16(&u16));
  CHECK(r.position() == 4);
  std::span<const uint8_t> v;
  CHECK_FALSE(r.read_bytes(2, &v));
  CHECK_FALSE(r.read_bytes(std::numeric_limits<uint64_t>::max(), &v));
  CHECK_FALSE(r.skip(2));
  CHECK(r.read_bytes(1, &v));
  CHECK(r.at_end());
  Status st = r.overrun("thing");
  CHECK(st.code() == StatusCode::kCorruption);
  CHECK(st.message().find("thing") != std::string_view::npos);
}

TEST_CASE("ByteReader rejects a hostile length prefix without consuming anything") {
  std::string s;
  put_u32(s, 0xFFFFFFFFu);
  s += "abc";
  ByteReader r(as_bytes(s));
  std::span<const uint8_t> v;
  CHECK_FALSE(r.read_length_prefixed(&v));
  CHECK(r.position() == 0);

  std::string t;
  put_length_prefixed(t, "abcdef");
  ByteReader r2(as_bytes(t));
  CHECK_FALSE(r2.read_length_prefixed(&v, 5));  // over the caller's limit
  CHECK(r2.position() == 0);
  CHECK(r2.read_length_prefixed(&v, 6));
}

TEST_CASE("range_fits is overflow-safe") {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  CHECK(range_fits(0, 10, 10));
  CHECK(range_fits(10, 0, 10));
  CHECK_FALSE(range_fits(11, 0, 10));
  CHECK_FALSE(range_fits(5, 6, 10));
  CHECK_FALSE(range_fits(1, kMax, 100));
  CHECK_FALSE(range_fits(kMax, kMax, kMax - 1));
  CHECK(range_fits(kMax, 0, kMax));
}

}  // namespace
}  // namespace iqdb::util
