#include "cli/args.h"

#include <charconv>

#include "cli/cli.h"

namespace iqdb::cli {

Args::Args(std::string_view command, std::span<char* const> argv, std::span<const OptionSpec> specs)
    : command_(command) {
  auto find = [&](std::string_view word) -> const OptionSpec* {
    for (const OptionSpec& s : specs) {
      if (word == s.name || (s.alias != nullptr && word == s.alias)) return &s;
    }
    return nullptr;
  };
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string_view word = argv[i];
    if (options_done || word.size() < 2 || word[0] != '-' || word == "-") {
      positional_.emplace_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    if (word == "-h" || word == "--help") {
      help_ = true;
      continue;
    }
    std::string_view name = word;
    std::optional<std::string> inline_value;
    if (size_t eq = word.find('='); eq != std::string_view::npos && word.starts_with("--")) {
      name = word.substr(0, eq);
      inline_value = std::string(word.substr(eq + 1));
    }
    const OptionSpec* spec = find(name);
    if (spec == nullptr) {
      usage_error("unknown option " + std::string(name) + " (see: iqdb " + command_ + " --help)");
    }
    std::string value;
    if (spec->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        usage_error(std::string(spec->name) + " needs a value");
      }
    } else if (inline_value) {
      usage_error(std::string(spec->name) + " takes no value");
    }
    values_[spec->name] = std::move(value);
  }
}

std::optional<std::string> Args::get(std::string_view name) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(std::string_view name, std::string_view fallback) const {
  auto v = get(name);
  return v ? *v : std::string(fallback);
}

uint64_t Args::get_u64(std::string_view name, uint64_t fallback, uint64_t min, uint64_t max) const {
  auto v = get(name);
  if (!v) return fallback;
  return parse_u64(*v, name, min, max);
}

void Args::expect_positional(size_t min, size_t max, std::string_view what) const {
  if (positional_.size() < min || positional_.size() > max) {
    const std::string got = positional_.empty() ? "none" : std::to_string(positional_.size());
    usage_error("expected " + std::string(what) + " (got " + got + " arguments; see: iqdb " +
                command_ + " --help)");
  }
}

uint64_t parse_u64(std::string_view text, std::string_view what, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    usage_error(std::string(what) + ": '" + std::string(text) + "' is not a non-negative integer");
  }
  if (v < min || v > max) {
    usage_error(std::string(what) + ": " + std::to_string(v) + " is out of range (" +
                std::to_string(min) + ".." + std::to_string(max) + ")");
  }
  return v;
}

std::vector<uint64_t> parse_u64_list(std::string_view text, std::string_view what) {
  std::vector<uint64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(parse_u64(text.substr(start, end - start), what, 1));
    start = end + 1;
  }
  return out;
}

}  // namespace iqdb::cli
