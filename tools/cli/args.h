// Command-line parsing for the iqdb subcommands.
//
// Each command declares its options; anything else starting with '-' is a
// usage error naming the option. `--name value` and `--name=value` both
// work; a value may itself start with '-' (--vector '-0.5,1'). "--" ends
// the options. `-h` / `--help` are always accepted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iqdb::cli {

struct OptionSpec {
  const char* name;   // "--dim"
  const char* alias;  // "-k", or nullptr
  bool takes_value;
};

class Args {
 public:
  // Throws CliError(kUsage) on an unknown option or a missing value.
  Args(std::string_view command, std::span<char* const> argv, std::span<const OptionSpec> specs);

  bool help() const { return help_; }
  bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  std::optional<std::string> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string_view fallback) const;
  // A decimal integer in [min, max]; the default when absent.
  uint64_t get_u64(std::string_view name, uint64_t fallback, uint64_t min = 0,
                   uint64_t max = UINT64_MAX) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Between min and max positional words, described by `what` ("PATH ID..."),
  // else a usage error.
  void expect_positional(size_t min, size_t max, std::string_view what) const;

 private:
  std::string command_;
  std::map<std::string, std::string> values_;  // canonical name -> value ("" for flags)
  std::vector<std::string> positional_;
  bool help_ = false;
};

// Parses a decimal integer in [min, max]; `what` names it in the error.
uint64_t parse_u64(std::string_view text, std::string_view what, uint64_t min = 0,
                   uint64_t max = UINT64_MAX);

// Parses a comma-separated list of integers ("16,32,64").
std::vector<uint64_t> parse_u64_list(std::string_view text, std::string_view what);

}  // namespace iqdb::cli
