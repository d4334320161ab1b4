// Config::load_into_memory / OpenOptions::load_into_memory: an existing
// snapshot's sections are copied into the database's own memory instead of
// mapped. Invariants:
//  - a copied section holds the file's bytes and is the database's own: a
//    later change to the file does not reach it (a mapped one may see it);
//  - a database opened either way answers every get and search the same,
//    for the flat, HNSW and IVF indices, takes writes, and what it writes
//    reopens.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "db/snapshot_sections.h"
#include "iqdb/iqdb.hpp"
#include "storage/snapshot_reader.h"
#include "storage/snapshot_writer.h"
#include "unit/db/same_answers.h"
#include "unit/util/temp_dir.h"
#include "util/arena.h"

using namespace iqdb;
using testing::Answers;
using testing::ask;
using testing::check_same;

TEST_CASE(
    "load_into_memory: a copied section holds the file's bytes and does not follow the file") {
  testing::TempDir dir;
  const auto path = dir / "s";
  std::string bytes(3 * 65536 + 123, '\0');
  std::mt19937 rng(5);
  for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
  constexpr uint32_t kKind = 7;
  {
    storage::SnapshotWriter writer(storage::SnapshotHeader{});
    REQUIRE(writer
                .add_section(
                    kKind, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
                .ok());
    REQUIRE(writer.write_atomically(path).ok());
  }
  auto reader = storage::SnapshotReader::open(path);
  REQUIRE(reader.ok());
  const storage::SectionInfo* info = reader->find(kKind);
  REQUIRE(info != nullptr);
  util::Arena copied, mapped;
  REQUIRE(db::SnapshotSource(*reader, true).adopt(kKind, copied).ok());
  REQUIRE(db::SnapshotSource(*reader).adopt(kKind, mapped).ok());
  REQUIRE(copied.committed_bytes() >= bytes.size());
  CHECK(std::memcmp(copied.data(), bytes.data(), bytes.size()) == 0);
  CHECK(std::memcmp(mapped.data(), bytes.data(), bytes.size()) == 0);
  // The copy dropped the reader's resident pages of the section; its view
  // still reads the same bytes.
  auto view = reader->bytes(kKind);
  REQUIRE(view.ok());
  REQUIRE(view->size() == bytes.size());
  CHECK(std::memcmp(view->data(), bytes.data(), bytes.size()) == 0);
  // The copy is private memory, not a view of the file (a mapping of an
  // unwritten page shows the file's new bytes on Linux).
#if !defined(_WIN32)
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f.good());
    f.seekp(static_cast<std::streamoff>(info->offset + 4096));
    const std::string changed(8192, '\x5A');
    f.write(changed.data(), static_cast<std::streamsize>(changed.size()));
    f.flush();
    REQUIRE(f.good());
  }
  CHECK(std::memcmp(copied.data(), bytes.data(), bytes.size()) == 0);
#endif
}

TEST_CASE("load_into_memory: a database answers the same copied or mapped, and takes writes") {
  const size_t dim = 24, n = 1500;
  std::mt19937 rng(17);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> rows(n * dim), queries(20 * dim);
  for (float& x : rows) x = g(rng);
  for (float& x : queries) x = g(rng);
  const IndexKind kinds[] = {IndexKind(FlatConfig{}), IndexKind(HnswConfig{}),
                             IndexKind(IvfConfig{}.with_n_clusters(16))};
  for (const IndexKind& kind : kinds) {
    testing::TempDir dir;
    const auto path = dir / "m.iqdb";
    {
      auto db = Database::open(path, Config(dim, Metric::kL2).index(kind));
      REQUIRE(db.ok());
      std::vector<VectorId> ids;
      for (size_t i = 0; i < n; ++i) ids.emplace_back(uint64_t{i});
      REQUIRE(db->upsert_batch(ids, rows).ok());
      REQUIRE(db->optimize().ok());
      REQUIRE(db->close().ok());
    }
    Answers mapped;
    {
      auto db = Database::open(path, OpenOptions{});
      REQUIRE(db.ok());
      mapped = ask(*db, n, queries, dim);
    }
    {
      auto db =
          Database::open(path, OpenOptions{}.with_read_only(true).with_load_into_memory(true));
      REQUIRE(db.ok());
      check_same(mapped, ask(*db, n, queries, dim));
    }
    // Through Config too; then writes on the copy, kept across a reopen.
    std::vector<float> extra(dim, 0.25f);
    {
      auto db = Database::open(path, Config(dim, Metric::kL2).index(kind).load_into_memory(true));
      REQUIRE(db.ok());
      check_same(mapped, ask(*db, n, queries, dim));
      REQUIRE(db->upsert(VectorId(uint64_t{n}), extra).ok());
      REQUIRE(db->remove(VectorId(uint64_t{0})).ok());
      REQUIRE(db->close().ok());
    }
    auto db = Database::open(path, OpenOptions{}.with_load_into_memory(true));
    REQUIRE(db.ok());
    auto back = db->get(VectorId(uint64_t{n}));
    REQUIRE((back.ok() && back->has_value()));
    CHECK((*back)->vector == extra);
    auto gone = db->get(VectorId(uint64_t{0}));
    REQUIRE(gone.ok());
    CHECK_FALSE(gone->has_value());
    auto hits = db->search(extra, 1);
    REQUIRE((hits.ok() && hits->size() == 1));
    CHECK((*hits)[0].id == VectorId(uint64_t{n}));
  }
}
