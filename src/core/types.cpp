#include "iqdb/types.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace iqdb {

std::string_view metric_name(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kDot: return "dot";
    case Metric::kL2: return "l2";
    case Metric::kL1: return "l1";
    case Metric::kHamming: return "hamming";
  }
  return "unknown";
}

Result<Metric> parse_metric(std::string_view name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "dot" || name == "ip") return Metric::kDot;
  if (name == "l2" || name == "euclidean") return Metric::kL2;
  if (name == "l1" || name == "manhattan") return Metric::kL1;
  if (name == "hamming") return Metric::kHamming;
  return Status::InvalidArgument("unknown metric '" + std::string(name.substr(0, 32)) +
                                 "' (expected cosine, dot, l2, l1 or hamming)");
}

Result<VectorId> VectorId::from_bytes(std::string_view bytes) {
  if (bytes.empty()) return Status::InvalidArgument("a byte id must not be empty");
  if (bytes.size() > kMaxBytes) {
    return Status::InvalidArgument("a byte id is limited to " + std::to_string(kMaxBytes) +
                                   " bytes, got " + std::to_string(bytes.size()));
  }
  VectorId id;
  id.is_bytes_ = true;
  id.bytes_.assign(bytes);
  return id;
}

std::string VectorId::to_string() const {
  if (!is_bytes_) return std::to_string(u64_);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes_.size() * 2);
  for (unsigned char c : bytes_) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

size_t VectorId::hash() const noexcept {
  if (!is_bytes_) {
    // A 64-bit mix so sequential ids spread over the table.
    uint64_t x = u64_ + 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return static_cast<size_t>(x ^ (x >> 31));
  }
  return std::hash<std::string>{}(bytes_) ^ 0x5bd1e995u;
}

std::string Value::to_string() const {
  switch (type()) {
    case Type::kNull: return "null";
    case Type::kBool: return as_bool() ? "true" : "false";
    case Type::kInt: return std::to_string(as_int());
    case Type::kDouble: {
      double d = as_double();
      if (std::isnan(d)) return "nan";
      if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      std::string s(buf);
      // Keep doubles recognisable as doubles when read back.
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    case Type::kString: {
      std::string out = "\"";
      for (char c : as_string()) {
        if (c == '"' || c == '\\') {
          out += '\\';
          out += c;
        } else if (c == '\n') {
          out += "\\n";
        } else if (c == '\t') {
          out += "\\t";
        } else {
          out += c;
        }
      }
      out += '"';
      return out;
    }
  }
  return "null";
}

}  // namespace iqdb
