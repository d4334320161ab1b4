// Compression codecs for snapshot sections: none, zstd, lz4.
//
// A codec turns a byte string into a stored form and back. Decompression
// trusts nothing but `expected_size`, which the caller takes from a
// checksummed header and bounds itself: it allocates exactly that many bytes,
// never more, and fails with kCorruption unless the stored bytes decode to
// exactly that many. A codec that is not compiled into this build reports
// kUnsupported. The codec numbers are on disk (see FORMAT.md) and match
// iqdb::Compression::Kind.
//
// Thread-safety: every function is safe to call from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "iqdb/config.h"
#include "iqdb/status.h"

namespace iqdb::storage {

using CodecKind = Compression::Kind;

// The codec with on-disk number `byte`, if it is one iqdb knows (whether or
// not this build has it).
std::optional<CodecKind> codec_from_byte(uint8_t byte) noexcept;
// "none", "zstd", "lz4".
std::string_view codec_name(CodecKind kind) noexcept;
// True when this build can compress and decompress `kind`.
bool codec_available(CodecKind kind) noexcept;

// Compresses `src`. `level` is the codec's own scale (zstd: 1..22, 0 = its
// default; lz4 ignores it) and is clamped to what the codec accepts.
// kUnsupported if the codec is not built in; kResourceExhausted on
// allocation failure.
Result<std::string> compress(CodecKind kind, int level, std::span<const uint8_t> src);

// Decompresses `src` into a new string of exactly `expected_size` bytes.
// kCorruption if `src` is malformed or decodes to any other size.
Result<std::string> decompress(CodecKind kind, std::span<const uint8_t> src, size_t expected_size);

// As decompress(), into caller-owned memory: `dst.size()` is the expected size.
Status decompress_into(CodecKind kind, std::span<const uint8_t> src, std::span<uint8_t> dst);

// Per-codec entry points, defined in codec_zstd.cpp / codec_lz4.cpp. Each
// returns kUnsupported when its library is not compiled in.
namespace detail {
Result<std::string> zstd_compress(int level, std::span<const uint8_t> src);
Status zstd_decompress(std::span<const uint8_t> src, std::span<uint8_t> dst);
bool zstd_available() noexcept;
Result<std::string> lz4_compress(std::span<const uint8_t> src);
Status lz4_decompress(std::span<const uint8_t> src, std::span<uint8_t> dst);
bool lz4_available() noexcept;
}  // namespace detail

}  // namespace iqdb::storage
