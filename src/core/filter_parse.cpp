// The text form of a Filter: a recursive-descent parser and its printer.
//
//   expr    := or
//   or      := and (("or" | "||") and)*
//   and     := unary (("and" | "&&") unary)*
//   unary   := ("not" | "!") unary | "(" expr ")" | "true" | "false" | test
//   test    := field op literal | field "in" "(" [literal ("," literal)*] ")" | field
//   op      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
//   field   := [A-Za-z_][A-Za-z0-9_.]*  |  `any text`
// A bare field means field = true. Keywords are case-insensitive.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/filter_node.h"
#include "iqdb/filter.h"

namespace iqdb {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Filter> parse() {
    auto f = parse_or(1);
    if (!f) return f;
    skip_space();
    if (pos_ < text_.size()) return error("unexpected text after the filter");
    Status s = f->validate();
    if (!s.ok()) return s;
    return f;
  }

 private:
  Status error(std::string_view what) const {
    return Status::InvalidArgument("filter syntax error at column " + std::to_string(pos_ + 1) +
                                   ": " + std::string(what));
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  static bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  }

  // Consumes `word` (case-insensitive) when it is next as a whole word.
  bool accept_word(std::string_view word) {
    skip_space();
    if (text_.size() - pos_ < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(text_[pos_ + i])) != word[i]) return false;
    }
    size_t end = pos_ + word.size();
    if (end < text_.size() && is_word_char(text_[end])) return false;
    pos_ = end;
    return true;
  }

  bool accept(std::string_view symbol) {
    skip_space();
    if (text_.substr(pos_, symbol.size()) != symbol) return false;
    pos_ += symbol.size();
    return true;
  }

  Result<Filter> parse_or(size_t depth) {
    if (depth > Filter::kMaxDepth) return error("filter nests too deeply");
    std::vector<Filter> parts;
    do {
      auto f = parse_and(depth + 1);
      if (!f) return f;
      parts.push_back(std::move(*f));
    } while (accept_word("or") || accept("||"));
    if (parts.size() == 1) return std::move(parts[0]);
    return Filter::or_(std::move(parts));
  }

  Result<Filter> parse_and(size_t depth) {
    std::vector<Filter> parts;
    do {
      auto f = parse_unary(depth + 1);
      if (!f) return f;
      parts.push_back(std::move(*f));
    } while (accept_word("and") || accept("&&"));
    if (parts.size() == 1) return std::move(parts[0]);
    return Filter::and_(std::move(parts));
  }

  Result<Filter> parse_unary(size_t depth) {
    if (depth > Filter::kMaxDepth) return error("filter nests too deeply");
    skip_space();
    if (accept_word("not") || (peek_bang() && accept("!"))) {
      auto f = parse_unary(depth + 1);
      if (!f) return f;
      return Filter::not_(std::move(*f));
    }
    if (accept("(")) {
      auto f = parse_or(depth + 1);
      if (!f) return f;
      if (!accept(")")) return error("expected ')'");
      return f;
    }
    if (accept_word("true")) return Filter::and_({});
    if (accept_word("false")) return Filter::or_({});
    return parse_test();
  }

  bool peek_bang() const {
    return pos_ < text_.size() && text_[pos_] == '!' &&
           (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '=');
  }

  Result<std::string> parse_field() {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '`') {
      size_t end = text_.find('`', pos_ + 1);
      if (end == std::string_view::npos) return error("unterminated `field name`");
      std::string name(text_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return name;
    }
    if (pos_ >= text_.size() ||
        !(std::isalpha(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      return error(pos_ >= text_.size() ? "expected a field name, found the end"
                                        : "expected a field name");
    }
    size_t start = pos_;
    while (pos_ < text_.size() && is_word_char(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<Filter> parse_test() {
    auto field = parse_field();
    if (!field) return field.status();
    if (accept_word("in")) {
      if (!accept("(")) return error("expected '(' after in");
      std::vector<Value> values;
      if (!accept(")")) {
        do {
          if (values.size() >= Filter::kMaxNodes) return error("in-list is too long");
          auto v = parse_literal();
          if (!v) return v.status();
          values.push_back(std::move(*v));
        } while (accept(","));
        if (!accept(")")) return error("expected ',' or ')' in the in-list");
      }
      return Filter::in(std::move(*field), std::move(values));
    }
    using Op = Filter::Op;
    Op op;
    if (accept("==") || accept("=")) {
      op = Op::kEq;
    } else if (accept("!=") || accept("<>")) {
      op = Op::kNe;
    } else if (accept("<=")) {
      op = Op::kLe;
    } else if (accept(">=")) {
      op = Op::kGe;
    } else if (accept("<")) {
      op = Op::kLt;
    } else if (accept(">")) {
      op = Op::kGt;
    } else {
      return Filter::eq(std::move(*field), true);  // a bare field tests for true
    }
    auto v = parse_literal();
    if (!v) return v.status();
    switch (op) {
      case Op::kEq: return Filter::eq(std::move(*field), std::move(*v));
      case Op::kNe: return Filter::ne(std::move(*field), std::move(*v));
      case Op::kLt: return Filter::lt(std::move(*field), std::move(*v));
      case Op::kLe: return Filter::le(std::move(*field), std::move(*v));
      case Op::kGt: return Filter::gt(std::move(*field), std::move(*v));
      default: return Filter::ge(std::move(*field), std::move(*v));
    }
  }

  Result<Value> parse_literal() {
    skip_space();
    if (pos_ >= text_.size()) return error("expected a value, found the end");
    char c = text_[pos_];
    if (c == '"' || c == '\'') return parse_string(c);
    if (accept_word("true")) return Value(true);
    if (accept_word("false")) return Value(false);
    if (accept_word("null")) return Value(nullptr);
    if (c == '-' || c == '+' || c == '.' || std::isdigit(static_cast<unsigned char>(c))) {
      return parse_number();
    }
    return error("expected a value (a \"string\", number, true, false or null)");
  }

  Result<Value> parse_string(char quote) {
    std::string out;
    size_t start = pos_++;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        char e = text_[pos_++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '0': out += '\0'; break;
          default: out += e; break;
        }
      } else {
        out += c;
      }
    }
    if (pos_ >= text_.size()) {
      pos_ = start;
      return error("unterminated string");
    }
    ++pos_;
    return Value(std::move(out));
  }

  Result<Value> parse_number() {
    size_t start = pos_;
    if (text_[pos_] == '+' || text_[pos_] == '-') ++pos_;
    bool is_double = false;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E') {
        is_double = true;
        ++pos_;
        if ((c == 'e' || c == 'E') && pos_ < text_.size() &&
            (text_[pos_] == '+' || text_[pos_] == '-')) {
          ++pos_;
        }
      } else {
        break;
      }
    }
    std::string token(text_.substr(start, pos_ - start));
    const char* first = token.c_str();
    if (*first == '+') ++first;
    const char* last = token.c_str() + token.size();
    if (!is_double) {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(first, last, v);
      if (ec == std::errc() && end == last) return Value(v);
      pos_ = start;
      return error(ec == std::errc::result_out_of_range ? "integer out of range"
                                                        : "malformed number");
    }
    char* end = nullptr;
    double d = std::strtod(first, &end);
    if (end != last || !std::isfinite(d)) {
      pos_ = start;
      return error("malformed number");
    }
    return Value(d);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool is_plain_field(const std::string& f) {
  if (f.empty() || !(std::isalpha(static_cast<unsigned char>(f[0])) || f[0] == '_')) return false;
  for (char c : f) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  }
  static constexpr std::string_view kKeywords[] = {"and",  "or",    "not", "in",
                                                   "true", "false", "null"};
  for (std::string_view k : kKeywords) {
    if (f.size() == k.size()) {
      bool same = true;
      for (size_t i = 0; i < k.size(); ++i) {
        same = same && std::tolower(static_cast<unsigned char>(f[i])) == k[i];
      }
      if (same) return false;
    }
  }
  return true;
}

void print(const Filter& f, std::string& out) {
  using Op = Filter::Op;
  auto field = [&] {
    if (is_plain_field(f.field())) {
      out += f.field();
    } else {
      out += '`';
      out += f.field();
      out += '`';
    }
  };
  auto join = [&](std::string_view sep, std::string_view empty) {
    if (f.operands().empty()) {
      out += empty;
      return;
    }
    out += '(';
    for (size_t i = 0; i < f.operands().size(); ++i) {
      if (i) out += sep;
      print(f.operands()[i], out);
    }
    out += ')';
  };
  static constexpr const char* kOps[] = {" = ", " != ", " < ", " <= ", " > ", " >= "};
  switch (f.op()) {
    case Op::kAnd: join(" and ", "true"); return;
    case Op::kOr: join(" or ", "false"); return;
    case Op::kNot:
      out += "not ";
      print(f.operands()[0], out);
      return;
    case Op::kIn:
      field();
      out += " in (";
      for (size_t i = 0; i < f.values().size(); ++i) {
        if (i) out += ", ";
        out += f.values()[i].to_string();
      }
      out += ')';
      return;
    default:
      field();
      out += kOps[static_cast<int>(f.op())];
      out += f.values()[0].to_string();
      return;
  }
}

}  // namespace

Result<Filter> Filter::parse(std::string_view text) { return Parser(text).parse(); }

std::string Filter::to_string() const {
  std::string out;
  print(*this, out);
  return out;
}

}  // namespace iqdb
