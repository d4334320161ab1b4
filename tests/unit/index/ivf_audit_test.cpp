// Tests for IvfIndex::audit(): an intact index re-encodes to exactly what
// it holds (every metric, every code kind, after removes and reloads), and
// damage that passes the loader's structural checks — a row filed in the
// wrong list, a code that is not its sub-vector's nearest, a list row that
// differs from the store — is counted and located.

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "index/ivf.h"
#include "index/sections.h"
#include "index/vector_store.h"
#include "unit/index/fake_source.h"

namespace iqdb::index {
namespace {

using Pq = IvfConfig::Pq;
using Sections = std::map<uint32_t, std::vector<uint8_t>>;

constexpr uint32_t kSizes = section::kIvfFirst + 3;
constexpr uint32_t kSlots = section::kIvfFirst + 4;
constexpr uint32_t kPayloads = section::kIvfFirst + 5;

class Sink : public SectionSink {
 public:
  void add(uint32_t kind, std::span<const uint8_t> bytes) override {
    sections[kind].assign(bytes.begin(), bytes.end());
  }
  void add_owned(uint32_t kind, std::string bytes) override {
    sections[kind].assign(bytes.begin(), bytes.end());
  }
  Sections sections;
};

// Rows around well-separated centres, so lists differ clearly.
struct Fixture {
  Fixture(size_t dim, Metric metric) : store(dim, metric) {}

  std::vector<uint32_t> fill(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> centres(8 * store.dim());
    for (float& v : centres) v = 6.0f * normal(rng);
    std::vector<uint32_t> slots;
    std::vector<float> row(store.dim());
    for (size_t i = 0; i < n; ++i) {
      const float* c = centres.data() + (i % 8) * store.dim();
      for (size_t d = 0; d < store.dim(); ++d) {
        // Hamming: 0/1 positions near the centre's sign pattern.
        const bool flip = normal(rng) > 1.5f;
        row[d] =
            store.metric() == Metric::kHamming ? float((c[d] > 0) != flip) : c[d] + normal(rng);
      }
      auto r = store.upsert(VectorId(next_id++), row, nullptr);
      REQUIRE(r.ok());
      slots.push_back(r->slot);
    }
    return slots;
  }

