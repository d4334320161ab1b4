// What the platform files (file_posix.cpp, file_win32.cpp) share with the
// portable half of the file layer (file.cpp). Private to util/.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "iqdb/status.h"

namespace iqdb::util::detail {

// A Status for the errno value `err` from `what` on `path`: kNotFound for
// ENOENT, kResourceExhausted for ENOMEM, kIOError otherwise.
Status errno_status(int err, std::string_view what, const std::filesystem::path& path);

// The OS's mapping granularity, before any test override.
size_t os_mapping_granularity() noexcept;

}  // namespace iqdb::util::detail
