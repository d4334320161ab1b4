// The library's version, as built.
#pragma once

#include "iqdb/export.h"

namespace iqdb {

// "MAJOR.MINOR.PATCH" of the linked library (may differ from the headers).
IQDB_EXPORT const char* version();

inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;

}  // namespace iqdb
