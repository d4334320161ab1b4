#include "db/index_config.h"

#include "util/coding.h"

namespace iqdb::db {

std::string encode_index_kind(const IndexKind& kind) {
  std::string out;
  if (kind.is_flat()) {
    util::put_u8(out, 0);
  } else if (kind.is_hnsw()) {
    const HnswConfig& h = kind.hnsw();
    util::put_u8(out, 1);
    util::put_u64(out, h.m);
    util::put_u64(out, h.ef_construction);
    util::put_u64(out, h.ef_search);
    util::put_u64(out, h.seed);
    util::put_u8(out, h.quantized_walk ? 1 : 0);
  } else {
    const IvfConfig& v = kind.ivf();
    util::put_u8(out, 2);
    util::put_u64(out, v.n_clusters);
    util::put_u64(out, v.n_probes);
    util::put_u64(out, v.training_sample_size);
    util::put_u8(out, static_cast<uint8_t>(v.pq));
    util::put_u64(out, v.pq_subvectors);
    util::put_u64(out, v.refine_factor);
    util::put_u64(out, v.seed);
  }
  return out;
}

Result<IndexKind> decode_index_kind(std::string_view bytes, size_t dim) {
  util::ByteReader in(util::as_bytes(bytes));
  uint8_t kind = 0;
  if (!in.read_u8(&kind)) return Status::Corruption("index config is empty");
  IndexKind out;
  if (kind == 0) {
    out = FlatConfig{};
  } else if (kind == 1) {
    HnswConfig h;
    uint64_t m, efc, efs, seed;
    if (!in.read_u64(&m) || !in.read_u64(&efc) || !in.read_u64(&efs) || !in.read_u64(&seed)) {
      return Status::Corruption("HNSW config truncated");
    }
    h.m = m;
    h.ef_construction = efc;
    h.ef_search = efs;
    h.seed = seed;
    // Files written before the knob existed end here: the default walk.
    if (!in.at_end()) {
      uint8_t quantized = 0;
      if (!in.read_u8(&quantized) || quantized > 1)
        return Status::Corruption("HNSW config: bad walk flag");
      h.quantized_walk = quantized == 1;
    }
    out = h;
  } else if (kind == 2) {
    IvfConfig v;
    uint64_t a, b, c, e, f, seed;
    uint8_t pq;
    if (!in.read_u64(&a) || !in.read_u64(&b) || !in.read_u64(&c) || !in.read_u8(&pq) ||
        !in.read_u64(&e) || !in.read_u64(&f) || !in.read_u64(&seed) || pq > 2) {
      return Status::Corruption("IVF config truncated or invalid");
    }
    v.n_clusters = a;
    v.n_probes = b;
    v.training_sample_size = c;
    v.pq = static_cast<IvfConfig::Pq>(pq);
    v.pq_subvectors = e;
    v.refine_factor = f;
    v.seed = seed;
    out = v;
  } else {
    return Status::Corruption("unknown index kind " + std::to_string(kind));
  }
  if (!in.at_end()) return Status::Corruption("trailing bytes in the index config");
  Status valid = Config(dim, Metric::kL2).index(out).validate();
  if (!valid.ok())
    return Status::Corruption("stored index config is invalid: " + std::string(valid.message()));
  return out;
}

}  // namespace iqdb::db
