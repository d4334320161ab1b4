#include "dataset/vecs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "dataset/input_file.h"

namespace iqdb::dataset {
namespace {

enum class Elem { kF32, kU8, kI32 };

size_t elem_bytes(Elem e) { return e == Elem::kU8 ? 1 : 4; }

Elem elem_of(Format kind) {
  return kind == Format::kBvecs ? Elem::kU8 : kind == Format::kIvecs ? Elem::kI32 : Elem::kF32;
}

// Converts one row's payload; false (with `bad` set) on a non-finite float.
bool convert_row(const uint8_t* p, size_t dim, Elem elem, float* out, size_t& bad) {
  for (size_t j = 0; j < dim; ++j) {
    switch (elem) {
      case Elem::kU8: out[j] = float(p[j]); break;
      case Elem::kI32: out[j] = float(int32_t(load_le_u32(p + 4 * j))); break;
      case Elem::kF32:
        out[j] = load_le_f32(p + 4 * j);
        if (!std::isfinite(out[j])) {
          bad = j;
          return false;
        }
        break;
    }
  }
  return true;
}

std::string bad_value(uint64_t row, size_t component) {
  return "row " + std::to_string(row) + ", component " + std::to_string(component) +
         " is NaN or infinite";
}

// The dimension a *vecs file announces in its first 4 bytes, checked; and
// that the file is a whole number of such rows.
Result<size_t> vecs_dim(uint64_t file_bytes, const uint8_t* first4, Elem elem,
                        const std::string& name) {
  if (file_bytes == 0) return Status::InvalidArgument(name + ": is empty");
  if (file_bytes < 4) return Status::InvalidArgument(name + ": too short for a row header");
  const int32_t dim = int32_t(load_le_u32(first4));
  if (dim <= 0 || size_t(dim) > kMaxFileDim) {
    return Status::InvalidArgument(name + ": the first row says dimension " + std::to_string(dim) +
                                   ", expected 1.." + std::to_string(kMaxFileDim) +
                                   " (is this really a *vecs file?)");
  }
  const uint64_t row_bytes = 4 + uint64_t(dim) * elem_bytes(elem);
  if (file_bytes % row_bytes != 0) {
    return Status::InvalidArgument(name + ": " + std::to_string(file_bytes) +
                                   " bytes is not a whole number of rows of dimension " +
                                   std::to_string(dim) + " (" + std::to_string(row_bytes) +
                                   " bytes each; row " + std::to_string(file_bytes / row_bytes) +
                                   " is cut short or the file is not *vecs)");
  }
  return size_t(dim);
}

// fvecs/bvecs/ivecs (header_bytes 4) and raw f32 (header_bytes 0): rows of
// a fixed size, read in chunks.
class FixedRowReader final : public RowReader {
 public:
  FixedRowReader(InputFile file, size_t dim, Elem elem, size_t header_bytes)
      : file_(std::move(file)),
        dim_(dim),
        elem_(elem),
        header_bytes_(header_bytes),
        row_bytes_(header_bytes + dim * elem_bytes(elem)),
        total_(file_.size() / row_bytes_) {}

  size_t dim() const override { return dim_; }
  std::optional<uint64_t> total_rows() const override { return total_; }
  double fraction_done() const override { return total_ ? double(row_) / double(total_) : 1.0; }

  Result<size_t> next(size_t max_rows, RowBatch& out) override {
    out.clear();
    out.dim = dim_;
    const size_t n = size_t(std::min<uint64_t>(std::max<size_t>(max_rows, 1), total_ - row_));
    if (n == 0) return size_t{0};
    buffer_.resize(n * row_bytes_);
    IQDB_RETURN_IF_ERROR(file_.read_exact(buffer_));
    out.values.resize(n * dim_);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* rec = buffer_.data() + i * row_bytes_;
      if (header_bytes_ != 0) {
        const int32_t d = int32_t(load_le_u32(rec));
        if (d != int32_t(dim_)) {
          return file_.error(StatusCode::kInvalidArgument,
                             "row " + std::to_string(row_ + i) + " says dimension " +
                                 std::to_string(d) + ", the first row says " +
                                 std::to_string(dim_));
        }
      }
      size_t bad = 0;
      if (!convert_row(rec + header_bytes_, dim_, elem_, out.values.data() + i * dim_, bad)) {
        return file_.error(StatusCode::kInvalidArgument, bad_value(row_ + i, bad));
      }
    }
    row_ += n;
    return n;
  }

