// Damaged snapshot bytes are never served for long and never sealed into a
// new snapshot: for each big section kind, a flipped byte that open does
// not check (the open threshold is lowered to 0, so small files behave like
// big ones) fails a compaction with kCorruption and leaves the file as it
// was; the background scrub finds it and latches every call; reopening
// reports it at once; and once the file is restored from a copy the log's
// acknowledged writes are all there.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "db/scrub.h"
#include "index/sections.h"
#include "iqdb/iqdb.hpp"
#include "storage/snapshot_reader.h"
#include "unit/util/temp_dir.h"

using namespace iqdb;

namespace {

constexpr size_t kDim = 16;
constexpr size_t kRows = 1500;

// Open checks no in-place section and the scrub runs as the test says,
// restored when the test ends.
class IntegrityHooks {
 public:
  explicit IntegrityHooks(bool scrub, uint64_t bytes_per_second = 0) {
    storage::set_open_verify_bytes(0);
    db::set_scrub_settings(db::ScrubSettings{scrub, bytes_per_second});
  }
  ~IntegrityHooks() {
    storage::set_open_verify_bytes(storage::kSmallSectionBytes);
    db::set_scrub_settings(db::ScrubSettings{});
  }
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<float> rows_for(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> rows(n * kDim);
  for (float& x : rows) x = u(rng);
  return rows;
}

struct SectionCase {
  const char* name;  // as the damage message names it
  Config config;
  uint32_t kind;
};

std::vector<SectionCase> section_cases() {
  namespace s = index::section;
  const Config l2(kDim, Metric::kL2);
  return {
      {"rows", l2, s::kRows},
      {"norms", Config(kDim, Metric::kCosine), s::kInvNorms},
      {"SQ8 codes", Config(kDim, Metric::kL2).storage(VectorStorage::sq8()), s::kCodes},
      {"HNSW graph", Config(kDim, Metric::kL2).index(HnswConfig{}), s::kHnswFirst + 1},
      {"IVF lists", Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(8)),
       s::kIvfFirst + 5},
      {"ids", l2, s::kIds},
      {"metadata", l2, s::kMetadata},
  };
}

// A saved database of kRows rows with metadata, as `config` says.
void build(const std::filesystem::path& path, const Config& config) {
  auto db = Database::open(path, config);
  REQUIRE(db.ok());
  std::vector<VectorId> ids;
  std::vector<Metadata> metas;
  for (size_t i = 0; i < kRows; ++i) {
    ids.emplace_back(uint64_t{1000} + i);
    metas.push_back(Metadata{{"label", Value("item-" + std::to_string(i))}});
  }
  std::vector<const Metadata*> meta_ptrs;
  for (const Metadata& m : metas) meta_ptrs.push_back(&m);
  REQUIRE(db->upsert_batch(ids, rows_for(kRows, 7), meta_ptrs).ok());
  if (config.index_kind().is_ivf()) REQUIRE(db->optimize().ok());
  REQUIRE(db->close().ok());
}

// Flips one bit in the middle of section `kind` (for ids and metadata: in
// the last byte of one id or string, so the damage is a valid but different
// value that only the checksum can tell); returns the damaged file.
std::string flip_in_section(const std::filesystem::path& path, uint32_t kind) {
  uint64_t offset = 0;
  uint64_t section_begin = 0;
  uint64_t section_end = 0;
  {
    auto reader = storage::SnapshotReader::open(path);
    REQUIRE(reader.ok());
    const storage::SectionInfo* s = reader->find(kind);
    REQUIRE(s != nullptr);
    REQUIRE(s->codec == storage::CodecKind::kNone);
    REQUIRE(s->stored_bytes > 64);
    offset = s->offset + s->stored_bytes / 2;
    section_begin = s->offset;
    section_end = s->offset + s->stored_bytes;
  }
  std::string bytes = read_file(path);
  // Where a value is encoded, flip a byte of it rather than of the
  // structure around it.
  std::string needle;
  if (kind == index::section::kIds) {
    const uint64_t id = 1000 + kRows / 2;
    needle.resize(8);
    for (size_t b = 0; b < 8; ++b) needle[b] = static_cast<char>((id >> (8 * b)) & 0xff);
  } else if (kind == index::section::kMetadata) {
    needle = "item-" + std::to_string(kRows / 2);
  }
  if (!needle.empty()) {
    const size_t at = bytes.find(needle, static_cast<size_t>(section_begin));
    REQUIRE(at != std::string::npos);
    REQUIRE(at + needle.size() <= section_end);
    offset = at + needle.size() - 1;
  }
  if (kind == index::section::kHnswFirst + 1) {
    // Level-0 lists: a count word, then 2m link words. A flip in a count
    // or a link can be one open's structure checks see (an over-full list,
    // a self link), and which it is depends on the graph a parallel build
    // made. A byte in the unused tail of a list that is not full is damage
    // only the checksum can tell.
    const size_t words = 1 + 2 * HnswConfig{}.m;
    const size_t stride = words * sizeof(uint32_t);
    for (size_t slot = (offset - section_begin) / stride;; ++slot) {
      const size_t record = section_begin + slot * stride;
      REQUIRE(record + stride <= section_end);
      const size_t count = static_cast<uint8_t>(bytes[record]);  // < 256: the low byte
      if (count + 1 < words) {
        offset = record + (words - 1) * sizeof(uint32_t);
        break;
      }
    }
  }
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x01);
  write_file(path, bytes);
  return bytes;
}

