// CSV (RFC 4180) and TSV rows: a header row naming the columns, then one
// record per row.
//
//   id,vector,kind,year                 label,pixel1,pixel2,...,pixel784
//   7,"0.1,0.2,0.3",doc,2021            9,0,0,...,0
//
// Columns:
//  - the id column ("id" unless TextFields says otherwise), optional: digits
//    give an integer id, other text a byte-string id, empty the row number.
//  - the vector: either one column named "vector" whose cell lists the
//    numbers (separated by commas, semicolons or spaces; quote the cell when
//    it holds the delimiter; brackets allowed), or numbered columns sharing a
//    prefix and counting up by one from 0 or 1 in header order (v0,v1,...;
//    pixel1..pixel784; 0,1,2,...). Exactly one such group of at least two
//    columns must exist when there is no "vector" column.
//  - every other column is a metadata field. An unquoted cell is typed:
//    empty leaves the field out, null, true/false, integers (int64),
//    decimals (double), anything else a string. A quoted cell is always a
//    string ("42" stays text).
// Quoted fields may hold delimiters, doubled quotes and newlines. A stray
// quote inside an unquoted field, text after a closing quote, an
// unterminated quote or a row with another number of fields than the
// header is an error naming the line.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataset/text_rows.h"

namespace iqdb::dataset {

struct CsvField {
  std::string text;
  bool quoted = false;
};

// Splits one record (without its line terminator; it may contain newlines
// inside quotes) into fields.
Result<std::vector<CsvField>> split_csv_record(std::string_view record, char delimiter = ',');

// Decodes a whole in-memory CSV text, header included (tests, fuzzing).
Result<RowBatch> decode_csv(std::string_view text, const TextFields& fields = {},
                            char delimiter = ',');

Result<std::unique_ptr<RowReader>> open_csv(const std::filesystem::path& path,
                                            const TextFields& fields = {}, char delimiter = ',');

// The metadata Value an unquoted cell stands for (see above); nullopt for
// an empty cell.
std::optional<Value> infer_csv_value(std::string_view cell);

}  // namespace iqdb::dataset
