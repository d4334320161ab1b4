// Fuzzes opening a database file: the snapshot container, the store's
// sections (rows, codes, norms, ids, metadata), the stored index config and
// the index sections (HNSW graph and 8-bit codes, IVF centroids, codebooks
// and lists). The input is written as a database file PATH (no log); it
// must open and then answer a search, gets, a write, a remove and a close,
// or fail with a Status; never crash, hang or over-allocate.
//
// Each input is tried as is and resealed (reseal.h), so that mutations
// reach the decoders behind the checksums. The dim and metric to open with
// come from the image's own header when it parses.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "iqdb/iqdb.hpp"
#include "reseal.h"
#include "storage/snapshot_reader.h"
#include "util/file.h"

namespace {

// Queries and rows the target writes are this wide at most.
constexpr uint32_t kMaxDim = 4096;

// A directory of this process's own, removed at exit.
struct Scratch {
  Scratch()
      : dir(std::filesystem::temp_directory_path() /
            ("iqdb-database-fuzz-" + std::to_string(iqdb::util::process_id()))),
        path(dir / "db.iqdb") {
    std::filesystem::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir, path;
};

const std::filesystem::path& scratch_path() {
  static const Scratch scratch;
  return scratch.path;
}

void exercise(const std::vector<uint8_t>& image) {
  const std::filesystem::path& path = scratch_path();
  std::error_code ec;
  for (const char* suffix : {"", ".wal", ".lock"}) {
    std::filesystem::remove(path.string() + suffix, ec);
  }
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(image.data()),
              static_cast<std::streamsize>(image.size()));
  }
  uint32_t dim = 8;
  iqdb::Metric metric = iqdb::Metric::kL2;
  auto parsed =
      iqdb::storage::SnapshotReader::parse(image, iqdb::storage::VerifyMode::kSmallSections);
  if (parsed.ok()) {
    const auto& h = parsed->header();
    if (h.dim >= 1 && h.dim <= kMaxDim) dim = h.dim;
    if (h.metric <= static_cast<uint8_t>(iqdb::Metric::kHamming))
      metric = static_cast<iqdb::Metric>(h.metric);
  }
  auto db = iqdb::Database::open(path, iqdb::Config(dim, metric));
  if (!db.ok()) return;
  std::vector<float> v(dim);
  for (size_t i = 0; i < dim; ++i) v[i] = static_cast<float>(i % 3);
  (void)db->search(v, 5);
  (void)db->search(v, 3, iqdb::Filter::eq("k", iqdb::Value(int64_t{1})));
  for (uint64_t id = 0; id < 4; ++id) (void)db->get(iqdb::VectorId(id));
  (void)db->upsert(iqdb::VectorId(uint64_t{1} << 40), v);
  (void)db->remove(iqdb::VectorId(uint64_t{0}));
  (void)db->search(v, 5);
  (void)db->close();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> image(data, data + size);
  exercise(image);
  iqdb::fuzz::reseal(image);
  exercise(image);
  return 0;
}
