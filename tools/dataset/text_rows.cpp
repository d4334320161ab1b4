#include "dataset/text_rows.h"

#include <charconv>
#include <cmath>
#include <utility>

namespace iqdb::dataset {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool is_decimal_number(std::string_view t) {
  size_t i = 0;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
  size_t digits = 0;
  while (i < t.size() && is_digit(t[i])) ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && is_digit(t[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    size_t exp = 0;
    while (i < t.size() && is_digit(t[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == t.size();
}

namespace {

std::string quoted(std::string_view t) {
  constexpr size_t kShow = 40;
  std::string s(t.substr(0, kShow));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return "'" + s + (t.size() > kShow ? "...'" : "'");
}

class TextRowReader final : public RowReader {
 public:
  TextRowReader(TextStream stream, TextRecordSource source, TextRecordDecoder decoder)
      : stream_(std::move(stream)), source_(std::move(source)), decoder_(std::move(decoder)) {}

  // Decodes the first row so dim() is known.
  Status prime() {
    auto row = read_one();
    if (!row) return row.status();
    if (!*row) return stream_.file().error(StatusCode::kInvalidArgument, "holds no rows");
    dim_ = (*row)->vector.size();
    pending_ = std::move(*row);
    return Status::OK();
  }

  size_t dim() const override { return dim_; }
  std::optional<uint64_t> total_rows() const override { return std::nullopt; }
  double fraction_done() const override {
    const uint64_t size = stream_.file().size();
    return size ? double(stream_.consumed()) / double(size) : 1.0;
  }

  Result<size_t> next(size_t max_rows, RowBatch& out) override {
    out.clear();
    out.dim = dim_;
    size_t n = 0;
    while (n < std::max<size_t>(max_rows, 1)) {
      std::optional<TextRow> row;
      if (pending_) {
        row = std::move(pending_);
        pending_.reset();
      } else {
        auto r = read_one();
        if (!r) return r.status();
        if (!*r) break;
        row = std::move(**r);
      }
      if (row->vector.size() != dim_) {
        return error("has " + std::to_string(row->vector.size()) +
                     " vector components, the first row has " + std::to_string(dim_));
      }
      append_row(out, std::move(*row));
      ++n;
    }
    return n;
  }

 private:
  Status error(const std::string& what) const {
    return stream_.file().error(StatusCode::kInvalidArgument,
                                "line " + std::to_string(line_) + ": " + what);
  }

  // The next row, nullopt at the end.
  Result<std::optional<TextRow>> read_one() {
    for (;;) {
      auto more = source_(stream_, record_, line_);
      if (!more) return more.status();
      if (!*more) return std::optional<TextRow>();
      if (record_.find_first_not_of(" \t\r\n") == std::string::npos) continue;  // blank
      auto row = decoder_(record_);
      if (!row) return error(std::string(row.status().message()));
      return std::optional<TextRow>(std::move(*row));
    }
  }

  TextStream stream_;
  TextRecordSource source_;
  TextRecordDecoder decoder_;
  std::string record_;
  uint64_t line_ = 0;
  size_t dim_ = 0;
  std::optional<TextRow> pending_;
};

}  // namespace

Result<VectorId> id_from_text(std::string_view text) {
  if (!text.empty() && text.size() <= 20 &&
      text.find_first_not_of("0123456789") == std::string_view::npos) {
    uint64_t v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size()) return VectorId(v);
  }
  auto id = VectorId::from_bytes(text);
  if (!id) {
    return Status::InvalidArgument("id " + quoted(text) + " must be 1.." +
                                   std::to_string(VectorId::kMaxBytes) + " bytes");
  }
  return id;
}

Result<float> parse_float(std::string_view text) {
  if (!is_decimal_number(text)) return Status::InvalidArgument(quoted(text) + " is not a number");
  double d = 0;
  std::string_view t = text[0] == '+' ? text.substr(1) : text;
  auto r = std::from_chars(t.data(), t.data() + t.size(), d);
  const float f = static_cast<float>(d);
  if (r.ec != std::errc() || !std::isfinite(f)) {
    return Status::InvalidArgument(quoted(text) + " does not fit in a float32");
  }
  return f;
}

Result<std::vector<float>> parse_float_list(std::string_view text) {
  auto trim = [](std::string_view s) {
    size_t a = s.find_first_not_of(" \t\r\n");
    if (a == std::string_view::npos) return std::string_view();
    size_t b = s.find_last_not_of(" \t\r\n");
    return s.substr(a, b - a + 1);
  };
  std::string_view s = trim(text);
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']')
      return Status::InvalidArgument("vector " + quoted(s) + " has '[' but no ']'");
    s = trim(s.substr(1, s.size() - 2));
  }
  std::vector<float> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(",; \t\r\n", i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view tok = s.substr(i, j - i);
    if (tok.empty()) {
      // Runs of whitespace are one separator; an empty item between commas is not.
      if (s[i] == ',' || s[i] == ';')
        return Status::InvalidArgument("vector has an empty component");
      ++i;
      continue;
    }
    auto f = parse_float(tok);
    if (!f) {
      return Status::InvalidArgument("vector component " + std::to_string(out.size()) + ": " +
                                     std::string(f.status().message()));
    }
    out.push_back(*f);
    // Skip whitespace, then at most one ',' or ';'.
    i = j;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    if (i < s.size() && (s[i] == ',' || s[i] == ';')) {
      ++i;
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
      if (i == s.size()) return Status::InvalidArgument("vector ends with a separator");
    }
  }
  if (out.empty()) return Status::InvalidArgument("vector is empty");
  return out;
}

Result<std::unique_ptr<RowReader>> make_text_reader(TextStream stream, TextRecordSource source,
                                                    TextRecordDecoder decoder) {
  auto reader =
      std::make_unique<TextRowReader>(std::move(stream), std::move(source), std::move(decoder));
  IQDB_RETURN_IF_ERROR(reader->prime());
  return std::unique_ptr<RowReader>(std::move(reader));
}

void append_row(RowBatch& batch, TextRow row) {
  const size_t before = batch.rows();
  batch.values.insert(batch.values.end(), row.vector.begin(), row.vector.end());
  if (row.id && batch.ids.size() < before + 1) batch.ids.resize(before);
  if (!batch.ids.empty() || row.id) batch.ids.push_back(std::move(row.id));
  if (row.metadata && batch.metadata.size() < before + 1) batch.metadata.resize(before);
  if (!batch.metadata.empty() || row.metadata) batch.metadata.push_back(std::move(row.metadata));
}

}  // namespace iqdb::dataset