// Polls integrity() until the scrub is no longer in progress.
Integrity wait_for_scrub(const Database& db) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto state = db.integrity();
    REQUIRE(state.ok());
    if (state->state != IntegrityState::kInProgress ||
        std::chrono::steady_clock::now() > deadline) {
      return *state;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool names(const Status& s, const char* section) {
  return s.code() == StatusCode::kCorruption &&
         std::string(s.message()).find(std::string("'") + section + "'") != std::string::npos;
}

// Every call on a handle that knows its snapshot is damaged.
void check_every_call_refused(Database& db, const char* section) {
  const std::vector<float> q = rows_for(2, 99);
  const std::span<const float> one(q.data(), kDim);
  CHECK(names(db.get(VectorId(uint64_t{1000})).status(), section));
  CHECK(names(db.search(one, 5).status(), section));
  CHECK(names(db.search(one, 5, Filter::eq("label", Value("item-3"))).status(), section));
  CHECK(names(db.search_batch(q, 5).status(), section));
  CHECK(names(db.upsert(VectorId(uint64_t{1}), one), section));
  CHECK(
      names(db.upsert_batch(std::vector<VectorId>{VectorId(uint64_t{2}), VectorId(uint64_t{3})}, q),
            section));
  CHECK(names(db.remove(VectorId(uint64_t{1001})).status(), section));
  CHECK(names(db.optimize(), section));
  CHECK(names(db.flush(), section));
}

}  // namespace

TEST_CASE("a damaged section fails the compaction, latches the handle and loses no logged write") {
  for (const SectionCase& c : section_cases()) {
    const std::string section = c.name;
    CAPTURE(section);
    IntegrityHooks hooks(/*scrub=*/false);
    testing::TempDir dir;
    const auto path = dir / "db.iqdb";
    build(path, c.config);
    const std::string good = read_file(path);
    const std::string damaged = flip_in_section(path, c.kind);

    const std::vector<float> extra = rows_for(3, 11);
    {
      auto db = Database::open(path, c.config);
      INFO(db.status().to_string());
      REQUIRE(db.ok());  // open leaves the section's checksum to the scrub
      for (size_t i = 0; i < 3; ++i) {
        REQUIRE(db->upsert(VectorId(uint64_t{50} + i),
                           std::span<const float>(extra.data() + i * kDim, kDim))
                    .ok());
      }
      REQUIRE(db->remove(VectorId(uint64_t{1000})).ok());
      CHECK(names(db->flush(), c.name));
      CHECK(read_file(path) == damaged);  // never resealed
      auto state = db->integrity();
      REQUIRE(state.ok());
      CHECK(state->state == IntegrityState::kDamaged);
      check_every_call_refused(*db, c.name);
      CHECK(names(db->close(), c.name));
      CHECK(read_file(path) == damaged);
    }
    // The next open knows at once.
    auto again = Database::open(path, c.config);
    CHECK(again.status().code() == StatusCode::kCorruption);

    // Restored from the copy: the snapshot plus the log hold every
    // acknowledged write.
    write_file(path, good);
    auto db = Database::open(path, c.config);
    REQUIRE(db.ok());
    CHECK(db->size() == kRows + 3 - 1);
    for (size_t i = 0; i < 3; ++i) {
      auto r = db->get(VectorId(uint64_t{50} + i));
      REQUIRE(r.ok());
      REQUIRE(r->has_value());
      // SQ8 keeps each value to within a code step; the others exactly.
      const float tolerance = c.config.storage().lossy() ? 0.02f : 0.0f;
      for (size_t d = 0; d < kDim; ++d) {
        CHECK(std::abs((*r)->vector[d] - extra[i * kDim + d]) <= tolerance);
      }
    }
    auto gone = db->get(VectorId(uint64_t{1000}));
    REQUIRE(gone.ok());
    CHECK(!gone->has_value());
    CHECK(!std::filesystem::exists(db::damage_marker_path(path)));
    CHECK(db->close().ok());
  }
}

