// HnswIndex: saving to and loading from snapshot sections.
//
// Format (version 1). All integers little-endian. Kinds are
// section::kHnswFirst + offset:
//
//   +0 header   u64 magic "IQDBHNSW" (0x57534E4842445149)
//               u32 format version (1)
//               u32 m, u32 dim, u8 metric, u8 has_codes (0/1), u16 zero
//               u32 capacity      records in the arrays below
//               u32 node_count    records with present = 1
//               u32 entry_slot    0xFFFFFFFF when the graph is empty
//               u32 entry_level
//               u64 upper_words   u32 words in section +3
//               u32 n, then n bytes of SQ8 grid parameters (n = 0 when
//               has_codes = 0; layout in Sq8Codes::params)
//   +1 level 0  capacity records of (1 + 2m) u32: head (bits 0..15 link
//               count, bits 16..31 seqlock version, bit 16 must be clear),
//               then 2m link slots (only the first `count` are meaningful)
//   +2 nodes    capacity NodeInfo records of 8 bytes: u32 upper_offset,
//               u8 level, u8 present, u16 zero
//   +3 upper    upper_words u32: per node with level L > 0, L blocks of
//               (1 + m) words [count, m link slots] at upper_offset
//   +4 codes    capacity rows of Sq8Codes::stride_bytes() (has_codes only)
//   +5 radii    capacity f32 rounding radii of the code rows (has_codes only;
//               finite and >= 0 for every present node)
//
// Sections +1..+5 are the in-memory arrays byte for byte, so a reopened
// index adopts them in place (SectionSource::adopt maps them copy-on-write)
// instead of rebuilding. That makes the format little-endian-host only.
//
// Loading trusts nothing: sizes must match the header exactly, every node
// record, upper block (in bounds, no overlap), link (in range, not self,
// to a present node that has the level) and the entry point (a node on the
// top level) is checked, and graph nodes must be exactly the store's live
// rows. Any violation is kCorruption; a different m, dim or metric is
// kConfigMismatch.

#include <bit>
#include <limits>
#include <string>

#include "index/hnsw.h"
#include "index/hnsw_graph.h"
#include "index/hnsw_internal.h"
#include "index/hnsw_sq8.h"
#include "util/coding.h"

namespace iqdb::index {

static_assert(std::endian::native == std::endian::little,
              "HNSW sections are adopted in place: little-endian hosts only");

using hnsw::HnswGraph;
using hnsw::NodeInfo;

namespace {

constexpr uint64_t kMagic = 0x5753'4E48'4244'5149ull;  // "IQDBHNSW"
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kHeader = section::kHnswFirst + 0;
constexpr uint32_t kLevel0 = section::kHnswFirst + 1;
constexpr uint32_t kNodes = section::kHnswFirst + 2;
constexpr uint32_t kUpper = section::kHnswFirst + 3;
constexpr uint32_t kCodes = section::kHnswFirst + 4;
constexpr uint32_t kRadii = section::kHnswFirst + 5;
constexpr uint32_t kCountMask = 0xFFFFu;
constexpr uint32_t kLockBit = 1u << 16;

struct Header {
  uint32_t m = 0, dim = 0;
  uint8_t metric = 0, has_codes = 0;
  uint32_t capacity = 0, node_count = 0, entry_slot = kNoSlot, entry_level = 0;
  uint64_t upper_words = 0;
  std::span<const uint8_t> params;
};

Result<Header> parse_header(std::span<const uint8_t> bytes) {
  util::ByteReader in(bytes);
  Header h;
  uint64_t magic;
  uint32_t version;
  uint16_t zero;
  if (!in.read_u64(&magic) || !in.read_u32(&version)) return in.overrun("HNSW header");
  if (magic != kMagic) return Status::Corruption("HNSW header: bad magic");
  if (version != kFormatVersion) {
    return Status::Corruption("HNSW header: unknown format version " + std::to_string(version));
  }
  if (!in.read_u32(&h.m) || !in.read_u32(&h.dim) || !in.read_u8(&h.metric) ||
      !in.read_u8(&h.has_codes) || !in.read_u16(&zero) || !in.read_u32(&h.capacity) ||
      !in.read_u32(&h.node_count) || !in.read_u32(&h.entry_slot) || !in.read_u32(&h.entry_level) ||
      !in.read_u64(&h.upper_words) || !in.read_length_prefixed(&h.params)) {
    return in.overrun("HNSW header");
  }
  if (!in.at_end()) return Status::Corruption("HNSW header has trailing bytes");
  if (zero != 0 || h.has_codes > 1) return Status::Corruption("HNSW header: bad flags");
  if (h.capacity > hnsw::kMaxSlots || h.node_count > h.capacity || h.upper_words > UINT32_MAX) {
    return Status::Corruption("HNSW header: sizes out of range");
  }
  if ((h.has_codes == 0) != h.params.empty()) {
    return Status::Corruption("HNSW header: code parameters disagree with the codes flag");
  }
  return h;
}

// Adopts section `kind` into `arena` after checking it holds exactly
// `expected` bytes.
Status adopt_exact(const SectionSource& source, uint32_t kind, uint64_t expected,
                   util::Arena& arena, const char* what) {
  auto bytes = source.bytes(kind);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != expected) {
    return Status::Corruption(std::string("HNSW ") + what + " section has " +
                              std::to_string(bytes->size()) + " bytes, expected " +
                              std::to_string(expected));
  }
  return source.adopt(kind, arena);
}

}  // namespace

