// JSON Lines: one JSON object per line, e.g.
//
//   {"id": 7, "vector": [0.1, 0.2, 0.3], "kind": "doc", "year": 2021}
//   {"id": "doc-8", "vector": [0.4, 0.5, 0.6], "metadata": {"kind": "memo"}}
//
// Per line (blank lines are skipped):
//  - the vector field ("vector" unless TextFields says otherwise): a
//    non-empty array of numbers, each finite as float32. Required.
//  - the id field ("id"): a non-negative integer (an integer id), a string
//    (a byte-string id), or null / absent (the row number).
//  - "metadata": an object (or null) whose members are metadata fields;
//    every other top-level member is a metadata field too. A name may
//    appear only once across both.
//  - metadata values are null, true/false, integers (int64, else double),
//    other numbers (double) and strings. Arrays and objects are refused.
// The JSON itself is read strictly (json.h). Errors give line and column.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "dataset/json.h"
#include "dataset/text_rows.h"

namespace iqdb::dataset {

// Decodes one line. Errors say "column N: ...".
Result<TextRow> decode_json_row(std::string_view line, const TextFields& fields = {});

// Decodes every line of an in-memory JSON Lines text (tests, fuzzing).
// Errors say "line L: column N: ...".
Result<RowBatch> decode_jsonl(std::string_view text, const TextFields& fields = {});

Result<std::unique_ptr<RowReader>> open_jsonl(const std::filesystem::path& path,
                                              const TextFields& fields = {});

// A metadata Value from a JSON scalar; kInvalidArgument for arrays/objects.
Result<Value> value_from_json(const JsonValue& v);

}  // namespace iqdb::dataset
