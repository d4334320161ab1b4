#include "storage/codec.h"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "util/coding.h"

namespace iqdb::storage {
namespace {

constexpr CodecKind kAllCodecs[] = {CodecKind::kNone, CodecKind::kZstd, CodecKind::kLz4};

std::string random_string(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string compressible_string(size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; s.size() < n; ++i) s += "vector " + std::to_string(i % 977) + "; ";
  s.resize(n);
  return s;
}

TEST_CASE("codec numbers match Compression::Kind and unknown bytes are rejected") {
  CHECK(codec_from_byte(0) == CodecKind::kNone);
  CHECK(codec_from_byte(1) == CodecKind::kZstd);
  CHECK(codec_from_byte(2) == CodecKind::kLz4);
  CHECK_FALSE(codec_from_byte(3).has_value());
  CHECK_FALSE(codec_from_byte(255).has_value());
  CHECK(codec_name(CodecKind::kZstd) == "zstd");
  CHECK(codec_available(CodecKind::kNone));
}

TEST_CASE("every codec round-trips empty, tiny, random, repetitive and multi-block inputs") {
  const std::vector<std::string> inputs = {
      "",
      "x",
      random_string(1000, 1),
      compressible_string(100'000),
      compressible_string((size_t{9} << 20) + 123),  // > two lz4 blocks
      std::string(5'000'000, '\0')};
  for (CodecKind kind : kAllCodecs) {
    CAPTURE(codec_name(kind));
    if (!codec_available(kind)) {
      CHECK(compress(kind, 0, util::as_bytes("abc")).status().code() == StatusCode::kUnsupported);
      CHECK(decompress(kind, util::as_bytes("abc"), 3).status().code() == StatusCode::kUnsupported);
      continue;
    }
    for (const std::string& in : inputs) {
      CAPTURE(in.size());
      Result<std::string> c = compress(kind, 3, util::as_bytes(in));
      REQUIRE(c.ok());
      if (kind != CodecKind::kNone && &in == &inputs[3]) CHECK(c->size() < in.size() / 4);
      Result<std::string> d = decompress(kind, util::as_bytes(*c), in.size());
      REQUIRE(d.ok());
      CHECK(*d == in);
    }
  }
}

TEST_CASE("zstd levels out of range are clamped, not rejected") {
  if (!codec_available(CodecKind::kZstd)) return;
  const std::string in = compressible_string(50'000);
  for (int level : {-1000, 0, 1, 19, 1000}) {
    Result<std::string> c = compress(CodecKind::kZstd, level, util::as_bytes(in));
    REQUIRE(c.ok());
    CHECK(*decompress(CodecKind::kZstd, util::as_bytes(*c), in.size()) == in);
  }
}

TEST_CASE("decompression to the wrong size, or of damaged input, is Corruption") {
  const std::string in = compressible_string(300'000);
  for (CodecKind kind : kAllCodecs) {
    if (!codec_available(kind)) continue;
    CAPTURE(codec_name(kind));
    const std::string c = *compress(kind, 3, util::as_bytes(in));
    CHECK(decompress(kind, util::as_bytes(c), in.size() - 1).status().code() ==
          StatusCode::kCorruption);
    CHECK(decompress(kind, util::as_bytes(c), in.size() + 1).status().code() ==
          StatusCode::kCorruption);
    CHECK(decompress(kind, util::as_bytes(c), 0).status().code() == StatusCode::kCorruption);
    // Every truncation fails (a prefix can never hold the whole output).
    for (size_t cut : {size_t{0}, size_t{1}, size_t{4}, c.size() / 2, c.size() - 1}) {
      CHECK(decompress(kind, util::as_bytes(std::string_view(c).substr(0, cut)), in.size())
                .status()
                .code() == StatusCode::kCorruption);
    }
    // Trailing garbage fails too.
    CHECK(decompress(kind, util::as_bytes(c + "junk"), in.size()).status().code() ==
          StatusCode::kCorruption);
  }
  CHECK(decompress(CodecKind::kZstd, util::as_bytes(random_string(100, 5)), 100).status().code() ==
        (codec_available(CodecKind::kZstd) ? StatusCode::kCorruption : StatusCode::kUnsupported));
  CHECK(decompress(CodecKind::kLz4, util::as_bytes(random_string(100, 5)), 100).status().code() ==
        (codec_available(CodecKind::kLz4) ? StatusCode::kCorruption : StatusCode::kUnsupported));
}

TEST_CASE("a decompression bomb is Corruption and never writes past the expected size") {
  // 64 MiB of zeros compresses to a few KiB; claiming 4 KiB must fail, and
  // the decoder must stay inside the 4 KiB it was given.
  const std::string zeros(size_t{64} << 20, '\0');
  for (CodecKind kind : {CodecKind::kZstd, CodecKind::kLz4}) {
    if (!codec_available(kind)) continue;
    CAPTURE(codec_name(kind));
    const std::string bomb = *compress(kind, 1, util::as_bytes(zeros));
    CHECK(bomb.size() < zeros.size() / 100);

    constexpr size_t kExpected = 4096;
    std::vector<uint8_t> buf(kExpected + 64, 0xA5);  // a canary after the window
    Status s = decompress_into(kind, util::as_bytes(bomb), std::span(buf.data(), kExpected));
    CHECK(s.code() == StatusCode::kCorruption);
    for (size_t i = kExpected; i < buf.size(); ++i) REQUIRE(buf[i] == 0xA5);

    Result<std::string> d = decompress(kind, util::as_bytes(bomb), kExpected);
    CHECK(d.status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE("a zstd frame claiming another content size is rejected before decoding") {
  if (!codec_available(CodecKind::kZstd)) return;
  const std::string in = compressible_string(10'000);
  const std::string c = *compress(CodecKind::kZstd, 3, util::as_bytes(in));
  Result<std::string> d = decompress(CodecKind::kZstd, util::as_bytes(c), 20'000);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("expected 20000") != std::string_view::npos);
}

}  // namespace
}  // namespace iqdb::storage
