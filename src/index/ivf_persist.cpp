// IvfIndex: saving to and loading from snapshot sections.
//
// Format (version 2). All integers little-endian. Kinds are
// section::kIvfFirst + offset:
//
//   +0 header    u64 magic "IQDBIVF1" (0x3146564942445149)
//                u32 format version (2; version 1 is read too, its rows
//                byte always 0)
//                u32 dim, u8 metric, u8 codes (0 flat, 1 PQ 8-bit,
//                2 PQ 4-bit fast scan), u8 trained (0/1), u8 rows (what
//                IVF-Flat lists hold: 0 f32 rows, 1 the store's code rows;
//                0 for PQ)
//                u32 n_lists, u32 centroid_stride (floats),
//                u32 num_sub, u32 dsub, u32 ksub (0 for flat)
//                u64 trained_rows   live rows at the last training
//                u64 entries        rows in all lists
//   Only when trained = 1:
//   +1 centroids n_lists rows of centroid_stride f32 (zero past dim)
//   +2 codebooks num_sub * dsub * ksub f32, transposed (kernels/pq.h);
//                absent for flat
//   +3 sizes     n_lists u32: entries per list
//   +4 slots     entries u32: each list's slots, list after list
//   +5 payloads  each list's payload (ivf_lists.h: rows at the store's f32
//                or code stride, 8-bit codes, or
//                fast-scan blocks of 32), list after list, each padded with
//                zeros to a multiple of 64 bytes
//
// An untrained index saves the header alone and reloads as untrained with
// every live row pending. Centroids, slots and payloads are the in-memory
// arrays byte for byte, so a reopened index adopts them in place
// (SectionSource::adopt maps them copy-on-write); that makes the format
// little-endian-host only.
//
// Loading trusts nothing: every size must match the header exactly, the
// shape must be the one the config implies, centroids and codebooks must be
// finite, and the lists must hold exactly the store's live rows, each once.
// Any violation is kCorruption; another dim, metric or code kind is
// kConfigMismatch. Code bytes need no check: every value is a valid code.

#include <bit>
#include <cmath>
#include <string>

#include "index/ivf.h"
#include "index/ivf_internal.h"
#include "util/coding.h"

