#include "dataset/npy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "dataset/input_file.h"

namespace iqdb::dataset {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kMaxRank = 32;  // NumPy's own limit

Status bad(std::string_view what) { return Status::InvalidArgument("npy: " + std::string(what)); }

// Reads the header dict. Accepts what NumPy writes and nothing that would
// need evaluating: string keys and values without escapes, True/False,
// tuples of decimal integers.
class HeaderDictParser {
 public:
  explicit HeaderDictParser(std::string_view text) : s_(text) {}

  Result<NpyHeader> parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<std::vector<uint64_t>> shape;
    skip_ws();
    if (!eat('{')) return error("expected '{'");
    for (;;) {
      skip_ws();
      if (eat('}')) break;
      auto key = string();
      if (!key) return key.status();
      skip_ws();
      if (!eat(':')) return error("expected ':' after key '" + *key + "'");
      skip_ws();
      if (*key == "descr") {
        if (descr) return error("key 'descr' given twice");
        if (peek() == '[') return Status::Unsupported("npy: structured dtypes are not read");
        auto v = string();
        if (!v) return v.status();
        descr = *v;
      } else if (*key == "fortran_order") {
        if (fortran) return error("key 'fortran_order' given twice");
        auto v = boolean();
        if (!v) return v.status();
        fortran = *v;
      } else if (*key == "shape") {
        if (shape) return error("key 'shape' given twice");
        auto v = tuple();
        if (!v) return v.status();
        shape = std::move(*v);
      } else {
        return error("unexpected key '" + *key + "'");
      }
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat('}')) break;
      return error("expected ',' or '}'");
    }
    skip_ws();
    if (pos_ != s_.size()) return error("unexpected text after the dict");
    if (!descr || !fortran || !shape)
      return bad("header lacks 'descr', 'fortran_order' or 'shape'");
    return build(*descr, *fortran, std::move(*shape));
  }

 private:
  static Result<NpyHeader> build(const std::string& descr, bool fortran,
                                 std::vector<uint64_t> shape) {
    NpyHeader h;
    if (descr == "<f4" || descr == "=f4") {
      h.dtype = NpyHeader::Dtype::kF32;
    } else if (descr == "|u1" || descr == "<u1" || descr == ">u1" || descr == "=u1" ||
               descr == "u1") {
      h.dtype = NpyHeader::Dtype::kU8;
    } else {
      return Status::Unsupported(
          "npy: dtype '" + descr +
          "' is not read; save the array as float32 ('<f4') or uint8 ('|u1')");
    }
    if (fortran) {
      return Status::Unsupported("npy: Fortran-order arrays are not read; save in C order");
    }
    if (shape.empty()) return bad("a scalar (shape ()) holds no rows");
    if (shape.size() > kMaxRank) return bad("more than 32 dimensions");
    h.rows = shape[0];
    uint64_t dim = 1;
    for (size_t i = 1; i < shape.size(); ++i) {
      if (shape[i] == 0) return bad("shape has a zero-sized row axis");
      if (dim > kMaxFileDim / shape[i]) return bad("rows have more than 65536 components");
      dim *= shape[i];
    }
    if (dim > kMaxFileDim) return bad("rows have more than 65536 components");
    // rows * dim * 4 must fit in 64 bits; no real file comes near.
    if (h.rows > (uint64_t{1} << 62) / (dim * h.item_bytes()))
      return bad("shape is impossibly large");
    h.dim = dim;
    h.shape = std::move(shape);
    return h;
  }

  Status error(const std::string& what) const {
    return bad("header offset " + std::to_string(pos_) + ": " + what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  Result<std::string> string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') return error("expected a quoted string");
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) return error("unterminated string");
      char c = s_[pos_++];
      if (c == quote) return out;
      if (c == '\\' || c < 0x20 || c > 0x7e) return error("unexpected character in a string");
      if (out.size() >= 64) return error("string too long");
      out.push_back(c);
    }
  }
  Result<bool> boolean() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    return error("expected True or False");
  }
  Result<uint64_t> integer() {
    if (peek() < '0' || peek() > '9') return error("expected a non-negative integer");
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const uint64_t d = uint64_t(s_[pos_++] - '0');
      if (v > (UINT64_MAX - d) / 10) return error("integer too large");
      v = v * 10 + d;
    }
    eat('L');  // written by Python 2
    return v;
  }
  Result<std::vector<uint64_t>> tuple() {
    if (!eat('(')) return error("expected '(' to start the shape");
    std::vector<uint64_t> out;
    for (;;) {
      skip_ws();
      if (eat(')')) return out;
      auto v = integer();
      if (!v) return v.status();
      if (out.size() >= kMaxRank + 1) return error("shape has too many dimensions");
      out.push_back(*v);
      skip_ws();
      if (eat(',')) continue;
      skip_ws();
      if (eat(')')) return out;
      return error("expected ',' or ')' in the shape");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void convert(const uint8_t* p, size_t n, NpyHeader::Dtype dtype, float* out) {
  if (dtype == NpyHeader::Dtype::kU8) {
    for (size_t i = 0; i < n; ++i) out[i] = float(p[i]);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = load_le_f32(p + 4 * i);
  }
}

// The first non-finite value among n, or n.
size_t first_non_finite(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return n;
}

Status non_finite_error(const std::string& name, uint64_t index, uint64_t dim) {
  return Status::InvalidArgument(name + ": row " + std::to_string(index / dim) + ", component " +
                                 std::to_string(index % dim) + " is NaN or infinite");
}

class NpyReader final : public RowReader {
 public:
  NpyReader(InputFile file, NpyHeader header) : file_(std::move(file)), h_(std::move(header)) {}

  size_t dim() const override { return size_t(h_.dim); }
  std::optional<uint64_t> total_rows() const override { return h_.rows; }
  double fraction_done() const override { return h_.rows ? double(row_) / double(h_.rows) : 1.0; }

  Result<size_t> next(size_t max_rows, RowBatch& out) override {
    out.clear();
    out.dim = size_t(h_.dim);
    const size_t n = size_t(std::min<uint64_t>(std::max<size_t>(max_rows, 1), h_.rows - row_));
    if (n == 0) return size_t{0};
    const size_t values = n * size_t(h_.dim);
    buffer_.resize(values * h_.item_bytes());
    IQDB_RETURN_IF_ERROR(file_.read_exact(buffer_));
    out.values.resize(values);
    convert(buffer_.data(), values, h_.dtype, out.values.data());
    size_t bad_at = first_non_finite(out.values.data(), values);
    if (bad_at != values)
      return non_finite_error(file_.path().string(), row_ * h_.dim + bad_at, h_.dim);
    row_ += n;
    return n;
  }

 private:
  InputFile file_;
  NpyHeader h_;
  uint64_t row_ = 0;
  std::vector<uint8_t> buffer_;
};

}  // namespace

Result<NpyHeader> parse_npy_header(std::span<const uint8_t> prefix) {
  if (prefix.size() < kMagicBytes + 2 || std::memcmp(prefix.data(), kMagic, kMagicBytes) != 0) {
    return bad("not a .npy file (no \\x93NUMPY magic)");
  }
  const uint8_t major = prefix[6];
  if (major < 1 || major > 3) {
    return Status::Unsupported("npy: format version " + std::to_string(major) + " is not read");
  }
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t fixed = kMagicBytes + 2 + len_bytes;
  if (prefix.size() < fixed) return bad("file ends inside the header length");
  uint64_t header_len = major == 1 ? uint64_t(prefix[8]) | (uint64_t(prefix[9]) << 8)
                                   : uint64_t(load_le_u32(prefix.data() + 8));
  if (header_len > kMaxNpyHeaderBytes) {
    return bad("header length " + std::to_string(header_len) + " is larger than the " +
               std::to_string(kMaxNpyHeaderBytes) + " bytes accepted");
  }
  if (prefix.size() - fixed < header_len) {
    return bad("file ends inside the header (" + std::to_string(header_len) + " bytes promised, " +
               std::to_string(prefix.size() - fixed) + " present)");
  }
  std::string_view text(reinterpret_cast<const char*>(prefix.data() + fixed), size_t(header_len));
  auto h = HeaderDictParser(text).parse();
  if (!h) return h.status();
  h->data_offset = fixed + header_len;
  return h;
}

Result<RowBatch> decode_npy(std::span<const uint8_t> file) {
  auto h = parse_npy_header(file);
  if (!h) return h.status();
  const uint64_t present = file.size() - h->data_offset;
  if (present != h->data_bytes()) {
    return bad("the shape promises " + std::to_string(h->data_bytes()) + " bytes of data, " +
               std::to_string(present) + " are present");
  }
  RowBatch out;
  out.dim = size_t(h->dim);
  const size_t values = size_t(h->rows * h->dim);
  out.values.resize(values);
  convert(file.data() + h->data_offset, values, h->dtype, out.values.data());
  size_t bad_at = first_non_finite(out.values.data(), values);
  if (bad_at != values) return non_finite_error("npy", bad_at, h->dim);
  return out;
}

Result<std::unique_ptr<RowReader>> open_npy(const std::filesystem::path& path) {
  auto file = InputFile::open(path);
  if (!file) return file.status();
  std::vector<uint8_t> prefix(size_t(std::min<uint64_t>(file->size(), 12 + kMaxNpyHeaderBytes)));
  IQDB_RETURN_IF_ERROR(file->read_exact(prefix));
  auto h = parse_npy_header(prefix);
  if (!h)
    return Status(h.status().code(), path.string() + ": " + std::string(h.status().message()));
  const uint64_t present = file->size() - h->data_offset;
  if (present != h->data_bytes()) {
    return Status::InvalidArgument(path.string() + ": npy: the shape promises " +
                                   std::to_string(h->data_bytes()) + " bytes of data, " +
                                   std::to_string(present) + " are present");
  }
  IQDB_RETURN_IF_ERROR(file->seek(h->data_offset));
  return std::unique_ptr<RowReader>(std::make_unique<NpyReader>(std::move(*file), std::move(*h)));
}

}  // namespace iqdb::dataset
