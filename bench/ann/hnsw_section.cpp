// The graph section: iqdb HNSW against hnswlib, sweeping ef.
#include <cstdio>

#include "ann/ann.h"

namespace iqdb::bench {

void run_hnsw_section(const Dataset&, Report&) {
  std::printf("[hnsw] not in this build yet\n");
}

}  // namespace iqdb::bench
