#include "iqdb/simd.h"

#include "iqdb/version.h"
#include "iqdb_build_config.h"
#include "kernels/distance.h"

namespace iqdb {

std::string simd_target() { return kernels::active_kernels().target; }

std::vector<std::string> simd_compiled_targets() {
  std::vector<std::string> out;
  for (const char* name : kernels::compiled_target_names()) out.emplace_back(name);
  return out;
}

const char* version() { return IQDB_VERSION; }

}  // namespace iqdb
