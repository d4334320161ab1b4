// The library's own view of its files: opening by path with the stored
// shape, info(), inspect(), verify() on intact and damaged files (each
// damage the CLI's tests make), compact(), read-only handles in one process
// and exact search on every index.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "db/wal_ops.h"
#include "index/sections.h"
#include "iqdb/iqdb.hpp"
#include "storage/snapshot_reader.h"
#include "storage/snapshot_writer.h"
#include "storage/wal_writer.h"
#include "unit/util/temp_dir.h"

using namespace iqdb;
using Stage = VerifyReport::Stage;
using Severity = VerifyReport::Severity;

namespace {

constexpr size_t kDim = 8;

std::vector<float> random_rows(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> rows(n * kDim);
  for (float& x : rows) x = g(rng);
  return rows;
}

std::vector<VectorId> ids_upto(size_t n) {
  std::vector<VectorId> ids;
  for (size_t i = 0; i < n; ++i) ids.emplace_back(uint64_t(i));
  return ids;
}

// A closed database of `n` rows at `path`.
void make_db(const std::filesystem::path& path, const Config& config, size_t n) {
  auto db = Database::open(path, config);
  REQUIRE(db.ok());
  REQUIRE(db->upsert_batch(ids_upto(n), random_rows(n, 7)).ok());
  REQUIRE(db->close().ok());
}

void flip_byte(const std::filesystem::path& p, uint64_t offset) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(offset));
  char c = 0;
  f.read(&c, 1);
  c = char(c ^ 0x5a);
  f.seekp(std::streamoff(offset));
  f.write(&c, 1);
}

