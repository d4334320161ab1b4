#include "dataset/rows.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "dataset/csv.h"
#include "dataset/idx.h"
#include "dataset/jsonl.h"
#include "dataset/npy.h"
#include "dataset/vecs.h"

namespace iqdb::dataset {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// An IDX tensor (read whole: the gzip stream has no random access) as rows
// over its first axis.
class IdxRowReader final : public RowReader {
 public:
  explicit IdxRowReader(IdxTensor t)
      : t_(std::move(t)), dim_(t_.shape.size() == 1 ? 1 : t_.row_size()) {}

  size_t dim() const override { return dim_; }
  std::optional<uint64_t> total_rows() const override { return t_.rows(); }
  double fraction_done() const override {
    return t_.rows() ? double(row_) / double(t_.rows()) : 1.0;
  }

  Result<size_t> next(size_t max_rows, RowBatch& out) override {
    out.clear();
    out.dim = dim_;
    const size_t n = std::min(std::max<size_t>(max_rows, 1), t_.rows() - row_);
    const uint8_t* p = t_.data.data() + row_ * dim_;
    out.values.assign(p, p + n * dim_);
    row_ += n;
    return n;
  }

 private:
  IdxTensor t_;
  size_t dim_;
  size_t row_ = 0;
};

Status require_exists(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(path.string() + ": no such file");
  return Status::OK();
}

Result<std::unique_ptr<RowReader>> open_idx(const std::filesystem::path& path) {
  auto t = read_idx(path);
  if (!t) return t.status();
  const size_t dim = t->shape.size() == 1 ? 1 : t->row_size();
  if (dim == 0 || dim > kMaxFileDim) {
    return Status::InvalidArgument(path.string() + ": rows of " + std::to_string(dim) +
                                   " values; expected 1.." + std::to_string(kMaxFileDim));
  }
  return std::unique_ptr<RowReader>(std::make_unique<IdxRowReader>(std::move(*t)));
}

}  // namespace

std::string_view format_name(Format format) {
  switch (format) {
    case Format::kFvecs: return "fvecs";
    case Format::kBvecs: return "bvecs";
    case Format::kIvecs: return "ivecs";
    case Format::kIdx: return "idx";
    case Format::kNpy: return "npy";
    case Format::kRaw: return "raw";
    case Format::kJsonl: return "jsonl";
    case Format::kCsv: return "csv";
  }
  return "?";
}

Result<Format> parse_format(std::string_view name) {
  const std::string n = lower(name);
  if (n == "fvecs") return Format::kFvecs;
  if (n == "bvecs") return Format::kBvecs;
  if (n == "ivecs") return Format::kIvecs;
  if (n == "idx" || n == "ubyte") return Format::kIdx;
  if (n == "npy") return Format::kNpy;
  if (n == "raw" || n == "f32" || n == "float32") return Format::kRaw;
  if (n == "jsonl" || n == "ndjson" || n == "json") return Format::kJsonl;
  if (n == "csv" || n == "tsv") return Format::kCsv;
  return Status::InvalidArgument("unknown format '" + std::string(name) +
                                 "' (fvecs, bvecs, ivecs, idx, npy, raw, jsonl, csv)");
}

Result<Format> detect_format(const std::filesystem::path& path) {
  std::string name = lower(path.filename().string());
  if (ends_with(name, ".gz") && !ends_with(name, "-ubyte.gz") && !ends_with(name, ".idx.gz")) {
    return Status::InvalidArgument(path.string() +
                                   ": only IDX files (*-ubyte.gz) are read gzip-compressed");
  }
  if (ends_with(name, ".fvecs")) return Format::kFvecs;
  if (ends_with(name, ".bvecs")) return Format::kBvecs;
  if (ends_with(name, ".ivecs")) return Format::kIvecs;
  if (ends_with(name, "-ubyte") || ends_with(name, "-ubyte.gz") || ends_with(name, ".idx") ||
      ends_with(name, ".idx.gz")) {
    return Format::kIdx;
  }
  if (ends_with(name, ".npy")) return Format::kNpy;
  if (ends_with(name, ".jsonl") || ends_with(name, ".ndjson")) return Format::kJsonl;
  if (ends_with(name, ".csv") || ends_with(name, ".tsv")) return Format::kCsv;
  if (ends_with(name, ".f32") || ends_with(name, ".raw") || ends_with(name, ".bin"))
    return Format::kRaw;
  return Status::InvalidArgument(
      path.string() +
      ": cannot tell the format from the name; give it (--format fvecs|bvecs|"
      "ivecs|idx|npy|raw|jsonl|csv)");
}

