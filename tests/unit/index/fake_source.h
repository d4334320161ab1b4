// Snapshot sections held in memory, for index save/load tests: FakeSink
// collects what a save writes; FakeSource hands sections out as a
// SectionSource, adopting like a mapping would (the rest of the
// last page holds unrelated bytes, so a loader that reads past a section's
// end sees garbage, not zeros).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "index/sections.h"
#include "util/arena.h"

namespace iqdb::testing {

class FakeSink : public index::SectionSink {
 public:
  void add(uint32_t kind, std::span<const uint8_t> bytes) override {
    sections[kind].assign(bytes.begin(), bytes.end());
  }
  void add_owned(uint32_t kind, std::string bytes) override {
    sections[kind].assign(bytes.begin(), bytes.end());
  }
  std::map<uint32_t, std::vector<uint8_t>> sections;
};

class FakeSource : public index::SectionSource {
 public:
  explicit FakeSource(std::map<uint32_t, std::vector<uint8_t>> s) : sections(std::move(s)) {}
  Result<std::span<const uint8_t>> bytes(uint32_t kind) const override {
    auto it = sections.find(kind);
    if (it == sections.end()) return Status::Corruption("no such section");
    return std::span<const uint8_t>(it->second);
  }
  bool has(uint32_t kind) const override { return sections.count(kind) != 0; }
  Status adopt(uint32_t kind, util::Arena& arena) const override {
    auto it = sections.find(kind);
    if (it == sections.end()) return Status::Corruption("no such section");
    IQDB_RETURN_IF_ERROR(arena.grow(it->second.size()));
    if (it->second.empty()) return Status::OK();
    std::memcpy(arena.data(), it->second.data(), it->second.size());
    std::memset(arena.data() + it->second.size(), 0xA5,
                arena.committed_bytes() - it->second.size());
    return Status::OK();
  }
  std::map<uint32_t, std::vector<uint8_t>> sections;
};

}  // namespace iqdb::testing
