// Tests for run-time dispatch: every kernel family runs the same target, the
// best one Highway's SupportedTargets() reports, however the process asked
// Highway about targets before; on 64-bit Arm Linux that target is the one
// built for the CPU's SVE vector length, read from the kernel (prctl), not
// from Highway.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <hwy/targets.h>

#include "kernels/distance.h"
#include "kernels/gemm.h"
#include "kernels/pq.h"
#include "kernels/sq8.h"
#include "kernels/typed.h"

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#endif

namespace iqdb::kernels {
namespace {

std::string best_runnable_target() {
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  REQUIRE_FALSE(targets.empty());
  return hwy::TargetName(targets.front());
}

TEST_CASE("every kernel family runs the best target, whatever asked Highway first") {
  // Highway 1.0.3's SupportedTargets() primes its own dispatch cache without
  // the vector-length-specific Arm targets; asking it first, and again after
  // the kernels chose, must not change what the kernels run.
  static_cast<void>(hwy::SupportedTargets());
  const std::string best = best_runnable_target();
  CHECK(std::string(active_kernels().target) == best);
  CHECK(std::string(active_sq8_kernels().target) == best);
  CHECK(std::string(active_pq_kernels().target) == best);
  CHECK(std::string(active_gemm_kernels().target) == best);
  CHECK(std::string(active_typed_kernels().target) == best);
  static_cast<void>(hwy::SupportedTargets());
  CHECK(best_runnable_target() == best);
  CHECK(std::string(active_kernels().target) == best);
}

#if defined(__aarch64__) && defined(__linux__)
// The Highway target bit named `name`, or 0.
int64_t target_bit(const std::string& name) {
  for (int bit = 0; bit < 63; ++bit) {
    if (name == hwy::TargetName(int64_t{1} << bit)) return int64_t{1} << bit;
  }
  return 0;
}

TEST_CASE("on 64-bit Arm the kernels run the target built for the CPU's vector length") {
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  const bool sve = (hwcap & HWCAP_SVE) != 0;
  // Highway's SVE2 target also needs the SVE AES instructions.
  const bool sve2 = sve && (hwcap2 & HWCAP2_SVE2) != 0 && (hwcap2 & HWCAP2_SVEAES) != 0;
  std::string expected = "NEON";
  if (sve) {
    const int vector_bytes = prctl(PR_SVE_GET_VL) & PR_SVE_VL_LEN_MASK;
    CAPTURE(vector_bytes);
    if (sve2 && vector_bytes == 16) {
      expected = "SVE2_128";
    } else if (vector_bytes == 32) {
      expected = "SVE_256";
    } else {
      expected = sve2 ? "SVE2" : "SVE";
    }
  } else if ((hwcap & HWCAP_AES) == 0) {
    MESSAGE("no AES: Highway 1.0.3 has no NEON target for this CPU");
    return;
  }
  // IQDB_TEST_MAX_TARGET (tests/test_main.cpp) asks Highway for its targets
  // before anything dispatches; a cap at or below the expected target leaves
  // the choice to the CPU.
  if (const char* cap = std::getenv("IQDB_TEST_MAX_TARGET"); cap != nullptr && *cap != 0) {
    if (target_bit(expected) < target_bit(cap)) {
      MESSAGE("IQDB_TEST_MAX_TARGET=" << cap << " masks " << expected);
      return;
    }
  }
  CHECK(std::string(active_kernels().target) == expected);
  CHECK(std::string(active_typed_kernels().target) == expected);
}
#endif

}  // namespace
}  // namespace iqdb::kernels
