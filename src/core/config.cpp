#include <string>

#include "iqdb/config.h"

namespace iqdb {

Status Config::validate() const {
  if (dim_ == 0) return Status::InvalidArgument("dim must be at least 1");
  if (dim_ > kMaxDim) {
    return Status::InvalidArgument("dim " + std::to_string(dim_) + " exceeds the maximum of " +
                                   std::to_string(kMaxDim));
  }
  if (static_cast<unsigned>(metric_) > 4) {
    return Status::InvalidArgument("unknown metric");
  }
  if (index_.is_hnsw()) {
    const HnswConfig& h = index_.hnsw();
    if (h.m < 2 || h.m > 256) return Status::InvalidArgument("HNSW m must be in [2, 256]");
    if (h.ef_construction < 1 || h.ef_construction > 100'000) {
      return Status::InvalidArgument("HNSW ef_construction must be in [1, 100000]");
    }
    if (h.ef_search < 1 || h.ef_search > 100'000) {
      return Status::InvalidArgument("HNSW ef_search must be in [1, 100000]");
    }
  }
  if (index_.is_ivf()) {
    const IvfConfig& v = index_.ivf();
    if (v.n_clusters > (1u << 20)) return Status::InvalidArgument("IVF n_clusters above 2^20");
    if (v.n_probes == 0) return Status::InvalidArgument("IVF n_probes must be at least 1");
    if (v.refine_factor == 0)
      return Status::InvalidArgument("IVF refine_factor must be at least 1");
    if (v.pq != IvfConfig::Pq::kNone && v.pq_subvectors != 0 && dim_ % v.pq_subvectors != 0) {
      return Status::InvalidArgument("IVF pq_subvectors must divide dim");
    }
  }
  if (static_cast<unsigned>(storage_.type) > 4)
    return Status::InvalidArgument("unknown storage type");
  if (indexed_fields_.size() > kMaxIndexedFields) {
    return Status::InvalidArgument("more than " + std::to_string(kMaxIndexedFields) +
                                   " indexed fields");
  }
  for (const std::string& f : indexed_fields_) {
    if (f.empty()) return Status::InvalidArgument("an indexed field name is empty");
  }
  if (compression_.kind() == Compression::Kind::kZstd &&
      (compression_.level() < -7 || compression_.level() > 22)) {
    return Status::InvalidArgument("zstd level must be in [-7, 22]");
  }
  if (fsync_.kind() == FsyncPolicy::Kind::kPeriodic && fsync_.interval().count() <= 0) {
    return Status::InvalidArgument("periodic fsync needs a positive interval");
  }
  return Status::OK();
}

}  // namespace iqdb
