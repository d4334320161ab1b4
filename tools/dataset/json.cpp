#include "dataset/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace iqdb::dataset {
namespace {

// The code point of the UTF-8 sequence at s[0..n), or -1 when it is not a
// valid, shortest-form encoding of a scalar value. Sets `len`.
int32_t decode_utf8(const unsigned char* s, size_t n, size_t& len) {
  const unsigned char c = s[0];
  len = 1;
  if (c < 0x80) return c;
  int32_t cp;
  size_t need;
  if (c >= 0xC2 && c <= 0xDF) {
    cp = c & 0x1F;
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    cp = c & 0x0F;
    need = 2;
  } else if (c >= 0xF0 && c <= 0xF4) {
    cp = c & 0x07;
    need = 3;
  } else {
    return -1;
  }
  if (n < need + 1) return -1;
  for (size_t i = 1; i <= need; ++i) {
    if ((s[i] & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return -1;
  }
  len = need + 1;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<JsonValue> parse_document() {
    JsonValue v;
    skip_ws();
    IQDB_RETURN_IF_ERROR(value(v, 0));
    skip_ws();
    if (pos_ != s_.size()) return error("unexpected text after the JSON value");
    return v;
  }

 private:
  Status error(const std::string& what) const {
    return Status::InvalidArgument("column " + std::to_string(pos_ + 1) + ": " + what);
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void skip_ws() {
    while (!at_end() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status value(JsonValue& out, size_t depth) {
    if (at_end()) return error("expected a value, found the end of the text");
    switch (peek()) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': out.type = JsonValue::Type::kString; return string(out.string);
      case 't':
      case 'f':
      case 'n':
        if (literal("true")) {
          out.type = JsonValue::Type::kBool;
          out.boolean = true;
        } else if (literal("false")) {
          out.type = JsonValue::Type::kBool;
          out.boolean = false;
        } else if (literal("null")) {
          out.type = JsonValue::Type::kNull;
        } else {
          return error("unknown word (expected true, false or null)");
        }
        return Status::OK();
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return number(out);
        return error(std::string("unexpected character '") + printable(peek()) + "'");
    }
  }

  static std::string printable(char c) {
    if (c >= 0x20 && c < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
    return buf;
  }

  Status object(JsonValue& out, size_t depth) {
    if (depth > kMaxJsonDepth) return error("nested deeper than " + std::to_string(kMaxJsonDepth));
    out.type = JsonValue::Type::kObject;
    ++pos_;  // '{'
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return Status::OK();
    }
    for (;;) {
      skip_ws();
      if (peek() != '"') return error("expected a quoted key");
      const size_t key_pos = pos_;
      std::string key;
      IQDB_RETURN_IF_ERROR(string(key));
      for (const auto& m : out.members) {
        if (m.first == key) {
          pos_ = key_pos;
          return error("duplicate key " + json_quote(key));
        }
      }
      skip_ws();
      if (peek() != ':') return error("expected ':' after a key");
      ++pos_;
      skip_ws();
      out.members.emplace_back(std::move(key), JsonValue{});
      IQDB_RETURN_IF_ERROR(value(out.members.back().second, depth));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return Status::OK();
      }
      return error("expected ',' or '}' in an object");
    }
  }

  Status array(JsonValue& out, size_t depth) {
    if (depth > kMaxJsonDepth) return error("nested deeper than " + std::to_string(kMaxJsonDepth));
    out.type = JsonValue::Type::kArray;
    ++pos_;  // '['
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return Status::OK();
    }
    for (;;) {
      skip_ws();
      out.items.emplace_back();
      IQDB_RETURN_IF_ERROR(value(out.items.back(), depth));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return Status::OK();
      }
      return error("expected ',' or ']' in an array");
    }
  }

  Result<uint32_t> hex4() {
    if (s_.size() - pos_ < 4) return error("\\u needs four hex digits");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= uint32_t(c - 'A' + 10);
      else
        return error("\\u needs four hex digits");
    }
    return v;
  }

  Status string(std::string& out) {
    ++pos_;  // '"'
    for (;;) {
      if (at_end()) return error("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::OK();
      }
      if (c < 0x20) return error("control character in a string (escape it)");
      if (c == '\\') {
        ++pos_;
        if (at_end()) return error("unterminated escape");
        const char e = s_[pos_++];
        switch (e) {
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case '/': out.push_back('/'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'n': out.push_back('\n'); break;
          case 'r': out.push_back('\r'); break;
          case 't': out.push_back('\t'); break;
          case 'u': {
            const size_t at = pos_ - 2;  // the backslash
            auto hi = hex4();
            if (!hi) return hi.status();
            uint32_t cp = *hi;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
              pos_ = at;
              return error("unpaired low surrogate in \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (!literal("\\u")) {
                pos_ = at;
                return error("unpaired high surrogate in \\u escape");
              }
              auto lo = hex4();
              if (!lo) return lo.status();
              if (*lo < 0xDC00 || *lo > 0xDFFF) {
                pos_ = at;
                return error("high surrogate not followed by a low surrogate");
              }
              cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
            }
            append_utf8(out, cp);
            break;
          }
          default: --pos_; return error("unknown escape");
        }
        continue;
      }
      size_t len = 0;
      if (decode_utf8(reinterpret_cast<const unsigned char*>(s_.data()) + pos_, s_.size() - pos_,
                      len) < 0) {
        return error("invalid UTF-8 in a string");
      }
      out.append(s_.substr(pos_, len));
      pos_ += len;
    }
  }

  Status number(JsonValue& out) {
    const size_t start = pos_;
    auto digit = [&] { return peek() >= '0' && peek() <= '9'; };
    bool integral = true;
    if (peek() == '-') ++pos_;
    if (!digit()) return error("expected a digit");
    if (peek() == '0') {
      ++pos_;
      if (digit()) return error("leading zeros are not allowed");
    } else {
      while (digit()) ++pos_;
    }
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!digit()) return error("expected a digit after '.'");
      while (digit()) ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digit()) return error("expected a digit in the exponent");
      while (digit()) ++pos_;
    }
    const std::string_view lit = s_.substr(start, pos_ - start);
    out.type = JsonValue::Type::kNumber;
    auto r = std::from_chars(lit.data(), lit.data() + lit.size(), out.number);
    if (r.ec != std::errc() || !std::isfinite(out.number)) {
      pos_ = start;
      return error("number out of range");
    }
    if (integral) {
      const bool negative = lit[0] == '-';
      std::string_view digits = negative ? lit.substr(1) : lit;
      uint64_t mag = 0;
      auto m = std::from_chars(digits.data(), digits.data() + digits.size(), mag);
      if (m.ec == std::errc()) {
        if (!negative) {
          out.fits_u64 = true;
          out.u64 = mag;
          if (mag <= uint64_t(INT64_MAX)) {
            out.fits_i64 = true;
            out.i64 = int64_t(mag);
          }
        } else if (mag <= uint64_t(INT64_MAX) + 1) {
          out.fits_i64 = true;
          out.i64 = mag == uint64_t(INT64_MAX) + 1 ? INT64_MIN : -int64_t(mag);
        }
      }
    }
    return Status::OK();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void write(const JsonValue& v, std::string& out) {
  switch (v.type) {
    case JsonValue::Type::kNull: out += "null"; break;
    case JsonValue::Type::kBool: out += v.boolean ? "true" : "false"; break;
    case JsonValue::Type::kNumber:
      if (v.fits_i64)
        out += std::to_string(v.i64);
      else if (v.fits_u64)
        out += std::to_string(v.u64);
      else
        out += json_number(v.number);
      break;
    case JsonValue::Type::kString: out += json_quote(v.string); break;
    case JsonValue::Type::kArray:
      out.push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out.push_back(',');
        write(v.items[i], out);
      }
      out.push_back(']');
      break;
    case JsonValue::Type::kObject:
      out.push_back('{');
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i) out.push_back(',');
        out += json_quote(v.members[i].first);
        out.push_back(':');
        write(v.members[i].second, out);
      }
      out.push_back('}');
      break;
  }
}

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& m : members) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

