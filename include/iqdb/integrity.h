// Integrity: how far the checksums of a database's snapshot have been
// verified since it was opened.
//
// Opening verifies the snapshot's header, its compressed sections and its
// small ones at once; the big in-place sections (rows, the graph, IVF
// lists, ...) are checksummed by a background scrub that open starts, at a
// bounded rate and low priority. Until it finishes, a damaged byte in them
// can be served; once it finds damage, every call on the handle returns
// kCorruption naming the section, and no snapshot is ever written from it.
#pragma once

#include <cstdint>
#include <string>

namespace iqdb {

enum class IntegrityState : uint8_t {
  kVerified,    // every section's checksum matched (or nothing is on disk)
  kInProgress,  // the scrub is still reading sections
  kDamaged,     // a checksum did not match: `damage` names the section
  kStopped,     // the scrub was cancelled before it finished (close)
};

struct Integrity {
  IntegrityState state = IntegrityState::kVerified;
  // Bytes of the snapshot's sections checksummed so far, and in all
  // (counting those verified at open).
  uint64_t verified_bytes = 0;
  uint64_t total_bytes = 0;
  // When kDamaged: the section and the mismatch, safe to log.
  std::string damage;
};

// "verified", "in progress", "damaged" or "stopped".
inline const char* integrity_state_name(IntegrityState s) noexcept {
  switch (s) {
    case IntegrityState::kVerified: return "verified";
    case IntegrityState::kInProgress: return "in progress";
    case IntegrityState::kDamaged: return "damaged";
    case IntegrityState::kStopped: return "stopped";
  }
  return "unknown";
}

}  // namespace iqdb
