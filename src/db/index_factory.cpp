#include "db/index_factory.h"

#include "index/hnsw.h"
#include "index/ivf.h"

namespace iqdb::db {

Result<std::unique_ptr<index::AnnIndex>> make_index(const IndexKind& kind,
                                                    const index::VectorStore& store) {
  if (kind.is_flat()) return std::unique_ptr<index::AnnIndex>();
  if (kind.is_hnsw())
    return std::unique_ptr<index::AnnIndex>(std::make_unique<index::HnswIndex>(store, kind.hnsw()));
  if (kind.is_ivf()) {
    IQDB_RETURN_IF_ERROR(index::IvfIndex::check_config(kind.ivf(), store.dim(), store.metric()));
    return std::unique_ptr<index::AnnIndex>(std::make_unique<index::IvfIndex>(store, kind.ivf()));
  }
  return Status::Unsupported("unknown index kind");
}

Result<std::unique_ptr<index::AnnIndex>> load_index(const IndexKind& kind,
                                                    const index::VectorStore& store,
                                                    const index::SectionSource& source) {
  if (kind.is_hnsw()) {
    auto hnsw = index::HnswIndex::load(store, kind.hnsw(), source);
    if (!hnsw) return hnsw.status();
    return std::unique_ptr<index::AnnIndex>(std::make_unique<index::HnswIndex>(std::move(*hnsw)));
  }
  if (kind.is_ivf()) {
    IQDB_RETURN_IF_ERROR(index::IvfIndex::check_config(kind.ivf(), store.dim(), store.metric()));
    auto ivf = index::IvfIndex::load(store, kind.ivf(), source);
    if (!ivf) return ivf.status();
    return std::unique_ptr<index::AnnIndex>(std::make_unique<index::IvfIndex>(std::move(*ivf)));
  }
  return make_index(kind, store);
}

}  // namespace iqdb::db
