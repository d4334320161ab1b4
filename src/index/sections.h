// How an index saves itself into, and loads itself from, named byte
// sections of a snapshot, without knowing about files (index/ never opens a
// file; the database connects these interfaces to storage/).
//
// Section kinds are small integers; each index owns a range (see kinds
// below) so kinds never collide in one snapshot.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "iqdb/status.h"
#include "util/arena.h"

namespace iqdb::index {

namespace section {
// Vector store: 1..15.
inline constexpr uint32_t kStoreInfo = 1;
inline constexpr uint32_t kRows = 2;
inline constexpr uint32_t kInvNorms = 3;
inline constexpr uint32_t kIds = 4;
inline constexpr uint32_t kMetadata = 5;
inline constexpr uint32_t kSlots = 6;
inline constexpr uint32_t kSqNorms = 7;
inline constexpr uint32_t kCodes = 8;
inline constexpr uint32_t kSq8Params = 9;
inline constexpr uint32_t kPayloadIndex = 10;
// HNSW: 16..31.
inline constexpr uint32_t kHnswFirst = 16;
// IVF: 32..47.
inline constexpr uint32_t kIvfFirst = 32;
}  // namespace section

// Receives sections while a snapshot is written.
class SectionSink {
 public:
  virtual ~SectionSink() = default;
  // `bytes` must stay valid until the snapshot is written (the sink may
  // stream it later). Call at most once per kind.
  virtual void add(uint32_t kind, std::span<const uint8_t> bytes) = 0;
  // For bytes built on the fly: the sink keeps the string.
  virtual void add_owned(uint32_t kind, std::string bytes) = 0;
};

// Hands out the sections of an opened snapshot.
class SectionSource {
 public:
  virtual ~SectionSource() = default;
  // The section's bytes (valid as long as the source), or kCorruption when
  // the snapshot has no such section.
  virtual Result<std::span<const uint8_t>> bytes(uint32_t kind) const = 0;
  virtual bool has(uint32_t kind) const = 0;
  // Puts the section's bytes at the start of an empty arena: mapped in
  // place (copy-on-write) when stored uncompressed, copied otherwise.
  virtual Status adopt(uint32_t kind, util::Arena& arena) const = 0;
};

}  // namespace iqdb::index