 private:
  InputFile file_;
  size_t dim_;
  Elem elem_;
  size_t header_bytes_;
  size_t row_bytes_;
  uint64_t total_;
  uint64_t row_ = 0;
  std::vector<uint8_t> buffer_;
};

}  // namespace

Result<std::unique_ptr<RowReader>> open_vecs(const std::filesystem::path& path, Format kind) {
  auto file = InputFile::open(path);
  if (!file) return file.status();
  uint8_t head[4] = {0, 0, 0, 0};
  if (file->size() >= 4) IQDB_RETURN_IF_ERROR(file->read_exact(head));
  auto dim = vecs_dim(file->size(), head, elem_of(kind), path.string());
  if (!dim) return dim.status();
  IQDB_RETURN_IF_ERROR(file->seek(0));  // the reader checks every row header, row 0 too
  return std::unique_ptr<RowReader>(
      std::make_unique<FixedRowReader>(std::move(*file), *dim, elem_of(kind), 4));
}

Result<std::unique_ptr<RowReader>> open_raw_f32(const std::filesystem::path& path, size_t dim) {
  if (dim == 0) {
    return Status::InvalidArgument(path.string() +
                                   ": raw float32 files carry no dimension; give it (--dim N)");
  }
  if (dim > kMaxFileDim)
    return Status::InvalidArgument("dimension " + std::to_string(dim) + " is too large");
  auto file = InputFile::open(path);
  if (!file) return file.status();
  const uint64_t row_bytes = 4 * uint64_t(dim);
  if (file->size() == 0) return Status::InvalidArgument(path.string() + ": is empty");
  if (file->size() % row_bytes != 0) {
    return Status::InvalidArgument(path.string() + ": " + std::to_string(file->size()) +
                                   " bytes is not a whole number of float32 rows of dimension " +
                                   std::to_string(dim) + " (" + std::to_string(row_bytes) +
                                   " bytes each)");
  }
  return std::unique_ptr<RowReader>(
      std::make_unique<FixedRowReader>(std::move(*file), dim, Elem::kF32, 0));
}

Result<IntRows> read_ivecs(const std::filesystem::path& path) {
  auto file = InputFile::open(path);
  if (!file) return file.status();
  uint8_t head[4] = {0, 0, 0, 0};
  if (file->size() >= 4) IQDB_RETURN_IF_ERROR(file->read_exact(head));
  auto dim = vecs_dim(file->size(), head, Elem::kI32, path.string());
  if (!dim) return dim.status();
  std::vector<uint8_t> bytes(file->size() - 4);
  IQDB_RETURN_IF_ERROR(file->read_exact(bytes));
  const size_t row_bytes = 4 + 4 * *dim;
  const size_t rows = size_t(file->size() / row_bytes);
  IntRows out;
  out.dim = *dim;
  out.values.resize(rows * *dim);
  for (size_t r = 0; r < rows; ++r) {
    // Row r's header sits 4 bytes before its payload; row 0's was read above.
    const uint8_t* payload = bytes.data() + r * row_bytes;
    if (r > 0 && int32_t(load_le_u32(payload - 4)) != int32_t(*dim)) {
      return Status::InvalidArgument(path.string() + ": row " + std::to_string(r) +
                                     " has another dimension than the first row");
    }
    for (size_t j = 0; j < *dim; ++j)
      out.values[r * *dim + j] = int32_t(load_le_u32(payload + 4 * j));
  }
  return out;
}

Result<RowBatch> decode_vecs(std::span<const uint8_t> bytes, Format kind, std::string_view name) {
  const Elem elem = elem_of(kind);
  auto dim = vecs_dim(bytes.size(), bytes.data(), elem, std::string(name));
  if (!dim) return dim.status();
  const size_t row_bytes = 4 + *dim * elem_bytes(elem);
  const size_t rows = bytes.size() / row_bytes;
  RowBatch out;
  out.dim = *dim;
  out.values.resize(rows * *dim);
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* rec = bytes.data() + r * row_bytes;
    if (int32_t(load_le_u32(rec)) != int32_t(*dim)) {
      return Status::InvalidArgument(std::string(name) + ": row " + std::to_string(r) +
                                     " has another dimension than the first row");
    }
    size_t bad = 0;
    if (!convert_row(rec + 4, *dim, elem, out.values.data() + r * *dim, bad)) {
      return Status::InvalidArgument(std::string(name) + ": " + bad_value(r, bad));
    }
  }
  return out;
}

}  // namespace iqdb::dataset