void HnswIndex::save(SectionSink& sink) const {
  const uint32_t capacity = graph_->capacity();
  const bool has_codes = uses_sq8() && !codes_->borrowed();
  const EntryPoint ep = entry();
  std::string header;
  util::put_u64(header, kMagic);
  util::put_u32(header, kFormatVersion);
  util::put_u32(header, static_cast<uint32_t>(config_.m));
  util::put_u32(header, static_cast<uint32_t>(store_->dim()));
  util::put_u8(header, static_cast<uint8_t>(store_->metric()));
  util::put_u8(header, has_codes ? 1 : 0);
  util::put_u16(header, 0);
  util::put_u32(header, capacity);
  util::put_u32(header, static_cast<uint32_t>(size()));
  util::put_u32(header, ep.slot);
  util::put_u32(header, ep.slot == kNoSlot ? 0 : ep.level);
  util::put_u64(header, graph_->upper_words_used());
  util::put_length_prefixed(header, has_codes ? codes_->params() : std::string());
  sink.add_owned(kHeader, std::move(header));
  sink.add(kLevel0, graph_->level0_bytes());
  sink.add(kNodes, graph_->node_bytes());
  sink.add(kUpper, graph_->upper_bytes());
  if (has_codes) {
    sink.add(kCodes, codes_->code_bytes(capacity));
    sink.add(kRadii, codes_->radius_bytes(capacity));
  }
}

Result<HnswIndex> HnswIndex::load(const VectorStore& store, const HnswConfig& config,
                                  const SectionSource& source) {
  return load(store, config, source, Options{});
}

