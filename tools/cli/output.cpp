#include "cli/output.h"

#include <charconv>
#include <cstdio>

#include "cli/cli.h"
#include "dataset/json.h"
#include "dataset/text_rows.h"

namespace iqdb::cli {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Printable ASCII without spaces: safe to show bare on a terminal.
bool plain_text(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return !s.empty();
}

// True when `s` is valid UTF-8 without control characters.
bool utf8_text(std::string_view s) {
  // json_quote replaces invalid bytes; the text is valid when nothing changed.
  std::string q = dataset::json_quote(s);
  return q.find("\\u00") == std::string::npos && q.find("\xEF\xBF\xBD") == std::string::npos;
}

std::string hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

VectorId parse_id_arg(std::string_view text) {
  if (all_digits(text)) {
    uint64_t v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
      usage_error("id " + std::string(text) + " is larger than 2^64-1");
    }
    return VectorId(v);
  }
  std::string bytes;
  if (text.starts_with("hex:")) {
    std::string_view h = text.substr(4);
    if (h.size() % 2 != 0) usage_error("id " + std::string(text) + ": odd number of hex digits");
    for (size_t i = 0; i < h.size(); i += 2) {
      unsigned v = 0;
      auto r = std::from_chars(h.data() + i, h.data() + i + 2, v, 16);
      if (r.ec != std::errc() || r.ptr != h.data() + i + 2)
        usage_error("id " + std::string(text) + ": bad hex digit");
      bytes.push_back(char(v));
    }
  } else if (text.starts_with("str:")) {
    bytes = std::string(text.substr(4));
  } else {
    bytes = std::string(text);
  }
  auto id = VectorId::from_bytes(bytes);
  if (!id.ok())
    usage_error("id '" + std::string(text) + "': " + std::string(id.status().message()));
  return *id;
}

std::string id_text(const VectorId& id) {
  if (id.is_u64()) return std::to_string(id.as_u64());
  const std::string& b = id.bytes();
  if (!plain_text(b)) return "hex:" + hex(b);
  if (all_digits(b) || b.starts_with("str:") || b.starts_with("hex:")) return "str:" + b;
  return b;
}

std::string id_json(const VectorId& id) {
  if (id.is_u64()) return std::to_string(id.as_u64());
  const std::string& b = id.bytes();
  if (utf8_text(b)) return dataset::json_quote(b);
  return dataset::json_quote("hex:" + hex(b));
}

std::string float_text(float value) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

std::string metadata_text(const Metadata& m) {
  std::string out;
  for (const auto& [name, value] : m) {
    if (!out.empty()) out.push_back(' ');
    out += name;
    out.push_back('=');
    // Doubles in their shortest exact form (0.1, not 0.10000000000000001).
    out += value.is_double() ? dataset::json_number(value.as_double()) : value.to_string();
  }
  return out;
}

std::string value_json(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return "null";
    case Value::Type::kBool: return v.as_bool() ? "true" : "false";
    case Value::Type::kInt: return std::to_string(v.as_int());
    case Value::Type::kDouble: return dataset::json_number(v.as_double());
    case Value::Type::kString: return dataset::json_quote(v.as_string());
  }
  return "null";
}

std::string metadata_json(const Metadata& m) {
  std::string out = "{";
  for (const auto& [name, value] : m) {
    if (out.size() > 1) out.push_back(',');
    out += dataset::json_quote(name);
    out.push_back(':');
    out += value_json(value);
  }
  out.push_back('}');
  return out;
}

std::string vector_json(std::span<const float> v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    out += float_text(v[i]);
  }
  out.push_back(']');
  return out;
}

std::vector<float> parse_vector_arg(std::string_view text) {
  auto v = dataset::parse_float_list(text);
  if (!v.ok()) usage_error("--vector: " + std::string(v.status().message()));
  return std::move(*v);
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace iqdb::cli
