// A fresh directory under the system temp dir, removed with its contents
// when the object dies. For tests that need real files.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

#include "util/file.h"

namespace iqdb::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("iqdb-test-" + std::to_string(util::process_id()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace iqdb::testing
