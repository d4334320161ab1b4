#include "dataset/jsonl.h"

#include <cmath>
#include <string>

#include "dataset/input_file.h"

namespace iqdb::dataset {
namespace {

Status field_error(std::string_view field, const std::string& what) {
  return Status::InvalidArgument("field " + json_quote(field) + ": " + what);
}

Status add_field(Metadata& m, const std::string& name, const JsonValue& v) {
  if (m.get(name) != nullptr)
    return field_error(name, "appears twice (top level and in \"metadata\")");
  auto value = value_from_json(v);
  if (!value) return field_error(name, std::string(value.status().message()));
  m.set(name, std::move(*value));
  return Status::OK();
}

Result<std::vector<float>> vector_from_json(const JsonValue& v, std::string_view field) {
  if (v.type != JsonValue::Type::kArray) {
    return field_error(field,
                       "must be an array of numbers, not " + std::string(json_type_name(v.type)));
  }
  if (v.items.empty()) return field_error(field, "is an empty array");
  std::vector<float> out;
  out.reserve(v.items.size());
  for (size_t i = 0; i < v.items.size(); ++i) {
    const JsonValue& x = v.items[i];
    if (!x.is_number()) {
      return field_error(field, "component " + std::to_string(i) + " is a " +
                                    std::string(json_type_name(x.type)) + ", not a number");
    }
    const float f = static_cast<float>(x.number);
    if (!std::isfinite(f)) {
      return field_error(field, "component " + std::to_string(i) + " does not fit in a float32");
    }
    out.push_back(f);
  }
  return out;
}

Result<std::optional<VectorId>> id_from_json(const JsonValue& v, std::string_view field) {
  if (v.is_null()) return std::optional<VectorId>();
  if (v.type == JsonValue::Type::kString) {
    auto id = VectorId::from_bytes(v.string);
    if (!id)
      return field_error(
          field, "a string id must be 1.." + std::to_string(VectorId::kMaxBytes) + " bytes");
    return std::optional<VectorId>(std::move(*id));
  }
  if (v.is_number() && v.fits_u64) return std::optional<VectorId>(VectorId(v.u64));
  return field_error(field, "must be a non-negative integer or a string");
}

}  // namespace

Result<Value> value_from_json(const JsonValue& v) {
  switch (v.type) {
    case JsonValue::Type::kNull: return Value(nullptr);
    case JsonValue::Type::kBool: return Value(v.boolean);
    case JsonValue::Type::kNumber:
      if (v.fits_i64) return Value(static_cast<long long>(v.i64));
      return Value(v.number);
    case JsonValue::Type::kString: return Value(v.string);
    case JsonValue::Type::kArray:
    case JsonValue::Type::kObject:
      return Status::InvalidArgument("metadata values must be null, bool, number or string, not " +
                                     std::string(json_type_name(v.type)));
  }
  return Status::InvalidArgument("unknown JSON type");
}

Result<TextRow> decode_json_row(std::string_view line, const TextFields& fields) {
  auto doc = parse_json(line);
  if (!doc) return doc.status();
  if (doc->type != JsonValue::Type::kObject) {
    return Status::InvalidArgument("each line must be a JSON object, not " +
                                   std::string(json_type_name(doc->type)));
  }
  TextRow row;
  Metadata meta;
  bool have_vector = false;
  for (const auto& [name, value] : doc->members) {
    if (name == fields.vector_field) {
      auto v = vector_from_json(value, name);
      if (!v) return v.status();
      row.vector = std::move(*v);
      have_vector = true;
    } else if (name == fields.id_field) {
      auto id = id_from_json(value, name);
      if (!id) return id.status();
      row.id = std::move(*id);
    } else if (name == "metadata" && (value.type == JsonValue::Type::kObject || value.is_null())) {
      for (const auto& [key, inner] : value.members)
        IQDB_RETURN_IF_ERROR(add_field(meta, key, inner));
    } else {
      IQDB_RETURN_IF_ERROR(add_field(meta, name, value));
    }
  }
  if (!have_vector) return field_error(fields.vector_field, "is missing");
  if (!meta.empty()) row.metadata = std::move(meta);
  return row;
}

Result<RowBatch> decode_jsonl(std::string_view text, const TextFields& fields) {
  RowBatch out;
  uint64_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto row = decode_json_row(line, fields);
    if (!row) {
      return Status::InvalidArgument("line " + std::to_string(line_no) + ": " +
                                     std::string(row.status().message()));
    }
    if (out.dim == 0) out.dim = row->vector.size();
    if (row->vector.size() != out.dim) {
      return Status::InvalidArgument(
          "line " + std::to_string(line_no) + ": has " + std::to_string(row->vector.size()) +
          " vector components, the first row has " + std::to_string(out.dim));
    }
    append_row(out, std::move(*row));
  }
  return out;
}

Result<std::unique_ptr<RowReader>> open_jsonl(const std::filesystem::path& path,
                                              const TextFields& fields) {
  auto file = InputFile::open(path);
  if (!file) return file.status();
  TextRecordSource lines = [](TextStream& s, std::string& record, uint64_t& line) -> Result<bool> {
    ++line;
    if (s.read_line(record)) return true;
    if (!s.status().ok()) return s.status();
    return false;
  };
  TextRecordDecoder decode = [fields](std::string_view record) {
    return decode_json_row(record, fields);
  };
  return make_text_reader(TextStream(std::move(*file)), std::move(lines), std::move(decode));
}

}  // namespace iqdb::dataset