bool has_finding(const VerifyReport& r, Stage stage, Severity severity,
                 std::string_view text = {}) {
  for (const auto& f : r.findings) {
    if (f.stage == stage && f.severity == severity && f.message.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string findings_text(const VerifyReport& r) {
  std::string out;
  for (const auto& f : r.findings)
    out += std::string(stage_name(f.stage)) + ": " + f.message + "\n";
  return out;
}

// Appends `count` upserts to the log of the closed database at `path`, as
// the database would have before a crash. Returns the log's length after
// each record.
std::vector<uint64_t> log_upserts(const std::filesystem::path& path, size_t count) {
  auto snap = storage::SnapshotReader::open(path);
  REQUIRE(snap.ok());
  std::filesystem::path wal = path;
  wal += ".wal";
  auto writer =
      storage::WalWriter::open(wal, snap->header().identity, snap->header().wal_sequence + 1);
  REQUIRE(writer.ok());
  std::vector<uint64_t> ends;
  for (size_t i = 0; i < count; ++i) {
    std::vector<float> v(kDim, float(i) + 0.5f);
    REQUIRE((*writer)
                ->append(uint8_t(db::WalOp::kUpsert),
                         db::encode_upsert(VectorId(uint64_t{90000 + i}), v, nullptr))
                .ok());
    REQUIRE((*writer)->sync().ok());
    ends.push_back(std::filesystem::file_size(wal));
  }
  return ends;
}

// Rewrites section `kind` with the float at `index` scaled by `factor`,
// under fresh, valid checksums.
void scale_float_in_section(const std::filesystem::path& path, uint32_t kind, size_t index,
                            float factor) {
  auto reader = storage::SnapshotReader::open(path, storage::VerifyMode::kAll);
  REQUIRE(reader.ok());
  storage::SnapshotWriter writer(reader->header());
  for (const storage::SectionInfo& s : reader->sections()) {
    auto bytes = reader->bytes(s.kind);
    REQUIRE(bytes.ok());
    std::string copy(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    if (s.kind == kind) {
      float v;
      std::memcpy(&v, copy.data() + index * sizeof(float), sizeof v);
      v *= factor;
      std::memcpy(copy.data() + index * sizeof(float), &v, sizeof v);
    }
    REQUIRE(writer.add_owned_section(s.kind, std::move(copy)).ok());
  }
  REQUIRE(writer.write_atomically(path).ok());
}

}  // namespace

TEST_CASE("open(path) takes dim, metric, index and storage from the file; absent is kNotFound") {
  testing::TempDir dir;
  const auto path = dir / "shape.iqdb";
  CHECK(Database::open(path).status().code() == StatusCode::kNotFound);
  CHECK_FALSE(std::filesystem::exists(path));  // nothing created
  const auto config = Config(kDim, Metric::kCosine)
                          .index(HnswConfig().with_m(8).with_ef_search(33))
                          .storage(VectorStorage::f16(true));
  make_db(path, config, 100);
  auto db = Database::open(path);
  REQUIRE(db.ok());
  CHECK(db->dim() == kDim);
  CHECK(db->metric() == Metric::kCosine);
  REQUIRE(db->index_kind().is_hnsw());
  CHECK(db->index_kind().hnsw().m == 8);
  CHECK(db->index_kind().hnsw().ef_search == 33);
  CHECK(db->storage() == VectorStorage::f16(true));
  CHECK(db->size() == 100);
  CHECK_FALSE(db->read_only());
  REQUIRE(db->upsert(VectorId(uint64_t{500}), random_rows(1, 3)).ok());  // writable
  REQUIRE(db->close().ok());
  // A log without its snapshot is damage, not an empty database.
  std::filesystem::remove(path);
  CHECK(Database::open(path).status().code() == StatusCode::kCorruption);
  CHECK(Database::open(dir / "absent.iqdb", OpenOptions().with_read_only(true)).status().code() ==
        StatusCode::kNotFound);
}

TEST_CASE("info describes the database and its files; inspect reads them without a lock") {
  testing::TempDir dir;
  const auto path = dir / "info.iqdb";
  make_db(
      path,
      Config(kDim, Metric::kL2).index(IvfConfig().with_n_probes(3)).compression(Compression::lz4()),
      300);
  auto db = Database::open(path);
  REQUIRE(db.ok());
  REQUIRE(db->upsert(VectorId(uint64_t{1000}), random_rows(1, 9)).ok());
  auto info = db->info();
  REQUIRE(info.ok());
  CHECK(info->path == path);
  CHECK_FALSE(info->in_memory);
  CHECK(info->dim == kDim);
  CHECK(info->metric == Metric::kL2);
  REQUIRE(info->index.is_ivf());
  CHECK(info->index.ivf().n_probes == 3);
  CHECK(info->storage == VectorStorage::f32());
  CHECK(info->records == 301);
  CHECK(info->records_exact);
  CHECK(info->log_records == 1);
  CHECK(info->log_bytes > 0);
  CHECK(info->snapshot_bytes == std::filesystem::file_size(path));
  CHECK(info->compression.kind() == Compression::Kind::kLz4);  // kept from the file
  CHECK(info->format_version == 1);
  CHECK(info->simd_target == simd_target());
  CHECK(info->vector_bytes_per_row >= kDim * sizeof(float));
  bool rows = false, any_compressed = false;
  uint64_t stored = 0;
  for (const auto& s : info->sections) {
    rows = rows || s.kind == "rows";
    any_compressed = any_compressed || s.compressed;
    stored += s.stored_bytes;
    CHECK(s.stored_bytes <= s.bytes + 4096);
  }
  CHECK(rows);
  CHECK(any_compressed);
  CHECK(stored < info->snapshot_bytes);

  // While the writer holds it, inspect still reads the snapshot and says
  // the log holds more.
  auto seen = inspect(path);
  REQUIRE(seen.ok());
  CHECK(seen->records == 300);
  CHECK_FALSE(seen->records_exact);
  CHECK(seen->log_records == 1);
  CHECK(seen->index.is_ivf());
  REQUIRE(db->close().ok());
  auto after = inspect(path);
  REQUIRE(after.ok());
  CHECK(after->records == 301);
  CHECK(after->records_exact);
  CHECK(inspect(dir / "absent").status().code() == StatusCode::kNotFound);

  auto mem = Database::open_in_memory(kDim, Metric::kDot);
  REQUIRE(mem.ok());
  auto mi = mem->info();
  REQUIRE(mi.ok());
  CHECK(mi->in_memory);
  CHECK(mi->sections.empty());
  CHECK(mi->metric == Metric::kDot);
}

TEST_CASE("verify passes intact flat, HNSW and IVF databases, as files and as open handles") {
  testing::TempDir dir;
  for (const IndexKind& kind : {IndexKind(FlatConfig()), IndexKind(HnswConfig().with_m(8)),
                                IndexKind(IvfConfig().with_n_clusters(4))}) {
    CAPTURE(kind.name());
    const auto path = dir / (std::string(kind.name()) + ".iqdb");
    make_db(path, Config(kDim, Metric::kL2).index(kind), 400);
    auto report = verify(path);
    REQUIRE(report.ok());
    INFO(findings_text(*report));
    CHECK(report->ok());
    CHECK(report->records == 400);
    CHECK(report->sections_verified > 0);
    CHECK(has_finding(*report, Stage::kSnapshot, Severity::kOk, "every checksum verified"));
    CHECK(has_finding(*report, Stage::kIds, Severity::kOk));
    CHECK(has_finding(*report, Stage::kVectors, Severity::kOk));
    CHECK(has_finding(*report, Stage::kIndex, Severity::kOk, kind.name()));
    CHECK(has_finding(*report, Stage::kLog, Severity::kOk));

    auto db = Database::open(path);
    REQUIRE(db.ok());
    REQUIRE(db->remove(VectorId(uint64_t{3})).ok());
    auto live = db->verify();
    REQUIRE(live.ok());
    INFO(findings_text(*live));
    CHECK(live->ok());
    CHECK(live->records == 399);
    CHECK(live->log_records_newer == 1);
  }
  auto mem = Database::open_in_memory(kDim, Metric::kL2);
  REQUIRE(mem.ok());
  auto r = mem->verify();
  REQUIRE(r.ok());
  CHECK(r->ok());
  CHECK(verify(dir / "absent.iqdb").status().code() == StatusCode::kNotFound);
}

TEST_CASE("verify names each kind of damage and changes nothing") {
  testing::TempDir dir;
  const auto good = dir / "good.iqdb";
  make_db(good, Config(kDim, Metric::kL2).index(HnswConfig().with_m(8)), 3000);
  auto copy = [&](const std::string& name) {
    const auto p = dir / name;
    std::filesystem::copy_file(good, p);
    return p;
  };

  SUBCASE("a flipped byte in the rows") {
    const auto p = copy("rows.iqdb");
    flip_byte(p, std::filesystem::file_size(p) / 3);
    auto r = verify(p);
    REQUIRE(r.ok());
    INFO(findings_text(*r));
    CHECK(r->problems() >= 1);
    CHECK(has_finding(*r, Stage::kSnapshot, Severity::kDamaged, "checksum"));
    CHECK(Database::open(p).status().code() != StatusCode::kOk);
  }
  SUBCASE("a flipped byte in the header, and a file that is no database") {
    const auto p = copy("head.iqdb");
    flip_byte(p, 20);
    auto r = verify(p);
    REQUIRE(r.ok());
    CHECK(has_finding(*r, Stage::kSnapshot, Severity::kDamaged));
    CHECK(Database::open(p).status().code() == StatusCode::kCorruption);
    CHECK(inspect(p).status().code() == StatusCode::kCorruption);
    const auto garbage = dir / "garbage.iqdb";
    std::ofstream(garbage) << std::string(10000, 'x');
    auto g = verify(garbage);
    REQUIRE(g.ok());
    CHECK(g->problems() >= 1);
  }
  SUBCASE("a log without its snapshot") {
    const auto p = dir / "orphan.iqdb";
    std::ofstream(dir / "orphan.iqdb.wal") << "x";
    auto r = verify(p);
    REQUIRE(r.ok());
    CHECK(has_finding(*r, Stage::kSnapshot, Severity::kDamaged, "missing"));
  }
  SUBCASE("a torn log tail is a note; a bad record before good ones is damage") {
    const auto p = copy("log.iqdb");
    const auto ends = log_upserts(p, 3);
    std::filesystem::path wal = p;
    wal += ".wal";
    {
      std::ofstream out(wal, std::ios::binary | std::ios::app);
      out.write("\x30\x00\x00\x00torn", 8);
    }
    const auto before = std::filesystem::file_size(wal);
    auto torn = verify(p);
    REQUIRE(torn.ok());
    INFO(findings_text(*torn));
    CHECK(torn->ok());
    CHECK(torn->log_records_newer == 3);
    CHECK(torn->torn_tail_bytes == 8);
    CHECK(has_finding(*torn, Stage::kLog, Severity::kNote, "torn record"));
    CHECK(std::filesystem::file_size(wal) == before);  // verify cuts nothing
    {
      // A read-only handle sees the logged rows and leaves the tail too.
      auto ro = Database::open(p, OpenOptions().with_read_only(true));
      REQUIRE(ro.ok());
      CHECK(ro->size() == 3003);
    }
    CHECK(std::filesystem::file_size(wal) == before);

    std::filesystem::resize_file(wal, ends.back());
    flip_byte(wal, ends[0] - 2);
    auto bad = verify(p);
    REQUIRE(bad.ok());
    CHECK(has_finding(*bad, Stage::kLog, Severity::kDamaged));
    CHECK(Database::open(p).status().code() == StatusCode::kCorruption);
  }
  SUBCASE("a stored norm that disagrees with its row under valid checksums") {
    for (uint32_t kind : {index::section::kInvNorms, index::section::kSqNorms}) {
      CAPTURE(kind);
      const auto p = copy("norm-" + std::to_string(kind) + ".iqdb");
      scale_float_in_section(p, kind, 42, 1.0202f);
      auto r = verify(p);
      REQUIRE(r.ok());
      INFO(findings_text(*r));
      CHECK(has_finding(*r, Stage::kSnapshot, Severity::kOk));
      CHECK(has_finding(*r, Stage::kVectors, Severity::kDamaged, "1 rows have a stored norm"));
      CHECK(r->problems() == 1);
    }
  }
}

TEST_CASE("compact always writes a fresh snapshot, re-encodes on request and reports it") {
  testing::TempDir dir;
  const auto path = dir / "c.iqdb";
  make_db(path, Config(kDim, Metric::kL2), 500);
  auto db = Database::open(path);
  REQUIRE(db.ok());
  auto same = db->compact();  // nothing logged: a fresh snapshot all the same
  REQUIRE(same.ok());
  CHECK(same->log_records_folded == 0);
  CHECK(same->records == 500);
  CHECK(same->compression_after.kind() == Compression::Kind::kNone);

  REQUIRE(db->remove(VectorId(uint64_t{1})).ok());
  REQUIRE(db->remove(VectorId(uint64_t{2})).ok());
  auto z = db->compact(CompactOptions().with_compression(Compression::zstd(5)));
  REQUIRE(z.ok());
  CHECK(z->log_records_folded == 2);
  CHECK(z->records == 498);
  CHECK(z->compression_before.kind() == Compression::Kind::kNone);
  CHECK(z->compression_after.kind() == Compression::Kind::kZstd);
  CHECK(z->snapshot_bytes_before == same->snapshot_bytes_after);
  CHECK(z->snapshot_bytes_after == std::filesystem::file_size(path));
  CHECK(z->log_bytes_after <= z->log_bytes_before);
  auto info = db->info();
  REQUIRE(info.ok());
  CHECK(info->log_records == 0);
  bool compressed = false;
  for (const auto& s : info->sections)
    compressed = compressed || s.codec == Compression::Kind::kZstd;
  CHECK(compressed);
  REQUIRE(db->close().ok());
  // The encoding stays with the file, and so do the records.
  auto again = Database::open(path);
  REQUIRE(again.ok());
  CHECK(again->size() == 498);
  CHECK(again->info()->compression.kind() == Compression::Kind::kZstd);
  auto r = again->verify();
  REQUIRE(r.ok());
  CHECK(r->ok());

  auto mem = Database::open_in_memory(kDim, Metric::kL2);
  REQUIRE(mem.ok());
  CHECK(mem->compact().status().code() == StatusCode::kUnsupported);
}

TEST_CASE("read-only handles share a database, exclude a writer, and refuse writes") {
  testing::TempDir dir;
  const auto path = dir / "ro.iqdb";
  make_db(path, Config(kDim, Metric::kL2).index(HnswConfig().with_m(8)), 200);
  const auto bytes_before = std::filesystem::file_size(path);
  auto a = Database::open(path, OpenOptions().with_read_only(true));
  REQUIRE(a.ok());
  auto b = Database::open(path, OpenOptions().with_read_only(true));
  REQUIRE(b.ok());
  CHECK(a->read_only());
  CHECK(a->size() == 200);
  CHECK(a->info()->read_only);
  // A writer is excluded while readers hold it, whichever way it opens.
  CHECK(Database::open(path).status().code() == StatusCode::kBusy);
  CHECK(Database::open(path, kDim, Metric::kL2).status().code() == StatusCode::kBusy);
  // Writes are refused, plainly.
  const auto row = random_rows(1, 5);
  Status up = a->upsert(VectorId(uint64_t{999}), row);
  CHECK(up.code() == StatusCode::kUnsupported);
  CHECK(std::string(up.message()).find("read-only") != std::string::npos);
  CHECK(a->remove(VectorId(uint64_t{1})).status().code() == StatusCode::kUnsupported);
  CHECK(a->upsert_batch(ids_upto(1), row).code() == StatusCode::kUnsupported);
  CHECK(a->optimize().code() == StatusCode::kUnsupported);
  CHECK(a->compact().status().code() == StatusCode::kUnsupported);
  CHECK(a->size() == 200);
  // Reads work.
  auto hits = a->search(row, 5);
  REQUIRE(hits.ok());
  CHECK(hits->size() == 5);
  auto r = a->verify();
  REQUIRE(r.ok());
  CHECK(r->ok());
  REQUIRE(a->close().ok());
  CHECK(Database::open(path).status().code() == StatusCode::kBusy);  // b still holds it
  REQUIRE(b->close().ok());
  CHECK(std::filesystem::file_size(path) == bytes_before);

  // And a writer excludes readers.
  auto w = Database::open(path);
  REQUIRE(w.ok());
  CHECK(Database::open(path, OpenOptions().with_read_only(true)).status().code() ==
        StatusCode::kBusy);
  auto held = verify(path);  // still checks the files, and says who holds them
  REQUIRE(held.ok());
  CHECK(has_finding(*held, Stage::kLock, Severity::kNote));
  REQUIRE(w->close().ok());
  CHECK(Database::open(path, OpenOptions().with_read_only(true)).ok());
}

TEST_CASE("SearchParams::exact returns the flat index's answer on HNSW and IVF") {
  testing::TempDir dir;
  const size_t n = 2000;
  const auto rows = random_rows(n, 11);
  auto flat = Database::open_in_memory(Config(kDim, Metric::kL2));
  REQUIRE(flat.ok());
  REQUIRE(flat->upsert_batch(ids_upto(n), rows).ok());
  for (const IndexKind& kind : {IndexKind(HnswConfig().with_m(4).with_ef_search(10)),
                                IndexKind(IvfConfig().with_n_clusters(32).with_n_probes(1))}) {
    CAPTURE(kind.name());
    auto db = Database::open_in_memory(Config(kDim, Metric::kL2).index(kind));
    REQUIRE(db.ok());
    REQUIRE(db->upsert_batch(ids_upto(n), rows).ok());
    REQUIRE(db->optimize().ok());
    const auto queries = random_rows(20, 12);
    SearchParams exact;
    exact.k = 20;
    exact.exact = true;
    for (size_t q = 0; q < 20; ++q) {
      std::span<const float> query(queries.data() + q * kDim, kDim);
      auto want = flat->search(query, exact);
      auto got = db->search(query, exact);
      REQUIRE(want.ok());
      REQUIRE(got.ok());
      REQUIRE(got->size() == want->size());
      for (size_t i = 0; i < got->size(); ++i) {
        CHECK((*got)[i].id == (*want)[i].id);
        CHECK((*got)[i].distance == (*want)[i].distance);
      }
    }
    auto batch = db->search_batch(queries, exact);
    auto want_batch = flat->search_batch(queries, exact);
    REQUIRE(batch.ok());
    REQUIRE(want_batch.ok());
    for (size_t q = 0; q < 20; ++q) {
      REQUIRE((*batch)[q].size() == (*want_batch)[q].size());
      for (size_t i = 0; i < (*batch)[q].size(); ++i)
        CHECK((*batch)[q][i].id == (*want_batch)[q][i].id);
    }
  }
}

TEST_CASE("compact refuses to give a damaged big section a fresh checksum") {
  testing::TempDir dir;
  const auto path = dir / "big.iqdb";
  const size_t dim = 128, n = 3000;  // a rows section past the size checked at open
  {
    auto db = Database::open(path, Config(dim, Metric::kL2));
    REQUIRE(db.ok());
    std::vector<float> rows(n * dim);
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = float(i % 251);
    REQUIRE(db->upsert_batch(ids_upto(n), rows).ok());
    REQUIRE(db->close().ok());
  }
  flip_byte(path, std::filesystem::file_size(path) / 2);
  const auto bytes = std::filesystem::file_size(path);
  auto db = Database::open(path);  // big sections are checked on demand, not at open
  REQUIRE(db.ok());
  auto r = db->compact(CompactOptions().with_compression(Compression::lz4()));
  CHECK(r.status().code() == StatusCode::kCorruption);
  // Damage found is final for the handle, whether the background scrub or
  // the compaction's check found it first.
  auto state = db->integrity();
  REQUIRE(state.ok());
  CHECK(state->state == IntegrityState::kDamaged);
  CHECK(db->close().code() == StatusCode::kCorruption);
  CHECK(std::filesystem::file_size(path) == bytes);
  auto report = verify(path);
  REQUIRE(report.ok());
  CHECK(has_finding(*report, Stage::kSnapshot, Severity::kDamaged, "checksum"));
}
