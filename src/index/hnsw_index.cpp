// HnswIndex: construction, entry point, capacity, SQ8 training and
// introspection. Insert, search, remove and persistence live in their own
// hnsw_*.cpp files.

#include <algorithm>
#include <cmath>
#include <string>

#include "exec/parallel.h"
#include "index/hnsw.h"
#include "index/hnsw_graph.h"
#include "index/hnsw_internal.h"
#include "index/hnsw_layer.h"
#include "index/hnsw_sq8.h"
#include "util/per_thread.h"

namespace iqdb::index {

using hnsw::HnswGraph;
using hnsw::NodeInfo;
using hnsw::Sq8Codes;

namespace hnsw {

namespace {
struct SearchTag;
struct BuildTag;
}  // namespace

Scratch& search_scratch() { return util::per_thread<Scratch, SearchTag>(); }

Scratch& build_scratch() { return util::per_thread<Scratch, BuildTag>(); }

}  // namespace hnsw

namespace {

uint64_t splitmix64(uint64_t x) noexcept {
  x += 0x9E37'79B9'7F4A'7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D0'49BB'1331'11EBull;
  return x ^ (x >> 31);
}

}  // namespace

HnswIndex::HnswIndex(const VectorStore& store, const HnswConfig& config)
    : HnswIndex(store, config, Options{}) {}

HnswIndex::HnswIndex(const VectorStore& store, const HnswConfig& config, const Options& options)
    : store_(&store),
      config_(config),
      options_(options),
      level_mult_(1.0 / std::log(static_cast<double>(std::max<size_t>(config.m, 2)))),
      graph_(std::make_unique<HnswGraph>(std::clamp<size_t>(config.m, 2, 256))),
      codes_(std::make_unique<Sq8Codes>(store.dim(), store.metric())),
      sync_(std::make_unique<Sync>()) {
  config_.m = graph_->m();
  if (!config_.quantized_walk) options_.sq8 = false;
  config_.ef_construction = std::max(config_.ef_construction, config_.m);
  if (config_.ef_search == 0) config_.ef_search = 1;
  // A u8 store already holds exact 8-bit codes: walk on them directly.
  if (options_.sq8 && store.storage().type == StorageType::kU8 &&
      codes_->family() == Sq8Codes::Family::kUnsigned) {
    codes_->borrow(store);
    sync_->sq8_ready.store(true, std::memory_order_release);
  }
}

HnswIndex::HnswIndex(HnswIndex&&) noexcept = default;
HnswIndex& HnswIndex::operator=(HnswIndex&&) noexcept = default;
HnswIndex::~HnswIndex() = default;

HnswIndex::EntryPoint HnswIndex::entry() const noexcept {
  const uint64_t v = sync_->entry.load(std::memory_order_acquire);
  if (v == Sync::kNoEntry) return EntryPoint{kNoSlot, 0};
  return EntryPoint{static_cast<uint32_t>(v), static_cast<uint32_t>(v >> 32)};
}

void HnswIndex::set_entry(uint32_t slot, uint32_t level) noexcept {
  sync_->entry.store((uint64_t{level} << 32) | slot, std::memory_order_release);
}

void HnswIndex::clear_entry() noexcept {
  sync_->entry.store(Sync::kNoEntry, std::memory_order_release);
}

// Level from the record's insertion sequence, not from a shared generator:
// the same insert history gives the same levels whatever the thread order.
uint32_t HnswIndex::random_level(uint32_t slot) const noexcept {
  const uint64_t h = splitmix64(config_.seed ^ (store_->sequence(slot) * 0xD6E8'FEB8'6659'FD93ull));
  const double u = static_cast<double>((h >> 11) + 1) * 0x1.0p-53;  // (0, 1]
  const double level = -std::log(u) * level_mult_;
  return level >= hnsw::kMaxLevel ? hnsw::kMaxLevel : static_cast<uint32_t>(level);
}

bool HnswIndex::own_codes() const noexcept {
  return options_.sq8 && codes_->supported() && store_->storage().type == StorageType::kF32;
}

const hnsw::Sq8Codes* HnswIndex::walk_codes() const noexcept {
  return sync_->sq8_ready.load(std::memory_order_acquire) ? codes_.get() : nullptr;
}

Status HnswIndex::ensure_capacity(uint32_t slots) {
  if (slots <= graph_->capacity()) return Status::OK();
  std::lock_guard<std::mutex> guard(sync_->grow);
  IQDB_RETURN_IF_ERROR(graph_->reserve(slots));
  if (own_codes()) {
    IQDB_RETURN_IF_ERROR(codes_->reserve(graph_->capacity()));
  }
  return Status::OK();
}

bool HnswIndex::wants_training(size_t incoming) const noexcept {
  return own_codes() && !sync_->sq8_ready.load(std::memory_order_acquire) &&
         sync_->count.load(std::memory_order_relaxed) + incoming >=
             std::max<size_t>(options_.sq8_min_rows, 1);
}

void HnswIndex::training_sample(std::span<const uint32_t> extra, std::vector<uint32_t>& present,
                                std::vector<uint32_t>& sample) const {
  constexpr size_t kMaxSample = 65'536;
  const uint32_t capacity = graph_->capacity();
  present.clear();
  for (uint32_t slot = 0; slot < capacity; ++slot) {
    if (graph_->info(slot).present) present.push_back(slot);
  }
  sample = present;
  sample.insert(sample.end(), extra.begin(), extra.end());
  if (sample.size() > kMaxSample) {  // evenly spaced, deterministic
    std::vector<uint32_t> thinned(kMaxSample);
    for (size_t i = 0; i < kMaxSample; ++i) thinned[i] = sample[i * sample.size() / kMaxSample];
    sample.swap(thinned);
  }
}

// Requires the writers lock held exclusively (no insert in flight).
Status HnswIndex::train_codes(std::span<const uint32_t> extra) {
  const uint32_t capacity = graph_->capacity();
  std::vector<uint32_t> present, sample;
  training_sample(extra, present, sample);
  codes_->train(*store_, sample);
  {
    std::lock_guard<std::mutex> guard(sync_->grow);
    IQDB_RETURN_IF_ERROR(codes_->reserve(capacity));
  }
  exec::parallel_for(0, present.size(), 1024, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) codes_->encode(*store_, present[i]);
  });
  sync_->sq8_ready.store(true, std::memory_order_release);
  return Status::OK();
}

Status HnswIndex::optimize() {
  if (sync_->count.load() == 0) return Status::OK();
  std::unique_lock<std::shared_mutex> writers(sync_->writers);
  repair_reachability();
  if (!own_codes()) return Status::OK();
  return train_codes({});
}

Status HnswIndex::optimize(Publisher& publisher) {
  if (sync_->count.load() == 0) return Status::OK();
  std::unique_lock<std::shared_mutex> writers(sync_->writers);
  repair_reachability();  // relinks under the per-node seqlocks
  if (!own_codes()) return Status::OK();
  if (!sync_->sq8_ready.load(std::memory_order_acquire)) return train_codes({});
  // Searches walk on the current codes: fit and encode a new set aside.
  auto fresh = std::make_unique<Sq8Codes>(store_->dim(), store_->metric());
  std::vector<uint32_t> present, sample;
  training_sample({}, present, sample);
  fresh->train(*store_, sample);
  IQDB_RETURN_IF_ERROR(fresh->reserve(graph_->capacity()));
  exec::parallel_for(0, present.size(), 1024, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) fresh->encode(*store_, present[i]);
  });
  publisher.exclusive([&] { codes_.swap(fresh); });
  return Status::OK();
}

