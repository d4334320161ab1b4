// Storage types through the Database: what upsert accepts, what get
// returns, that the type survives a reopen (and wins over the one asked
// for), and that a refused row never reaches the WAL.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

using namespace iqdb;

namespace {

// Whole numbers 0..255, like image pixels.
std::vector<float> pixel_rows(size_t n, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> px(0, 255);
  std::vector<float> rows(n * dim);
  for (float& x : rows) x = static_cast<float>(px(rng));
  return rows;
}

std::vector<VectorId> ids_upto(size_t n) {
  std::vector<VectorId> ids;
  for (size_t i = 0; i < n; ++i) ids.emplace_back(static_cast<uint64_t>(i));
  return ids;
}

}  // namespace

TEST_CASE("u8 storage: exact rows, non-integers refused before they are logged") {
  testing::TempDir dir;
  const auto path = dir / "u8.iqdb";
  const size_t dim = 16, n = 200;
  const auto rows = pixel_rows(n, dim, 1);
  {
    auto db = Database::open(path, Config(dim, Metric::kL2).storage(VectorStorage::u8()));
    REQUIRE(db.ok());
    REQUIRE(db->upsert_batch(ids_upto(n), rows).ok());
    std::vector<float> bad(dim, 3.0f);
    bad[5] = 0.5f;
    CHECK(db->upsert(VectorId(uint64_t{9999}), bad).code() == StatusCode::kInvalidArgument);
    bad[5] = 256.0f;
    CHECK(db->upsert(VectorId(uint64_t{9999}), bad).code() == StatusCode::kInvalidArgument);
    bad[5] = -1.0f;
    CHECK(db->upsert(VectorId(uint64_t{9999}), bad).code() == StatusCode::kInvalidArgument);
    // One bad row refuses the whole batch.
    std::vector<float> batch(2 * dim, 1.0f);
    batch[dim + 3] = 1.25f;
    CHECK(db->upsert_batch(
                std::vector<VectorId>{VectorId(uint64_t{7000}), VectorId(uint64_t{7001})}, batch)
              .code() == StatusCode::kInvalidArgument);
    CHECK(db->size() == n);
    // Left in the WAL only: no flush before the reopen.
  }
  // Reopened asking for f32: the stored type wins.
  auto db = Database::open(path, dim, Metric::kL2);
  REQUIRE(db.ok());
  CHECK(db->storage().type == StorageType::kU8);
  CHECK(db->size() == n);
  for (size_t i = 0; i < n; i += 37) {
    auto rec = db->get(VectorId(static_cast<uint64_t>(i)));
    REQUIRE(rec.ok());
    REQUIRE(rec->has_value());
    CHECK((*rec)->vector ==
          std::vector<float>(rows.begin() + i * dim, rows.begin() + (i + 1) * dim));
  }
  auto hits = db->search(std::span<const float>(rows.data() + 42 * dim, dim), 1);
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == VectorId(uint64_t{42}));
  CHECK((*hits)[0].distance == 0.0f);
  REQUIRE(db->flush().ok());
  REQUIRE(db->close().ok());
  auto again = Database::open(path, dim, Metric::kL2);
  REQUIRE(again.ok());
  CHECK(again->storage().type == StorageType::kU8);
  CHECK(again->size() == n);
}

TEST_CASE("lossy storage: get returns the written floats with keep_f32, the decoded ones without") {
  const size_t dim = 8;
  std::vector<float> row = {0.1f, -2.5f, 3.14159f, 100.0f, 0.0f, 1e-3f, -7.25f, 42.0f};
  for (StorageType type : {StorageType::kF16, StorageType::kBF16}) {
    for (bool keep : {false, true}) {
      CAPTURE(storage_type_name(type));
      CAPTURE(keep);
      auto db =
          Database::open_in_memory(Config(dim, Metric::kL2).storage(VectorStorage{type, keep}));
      REQUIRE(db.ok());
      REQUIRE(db->upsert(VectorId(uint64_t{1}), row).ok());
      auto rec = db->get(VectorId(uint64_t{1}));
      REQUIRE(rec.ok());
      REQUIRE(rec->has_value());
      const auto& got = (*rec)->vector;
      REQUIRE(got.size() == dim);
      if (keep) {
        CHECK(got == row);
      } else {
        // f16 keeps ~11 significant bits, bf16 ~8.
        const float tol = type == StorageType::kF16 ? 1.0f / 1024 : 1.0f / 128;
        for (size_t i = 0; i < dim; ++i)
          CHECK(std::fabs(got[i] - row[i]) <= tol * std::fabs(row[i]) + 1e-6f);
      }
    }
  }
}

TEST_CASE("f16 storage refuses magnitudes it cannot hold") {
  auto db = Database::open_in_memory(Config(2, Metric::kL2).storage(VectorStorage::f16()));
  REQUIRE(db.ok());
  CHECK(db->upsert(VectorId(uint64_t{1}), std::vector<float>{1.0f, 70000.0f}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(db->upsert(VectorId(uint64_t{1}), std::vector<float>{1.0f, 65504.0f}).ok());
}

TEST_CASE("SQ8 storage through a file: trains, reopens, searches near f32 recall") {
  testing::TempDir dir;
  const auto path = dir / "sq8.iqdb";
  const size_t dim = 32, n = 3000;
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> rows(n * dim);
  for (float& x : rows) x = g(rng);
  {
    auto db = Database::open(
        path, Config(dim, Metric::kL2).storage(VectorStorage::sq8()).index(HnswConfig{}));
    REQUIRE(db.ok());
    REQUIRE(db->upsert_batch(ids_upto(n), rows).ok());
    REQUIRE(db->close().ok());
  }
  auto db = Database::open(path, dim, Metric::kL2);
  REQUIRE(db.ok());
  CHECK(db->storage().type == StorageType::kSq8);
  CHECK(db->index_kind().is_hnsw());
  auto exact = Database::open_in_memory(dim, Metric::kL2);
  REQUIRE(exact.ok());
  REQUIRE(exact->upsert_batch(ids_upto(n), rows).ok());
  size_t found = 0, total = 0;
  for (size_t q = 0; q < 50; ++q) {
    std::vector<float> query(dim);
    for (float& x : query) x = g(rng);
    auto want = exact->search(query, 10);
    SearchParams params;
    params.k = 10;
    params.ef = 128;
    auto got = db->search(query, params);
    REQUIRE(want.ok());
    REQUIRE(got.ok());
    for (const Hit& w : *want) {
      ++total;
      for (const Hit& h : *got) found += h.id == w.id;
    }
  }
  CHECK(static_cast<double>(found) / total >= 0.9);
}

TEST_CASE("IVF accepts every storage type at configure time") {
  for (const VectorStorage& storage :
       {VectorStorage::u8(), VectorStorage::sq8(), VectorStorage::sq8(true), VectorStorage::f16(),
        VectorStorage::bf16(true)}) {
    auto db = Database::open_in_memory(Config(4, Metric::kL2).storage(storage).index(IvfConfig{}));
    CHECK(db.ok());
  }
}
