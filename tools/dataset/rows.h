// Reading vectors (and, for text formats, ids and metadata) from the files
// people keep embeddings in, one batch of rows at a time.
//
//   auto reader = dataset::open_rows("base.fvecs", {});
//   dataset::RowBatch batch;
//   while (true) {
//     auto n = (*reader)->next(1000, batch);
//     if (!n) return n.status();  // names the file, row and what is wrong
//     if (*n == 0) break;
//     ...batch.values, batch.ids, batch.metadata...
//   }
//
// Formats (detect_format picks one from the file name):
//   fvecs / bvecs / ivecs   int32 dim, then dim float32 / uint8 / int32, per row
//   idx                     IDX unsigned-byte tensors (`*-ubyte`, `*-ubyte.gz`)
//   npy                     NumPy .npy, float32 or uint8, C order (npy.h)
//   raw                     bare little-endian float32, dimension given by the caller
//   jsonl                   one JSON object per line (jsonl.h)
//   csv / tsv               a header row, then one row per record (csv.h)
//
// Nothing a file says is trusted: every length and count is checked against
// the bytes present before it is used, and errors name the file and row.
// Status codes: kNotFound (no such file), kInvalidArgument (malformed
// input, ragged rows, non-finite values), kUnsupported (a valid file of a
// kind not read here, e.g. float64 .npy), kIOError (the OS failed).
//
// Thread-safety: a RowReader is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iqdb/status.h"
#include "iqdb/types.h"

namespace iqdb::dataset {

enum class Format { kFvecs, kBvecs, kIvecs, kIdx, kNpy, kRaw, kJsonl, kCsv };

// "fvecs", "bvecs", "ivecs", "idx", "npy", "raw", "jsonl", "csv".
std::string_view format_name(Format format);
// The names above (also "ndjson", "tsv", "f32"); kInvalidArgument otherwise.
Result<Format> parse_format(std::string_view name);
// From the file name: .fvecs .bvecs .ivecs, -ubyte[.gz] / .idx[.gz], .npy,
// .jsonl / .ndjson, .csv / .tsv, .f32 / .raw / .bin. kInvalidArgument when
// the name says nothing (pass a format explicitly then).
Result<Format> detect_format(const std::filesystem::path& path);

// A run of decoded rows. Binary formats fill only `values`; text formats
// also give ids and metadata where the row has them.
struct RowBatch {
  size_t dim = 0;
  std::vector<float> values;                      // rows() x dim, row-major
  std::vector<std::optional<VectorId>> ids;       // per row, or empty: none given
  std::vector<std::optional<Metadata>> metadata;  // per row, or empty: none given
  size_t rows() const { return dim == 0 ? 0 : values.size() / dim; }
  void clear() {
    values.clear();
    ids.clear();
    metadata.clear();
  }
};

struct ReadOptions {
  std::optional<Format> format;         // nullopt: detect_format(path)
  size_t dim = 0;                       // raw only, where it is required
  std::string id_field = "id";          // jsonl / csv
  std::string vector_field = "vector";  // jsonl / csv
  char delimiter = 0;                   // csv: 0 means ',' (or '\t' for .tsv)
};

class RowReader {
 public:
  virtual ~RowReader() = default;
  // The vector dimension; every row has it.
  virtual size_t dim() const = 0;
  // The number of rows, when the file's header or size tells it.
  virtual std::optional<uint64_t> total_rows() const = 0;
  // How much of the input has been consumed, 0..1 (by bytes for text).
  virtual double fraction_done() const = 0;
  // Replaces `out` with up to max_rows (>= 1) further rows and returns how
  // many; 0 at the end of the input. After an error the reader is spent.
  virtual Result<size_t> next(size_t max_rows, RowBatch& out) = 0;
};

// Opens `path` and reads enough of it to know the dimension.
Result<std::unique_ptr<RowReader>> open_rows(const std::filesystem::path& path,
                                             const ReadOptions& options = {});

// Reads every row (at most max_rows) of `path` into one batch.
Result<RowBatch> read_rows(const std::filesystem::path& path, const ReadOptions& options = {},
                           size_t max_rows = SIZE_MAX);

// Integer rows (ground truth neighbour ids in .ivecs, labels in IDX/.npy).
struct IntRows {
  size_t dim = 0;
  std::vector<int64_t> values;  // rows() x dim
  size_t rows() const { return dim == 0 ? 0 : values.size() / dim; }
};

// Reads `path` as integers: .ivecs exactly, IDX and uint8 .npy as bytes.
// kInvalidArgument for other formats.
Result<IntRows> read_int_rows(const std::filesystem::path& path);

// Largest dimension accepted from any file (matches Config::kMaxDim).
inline constexpr size_t kMaxFileDim = 65'536;

}  // namespace iqdb::dataset
