#include "util/crc32c.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace iqdb::util {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST_CASE("crc32c matches the published check value and RFC 3720 vectors") {
  CHECK(crc32c(std::string_view("123456789")) == 0xE3069283u);
  CHECK(crc32c(std::string_view("")) == 0u);

  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  CHECK(crc32c(zeros) == 0x8A9136AAu);
  CHECK(crc32c(ones) == 0x62A8AB43u);
  CHECK(crc32c(up) == 0x46DD794Eu);
  CHECK(crc32c(down) == 0x113FDB5Cu);
  // The portable path must agree on its own, on every machine.
  CHECK(crc32c_extend_portable(0, "123456789", 9) == 0xE3069283u);
  CHECK(crc32c_extend_portable(0, up.data(), up.size()) == 0x46DD794Eu);
}

TEST_CASE("crc32c hardware path equals the portable path for every length 0..300 and offset") {
  if (!crc32c_hardware_available()) {
    MESSAGE("no hardware CRC32C on this CPU; only the portable path is tested");
    return;
  }
  const std::vector<uint8_t> buf = random_bytes(300 + 8, 42);
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n <= 300; ++n) {
      const uint8_t* p = buf.data() + offset;
      REQUIRE(crc32c_extend_hardware(0, p, n) == crc32c_extend_portable(0, p, n));
      REQUIRE(crc32c_extend_hardware(0x12345678u, p, n) ==
              crc32c_extend_portable(0x12345678u, p, n));
    }
  }
}

TEST_CASE("crc32c hardware path equals the portable path across its interleaved block sizes") {
  if (!crc32c_hardware_available()) return;
  const std::vector<uint8_t> buf = random_bytes(200'008, 7);
  // Around 3 x 256 (short lanes) and 3 x 8192 (long lanes) and multiples.
  for (size_t n : {767u, 768u, 769u, 1535u, 1536u, 24575u, 24576u, 24577u, 49152u, 50000u,
                   73728u + 768u + 9u, 199'999u}) {
    CAPTURE(n);
    CHECK(crc32c_extend_hardware(0, buf.data() + 3, n) ==
          crc32c_extend_portable(0, buf.data() + 3, n));
  }
}

TEST_CASE("crc32c_extend continues a checksum across any split") {
  const std::vector<uint8_t> buf = random_bytes(5000, 3);
  const uint32_t whole = crc32c(buf);
  for (size_t split : {0u, 1u, 7u, 8u, 100u, 767u, 2500u, 4999u, 5000u}) {
    CAPTURE(split);
    CHECK(crc32c_extend(crc32c(buf.data(), split), buf.data() + split, buf.size() - split) ==
          whole);
  }
}

TEST_CASE("crc32c detects every single-bit flip in a buffer") {
  std::vector<uint8_t> buf = random_bytes(512, 9);
  const uint32_t good = crc32c(buf);
  for (size_t i = 0; i < buf.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      buf[i] ^= static_cast<uint8_t>(1u << bit);
      REQUIRE(crc32c(buf) != good);
      buf[i] ^= static_cast<uint8_t>(1u << bit);
    }
  }
  CHECK(!crc32c_implementation().empty());
}

}  // namespace
}  // namespace iqdb::util