size_t HnswIndex::memory_bytes() const {
  const uint32_t capacity = graph_->capacity();
  return graph_->memory_bytes() + (codes_->borrowed() ? 0 : codes_->memory_bytes(capacity));
}

void HnswIndex::encode_codes(uint32_t slot) noexcept {
  if (own_codes() && sync_->sq8_ready.load(std::memory_order_acquire)) {
    codes_->encode(*store_, slot);
  }
}

size_t HnswIndex::size() const noexcept { return sync_->count.load(std::memory_order_acquire); }

// Acquire: a node seen present has its level and lists readable, also
// beside inserts.
bool HnswIndex::contains(uint32_t slot) const noexcept {
  return slot < graph_->capacity() && graph_->present_acquire(slot);
}

uint32_t HnswIndex::level(uint32_t slot) const noexcept { return graph_->info(slot).level; }

uint32_t HnswIndex::entry_point() const noexcept { return entry().slot; }

bool HnswIndex::uses_sq8() const noexcept {
  return sync_->sq8_ready.load(std::memory_order_acquire);
}

std::vector<uint32_t> HnswIndex::neighbors(uint32_t slot, uint32_t level) const {
  if (!contains(slot) || level > graph_->info(slot).level) return {};
  std::vector<uint32_t> out(graph_->max_links(level));
  out.resize(graph_->read_links(slot, level, out.data()));
  return out;
}

Status HnswIndex::check() const {
  const uint32_t capacity = graph_->capacity();
  std::vector<uint32_t> links(graph_->max_links(0));
  size_t count = 0;
  uint32_t top = 0;
  for (uint32_t slot = 0; slot < capacity; ++slot) {
    const NodeInfo& node = graph_->info(slot);
    if (!node.present) {
      if (graph_->links_locked(slot, 0, links.data()) != 0) {
        return Status::Corruption("absent node " + std::to_string(slot) + " has links");
      }
      continue;
    }
    ++count;
    top = std::max<uint32_t>(top, node.level);
    for (uint32_t level = 0; level <= node.level; ++level) {
      const size_t n = graph_->links_locked(slot, level, links.data());
      for (size_t i = 0; i < n; ++i) {
        const uint32_t to = links[i];
        const std::string where =
            "node " + std::to_string(slot) + " level " + std::to_string(level);
        if (to == slot) return Status::Corruption(where + " links to itself");
        if (to >= capacity || !graph_->info(to).present) {
          return Status::Corruption(where + " links to absent slot " + std::to_string(to));
        }
        if (graph_->info(to).level < level) {
          return Status::Corruption(where + " links to a node below that level");
        }
      }
    }
  }
  if (count != size()) return Status::Corruption("node count disagrees with the graph");
  const EntryPoint ep = entry();
  if (count == 0) {
    return ep.slot == kNoSlot ? Status::OK() : Status::Corruption("empty graph has an entry point");
  }
  if (ep.slot >= capacity || !graph_->info(ep.slot).present) {
    return Status::Corruption("entry point is not in the graph");
  }
  if (ep.level != graph_->info(ep.slot).level || ep.level != top) {
    return Status::Corruption("entry point is not on the top level");
  }
  return Status::OK();
}

}  // namespace iqdb::index
