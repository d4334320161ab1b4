// The per-target tables behind a HWY_EXPORT, for tests and benchmarks that
// run every compiled target. Include in the HWY_ONCE part of a kernels .cc.
//
// A table is read straight from the export table rather than by
// re-targeting HWY_DYNAMIC_DISPATCH: changing the chosen target
// (SetSupportedTargetsForTest) is process-wide and would race with other
// threads' dispatch. The index computation mirrors hwy::ChosenTarget::GetIndex
// (Highway 1.0.x layout: slot 0 initialises dispatch, then one slot per
// dynamic target, then EMU128/SCALAR last). The unit tests check that every
// table returned names the target it was asked for, so a change of layout
// in a future Highway fails loudly.
#pragma once

#include <hwy/highway.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::kernels {

// The table of one target bit of HWY_TARGETS; `dispatch` is
// HWY_DISPATCH_TABLE(name) of a function returning a table pointer.
template <class Getter, size_t N>
auto table_for_target(Getter const (&dispatch)[N], int64_t target) {
#if HWY_IDE || ((HWY_TARGETS & (HWY_TARGETS - 1)) == 0)
  // Only one target compiled: the export table has a single entry.
  static_cast<void>(target);
  return dispatch[0]();
#else
  int64_t chosen_mask = HWY_CHOSEN_TARGET_SHIFT(target);
  if (chosen_mask == 0) chosen_mask = HWY_CHOSEN_TARGET_MASK_SCALAR;
  const size_t index = hwy::Num0BitsBelowLS1Bit_Nonzero64(static_cast<uint64_t>(chosen_mask));
  return dispatch[index]();
#endif
}

// The table of every target this CPU runs, best first.
template <class Getter, size_t N>
auto runnable_tables(Getter const (&dispatch)[N]) {
  std::vector<decltype(dispatch[0]())> tables;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    tables.push_back(table_for_target(dispatch, target));
  }
  return tables;
}

// The table of the best target this CPU runs, from the same
// SupportedTargets() set as runnable_tables. Used instead of
// HWY_DYNAMIC_DISPATCH, whose choice (hwy::GetChosenTarget()) depends on
// what ran first in the process:
//   - it is fixed by whichever call first detects the CPU and ignores a
//     later hwy::DisableTargets, while SupportedTargets() always honours it;
//   - on Arm, Highway 1.0.3's SupportedTargets() initialises the chosen
//     target before adding the vector-length-specific targets (SVE_256 at
//     256 bits, SVE2_128 at 128 bits), so if anything calls it before the
//     first HWY_DYNAMIC_DISPATCH, dispatch keeps plain SVE/SVE2.
// SupportedTargets() itself always includes the length-specific targets, so
// best_table picks the same target whatever ran before it, and the kernels
// never read or change hwy::GetChosenTarget().
template <class Getter, size_t N>
auto best_table(Getter const (&dispatch)[N]) {
  return table_for_target(dispatch, hwy::SupportedAndGeneratedTargets().front());
}

}  // namespace iqdb::kernels

// Defines, in namespace iqdb::kernels, the two entry points of a kernel
// family from its per-target getter `getter` (a function returning
// `const Table*`, defined in every HWY_NAMESPACE pass):
//   - `const Table& active()`: the best_table, chosen on first call and then
//     fixed for the life of the process, so a later hwy::DisableTargets does
//     not change the kernels an index already uses;
//   - `std::vector<const Table*> runnable()`: the runnable_tables.
// Expand once per kernels .cc, at file scope in its `#if HWY_ONCE` part
// (after HWY_AFTER_NAMESPACE()).
#define IQDB_KERNELS_EXPORT_TABLES(Table, getter, active, runnable)                            \
  namespace iqdb::kernels {                                                                    \
  HWY_EXPORT(getter);                                                                          \
  const Table& active() {                                                                      \
    static const Table* const kActive = best_table(HWY_DISPATCH_TABLE(getter));                \
    return *kActive;                                                                           \
  }                                                                                            \
  std::vector<const Table*> runnable() { return runnable_tables(HWY_DISPATCH_TABLE(getter)); } \
  }  // namespace iqdb::kernels
