// What JSON Lines and CSV rows share: the decoded row, how ids and numbers
// are read from text, and a RowReader over a decoder of one record at a
// time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataset/rows.h"
#include "dataset/text_stream.h"

namespace iqdb::dataset {

// Which fields of a text row hold the id and the vector; every other field
// is metadata.
struct TextFields {
  std::string id_field = "id";
  std::string vector_field = "vector";
};

struct TextRow {
  std::vector<float> vector;
  std::optional<VectorId> id;  // nullopt: the row number
  std::optional<Metadata> metadata;
};

// An id written as text: decimal digits give an integer id, anything else a
// byte-string id of the text itself (1..VectorId::kMaxBytes bytes).
Result<VectorId> id_from_text(std::string_view text);

// True for strict decimal syntax: [+-]digits[.digits][(e|E)[+-]digits], or
// with the integer part left out (".5"). Leading zeros are allowed.
bool is_decimal_number(std::string_view text);

// A number as float32: strict decimal syntax ("1", "-0.5", "2e-3"), finite
// after conversion. kInvalidArgument naming the text otherwise.
Result<float> parse_float(std::string_view text);

// A list of numbers separated by commas, semicolons or whitespace, with
// optional surrounding brackets: "0.1,0.2", "[1 2 3]".
Result<std::vector<float>> parse_float_list(std::string_view text);

// Reads one record's text into a row (blank records are skipped before the
// decoder sees them). The reader prefixes an error's message with the file
// and line.
using TextRecordDecoder = std::function<Result<TextRow>(std::string_view record)>;

// Pulls the next record's text (without its terminator) and the 1-based
// line it starts on; false at the end of the input.
using TextRecordSource =
    std::function<Result<bool>(TextStream&, std::string& record, uint64_t& line)>;

// A RowReader over the records of a text file. The first row is decoded
// here, so that dim() is known; every later row must have its dimension.
Result<std::unique_ptr<RowReader>> make_text_reader(TextStream stream, TextRecordSource source,
                                                    TextRecordDecoder decoder);

// Appends a decoded row to a batch (dim must already be set and match).
void append_row(RowBatch& batch, TextRow row);

}  // namespace iqdb::dataset
