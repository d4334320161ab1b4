// How the tool writes ids, values, metadata and vectors, as text for people
// and as JSON for programs, and how it reads ids and vectors typed on the
// command line.
//
// Ids on the command line and in text output:
//   42          an integer id
//   doc-7       a byte-string id, written as itself when that is unambiguous
//   str:42      a byte-string id whose text looks like a number or a prefix
//   hex:00ff    a byte-string id given as hex (any bytes)
// In JSON, integer ids are numbers and byte-string ids strings (hex:... when
// the bytes are not UTF-8 text).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iqdb/iqdb.hpp"

namespace iqdb::cli {

VectorId parse_id_arg(std::string_view text);
std::string id_text(const VectorId& id);
std::string id_json(const VectorId& id);

// A float in its shortest round-trip form ("0.5", "1234", "1e-07").
std::string float_text(float value);

// Metadata as `class="Sneaker" label=7`.
std::string metadata_text(const Metadata& m);
std::string value_json(const Value& v);
std::string metadata_json(const Metadata& m);
// [0.5,1,2]
std::string vector_json(std::span<const float> v);

// A --vector argument: numbers separated by commas or spaces. Throws a
// usage error naming the bad component.
std::vector<float> parse_vector_arg(std::string_view text);

// Bytes as "12.3 MiB".
std::string human_bytes(uint64_t bytes);

}  // namespace iqdb::cli
