#include "cli/query_source.h"

#include <algorithm>

#include "cli/cli.h"
#include "dataset/rows.h"

namespace iqdb::cli {
namespace {

std::unique_ptr<dataset::RowReader> open_query_file(const std::string& file,
                                                    const std::optional<std::string>& format,
                                                    size_t dim) {
  dataset::ReadOptions ro;
  if (format) ro.format = take(dataset::parse_format(*format), "--format");
  ro.dim = dim;
  auto reader = take(dataset::open_rows(file, ro), "", Exit::kBadInput);
  if (reader->dim() != dim) {
    throw CliError(Exit::kBadInput, file + " has vectors of dimension " +
                                        std::to_string(reader->dim()) +
                                        ", the database has dimension " + std::to_string(dim));
  }
  return reader;
}

}  // namespace

std::vector<float> read_query_row(const std::string& file, const std::optional<std::string>& format,
                                  uint64_t row, size_t dim) {
  auto reader = open_query_file(file, format, dim);
  dataset::RowBatch batch;
  uint64_t seen = 0;
  for (;;) {
    const size_t want = size_t(std::min<uint64_t>(row - seen + 1, 4096));
    const size_t n = take(reader->next(want, batch), "", Exit::kBadInput);
    if (n == 0) {
      usage_error("--row " + std::to_string(row) + ": " + file + " has only " +
                  std::to_string(seen) + " rows");
    }
    if (seen + n > row) {
      const size_t i = size_t(row - seen);
      return std::vector<float>(batch.values.begin() + ptrdiff_t(i * dim),
                                batch.values.begin() + ptrdiff_t((i + 1) * dim));
    }
    seen += n;
  }
}

std::vector<float> read_query_rows(const std::string& file,
                                   const std::optional<std::string>& format, uint64_t limit,
                                   size_t dim) {
  auto reader = open_query_file(file, format, dim);
  dataset::RowBatch batch;
  std::vector<float> out;
  uint64_t seen = 0;
  while (seen < limit) {
    const size_t n = take(reader->next(size_t(std::min<uint64_t>(limit - seen, 4096)), batch), "",
                          Exit::kBadInput);
    if (n == 0) break;
    out.insert(out.end(), batch.values.begin(), batch.values.end());
    seen += n;
  }
  if (out.empty()) throw CliError(Exit::kBadInput, file + " holds no rows");
  return out;
}

Filter parse_filter_arg(const std::string& text) {
  auto f = Filter::parse(text);
  if (f.ok()) return std::move(*f);
  std::string message = "--filter: " + std::string(f.status().message());
  // Point at the column the parser names.
  const std::string_view m = f.status().message();
  if (size_t at = m.find("column "); at != std::string_view::npos) {
    size_t col = 0;
    for (size_t i = at + 7; i < m.size() && m[i] >= '0' && m[i] <= '9'; ++i)
      col = col * 10 + size_t(m[i] - '0');
    if (col >= 1 && col <= text.size() + 1 && text.find('\n') == std::string::npos) {
      message += "\n  " + text + "\n  " + std::string(col - 1, ' ') + "^";
    }
  }
  usage_error(message);
}

}  // namespace iqdb::cli
