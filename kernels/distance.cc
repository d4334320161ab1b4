// Dynamic dispatch for the f32 distance kernels of distance.h.
//
// foreach_target.h re-includes this file once per target in HWY_TARGETS, each
// time with HWY_NAMESPACE naming that target (N_AVX3, N_AVX2, ...). Each pass
// builds that target's DistanceKernels table from the loops in
// distance-inl.h. The final pass (HWY_ONCE) exports the per-target
// `target_kernels` functions and chooses among them at run time.
//
// Callers pay for dispatch once: they fetch a table and call through its
// function pointers, so the hot loops see no per-call target check.

#include "kernels/distance.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/distance.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/distance-inl.h"

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {

// This target's table; built on first use, immutable afterwards.
const DistanceKernels* target_kernels() {
  static const DistanceKernels kTable = {
      hwy::TargetName(HWY_TARGET), &pair_kernel<L2SquaredOp>,   &pair_kernel<DotOp>,
      &pair_kernel<L1Op>,          &pair_kernel<HammingOp>,     &pair_kernel<SquaredNormOp>,
      &block_kernel<L2SquaredOp>,  &block_kernel<DotOp>,        &block_kernel<L1Op>,
      &block_kernel<HammingOp>,    &gather_kernel<L2SquaredOp>, &gather_kernel<DotOp>,
      &gather_kernel<L1Op>,        &gather_kernel<HammingOp>,
  };
  return &kTable;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/target_tables.h"

IQDB_KERNELS_EXPORT_TABLES(DistanceKernels, target_kernels, active_kernels, runnable_kernels)

namespace iqdb::kernels {

std::vector<const char*> compiled_target_names() {
  std::vector<const char*> names;
  for (int64_t targets = HWY_TARGETS; targets != 0; targets &= targets - 1) {
    names.push_back(hwy::TargetName(targets & -targets));
  }
  return names;
}

}  // namespace iqdb::kernels
#endif  // HWY_ONCE
