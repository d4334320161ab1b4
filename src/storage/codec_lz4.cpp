// The lz4 codec. The LZ4 block API takes int sizes (at most ~2 GB) and has
// no framing, so the stored form is a sequence of independent blocks, each
// `u32 stored length | LZ4 block`, every block but the last decoding to
// exactly kBlockBytes. LZ4 only matches within 64 KiB, so blocking costs no
// ratio; it also bounds every single decode call. See FORMAT.md.
#include "iqdb_build_config.h"
#include "storage/codec.h"
#include "util/coding.h"

#if IQDB_HAVE_LZ4
#include <lz4.h>

#include <algorithm>
#endif

namespace iqdb::storage::detail {

#if IQDB_HAVE_LZ4

namespace {
constexpr size_t kBlockBytes = size_t{4} << 20;
}  // namespace

bool lz4_available() noexcept { return true; }

Result<std::string> lz4_compress(std::span<const uint8_t> src) {
  std::string out;
  const size_t blocks = (src.size() + kBlockBytes - 1) / kBlockBytes;
  out.reserve(blocks * (4 + static_cast<size_t>(LZ4_compressBound(int(kBlockBytes)))));
  for (size_t pos = 0; pos < src.size(); pos += kBlockBytes) {
    const int in_len = static_cast<int>(std::min(kBlockBytes, src.size() - pos));
    const size_t header_at = out.size();
    const int bound = LZ4_compressBound(in_len);
    out.resize(header_at + 4 + static_cast<size_t>(bound));
    int n = LZ4_compress_default(reinterpret_cast<const char*>(src.data() + pos),
                                 out.data() + header_at + 4, in_len, bound);
    if (n <= 0) return Status::IOError("lz4 compression failed");
    util::encode_u32(reinterpret_cast<uint8_t*>(out.data() + header_at), static_cast<uint32_t>(n));
    out.resize(header_at + 4 + static_cast<size_t>(n));
  }
  return out;
}

Status lz4_decompress(std::span<const uint8_t> src, std::span<uint8_t> dst) {
  util::ByteReader in(src);
  size_t produced = 0;
  while (produced < dst.size()) {
    const size_t want = std::min(kBlockBytes, dst.size() - produced);
    std::span<const uint8_t> block;
    if (!in.read_length_prefixed(&block, static_cast<uint64_t>(LZ4_MAX_INPUT_SIZE))) {
      return Status::Corruption("lz4: block " + std::to_string(produced / kBlockBytes) +
                                " is truncated");
    }
    // LZ4_decompress_safe never writes past `want` bytes and fails on any
    // malformed input.
    int n = LZ4_decompress_safe(reinterpret_cast<const char*>(block.data()),
                                reinterpret_cast<char*>(dst.data() + produced),
                                static_cast<int>(block.size()), static_cast<int>(want));
    if (n < 0 || static_cast<size_t>(n) != want) {
      return Status::Corruption("lz4: block " + std::to_string(produced / kBlockBytes) +
                                " is malformed or has the wrong size");
    }
    produced += want;
  }
  if (!in.at_end()) {
    return Status::Corruption("lz4: " + std::to_string(in.remaining()) +
                              " stray bytes after the expected output");
  }
  return Status::OK();
}

#else  // !IQDB_HAVE_LZ4

bool lz4_available() noexcept { return false; }

Result<std::string> lz4_compress(std::span<const uint8_t>) {
  return Status::Unsupported("lz4 is not compiled into this build");
}

Status lz4_decompress(std::span<const uint8_t>, std::span<uint8_t>) {
  return Status::Unsupported("lz4 is not compiled into this build");
}

#endif

}  // namespace iqdb::storage::detail
