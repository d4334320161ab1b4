// The zstd codec: one standard zstd frame with the content size recorded,
// so a frame claiming another size is rejected before any work is done.
#include "iqdb_build_config.h"
#include "storage/codec.h"

#if IQDB_HAVE_ZSTD
#include <zstd.h>

#include <algorithm>
#include <memory>
#endif

namespace iqdb::storage::detail {

#if IQDB_HAVE_ZSTD

namespace {
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const noexcept { ZSTD_freeDCtx(c); }
};
}  // namespace

bool zstd_available() noexcept { return true; }

Result<std::string> zstd_compress(int level, std::span<const uint8_t> src) {
  if (level == 0) level = ZSTD_CLEVEL_DEFAULT;
  level = std::clamp(level, ZSTD_minCLevel(), ZSTD_maxCLevel());
  std::string out(ZSTD_compressBound(src.size()), '\0');
  // One-shot compression always writes the content size into the frame header.
  size_t n = ZSTD_compress(out.data(), out.size(), src.data(), src.size(), level);
  if (ZSTD_isError(n)) {
    return Status::IOError(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  return out;
}

Status zstd_decompress(std::span<const uint8_t> src, std::span<uint8_t> dst) {
  unsigned long long claimed = ZSTD_getFrameContentSize(src.data(), src.size());
  if (claimed == ZSTD_CONTENTSIZE_ERROR) return Status::Corruption("zstd: not a zstd frame");
  if (claimed != ZSTD_CONTENTSIZE_UNKNOWN && claimed != dst.size()) {
    return Status::Corruption("zstd: frame holds " + std::to_string(claimed) + " bytes, expected " +
                              std::to_string(dst.size()));
  }
  std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  if (!ctx) return Status::ResourceExhausted("zstd: cannot allocate a decompression context");
  // Decompression writes into dst only; an over-long frame fails with
  // dstSize_tooSmall instead of growing anything.
  size_t n = ZSTD_decompressDCtx(ctx.get(), dst.data(), dst.size(), src.data(), src.size());
  if (ZSTD_isError(n)) {
    return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  if (n != dst.size()) {
    return Status::Corruption("zstd: decoded " + std::to_string(n) + " bytes, expected " +
                              std::to_string(dst.size()));
  }
  return Status::OK();
}

#else  // !IQDB_HAVE_ZSTD

bool zstd_available() noexcept { return false; }

Result<std::string> zstd_compress(int, std::span<const uint8_t>) {
  return Status::Unsupported("zstd is not compiled into this build");
}

Status zstd_decompress(std::span<const uint8_t>, std::span<uint8_t>) {
  return Status::Unsupported("zstd is not compiled into this build");
}

#endif

}  // namespace iqdb::storage::detail