bool operator==(const JsonValue& a, const JsonValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case JsonValue::Type::kNull: return true;
    case JsonValue::Type::kBool: return a.boolean == b.boolean;
    case JsonValue::Type::kNumber:
      return a.number == b.number && a.fits_i64 == b.fits_i64 && a.fits_u64 == b.fits_u64 &&
             (!a.fits_i64 || a.i64 == b.i64) && (!a.fits_u64 || a.u64 == b.u64);
    case JsonValue::Type::kString: return a.string == b.string;
    case JsonValue::Type::kArray: return a.items == b.items;
    case JsonValue::Type::kObject: return a.members == b.members;
  }
  return false;
}

std::string_view json_type_name(JsonValue::Type type) {
  switch (type) {
    case JsonValue::Type::kNull: return "null";
    case JsonValue::Type::kBool: return "bool";
    case JsonValue::Type::kNumber: return "number";
    case JsonValue::Type::kString: return "string";
    case JsonValue::Type::kArray: return "array";
    case JsonValue::Type::kObject: return "object";
  }
  return "?";
}

Result<JsonValue> parse_json(std::string_view text) { return Parser(text).parse_document(); }

std::string to_json(const JsonValue& value) {
  std::string out;
  write(value, out);
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(char(c));
      ++i;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else {
      size_t len = 0;
      if (decode_utf8(s + i, text.size() - i, len) < 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        i += 1;
      } else {
        out.append(text.substr(i, len));
        i += len;
      }
    }
  }
  out.push_back('"');
  return out;
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace iqdb::dataset