TEST_CASE("the background scrub finds a damaged section and every call then says kCorruption") {
  for (const SectionCase& c : section_cases()) {
    const std::string section = c.name;
    CAPTURE(section);
    IntegrityHooks hooks(/*scrub=*/true);
    testing::TempDir dir;
    const auto path = dir / "db.iqdb";
    build(path, c.config);
    const std::string damaged = flip_in_section(path, c.kind);
    {
      auto db = Database::open(path, c.config);
      INFO(db.status().to_string());
      REQUIRE(db.ok());
      const Integrity state = wait_for_scrub(*db);
      CHECK(state.state == IntegrityState::kDamaged);
      CHECK(state.damage.find(std::string("'") + c.name + "'") != std::string::npos);
      check_every_call_refused(*db, c.name);
      CHECK(names(db->close(), c.name));
    }
    CHECK(read_file(path) == damaged);
    auto again = Database::open(path, c.config);
    CHECK(again.status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE("an intact snapshot is scrubbed to verified and keeps answering") {
  IntegrityHooks hooks(/*scrub=*/true);
  testing::TempDir dir;
  const auto path = dir / "db.iqdb";
  const Config config = Config(kDim, Metric::kL2).index(HnswConfig{});
  build(path, config);
  auto db = Database::open(path, config);
  REQUIRE(db.ok());
  const Integrity state = wait_for_scrub(*db);
  CHECK(state.state == IntegrityState::kVerified);
  CHECK(state.verified_bytes == state.total_bytes);
  CHECK(state.total_bytes > kRows * kDim * sizeof(float));
  const auto q = rows_for(1, 5);
  CHECK(db->search(q, 5).ok());
  CHECK(db->upsert(VectorId(uint64_t{1}), q).ok());
  CHECK(db->flush().ok());
  CHECK(db->close().ok());
}

TEST_CASE("close cancels a paced scrub, and a flush verifies what it has not reached") {
  // One byte a second: after its first chunk the scrub waits far longer
  // than the test runs, so only cancellation or a flush can end it.
  IntegrityHooks hooks(/*scrub=*/true, /*bytes_per_second=*/1);
  testing::TempDir dir;
  const auto path = dir / "db.iqdb";
  const Config config(kDim, Metric::kL2);
  build(path, config);
  {
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    auto state = db->integrity();
    REQUIRE(state.ok());
    CHECK(state->state == IntegrityState::kInProgress);
    CHECK(db->close().ok());  // returns: the scrub is cancelled, not waited out
    CHECK(db->integrity().status().code() == StatusCode::kClosed);
  }
  {
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    const auto q = rows_for(1, 5);
    REQUIRE(db->upsert(VectorId(uint64_t{1}), q).ok());
    CHECK(db->flush().ok());
    auto state = db->integrity();
    REQUIRE(state.ok());
    CHECK(state->state == IntegrityState::kVerified);
    CHECK(db->close().ok());
  }
  // A flipped byte is caught the same way by that flush.
  flip_in_section(path, index::section::kRows);
  auto db = Database::open(path, config);
  REQUIRE(db.ok());
  REQUIRE(db->upsert(VectorId(uint64_t{2}), rows_for(1, 6)).ok());
  CHECK(names(db->flush(), "rows"));
}

TEST_CASE("an in-memory database reports itself verified") {
  auto db = Database::open_in_memory(kDim, Metric::kL2);
  REQUIRE(db.ok());
  auto state = db->integrity();
  REQUIRE(state.ok());
  CHECK(state->state == IntegrityState::kVerified);
}
