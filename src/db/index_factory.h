// Builds the approximate index a config asks for.
#pragma once

#include <memory>

#include "iqdb/config.h"
#include "index/ann_index.h"
#include "index/sections.h"
#include "index/vector_store.h"

namespace iqdb::db {

// An empty index of the configured kind; null for the flat index.
// kUnsupported for an index kind this build cannot serve.
Result<std::unique_ptr<index::AnnIndex>> make_index(const IndexKind& kind,
                                                    const index::VectorStore& store);

// The configured index loaded from a snapshot's sections; null for flat.
Result<std::unique_ptr<index::AnnIndex>> load_index(const IndexKind& kind,
                                                    const index::VectorStore& store,
                                                    const index::SectionSource& source);

}  // namespace iqdb::db