Result<std::unique_ptr<RowReader>> open_rows(const std::filesystem::path& path,
                                             const ReadOptions& options) {
  // A missing file is reported as missing, whatever its name suggests.
  IQDB_RETURN_IF_ERROR(require_exists(path));
  Format format;
  if (options.format) {
    format = *options.format;
  } else {
    auto f = detect_format(path);
    if (!f) return f.status();
    format = *f;
  }
  const TextFields fields{options.id_field, options.vector_field};
  switch (format) {
    case Format::kFvecs:
    case Format::kBvecs:
    case Format::kIvecs: return open_vecs(path, format);
    case Format::kIdx: return open_idx(path);
    case Format::kNpy: return open_npy(path);
    case Format::kRaw: return open_raw_f32(path, options.dim);
    case Format::kJsonl: return open_jsonl(path, fields);
    case Format::kCsv: {
      char delimiter = options.delimiter;
      if (delimiter == 0)
        delimiter = ends_with(lower(path.filename().string()), ".tsv") ? '\t' : ',';
      return open_csv(path, fields, delimiter);
    }
  }
  return Status::InvalidArgument("unknown format");
}

Result<RowBatch> read_rows(const std::filesystem::path& path, const ReadOptions& options,
                           size_t max_rows) {
  auto reader = open_rows(path, options);
  if (!reader) return reader.status();
  RowBatch all, batch;
  all.dim = (*reader)->dim();
  while (all.rows() < max_rows) {
    auto n = (*reader)->next(std::min<size_t>(max_rows - all.rows(), 4096), batch);
    if (!n) return n.status();
    if (*n == 0) break;
    const size_t before = all.rows();
    all.values.insert(all.values.end(), batch.values.begin(), batch.values.end());
    if (!batch.ids.empty()) {
      all.ids.resize(before);
      all.ids.insert(all.ids.end(), batch.ids.begin(), batch.ids.end());
    } else if (!all.ids.empty()) {
      all.ids.resize(all.rows());
    }
    if (!batch.metadata.empty()) {
      all.metadata.resize(before);
      all.metadata.insert(all.metadata.end(), batch.metadata.begin(), batch.metadata.end());
    } else if (!all.metadata.empty()) {
      all.metadata.resize(all.rows());
    }
  }
  return all;
}

Result<IntRows> read_int_rows(const std::filesystem::path& path) {
  IQDB_RETURN_IF_ERROR(require_exists(path));
  auto format = detect_format(path);
  if (!format) return format.status();
  if (*format == Format::kIvecs) return read_ivecs(path);
  if (*format != Format::kIdx && *format != Format::kNpy) {
    return Status::InvalidArgument(path.string() +
                                   ": integer rows are read from .ivecs, IDX or uint8 .npy");
  }
  ReadOptions o;
  o.format = *format;
  auto rows = read_rows(path, o);
  if (!rows) return rows.status();
  IntRows out;
  out.dim = rows->dim;
  out.values.reserve(rows->values.size());
  for (float f : rows->values) {
    if (!(f >= -9.0e18f && f <= 9.0e18f) || f != std::trunc(f)) {
      return Status::InvalidArgument(path.string() + ": holds a value that is not an integer");
    }
    out.values.push_back(int64_t(f));
  }
  return out;
}

}  // namespace iqdb::dataset
