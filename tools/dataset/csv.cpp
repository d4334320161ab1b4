#include "dataset/csv.h"

#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "dataset/input_file.h"

namespace iqdb::dataset {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && is_blank(s[a])) ++a;
  while (b > a && is_blank(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// Where each part of a row comes from, worked out from the header.
struct CsvLayout {
  size_t columns = 0;
  std::optional<size_t> id_col;
  std::optional<size_t> vector_col;    // one cell listing the numbers
  std::vector<size_t> component_cols;  // or numbered columns, in order
  std::vector<size_t> meta_cols;
  std::vector<std::string> names;
};

// "pixel12" -> ("pixel", 12); nullopt when the name does not end in digits.
std::optional<std::pair<std::string, uint32_t>> numbered(std::string_view name) {
  size_t k = name.size();
  while (k > 0 && name[k - 1] >= '0' && name[k - 1] <= '9') --k;
  if (k == name.size() || name.size() - k > 9) return std::nullopt;
  uint32_t n = 0;
  std::from_chars(name.data() + k, name.data() + name.size(), n);
  return std::make_pair(std::string(name.substr(0, k)), n);
}

Result<CsvLayout> layout_from_header(const std::vector<CsvField>& header,
                                     const TextFields& fields) {
  CsvLayout l;
  l.columns = header.size();
  std::set<std::string> seen;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name(header[i].quoted ? std::string_view(header[i].text) : trim(header[i].text));
    if (name.empty())
      return Status::InvalidArgument("header: column " + std::to_string(i + 1) + " has no name");
    if (!seen.insert(name).second)
      return Status::InvalidArgument("header: column name '" + name + "' appears twice");
    l.names.push_back(std::move(name));
  }
  for (size_t i = 0; i < l.names.size(); ++i) {
    if (l.names[i] == fields.id_field) l.id_col = i;
    if (l.names[i] == fields.vector_field) l.vector_col = i;
  }
  if (!l.vector_col) {
    // Numbered groups: prefix -> (column, number) in header order.
    std::map<std::string, std::vector<std::pair<size_t, uint32_t>>> groups;
    for (size_t i = 0; i < l.names.size(); ++i) {
      if (l.id_col == i) continue;
      if (auto n = numbered(l.names[i])) groups[n->first].emplace_back(i, n->second);
    }
    std::vector<std::string> candidates;
    for (const auto& [prefix, cols] : groups) {
      bool consecutive = cols.size() >= 2 && cols[0].second <= 1;
      for (size_t j = 1; consecutive && j < cols.size(); ++j) {
        consecutive = cols[j].second == cols[0].second + j;
      }
      if (consecutive) candidates.push_back(prefix);
    }
    if (candidates.empty()) {
      return Status::InvalidArgument(
          "header: no vector column; name one '" + fields.vector_field +
          "' or number the component columns (v0,v1,... or pixel1,pixel2,...)");
    }
    if (candidates.size() > 1) {
      return Status::InvalidArgument("header: more than one group of numbered columns ('" +
                                     candidates[0] + "...' and '" + candidates[1] +
                                     "...'); which is the vector is unclear");
    }
    for (const auto& [col, n] : groups[candidates[0]]) l.component_cols.push_back(col);
  }
  std::set<size_t> used(l.component_cols.begin(), l.component_cols.end());
  if (l.id_col) used.insert(*l.id_col);
  if (l.vector_col) used.insert(*l.vector_col);
  for (size_t i = 0; i < l.columns; ++i) {
    if (!used.count(i)) l.meta_cols.push_back(i);
  }
  return l;
}

Result<TextRow> decode_record(const CsvLayout& l, std::string_view record, char delimiter) {
  auto cells = split_csv_record(record, delimiter);
  if (!cells) return cells.status();
  if (cells->size() != l.columns) {
    return Status::InvalidArgument("has " + std::to_string(cells->size()) +
                                   " fields, the header has " + std::to_string(l.columns));
  }
  TextRow row;
  if (l.id_col) {
    const CsvField& c = (*cells)[*l.id_col];
    std::string_view text = c.quoted ? std::string_view(c.text) : trim(c.text);
    if (!text.empty()) {
      auto id = id_from_text(text);
      if (!id)
        return Status::InvalidArgument("column '" + l.names[*l.id_col] +
                                       "': " + std::string(id.status().message()));
      row.id = std::move(*id);
    }
  }
  if (l.vector_col) {
    auto v = parse_float_list((*cells)[*l.vector_col].text);
    if (!v)
      return Status::InvalidArgument("column '" + l.names[*l.vector_col] +
                                     "': " + std::string(v.status().message()));
    row.vector = std::move(*v);
  } else {
    row.vector.reserve(l.component_cols.size());
    for (size_t col : l.component_cols) {
      auto f = parse_float(trim((*cells)[col].text));
      if (!f)
        return Status::InvalidArgument("column '" + l.names[col] +
                                       "': " + std::string(f.status().message()));
      row.vector.push_back(*f);
    }
  }
  Metadata meta;
  for (size_t col : l.meta_cols) {
    const CsvField& c = (*cells)[col];
    if (c.quoted) {
      meta.set(l.names[col], Value(c.text));
    } else if (auto v = infer_csv_value(c.text)) {
      meta.set(l.names[col], std::move(*v));
    }
  }
  if (!meta.empty()) row.metadata = std::move(meta);
  return row;
}

// Cuts records at newlines outside quotes; remembers the line each starts on.
struct CsvRecordSource {
  uint64_t next_line = 1;

  Result<bool> operator()(TextStream& s, std::string& record, uint64_t& line) {
    record.clear();
    line = next_line;
    int c = s.get();
    if (c < 0) {
      if (!s.status().ok()) return s.status();
      return false;
    }
    bool in_quotes = false;
    for (; c >= 0; c = s.get()) {
      if (c == '"') in_quotes = !in_quotes;
      if (c == '\n') {
        ++next_line;
        if (!in_quotes) break;
      }
      if (record.size() >= kMaxTextRecordBytes) {
        return s.file().error(StatusCode::kInvalidArgument,
                              "line " + std::to_string(line) + ": a record is longer than " +
                                  std::to_string(kMaxTextRecordBytes >> 20) +
                                  " MiB (unbalanced quote?)");
      }
      record.push_back(char(c));
    }
    if (!s.status().ok()) return s.status();
    if (!record.empty() && record.back() == '\r') record.pop_back();
    return true;
  }
};

}  // namespace

