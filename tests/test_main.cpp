// The doctest entry point for every suite.
//
// IQDB_TEST_MAX_TARGET=<Highway target name> (e.g. AVX2) runs the suite as a
// CPU whose best instruction set is that target would: every better target
// is disabled before anything dispatches, so an AVX-512 machine also proves
// the AVX2-only path. Unknown names fail the run rather than test the
// wrong thing.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <hwy/targets.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

// The Highway target bit named `name`, or 0.
int64_t target_bit(std::string_view name) {
  for (int bit = 0; bit < 63; ++bit) {
    const int64_t target = int64_t{1} << bit;
    if (name == hwy::TargetName(target)) return target;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* name = std::getenv("IQDB_TEST_MAX_TARGET"); name != nullptr && *name != 0) {
    const int64_t target = target_bit(name);
    if (target == 0) {
      std::fprintf(stderr, "IQDB_TEST_MAX_TARGET=%s names no Highway target\n", name);
      return 2;
    }
    // Highway numbers targets best first: every lower bit is a better one.
    // The kernels choose from SupportedTargets(), which honours the mask.
    hwy::DisableTargets(target - 1);
    if ((hwy::SupportedTargets() & (target - 1)) != 0) {
      std::fprintf(stderr,
                   "IQDB_TEST_MAX_TARGET=%s: a better target is compiled in as the baseline\n",
                   name);
      return 2;
    }
    std::fprintf(stderr, "testing with targets up to %s\n", name);
  }
  doctest::Context context(argc, argv);
  return context.run();
}
