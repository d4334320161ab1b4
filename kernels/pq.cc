// PQ and k-means kernels of pq.h, compiled once per Highway target.
//
// foreach_target.h re-includes this file once per target in HWY_TARGETS
// (HWY_NAMESPACE names the target); each pass builds that target's PqKernels
// table from the per-target bodies in kmeans-inl.h (k-means assignment),
// pq8-inl.h (8-bit PQ tables, encoding and scan) and fs4-inl.h (4-bit fast
// scan). The final pass (HWY_ONCE) exports the per-target table getters and
// picks one at run time, exactly like distance.cc.

#include "kernels/pq.h"

#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/pq.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/fs4-inl.h"
#include "kernels/kmeans-inl.h"
#include "kernels/pq8-inl.h"

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {

// This target's table; built on first use, immutable afterwards.
const PqKernels* target_pq_kernels() {
  static const PqKernels kTable = {
      hwy::TargetName(HWY_TARGET), &nearest_l2_kernel, &l2_table_kernel,
      &neg_dot_table_kernel,       &assign_kernel,     &pq8_scan_kernel,
      &fs4_quantize_kernel,        &fs4_l2_lut_kernel, &fs4_scan_kernel,
  };
  return &kTable;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/target_tables.h"

IQDB_KERNELS_EXPORT_TABLES(PqKernels, target_pq_kernels, active_pq_kernels, runnable_pq_kernels)
#endif  // HWY_ONCE
