// A snapshot written with 4 KiB section alignment opens on systems whose
// mapping granularity is larger (16 KiB pages on Apple silicon, 64 KiB on
// some aarch64 kernels and on Windows): sections the granularity divides
// are mapped, the others read, and the database answers the same.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "iqdb/iqdb.hpp"
#include "unit/db/same_answers.h"
#include "unit/util/temp_dir.h"
#include "util/file.h"

using namespace iqdb;
using testing::Answers;
using testing::ask;
using testing::check_same;

namespace {

struct GranularityOverride {
  explicit GranularityOverride(size_t bytes) { util::set_mapping_granularity_for_testing(bytes); }
  ~GranularityOverride() { util::set_mapping_granularity_for_testing(0); }
};

}  // namespace

TEST_CASE("a snapshot opens and reads the same under a 64 KiB mapping granularity") {
  const size_t dim = 24, n = 1500;
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> rows(n * dim), queries(20 * dim);
  for (float& x : rows) x = g(rng);
  for (float& x : queries) x = g(rng);
  for (const IndexKind& kind : {IndexKind(FlatConfig{}), IndexKind(HnswConfig{})}) {
    testing::TempDir dir;
    const auto path = dir / "g.iqdb";
    {
      auto db = Database::open(path, Config(dim, Metric::kL2).index(kind));
      REQUIRE(db.ok());
      for (size_t i = 0; i < n; ++i) {
        Metadata m{{"row", Value(int64_t(i))}};
        REQUIRE(db->upsert(VectorId(uint64_t{i}), std::span(rows).subspan(i * dim, dim), &m).ok());
      }
      REQUIRE(db->close().ok());
    }
    // The rows alone span many 4 KiB pages, so several sections start at
    // offsets 64 KiB does not divide.
    REQUIRE(util::file_bytes_or_zero(path) > 4 * 65536);
    Answers native;
    {
      auto db = Database::open(path, dim, Metric::kL2);
      REQUIRE(db.ok());
      native = ask(*db, n, queries, dim);
    }
    for (size_t granularity : {size_t{16} << 10, size_t{64} << 10}) {
      CAPTURE(granularity);
      GranularityOverride guard(granularity);
      auto db = Database::open(path, dim, Metric::kL2);
      REQUIRE(db.ok());
      check_same(native, ask(*db, n, queries, dim));
      if (granularity != (size_t{64} << 10)) continue;
      // And it still takes writes on top of the adopted sections (last, as
      // they change the file the other granularities read).
      std::vector<float> extra(dim, 0.5f);
      REQUIRE(db->upsert(VectorId(uint64_t{n}), extra).ok());
      auto back = db->get(VectorId(uint64_t{n}));
      REQUIRE((back.ok() && back->has_value()));
      CHECK((*back)->vector == extra);
      REQUIRE(db->remove(VectorId(uint64_t{n})).ok());
      REQUIRE(db->close().ok());
    }
  }
}