namespace iqdb::index {

static_assert(std::endian::native == std::endian::little,
              "IVF sections are adopted in place: little-endian hosts only");

namespace {

constexpr uint64_t kMagic = 0x3146'5649'4244'5149ull;  // "IQDBIVF1"
constexpr uint32_t kFormatVersion = 2;
constexpr uint32_t kHeader = section::kIvfFirst + 0;
constexpr uint32_t kCentroids = section::kIvfFirst + 1;
constexpr uint32_t kCodebooks = section::kIvfFirst + 2;
constexpr uint32_t kSizes = section::kIvfFirst + 3;
constexpr uint32_t kSlots = section::kIvfFirst + 4;
constexpr uint32_t kPayloads = section::kIvfFirst + 5;
constexpr uint32_t kMaxLists = 1u << 20;

struct Header {
  uint32_t dim = 0;
  uint8_t metric = 0, codes = 0, trained = 0, code_rows = 0;
  uint32_t n_lists = 0, centroid_stride = 0, num_sub = 0, dsub = 0, ksub = 0;
  uint64_t trained_rows = 0, entries = 0;
};

Status corrupt(const std::string& what) { return Status::Corruption("IVF " + what); }

Result<Header> parse_header(std::span<const uint8_t> bytes) {
  util::ByteReader in(bytes);
  Header h;
  uint64_t magic;
  uint32_t version;
  if (!in.read_u64(&magic) || !in.read_u32(&version)) return in.overrun("IVF header");
  if (magic != kMagic) return corrupt("header: bad magic");
  if (version != 1 && version != kFormatVersion) {
    return corrupt("header: unknown format version " + std::to_string(version));
  }
  if (!in.read_u32(&h.dim) || !in.read_u8(&h.metric) || !in.read_u8(&h.codes) ||
      !in.read_u8(&h.trained) || !in.read_u8(&h.code_rows) || !in.read_u32(&h.n_lists) ||
      !in.read_u32(&h.centroid_stride) || !in.read_u32(&h.num_sub) || !in.read_u32(&h.dsub) ||
      !in.read_u32(&h.ksub) || !in.read_u64(&h.trained_rows) || !in.read_u64(&h.entries)) {
    return in.overrun("IVF header");
  }
  if (!in.at_end()) return corrupt("header has trailing bytes");
  if (h.trained > 1 || h.codes > 2 || h.code_rows > (version == 1 ? 0 : 1) ||
      (h.code_rows == 1 && (h.codes != 0 || h.trained == 0))) {
    return corrupt("header: bad flags");
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
    return corrupt(std::string(what) + " section has " + std::to_string(bytes->size()) +
                   " bytes, expected " + std::to_string(expected));
  }
  return source.adopt(kind, arena);
}

}  // namespace

void IvfIndex::save(SectionSink& sink) const {
  std::string header;
  util::put_u64(header, kMagic);
  util::put_u32(header, kFormatVersion);
  util::put_u32(header, static_cast<uint32_t>(store_->dim()));
  util::put_u8(header, static_cast<uint8_t>(store_->metric()));
  util::put_u8(header, static_cast<uint8_t>(codes_kind()));
  util::put_u8(header, trained() ? 1 : 0);
  util::put_u8(header, trained() && model_->code_rows ? 1 : 0);
  util::put_u32(header, static_cast<uint32_t>(n_lists()));
  util::put_u32(header, static_cast<uint32_t>(centroid_stride_));
  util::put_u32(header, static_cast<uint32_t>(pq_shape_.num_sub));
  util::put_u32(header, static_cast<uint32_t>(pq_shape_.dsub));
  util::put_u32(header, static_cast<uint32_t>(pq_shape_.ksub));
  util::put_u64(header, trained_rows_);
  util::put_u64(header, trained() ? model_->lists.total() : 0);
  sink.add_owned(kHeader, std::move(header));
  if (!trained()) return;
  sink.add(kCentroids,
           {model_->centroids.data(), model_->n_lists * centroid_stride_ * sizeof(float)});
  if (pq_shape_.num_sub != 0) {
    const auto books = model_->pq.codebooks();
    sink.add(kCodebooks,
             {reinterpret_cast<const uint8_t*>(books.data()), books.size() * sizeof(float)});
  }
  std::string sizes, slots, payloads;
  model_->lists.serialize(&sizes, &slots, &payloads);
  sink.add_owned(kSizes, std::move(sizes));
  sink.add_owned(kSlots, std::move(slots));
  sink.add_owned(kPayloads, std::move(payloads));
}

Result<IvfIndex> IvfIndex::load(const VectorStore& store, const IvfConfig& config,
                                const SectionSource& source) {
  return load(store, config, source, Options{});
}

Result<IvfIndex> IvfIndex::load(const VectorStore& store, const IvfConfig& config,
                                const SectionSource& source, const Options& options) {
  auto header_bytes = source.bytes(kHeader);
  if (!header_bytes.ok()) return header_bytes.status();
  auto parsed = parse_header(*header_bytes);
  if (!parsed.ok()) return parsed.status();
  const Header& h = *parsed;
  IvfIndex index(store, config, options);
  if (h.dim != store.dim() || h.metric != static_cast<uint8_t>(store.metric()) ||
      h.codes != static_cast<uint8_t>(index.codes_kind())) {
    return Status::ConfigMismatch("IVF snapshot was built with another dim, metric or code kind");
  }
  index.trained_rows_ = h.trained_rows;
  if (h.trained == 0) {
    if (h.n_lists != 0 || h.entries != 0) return corrupt("header: an untrained index with lists");
    for (uint32_t s = 0; s < store.slot_end(); ++s) {
      if (store.is_live(s)) index.pending_.push_back(s);
    }
    return index;
  }
  if (h.n_lists == 0 || h.n_lists > kMaxLists || h.centroid_stride != index.centroid_stride_ ||
      h.num_sub != index.pq_shape_.num_sub || h.dsub != index.pq_shape_.dsub ||
      h.ksub != index.pq_shape_.ksub) {
    return corrupt("header: list count or code shape disagrees with the configuration");
  }
  if (h.entries != store.size()) return corrupt("header: entry count disagrees with the store");

  // Code-row lists need the store's codes; f32-row lists its f32 rows.
  const bool code_rows = h.code_rows == 1;
  if (code_rows ? !(store.has_codes() && store.storage().type != StorageType::kF32)
                : (h.codes == 0 && !store.has_f32_rows())) {
    return corrupt("header: the lists hold rows the store does not keep");
  }
  const ivf::PayloadLayout layout = index.payload_layout(code_rows);
  auto model = std::make_unique<Model>(layout, h.n_lists, index.pq_shape_, code_rows);
  const size_t stride = index.centroid_stride_;
  IQDB_RETURN_IF_ERROR(adopt_exact(source, kCentroids, uint64_t{h.n_lists} * stride * sizeof(float),
                                   model->centroids, "centroid"));
  const float* centroids = model->centroid(0, stride);
  for (size_t i = 0; i < size_t{h.n_lists} * stride; ++i) {
    if (!std::isfinite(centroids[i])) return corrupt("centroid holds a non-finite value");
  }
  if (index.pq_shape_.num_sub != 0) {
    auto books = source.bytes(kCodebooks);
    if (!books.ok()) return books.status();
    IQDB_RETURN_IF_ERROR(model->pq.set_codebooks(*books));
  }

  auto size_bytes = source.bytes(kSizes);
  if (!size_bytes.ok()) return size_bytes.status();
  if (size_bytes->size() != uint64_t{h.n_lists} * sizeof(uint32_t)) {
    return corrupt("list size section has the wrong length");
  }
  std::vector<uint32_t> sizes(h.n_lists);
  uint64_t entries = 0;
  for (size_t l = 0; l < h.n_lists; ++l) {
    sizes[l] = util::decode_u32(size_bytes->data() + l * sizeof(uint32_t));
    entries += sizes[l];
  }
  if (entries != h.entries) return corrupt("list sizes disagree with the entry count");
  uint64_t slot_bytes = 0, payload_bytes = 0;
  IQDB_RETURN_IF_ERROR(
      ivf::InvertedLists::expected_bytes(layout, sizes, &slot_bytes, &payload_bytes));
  util::Arena slots, payloads;
  IQDB_RETURN_IF_ERROR(adopt_exact(source, kSlots, slot_bytes, slots, "slot"));
  IQDB_RETURN_IF_ERROR(adopt_exact(source, kPayloads, payload_bytes, payloads, "payload"));
  auto lists =
      ivf::InvertedLists::adopt(layout, sizes, std::move(slots), std::move(payloads), store);
  if (!lists.ok()) return lists.status();
  model->lists = std::move(*lists);
  index.derive_from_centroids(*model);
  index.model_ = std::move(model);
  return index;
}

}  // namespace iqdb::index
