// Query vectors and filters taken from the command line or from files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iqdb/filter.h"

namespace iqdb::cli {

// Row `row` of a vector file (any import format). Throws CliError:
// kNotFound for a missing file, kBadInput for a malformed file or one whose
// dimension is not `dim`, kUsage when the file has no such row.
std::vector<float> read_query_row(const std::string& file, const std::optional<std::string>& format,
                                  uint64_t row, size_t dim);

// The first `limit` rows of a vector file, row-major.
std::vector<float> read_query_rows(const std::string& file,
                                   const std::optional<std::string>& format, uint64_t limit,
                                   size_t dim);

// Parses --filter text; a usage error quoting the text with a caret under
// the column the parser names.
Filter parse_filter_arg(const std::string& text);

}  // namespace iqdb::cli
