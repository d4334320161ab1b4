#include "db/index_factory.h"

namespace iqdb::db {

Result<std::unique_ptr<index::AnnIndex>> make_index(const IndexKind& kind,
                                                    const index::VectorStore& store) {
  (void)store;
  if (kind.is_flat()) return std::unique_ptr<index::AnnIndex>();
  return Status::Unsupported(std::string("the ") + kind.name() + " index is not available in this build");
}

Result<std::unique_ptr<index::AnnIndex>> load_index(const IndexKind& kind,
                                                    const index::VectorStore& store,
                                                    const index::SectionSource& source) {
  (void)source;
  return make_index(kind, store);
}

}  // namespace iqdb::db
