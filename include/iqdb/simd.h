// Which SIMD instruction set iqdb's distance kernels run on.
#pragma once

#include <string>
#include <vector>

#include "iqdb/export.h"

namespace iqdb {

// The Highway target chosen at run time for this CPU, e.g. "AVX3_DL", "AVX3",
// "AVX2", "SSE4", "NEON", "EMU128". Stable for the life of the process.
IQDB_EXPORT std::string simd_target();

// Every target compiled into this build, best first.
IQDB_EXPORT std::vector<std::string> simd_compiled_targets();

}  // namespace iqdb