Result<std::vector<CsvField>> split_csv_record(std::string_view record, char delimiter) {
  std::vector<CsvField> out;
  size_t i = 0;
  for (;;) {
    CsvField f;
    // Blanks before an opening quote are not part of the field.
    size_t j = i;
    while (j < record.size() && is_blank(record[j]) && record[j] != delimiter) ++j;
    if (j < record.size() && record[j] == '"') {
      f.quoted = true;
      i = j + 1;
      for (;;) {
        if (i >= record.size()) return Status::InvalidArgument("unterminated quoted field");
        if (record[i] == '"') {
          if (i + 1 < record.size() && record[i + 1] == '"') {
            f.text.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        f.text.push_back(record[i++]);
      }
      while (i < record.size() && is_blank(record[i]) && record[i] != delimiter) ++i;
      if (i < record.size() && record[i] != delimiter) {
        return Status::InvalidArgument("field " + std::to_string(out.size() + 1) +
                                       ": text after a closing quote (column " +
                                       std::to_string(i + 1) + ")");
      }
    } else {
      size_t end = record.find(delimiter, i);
      if (end == std::string_view::npos) end = record.size();
      std::string_view text = record.substr(i, end - i);
      size_t q = text.find('"');
      if (q != std::string_view::npos) {
        return Status::InvalidArgument("field " + std::to_string(out.size() + 1) +
                                       ": a quote inside an unquoted field (column " +
                                       std::to_string(i + q + 1) + "); quote the whole field");
      }
      f.text = std::string(text);
      i = end;
    }
    out.push_back(std::move(f));
    if (i >= record.size()) return out;
    ++i;  // the delimiter
  }
}

std::optional<Value> infer_csv_value(std::string_view cell) {
  std::string_view t = trim(cell);
  if (t.empty()) return std::nullopt;
  if (t == "null") return Value(nullptr);
  if (t == "true") return Value(true);
  if (t == "false") return Value(false);
  {
    int64_t i = 0;
    std::string_view d = t[0] == '+' ? t.substr(1) : t;
    auto r = std::from_chars(d.data(), d.data() + d.size(), i);
    if (r.ec == std::errc() && r.ptr == d.data() + d.size() && !d.empty()) {
      return Value(static_cast<long long>(i));
    }
  }
  if (is_decimal_number(t)) {
    double d = 0;
    std::string_view n = t[0] == '+' ? t.substr(1) : t;
    auto r = std::from_chars(n.data(), n.data() + n.size(), d);
    if (r.ec == std::errc()) return Value(d);
  }
  return Value(std::string(t));
}

Result<RowBatch> decode_csv(std::string_view text, const TextFields& fields, char delimiter) {
  // Records end at newlines outside quotes, as in the file reader.
  std::vector<std::pair<std::string_view, uint64_t>> records;
  {
    size_t start = 0;
    uint64_t line = 1, start_line = 1;
    bool in_quotes = false;
    for (size_t i = 0; i <= text.size(); ++i) {
      const bool end = i == text.size();
      if (!end && text[i] == '"') in_quotes = !in_quotes;
      if (end || (text[i] == '\n' && !in_quotes)) {
        std::string_view r = text.substr(start, i - start);
        if (!r.empty() && r.back() == '\r') r.remove_suffix(1);
        if (!(end && r.empty())) records.emplace_back(r, start_line);
        start = i + 1;
        start_line = line + 1;
      }
      if (!end && text[i] == '\n') ++line;
    }
  }
  if (records.empty()) return Status::InvalidArgument("no header row");
  auto header = split_csv_record(records[0].first, delimiter);
  if (!header) return Status::InvalidArgument("line 1: " + std::string(header.status().message()));
  auto layout = layout_from_header(*header, fields);
  if (!layout) return layout.status();
  RowBatch out;
  for (size_t r = 1; r < records.size(); ++r) {
    auto [rec, line] = records[r];
    if (trim(rec).empty()) continue;
    auto row = decode_record(*layout, rec, delimiter);
    auto where = [&] { return "line " + std::to_string(line) + ": "; };
    if (!row) return Status::InvalidArgument(where() + std::string(row.status().message()));
    if (out.dim == 0) out.dim = row->vector.size();
    if (row->vector.size() != out.dim) {
      return Status::InvalidArgument(where() + "has " + std::to_string(row->vector.size()) +
                                     " vector components, the first row has " +
                                     std::to_string(out.dim));
    }
    append_row(out, std::move(*row));
  }
  return out;
}

Result<std::unique_ptr<RowReader>> open_csv(const std::filesystem::path& path,
                                            const TextFields& fields, char delimiter) {
  auto file = InputFile::open(path);
  if (!file) return file.status();
  TextStream stream(std::move(*file));
  CsvRecordSource source;
  std::string header_text;
  uint64_t line = 0;
  auto got = source(stream, header_text, line);
  if (!got) return got.status();
  if (!*got) return Status::InvalidArgument(path.string() + ": is empty (a header row is needed)");
  auto header = split_csv_record(header_text, delimiter);
  if (!header)
    return Status::InvalidArgument(path.string() +
                                   ": line 1: " + std::string(header.status().message()));
  auto layout = layout_from_header(*header, fields);
  if (!layout)
    return Status::InvalidArgument(path.string() + ": " + std::string(layout.status().message()));
  TextRecordDecoder decode = [l = std::move(*layout), delimiter](std::string_view record) {
    return decode_record(l, record, delimiter);
  };
  return make_text_reader(std::move(stream), TextRecordSource(source), std::move(decode));
}

}  // namespace iqdb::dataset
