// The filter section: filtered k-NN through Database::search with a Filter
// on iqdb HNSW M=16 (ef_construction 200, 2 build threads, one search
// thread), against hnswlib given the same filter as an allow-list, and
// against iqdb's own exact scan of the matching rows (SearchParams::exact),
// each ef timed again beside that scan, their passes alternating.
//
// Every base row carries three metadata fields: "class" (its Fashion-MNIST
// label, 10 % of the rows each), "tag100" and "tag1000" (a hash of the row
// id modulo 100 and 1000: 1 % and 0.1 % of the rows per value). Four
// filters per query:
//   own class   class = the query's label (10 %, near the query)
//   far class   class = the label whose rows lie farthest from the query's
//               label's rows on average (10 %, far from the query)
//   1% tag      tag100 = a value drawn from the query number
//   0.1% tag    tag1000 = likewise
// Recall is against exact filtered ground truth computed here by brute
// force over the matching rows.
//
// hnswlib runs the queries grouped by filter: before each group (untimed,
// like a precomputed allow-list) every non-matching row is marked deleted,
// which in 0.6.2 is the allow-list semantics of 0.8's filter functor (see
// peer_hnswlib.cpp).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>

#include "ann/ann.h"
#include "ann/peers.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

const std::vector<size_t> kEfs = {10, 20, 40, 80, 160, 320};
constexpr size_t kM = 16;
constexpr size_t kBuildThreads = 2;
// Timed passes over the queries per point: at least kRepeats, and more
// while they add up to less than kMinTimedSeconds (at most kMaxRepeats), so
// a point answered in a few milliseconds is not measured by one scheduler
// slice.
constexpr size_t kRepeats = 3;
constexpr size_t kMaxRepeats = 101;
constexpr double kMinTimedSeconds = 0.3;