Result<HnswIndex> HnswIndex::load(const VectorStore& store, const HnswConfig& config,
                                  const SectionSource& source, const Options& options) {
  auto header_bytes = source.bytes(kHeader);
  if (!header_bytes.ok()) return header_bytes.status();
  auto parsed = parse_header(*header_bytes);
  if (!parsed.ok()) return parsed.status();
  const Header& h = *parsed;
  HnswIndex index(store, config, options);
  if (h.m != index.config_.m || h.dim != store.dim() ||
      h.metric != static_cast<uint8_t>(store.metric())) {
    return Status::ConfigMismatch("HNSW snapshot was built with another m, dim or metric");
  }
  HnswGraph& graph = *index.graph_;
  const uint64_t stride_bytes = graph.level0_stride_words() * sizeof(uint32_t);
  util::Arena level0, nodes, upper;
  IQDB_RETURN_IF_ERROR(adopt_exact(source, kLevel0, h.capacity * stride_bytes, level0, "level-0"));
  IQDB_RETURN_IF_ERROR(
      adopt_exact(source, kNodes, h.capacity * uint64_t{sizeof(NodeInfo)}, nodes, "node"));
  IQDB_RETURN_IF_ERROR(
      adopt_exact(source, kUpper, h.upper_words * sizeof(uint32_t), upper, "upper-level"));
  const bool use_codes = h.has_codes && index.own_codes();
  if (h.has_codes) {
    if (!index.codes_->supported() || store.storage().type != StorageType::kF32) {
      return Status::Corruption("HNSW codes for a metric or store that does not use them");
    }
    IQDB_RETURN_IF_ERROR(index.codes_->set_params(h.params));
  }
  if (use_codes) {
    util::Arena codes, radii;
    IQDB_RETURN_IF_ERROR(adopt_exact(
        source, kCodes, uint64_t{h.capacity} * index.codes_->stride_bytes(), codes, "code"));
    IQDB_RETURN_IF_ERROR(
        adopt_exact(source, kRadii, uint64_t{h.capacity} * sizeof(float), radii, "radius"));
    index.codes_->adopt(std::move(codes), std::move(radii));
  }
  graph.adopt(std::move(level0), std::move(nodes), std::move(upper), h.capacity,
              static_cast<size_t>(h.upper_words));

  // ---- Node records and upper blocks.
  const uint32_t cap = h.capacity;
  const size_t block_words = graph.upper_block_words();
  std::vector<uint8_t> upper_used(static_cast<size_t>(h.upper_words), 0);
  std::vector<uint32_t> links(graph.max_links(0));
  uint32_t present = 0, top = 0;
  for (uint32_t slot = 0; slot < cap; ++slot) {
    const NodeInfo& node = graph.info(slot);
    const auto head_bytes = graph.level0_bytes().subspan(slot * stride_bytes, 4);
    const uint32_t head = util::decode_u32(head_bytes.data());
    if ((head & kLockBit) != 0) return Status::Corruption("HNSW node saved while locked");
    if (node.present > 1 || node.reserved != 0 || node.level > hnsw::kMaxLevel) {
      return Status::Corruption("HNSW node record " + std::to_string(slot) + " is malformed");
    }
    if (!node.present) {
      if (node.level != 0 || node.upper_offset != 0 || (head & kCountMask) != 0) {
        return Status::Corruption("HNSW absent node " + std::to_string(slot) + " has links");
      }
      continue;
    }
    if (!store.is_live(slot)) {
      return Status::Corruption("HNSW node " + std::to_string(slot) + " is not a live row");
    }
    if ((head & kCountMask) > graph.max_links(0)) {
      return Status::Corruption("HNSW level-0 list of " + std::to_string(slot) + " is over-full");
    }
    if (use_codes && !(index.codes_->radius(slot) >= 0.0f &&
                       index.codes_->radius(slot) <= std::numeric_limits<float>::max())) {
      return Status::Corruption("HNSW code radius of " + std::to_string(slot) + " is not valid");
    }
    ++present;
    top = std::max<uint32_t>(top, node.level);
    if (node.level == 0) continue;
    const uint64_t words = uint64_t{node.level} * block_words;
    if (!util::range_fits(node.upper_offset, words, h.upper_words)) {
      return Status::Corruption("HNSW upper block of " + std::to_string(slot) + " is out of range");
    }
    for (uint64_t w = node.upper_offset; w < node.upper_offset + words; ++w) {
      if (upper_used[w]++ != 0) return Status::Corruption("HNSW upper blocks overlap");
    }
  }
  if (present != h.node_count) return Status::Corruption("HNSW node count disagrees");
  for (uint32_t slot = 0; slot < store.slot_end(); ++slot) {
    if (store.is_live(slot) && (slot >= cap || !graph.info(slot).present)) {
      return Status::Corruption("HNSW graph lacks live row " + std::to_string(slot));
    }
  }
  // ---- Links (upper counts checked before any read through them). Level
  // 0 holds nearly all of them: its lists are read straight from the
  // adopted array (counts were checked above), a tight loop over ~2M words
  // for 60k nodes at M=16.
  const uint32_t* level0_words = reinterpret_cast<const uint32_t*>(graph.level0_bytes().data());
  const size_t stride_words = graph.level0_stride_words();
  for (uint32_t slot = 0; slot < cap; ++slot) {
    if (!graph.info(slot).present) continue;
    const uint32_t* list = level0_words + size_t{slot} * stride_words;
    const uint32_t n = list[0] & kCountMask;
    bool bad = false;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t to = list[1 + i];
      bad |= to >= cap || to == slot;
      if (!bad) bad = !graph.info(to).present;
    }
    if (bad)
      return Status::Corruption("HNSW node " + std::to_string(slot) + " has a bad link at level 0");
  }
  for (uint32_t slot = 0; slot < cap; ++slot) {
    const NodeInfo& node = graph.info(slot);
    if (!node.present) continue;
    for (uint32_t level = 1; level <= node.level; ++level) {
      if (level > 0) {
        const auto upper_view = graph.upper_bytes().subspan(
            (node.upper_offset + (level - 1) * block_words) * sizeof(uint32_t), 4);
        if (util::decode_u32(upper_view.data()) > graph.max_links(level)) {
          return Status::Corruption("HNSW upper list of " + std::to_string(slot) + " is over-full");
        }
      }
      const size_t n = graph.links_locked(slot, level, links.data());
      for (size_t i = 0; i < n; ++i) {
        const uint32_t to = links[i];
        if (to >= cap || to == slot || !graph.info(to).present || graph.info(to).level < level) {
          return Status::Corruption("HNSW node " + std::to_string(slot) +
                                    " has a bad link at level " + std::to_string(level));
        }
      }
    }
  }
  // ---- Entry point.
  if (present == 0) {
    if (h.entry_slot != kNoSlot) return Status::Corruption("HNSW empty graph has an entry point");
  } else {
    if (h.entry_slot >= cap || !graph.info(h.entry_slot).present ||
        graph.info(h.entry_slot).level != h.entry_level || h.entry_level != top) {
      return Status::Corruption("HNSW entry point is not a node on the top level");
    }
    index.set_entry(h.entry_slot, h.entry_level);
  }
  index.sync_->count.store(present);
  if (use_codes) index.sync_->sq8_ready.store(true, std::memory_order_release);
  return index;
}

}  // namespace iqdb::index