  VectorStore store;
  uint64_t next_id = 0;
};

IvfIndex::Options quick() {
  IvfIndex::Options o;
  o.kmeans_iterations = 6;
  o.pq_iterations = 6;
  return o;
}

uint32_t read_u32(const std::vector<uint8_t>& bytes, size_t at) {
  uint32_t v;
  std::memcpy(&v, bytes.data() + at * 4, 4);
  return v;
}

void write_u32(std::vector<uint8_t>& bytes, size_t at, uint32_t v) {
  std::memcpy(bytes.data() + at * 4, &v, 4);
}

Result<IvfIndex> reload(const VectorStore& store, const IvfConfig& config,
                        const Sections& sections) {
  testing::FakeSource source(sections);
  return IvfIndex::load(store, config, source, quick());
}

double squared_distance(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return s;
}

TEST_CASE("ivf audit: an intact index re-encodes to what it holds, for every metric and kind") {
  struct Case {
    Metric metric;
    Pq pq;
  };
  for (Case c : {Case{Metric::kL2, Pq::kNone}, Case{Metric::kL2, Pq::k8Bit},
                 Case{Metric::kL2, Pq::k4BitFastScan}, Case{Metric::kCosine, Pq::k8Bit},
                 Case{Metric::kDot, Pq::k4BitFastScan}, Case{Metric::kL1, Pq::kNone},
                 Case{Metric::kHamming, Pq::kNone}}) {
    CAPTURE(static_cast<int>(c.metric));
    CAPTURE(static_cast<int>(c.pq));
    Fixture f(16, c.metric);
    const IvfConfig config = IvfConfig{}.with_n_clusters(8).with_pq(c.pq);
    IvfIndex index(f.store, config, quick());
    const auto slots = f.fill(1200, 5);
    REQUIRE(index.insert_batch(slots).ok());
    if (!index.trained()) REQUIRE(index.optimize().ok());
    for (size_t i = 0; i < slots.size(); i += 7) {
      index.remove(slots[i]);
      f.store.remove(f.store.id(slots[i]));
    }
    REQUIRE(index.insert_batch(f.fill(100, 6)).ok());  // filed after training

    const IvfIndex::Audit audit = index.audit();
    CHECK(audit.entries == f.store.size());
    CHECK(audit.misfiled == 0);
    CHECK(audit.wrong_codes == 0);
    CHECK(audit.wrong_rows == 0);
    CHECK(audit.first_bad_slot == kNoSlot);

    Sink sink;
    index.save(sink);
    auto loaded = reload(f.store, config, sink.sections);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    const IvfIndex::Audit again = loaded->audit();
    CHECK(again.entries == audit.entries);
    CHECK(again.misfiled + again.wrong_codes + again.wrong_rows == 0);
  }
}

TEST_CASE("ivf audit: an untrained index has nothing to re-encode") {
  Fixture f(8, Metric::kL2);
  IvfIndex index(f.store, IvfConfig{}.with_n_clusters(8), quick());
  REQUIRE(index.insert_batch(f.fill(10, 1)).ok());
  REQUIRE_FALSE(index.trained());
  CHECK(index.audit().entries == 0);
}

// A trained index over f's rows, saved.
Sections saved(Fixture& f, const IvfConfig& config) {
  IvfIndex index(f.store, config, quick());
  REQUIRE(index.insert_batch(f.fill(800, 9)).ok());
  if (!index.trained()) REQUIRE(index.optimize().ok());
  REQUIRE(index.audit().misfiled == 0);
  Sink sink;
  index.save(sink);
  return sink.sections;
}

TEST_CASE("ivf audit: a row moved into another list is found, for every code kind") {
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    CAPTURE(static_cast<int>(pq));
    Fixture f(16, Metric::kL2);
    const IvfConfig config = IvfConfig{}.with_n_clusters(8).with_pq(pq);
    Sections sections = saved(f, config);
    auto intact = reload(f.store, config, sections);
    REQUIRE(intact.ok());

    // The first row of list 0 trades places with the first row of the
    // list whose centroid is farthest from it: each is then filed far from
    // its nearest centroid, and both lists keep their sizes.
    const auto& sizes = sections[kSizes];
    const size_t lists = sizes.size() / 4;
    REQUIRE(read_u32(sizes, 0) > 0);
    const uint32_t moved = read_u32(sections[kSlots], 0);
    std::vector<float> row(intact->vector_floats());
    intact->index_vector(moved, row.data());
    size_t far = 0, far_at = 0, offset = 0;
    double far_dist = -1;
    for (size_t l = 0; l < lists; ++l) {
      const auto c = intact->centroid(static_cast<uint32_t>(l));
      const double d = squared_distance(row.data(), c.data(), f.store.dim());
      if (read_u32(sizes, l) > 0 && d > far_dist) far = l, far_at = offset, far_dist = d;
      offset += read_u32(sizes, l);
    }
    REQUIRE(far != 0);
    const uint32_t other = read_u32(sections[kSlots], far_at);
    write_u32(sections[kSlots], 0, other);
    write_u32(sections[kSlots], far_at, moved);

    auto damaged = reload(f.store, config, sections);
    REQUIRE_MESSAGE(damaged.ok(), damaged.status().to_string());  // structurally sound
    REQUIRE(damaged->check().ok());
    const IvfIndex::Audit audit = damaged->audit();
    CHECK(audit.misfiled >= 1);
    CHECK((audit.first_bad_slot == moved || audit.first_bad_slot == other));
  }
}

TEST_CASE("ivf audit: an 8-bit code replaced by its sub-vector's farthest codeword is found") {
  Fixture f(16, Metric::kL2);
  const IvfConfig config = IvfConfig{}.with_n_clusters(8).with_pq(Pq::k8Bit);
  Sections sections = saved(f, config);
  auto intact = reload(f.store, config, sections);
  REQUIRE(intact.ok());
  const ivf::ProductQuantizer& pq = *intact->quantizer();

  // Entry 0 of list 0: its residual's first sub-vector, and the codeword
  // of subquantizer 0 farthest from it.
  const uint32_t slot = read_u32(sections[kSlots], 0);
  std::vector<float> residual(intact->vector_floats());
  intact->index_vector(slot, residual.data());
  const auto c = intact->centroid(intact->list_of(slot));
  for (size_t d = 0; d < pq.code_dim(); ++d) residual[d] -= c[d];
  std::vector<uint8_t> codes = intact->codes(slot);
  std::vector<float> decoded(pq.code_dim());
  pq.decode(codes.data(), decoded.data());
  const double held = squared_distance(residual.data(), decoded.data(), pq.dsub());
  uint8_t farthest = codes[0];
  double farthest_dist = held;
  for (size_t j = 0; j < pq.ksub(); ++j) {
    codes[0] = static_cast<uint8_t>(j);
    pq.decode(codes.data(), decoded.data());
    const double d = squared_distance(residual.data(), decoded.data(), pq.dsub());
    if (d > farthest_dist) farthest = static_cast<uint8_t>(j), farthest_dist = d;
  }
  REQUIRE(farthest_dist > 2 * held + 1e-3);  // the codebook is not degenerate
  REQUIRE(intact->list_of(slot) == 0);
  sections[kPayloads][0] = farthest;  // list 0's payload starts the section

  auto damaged = reload(f.store, config, sections);
  REQUIRE(damaged.ok());
  const IvfIndex::Audit audit = damaged->audit();
  CHECK(audit.wrong_codes == 1);
  CHECK(audit.misfiled == 0);
  CHECK(audit.first_bad_slot == slot);
}

TEST_CASE("ivf audit: an IVF-Flat list row that differs from the stored row is found") {
  Fixture f(16, Metric::kL2);
  const IvfConfig config = IvfConfig{}.with_n_clusters(8);
  Sections sections = saved(f, config);
  const uint32_t slot = read_u32(sections[kSlots], 0);
  float first;
  std::memcpy(&first, sections[kPayloads].data(), sizeof first);
  first += 0.25f;
  std::memcpy(sections[kPayloads].data(), &first, sizeof first);

  auto damaged = reload(f.store, config, sections);
  REQUIRE(damaged.ok());
  const IvfIndex::Audit audit = damaged->audit();
  CHECK(audit.wrong_rows == 1);
  CHECK(audit.first_bad_slot == slot);
}

}  // namespace
}  // namespace iqdb::index
