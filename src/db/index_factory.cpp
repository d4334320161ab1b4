#include "db/index_factory.h"

#include "index/hnsw.h"

namespace iqdb::db {

Result<std::unique_ptr<index::AnnIndex>> make_index(const IndexKind& kind,
                                                    const index::VectorStore& store) {
  if (kind.is_flat()) return std::unique_ptr<index::AnnIndex>();
  if (kind.is_hnsw()) return std::unique_ptr<index::AnnIndex>(std::make_unique<index::HnswIndex>(store, kind.hnsw()));
  return Status::Unsupported("the IVF index is not available in this build yet");
}

Result<std::unique_ptr<index::AnnIndex>> load_index(const IndexKind& kind,
                                                    const index::VectorStore& store,
                                                    const index::SectionSource& source) {
  if (kind.is_hnsw()) {
    auto hnsw = index::HnswIndex::load(store, kind.hnsw(), source);
    if (!hnsw) return hnsw.status();
    return std::unique_ptr<index::AnnIndex>(std::make_unique<index::HnswIndex>(std::move(*hnsw)));
  }
  return make_index(kind, store);
}

}  // namespace iqdb::db
