// Fuzzes the codecs. Input: byte 0 picks the codec, bytes 1..4 the expected
// size (capped at 64 KiB), the rest is the stored form. Decoding must fail
// with a Status or produce exactly the expected size; and compressing the
// stored form itself must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "storage/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iqdb::storage;
  if (size < 5) return 0;
  const CodecKind kind = static_cast<CodecKind>(data[0] % 3);
  uint32_t expected;
  std::memcpy(&expected, data + 1, 4);
  expected %= (1u << 16) + 1;
  const std::span<const uint8_t> src(data + 5, size - 5);
  if (!codec_available(kind)) return 0;

  iqdb::Result<std::string> d = decompress(kind, src, expected);
  if (d.ok() && d->size() != expected) __builtin_trap();

  iqdb::Result<std::string> c = compress(kind, 1, src);
  if (!c.ok()) __builtin_trap();
  iqdb::Result<std::string> back = decompress(
      kind, std::span(reinterpret_cast<const uint8_t*>(c->data()), c->size()), src.size());
  if (!back.ok() || back->size() != src.size() ||
      (src.size() != 0 && std::memcmp(back->data(), src.data(), src.size()) != 0)) {
    __builtin_trap();
  }
  return 0;
}