uint64_t mix(uint64_t x) {  // splitmix64's finaliser: a fixed, seedless hash
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

int64_t tag100(uint64_t row) { return static_cast<int64_t>(mix(row) % 100); }
int64_t tag1000(uint64_t row) { return static_cast<int64_t>(mix(row ^ 0xA5A5'0000ull) % 1000); }

// One filter: the field and value it tests.
struct Key {
  std::string field;
  int64_t value;
  auto operator<=>(const Key&) const = default;
};

struct Kind {
  const char* name;       // "own class 10%"
  std::vector<Key> keys;  // per query
};

// Mean squared distance between the rows of two classes, from the class
// means and variances: E|x - y|^2 = |mu_a - mu_b|^2 + var_a + var_b.
std::array<uint8_t, 10> farthest_classes(const Dataset& ds) {
  std::array<std::vector<double>, 10> mean;
  std::array<double, 10> sq{}, count{};
  for (auto& m : mean) m.assign(ds.dim, 0.0);
  for (size_t i = 0; i < ds.base_rows; ++i) {
    const uint8_t c = ds.base_labels[i];
    const float* row = ds.base.data() + i * ds.dim;
    for (size_t d = 0; d < ds.dim; ++d) {
      mean[c][d] += row[d];
      sq[c] += double(row[d]) * row[d];
    }
    count[c] += 1;
  }
  std::array<double, 10> var{};
  for (size_t c = 0; c < 10; ++c) {
    if (count[c] == 0) continue;
    double norm = 0;
    for (double& v : mean[c]) {
      v /= count[c];
      norm += v * v;
    }
    var[c] = sq[c] / count[c] - norm;
  }
  std::array<uint8_t, 10> far{};
  for (size_t a = 0; a < 10; ++a) {
    double best = -1;
    for (size_t b = 0; b < 10; ++b) {
      if (count[b] == 0 || b == a) continue;
      double d = var[a] + var[b];
      for (size_t j = 0; j < ds.dim; ++j)
        d += (mean[a][j] - mean[b][j]) * (mean[a][j] - mean[b][j]);
      if (d > best) {
        best = d;
        far[a] = static_cast<uint8_t>(b);
      }
    }
  }
  return far;
}

// The rows one filter matches: ids and a 0/1 allow-list.
struct Matches {
  std::vector<uint32_t> ids;
  std::vector<uint8_t> allowed;
};

int64_t row_value(const Dataset& ds, const std::string& field, uint32_t row) {
  if (field == "class") return ds.base_labels[row];
  return field == "tag100" ? tag100(row) : tag1000(row);
}

// Exact filtered k nearest ids by brute force over the matches.
std::vector<uint32_t> exact_filtered(const Dataset& ds, const float* query, const Matches& m) {
  std::vector<std::pair<float, uint32_t>> all;
  all.reserve(m.ids.size());
  for (uint32_t id : m.ids) {
    const float* row = ds.base.data() + size_t(id) * ds.dim;
    float d = 0;
    for (size_t j = 0; j < ds.dim; ++j) d += (row[j] - query[j]) * (row[j] - query[j]);
    all.emplace_back(d, id);
  }
  const size_t k = std::min(kRecallK, all.size());
  std::partial_sort(all.begin(), all.begin() + ptrdiff_t(k), all.end());
  std::vector<uint32_t> out;
  for (size_t i = 0; i < k; ++i) out.push_back(all[i].second);
  return out;
}

double recall(const std::vector<std::vector<uint32_t>>& truth,
              const std::vector<std::vector<uint32_t>>& found) {
  size_t agree = 0, wanted = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    const std::unordered_set<uint32_t> want(truth[q].begin(), truth[q].end());
    for (size_t j = 0; j < std::min(found[q].size(), kRecallK); ++j)
      agree += want.count(found[q][j]);
    wanted += truth[q].size();
  }
  return wanted != 0 ? double(agree) / double(wanted) : 1.0;
}

// Median of queries per second over the passes above; `run` answers every
// query once and returns the seconds its timed parts took.
double median_qps_of(size_t queries, const std::function<double()>& run) {
  std::vector<double> qps;
  double timed = 0;
  while (qps.size() < kRepeats || (timed < kMinTimedSeconds && qps.size() < kMaxRepeats)) {
    const double seconds = std::max(run(), 1e-9);
    timed += seconds;
    qps.push_back(double(queries) / seconds);
  }
  std::sort(qps.begin(), qps.end());
  return qps[qps.size() / 2];
}

// Medians of queries per second of `a` and `b`, their passes alternated so
// that both see the machine in the same state (a shared, noisy machine
// drifts by more over seconds than between two adjacent passes). Each timed
// pass follows an untimed one of its own, so neither is timed on the
// caches the other left.
std::pair<double, double> paired_median_qps(size_t queries, const std::function<double()>& a,
                                            const std::function<double()>& b) {
  std::vector<double> qa, qb;
  double timed = 0;
  while (qa.size() < kRepeats || (timed < 2 * kMinTimedSeconds && qa.size() < kMaxRepeats)) {
    a();
    const double sa = std::max(a(), 1e-9);
    b();
    const double sb = std::max(b(), 1e-9);
    timed += sa + sb;
    qa.push_back(double(queries) / sa);
    qb.push_back(double(queries) / sb);
  }
  std::sort(qa.begin(), qa.end());
  std::sort(qb.begin(), qb.end());
  return {qa[qa.size() / 2], qb[qb.size() / 2]};
}

std::string curve(const char* who, const Kind& kind) {
  return std::string(who) + " [" + kind.name + "]";
}

}  // namespace

void run_filter_section(const Dataset& ds, Report& report, size_t max_queries) {
  const size_t nq = std::min(ds.query_rows, max_queries);
  std::printf(
      "[filter] %s: filtered search, HNSW M=%zu (ef_construction 200, %zu build threads), one "
      "search thread, %zu queries\n",
      ds.name.c_str(), kM, kBuildThreads, nq);
  const std::array<uint8_t, 10> far = farthest_classes(ds);
  std::printf("  far class of each class (largest mean squared distance between their rows):");
  for (size_t c = 0; c < 10; ++c) std::printf(" %zu->%u", c, unsigned(far[c]));
  std::printf("\n");

  std::vector<Kind> kinds = {
      {"own class 10%", {}}, {"far class 10%", {}}, {"1% tag", {}}, {"0.1% tag", {}}};
  for (size_t q = 0; q < nq; ++q) {
    const uint8_t label = ds.query_labels[q];
    kinds[0].keys.push_back({"class", label});
    kinds[1].keys.push_back({"class", far[label]});
    kinds[2].keys.push_back({"tag100", static_cast<int64_t>(mix(q + 1'000'003) % 100)});
    kinds[3].keys.push_back({"tag1000", static_cast<int64_t>(mix(q + 2'000'003) % 1000)});
  }
  std::map<Key, Matches> matches;
  for (const Kind& kind : kinds) {
    for (const Key& key : kind.keys) matches.emplace(key, Matches{});
  }
  for (auto& [key, m] : matches) {
    m.allowed.assign(ds.base_rows, 0);
    for (uint32_t i = 0; i < ds.base_rows; ++i) {
      if (row_value(ds, key.field, i) == key.value) {
        m.ids.push_back(i);
        m.allowed[i] = 1;
      }
    }
  }

  // iqdb: the rows with their metadata.
  std::vector<Metadata> metadata(ds.base_rows);
  std::vector<const Metadata*> metadata_ptrs(ds.base_rows);
  std::vector<VectorId> ids;
  for (uint32_t i = 0; i < ds.base_rows; ++i) {
    metadata[i] = Metadata{{"class", Value(int64_t{ds.base_labels[i]})},
                           {"tag100", Value(tag100(i))},
                           {"tag1000", Value(tag1000(i))}};
    metadata_ptrs[i] = &metadata[i];
    ids.emplace_back(uint64_t{i});
  }
  const std::string ours_name = "iqdb-hnsw M=" + std::to_string(kM);
  auto t = std::chrono::steady_clock::now();
  auto db = Database::open_in_memory(
      Config(ds.dim, Metric::kL2).index(HnswConfig{}.with_m(kM).with_ef_construction(200)));
  if (!db || !db->upsert_batch(ids, ds.base, metadata_ptrs).ok()) {
    std::printf("  %s: build failed\n", ours_name.c_str());
    return;
  }
  std::printf("  %s with metadata built in %.2f s\n", ours_name.c_str(), seconds_since(t));
  std::unique_ptr<PeerIndex> peer;
  if (hnswlib_available()) {
    peer = make_hnswlib(kM, 200, kBuildThreads);
    t = std::chrono::steady_clock::now();
    peer->build(ds.base.data(), ds.base_rows, ds.dim);
    std::printf("  %s built in %.2f s\n", kHnswlibAllowListLabel, seconds_since(t));
  } else {
    std::printf("  hnswlib: not compiled into this build (peers option)\n");
  }

  // Unfiltered iqdb at the same ef: what a filter costs over no filter.
  const std::string plain_curve = ours_name + " [no filter]";
  {
    std::vector<std::vector<uint32_t>> truth(nq);
    for (size_t q = 0; q < nq; ++q) {
      truth[q].assign(ds.truth.begin() + ptrdiff_t(q * kRecallK),
                      ds.truth.begin() + ptrdiff_t((q + 1) * kRecallK));
    }
    for (size_t ef : kEfs) {
      SearchParams p;
      p.k = kRecallK;
      p.ef = ef;
      std::vector<std::vector<uint32_t>> found(nq);
      const double qps = median_qps_of(nq, [&] {
        const auto t0 = std::chrono::steady_clock::now();
        for (size_t q = 0; q < nq; ++q) {
          auto hits = db->search(std::span<const float>(ds.query(q), ds.dim), p);
          found[q].clear();
          if (hits) {
            for (const Hit& h : *hits) found[q].push_back(uint32_t(h.id.as_u64()));
          }
        }
        return seconds_since(t0);
      });
      report.add({plain_curve, "ef=" + std::to_string(ef), recall(truth, found), qps, 0, 0});
    }
  }

  for (const Kind& kind : kinds) {
    std::vector<std::vector<uint32_t>> truth(nq);
    std::vector<Filter> filters;
    double matched = 0;
    for (size_t q = 0; q < nq; ++q) {
      const Matches& m = matches.at(kind.keys[q]);
      truth[q] = exact_filtered(ds, ds.query(q), m);
      filters.push_back(Filter::eq(kind.keys[q].field, Value(kind.keys[q].value)));
      matched += double(m.ids.size());
    }
    std::printf("  filter %s: %.0f matching rows on average\n", kind.name, matched / double(nq));
    auto run_iqdb = [&](SearchParams p, std::vector<std::vector<uint32_t>>& found) {
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t q = 0; q < nq; ++q) {
        p.filter = &filters[q];
        auto hits = db->search(std::span<const float>(ds.query(q), ds.dim), p);
        found[q].clear();
        if (hits) {
          for (const Hit& h : *hits) found[q].push_back(uint32_t(h.id.as_u64()));
        }
      }
      return seconds_since(t0);
    };
    // iqdb's exact scan of the matches: the floor every ef must stay above.
    const std::string scan_curve = curve("iqdb exact scan", kind);
    SearchParams exact;
    exact.k = kRecallK;
    exact.exact = true;
    std::vector<std::vector<uint32_t>> found(nq);
    const double scan_qps = median_qps_of(nq, [&] { return run_iqdb(exact, found); });
    const double scan_recall = recall(truth, found);
    report.add({scan_curve, "exact", scan_recall, scan_qps, 0, 0});
    std::printf("    %-8s %12s %8s %9s %12s %8s\n", "ef", "iqdb QPS", "recall", "/ scan",
                "hnswlib QPS", "recall");
    std::printf("    %-8s %12.0f %8.4f\n", "exact", scan_qps, scan_recall);

    // Queries grouped by filter for the peer: one allow-list per group.
    std::map<Key, std::vector<size_t>> groups;
    for (size_t q = 0; q < nq; ++q) groups[kind.keys[q]].push_back(q);
    const std::string ours = curve(ours_name.c_str(), kind);
    const std::string theirs = curve("hnswlib-native M=16 allow-list", kind);
    double min_over_scan = 1e300;
    for (size_t ef : kEfs) {
      SearchParams p;
      p.k = kRecallK;
      p.ef = ef;
      const double qps = median_qps_of(nq, [&] { return run_iqdb(p, found); });
      const double r = recall(truth, found);
      report.add({ours, "ef=" + std::to_string(ef), r, qps, 0, 0});
      // Against the scan, this ef is timed again beside it, pass for pass.
      std::vector<std::vector<uint32_t>> again(nq), scan_found(nq);
      const auto [paired_qps, paired_scan_qps] = paired_median_qps(
          nq, [&] { return run_iqdb(p, again); }, [&] { return run_iqdb(exact, scan_found); });
      min_over_scan = std::min(min_over_scan, paired_qps / paired_scan_qps);
      std::printf("    %-8zu %12.0f %8.4f %8.2fx", ef, qps, r, paired_qps / paired_scan_qps);
      if (peer != nullptr) {
        peer->set_search_knob(std::max(ef, kRecallK));
        std::vector<std::vector<uint32_t>> peer_found(nq);
        const double peer_qps = median_qps_of(nq, [&] {
          double seconds = 0;
          for (const auto& [key, queries] : groups) {
            peer->set_allowed(&matches.at(key).allowed);  // untimed
            const auto t0 = std::chrono::steady_clock::now();
            for (size_t q : queries) peer->search(ds.query(q), kRecallK, peer_found[q]);
            seconds += seconds_since(t0);
          }
          peer->set_allowed(nullptr);
          return seconds;
        });
        const double peer_r = recall(truth, peer_found);
        report.add({theirs, "ef=" + std::to_string(ef), peer_r, peer_qps, 0, 0});
        std::printf(" %12.0f %8.4f", peer_qps, peer_r);
      }
      std::printf("\n");
    }
    const bool ten_percent = kind.name[0] != '1' && kind.name[0] != '0';
    report.ratio(std::string("filter ") + kind.name + ": lowest QPS over ef / exact scan QPS",
                 min_over_scan, 1.0);
    for (double target_recall : {0.95, 0.99}) {
      char label[160];
      const double a = report.qps_at_recall(ours, target_recall);
      if (peer != nullptr) {
        const double b = report.qps_at_recall(theirs, target_recall);
        std::snprintf(label, sizeof label,
                      "filter %s: QPS iqdb / hnswlib allow-list at recall@10 %.2f", kind.name,
                      target_recall);
        report.ratio(label, b > 0 ? a / b : 0, ten_percent ? 2.0 : 0.0);
      }
      const double u = report.qps_at_recall(plain_curve, target_recall);
      std::snprintf(label, sizeof label,
                    "filter %s: QPS iqdb filtered / unfiltered at recall@10 %.2f", kind.name,
                    target_recall);
      report.ratio(label, u > 0 ? a / u : 0);
    }
  }
}

}  // namespace iqdb::bench
