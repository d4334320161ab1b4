// iqdb check: an integrity check in the spirit of SQLite's
// PRAGMA integrity_check. Read-only: it never replays, cuts or rewrites
// anything, so it is safe to run on a database that failed to open.
//
// Stages, each printed as one line (ok / DAMAGED / note):
//   snapshot  header, section table and every section checksum (CRC32C)
//   ids       the store loads; every live slot's id maps back to that slot;
//             the record count matches the header
//   vectors   every row, decoded from however it is stored (f32, f16,
//             bf16, SQ8, u8), is finite and agrees with its stored norms
//             (to the precision of the storage type)
//   index     the index loads (its loader validates every structure); for
//             HNSW: HnswIndex::check() (no links to absent nodes, no self
//             links, no over-full lists, a top-level entry point), graph
//             nodes == live slots, and reachability from the entry point
//             (a note: it degrades recall, it does not lose data)
//   log       every record's checksum and sequence, each payload decodes
//             for this database's dimension; a torn tail is a note (the
//             next open cuts it off), a bad record before good ones damage
#include <cmath>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"
#include "cli/snapshot_view.h"
#include "iqdb/config.h"
#include "db/index_factory.h"
#include "db/wal_ops.h"
#include "index/hnsw.h"
#include "storage/wal_reader.h"
#include "util/file.h"

namespace iqdb::cli {

const char* const kCheckHelp =
    "usage: iqdb check PATH [--quiet]\n\n"
    "Verifies the database at PATH without changing it: the snapshot header and\n"
    "every section checksum, the id map (each id maps back to its slot, counts\n"
    "agree), the rows (decoded from their storage type: finite, and matching their\n"
    "stored norms), the index (HNSW graph invariants: no links to absent nodes, no\n"
    "self links, no over-full lists, a valid entry point, every live row in the\n"
    "graph; nodes no search can reach are reported as a note) and every\n"
    "write-ahead log record.\n"
    "Prints one line per stage and `ok`, or the problems found. Exit codes: 0 ok,\n"
    "3 damaged, 4 no database at PATH, 7 an index this build cannot check.\n\n"
    "  --quiet   print only the verdict\n";

namespace {

const OptionSpec kSpecs[] = {{"--quiet", "-q", false}};
constexpr size_t kMaxListed = 10;

// How far a row's stored norms (those of the floats as written) may be from
// the norm of the row as decoded. Exact rows (f32, u8, or any type with its
// f32 rows kept) allow float rounding; f16 and bf16 rows allow their
// rounding of each value (relative 2^-11 and 2^-8), doubled.
struct NormTolerance {
  bool check = true;
  double relative = 1e-3;
  double absolute = 0;  // per dimension, for values rounded to zero
};

NormTolerance norm_tolerance(const index::VectorStore& store) {
  if (store.has_f32_rows() || store.codes_are_exact()) return {};
  switch (store.storage().type) {
    case StorageType::kF16:
      return {true, 2.0 / 2048, 1e-7};
    case StorageType::kBF16:
      return {true, 2.0 / 256, 1e-38};
    default:
      return {false, 0, 0};
  }
}

// `norm` is |decoded row|; the store holds 1/|x| and |x|^2 of the row as
// written.
bool norms_agree(double norm, float inv_norm, float sq_norm, const NormTolerance& t,
                 size_t dim) {
  // 1e-30: norms so small that their inverse overflows a float.
  const double slack = t.relative * norm + t.absolute * std::sqrt(double(dim)) + 1e-30;
  const double from_inv =
      inv_norm > 0 && std::isfinite(inv_norm) ? 1.0 / double(inv_norm) : 0.0;
  const double from_sq = std::sqrt(std::max(0.0, double(sq_norm)));
  if (!std::isfinite(from_sq)) return true;  // |x|^2 past FLT_MAX is stored as +inf
  return std::abs(from_inv - norm) <= slack && std::abs(from_sq - norm) <= slack;
}

class Checker {
 public:
  Checker(std::filesystem::path path, bool quiet) : path_(std::move(path)), quiet_(quiet) {}

  int run();

 private:
  void ok(const char* stage, const std::string& what) {
    if (!quiet_) std::printf("%-9s ok: %s\n", stage, what.c_str());
  }
  void note(const char* stage, const std::string& what) {
    if (!quiet_) std::printf("%-9s note: %s\n", stage, what.c_str());
  }
  void damaged(const char* stage, const std::string& what) {
    ++problems_;
    std::printf("%-9s DAMAGED: %s\n", stage, what.c_str());
  }
  bool check_snapshot();
  bool check_store();
  void check_index();
  void check_hnsw(const index::HnswIndex& h);
  void check_log();

  std::filesystem::path path_;
  bool quiet_;
  size_t problems_ = 0;
  bool unsupported_ = false;
  SnapshotView view_;
};

int Checker::run() {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) {
    if (std::filesystem::exists(sibling(path_, ".wal"), ec)) {
      damaged("snapshot", "missing, but its log " + path_.string() + ".wal exists");
      std::printf("1 problem found\n");
      return int(Exit::kDamaged);
    }
    throw CliError(Exit::kNotFound, "no database at " + path_.string());
  }
  auto lock = util::FileLock::acquire(path_);
  if (!lock.ok()) {
    note("lock", "the database is open in another process; checking the files as they are now");
  }
  if (check_snapshot() && check_store()) check_index();
  check_log();
  if (problems_ == 0 && !unsupported_) {
    std::printf("ok\n");
    return 0;
  }
  if (problems_ == 0) {
    std::printf("incomplete: this build cannot check every part of the database\n");
    return int(Exit::kUnsupported);
  }
  std::printf("%zu problem%s found\n", problems_, problems_ == 1 ? "" : "s");
  return int(Exit::kDamaged);
}

bool Checker::check_snapshot() {
  // Small and compressed sections are verified on open; the rest below, one
  // by one, so every damaged section is named.
  auto view = open_snapshot_view(path_, storage::VerifyMode::kSmallSections);
  if (!view.ok()) {
    if (view.status().code() == StatusCode::kUnsupported) {
      unsupported_ = true;
      note("snapshot", std::string(view.status().message()));
    } else {
      damaged("snapshot", std::string(view.status().message()));
    }
    return false;
  }
  view_ = std::move(*view);
  size_t bad = 0;
  for (const storage::SectionInfo& s : view_.reader->sections()) {
    Status v = view_.reader->verify(s.kind);
    if (!v.ok()) {
      ++bad;
      damaged("snapshot", std::string(v.message()));
    }
  }
  if (bad) return false;
  ok("snapshot", std::to_string(view_.reader->header().record_count) + " records, " +
                     std::to_string(view_.reader->sections().size()) + " sections, " +
                     human_bytes(view_.reader->file_bytes()) + ", every checksum verified");
  return true;
}

bool Checker::check_store() {
  Status s = load_store(view_);
  if (!s.ok()) {
    damaged("ids", "the vector store does not load: " + std::string(s.message()));
    return false;
  }
  const index::VectorStore& store = *view_.store;
  const NormTolerance tolerance = norm_tolerance(store);
  std::vector<float> row(store.dim());
  size_t live = 0, listed = 0, bad = 0, non_finite = 0, bad_norm = 0;
  for (uint32_t slot = 0; slot < store.slot_end(); ++slot) {
    if (!store.is_live(slot)) continue;
    ++live;
    const uint32_t found = store.find(store.id(slot));
    if (found != slot) {
      ++bad;
      if (listed++ < kMaxListed) {
        damaged("ids", "slot " + std::to_string(slot) + " holds id " + id_text(store.id(slot)) +
                           ", which maps to slot " +
                           (found == index::kNoSlot ? "none" : std::to_string(found)));
      }
    }
    store.decode_row(slot, row.data());
    double norm2 = 0;
    bool finite = true;
    for (size_t j = 0; j < store.dim(); ++j) {
      finite = finite && std::isfinite(row[j]);
      norm2 += double(row[j]) * double(row[j]);
    }
    if (!finite) {
      ++non_finite;
      continue;
    }
    if (tolerance.check && !norms_agree(std::sqrt(norm2), store.inv_norm(slot), store.sq_norm(slot),
                                        tolerance, store.dim()))
      ++bad_norm;
  }
  if (bad > kMaxListed)
    damaged("ids", "... and " + std::to_string(bad - kMaxListed) + " more slots like these");
  if (live != store.size()) {
    damaged("ids", std::to_string(live) + " live slots but the store counts " +
                       std::to_string(store.size()));
  }
  if (store.size() != view_.reader->header().record_count) {
    damaged("ids", "the header says " + std::to_string(view_.reader->header().record_count) +
                       " records, the store has " + std::to_string(store.size()));
  }
  if (non_finite)
    damaged("vectors", std::to_string(non_finite) + " rows hold NaN or infinite values");
  if (bad_norm)
    damaged("vectors",
            std::to_string(bad_norm) + " rows have a stored norm that does not match the row");
  if (bad == 0 && live == store.size() && store.size() == view_.reader->header().record_count) {
    ok("ids", std::to_string(live) + " live slots of " + std::to_string(store.slot_end()) +
                  ", each id maps back to its slot");
  }
  if (non_finite == 0 && bad_norm == 0) {
    std::string how = storage_type_name(store.storage().type);
    if (store.has_codes() && store.has_f32_rows()) how += " and f32";
    if (!store.has_codes() && store.storage().type != StorageType::kF32) how = "f32, untrained sq8";
    ok("vectors", "all finite" + std::string(tolerance.check ? ", norms consistent" : "") +
                      " (" + how + " rows)");
  }
  if (!tolerance.check && live > 0) {
    note("vectors",
         "norms not compared with the rows: SQ8 codes clamp values outside the trained "
         "range, so a decoded row can differ from the row written by any amount");
  }
  return bad == 0;
}

void Checker::check_index() {
  const IndexKind& kind = view_.index;
  auto ann = db::load_index(kind, *view_.store, *view_.source);
  if (!ann.ok()) {
    if (ann.status().code() == StatusCode::kUnsupported) {
      unsupported_ = true;
      note("index", std::string(kind.name()) +
                        " cannot be loaded by this build: " + std::string(ann.status().message()));
    } else {
      damaged("index",
              std::string(kind.name()) + " does not load: " + std::string(ann.status().message()));
    }
    return;
  }
  if (*ann == nullptr) {
    ok("index", "flat (exact search needs no structure)");
    return;
  }
  if (const auto* h = dynamic_cast<const index::HnswIndex*>(ann->get())) {
    check_hnsw(*h);
    return;
  }
  ok("index", std::string(kind.name()) + ": every structure validated while loading");
}

void Checker::check_hnsw(const index::HnswIndex& h) {
  const index::VectorStore& store = *view_.store;
  Status s = h.check();
  if (!s.ok()) damaged("index", "hnsw graph: " + std::string(s.message()));
  size_t missing = 0, stale = 0;
  for (uint32_t slot = 0; slot < store.slot_end(); ++slot) {
    if (store.is_live(slot) && !h.contains(slot)) ++missing;
    if (!store.is_live(slot) && h.contains(slot)) ++stale;
  }
  if (missing) damaged("index", std::to_string(missing) + " live rows are not in the graph");
  if (stale) damaged("index", std::to_string(stale) + " graph nodes belong to removed rows");
  if (h.size() != store.size() && missing == 0 && stale == 0) {
    damaged("index", "the graph has " + std::to_string(h.size()) + " nodes for " +
                         std::to_string(store.size()) + " rows");
  }
  const uint32_t ep = h.entry_point();
  const bool bad_entry = store.size() > 0 && (ep == index::kNoSlot || !h.contains(ep));
  if (bad_entry) damaged("index", "no valid entry point");
  if (!s.ok() || missing || stale || bad_entry) return;

  // Reachability from the entry point along links of any level: a search
  // descends the upper levels and then walks level 0, so a node no chain of
  // links leads to is one no search can return.
  size_t reached = 0;
  if (ep != index::kNoSlot) {
    std::vector<uint8_t> seen(store.slot_end(), 0);
    std::deque<uint32_t> frontier{ep};
    seen[ep] = 1;
    while (!frontier.empty()) {
      const uint32_t at = frontier.front();
      frontier.pop_front();
      ++reached;
      for (uint32_t level = 0; level <= h.level(at); ++level) {
        for (uint32_t n : h.neighbors(at, level)) {
          if (n < seen.size() && !seen[n]) {
            seen[n] = 1;
            frontier.push_back(n);
          }
        }
      }
    }
  }
  ok("index",
     "hnsw, " + std::to_string(h.size()) + " nodes, entry point slot " +
         (ep == index::kNoSlot ? std::string("none")
                               : std::to_string(ep) + " on level " + std::to_string(h.level(ep))) +
         ", links valid" + (h.uses_sq8() ? ", SQ8 codes" : ""));
  if (reached < h.size()) {
    note("index",
         std::to_string(h.size() - reached) + " of " + std::to_string(h.size()) +
             " nodes cannot be reached from the entry point along any links (no search can "
             "return them)");
  }
}

void Checker::check_log() {
  const std::filesystem::path wal = sibling(path_, ".wal");
  std::error_code ec;
  if (!std::filesystem::exists(wal, ec)) {
    ok("log", "no write-ahead log (nothing written since the snapshot)");
    return;
  }
  if (!view_.reader) {
    note("log", "not checked: the snapshot that names its identity is unreadable");
    return;
  }
  const storage::SnapshotHeader& h = view_.reader->header();
  const size_t dim = h.dim;
  uint64_t upserts = 0, removes = 0;
  auto replay = storage::replay_wal(
      wal, h.identity, h.wal_sequence,
      [&](uint64_t seq, uint8_t op, std::span<const uint8_t> payload) {
        auto decoded = db::decode_op(op, payload, dim);
        if (!decoded.ok()) {
          return Status::Corruption("record " + std::to_string(seq) + ": " +
                                    std::string(decoded.status().message()));
        }
        (decoded->op == db::WalOp::kRemove ? removes : upserts) += decoded->ids.size();
        return Status::OK();
      });
  if (!replay.ok()) {
    if (replay.status().code() == StatusCode::kUnsupported) {
      unsupported_ = true;
      note("log", std::string(replay.status().message()));
    } else {
      damaged("log", std::string(replay.status().message()));
    }
    return;
  }
  ok("log", std::to_string(replay->records) + " records, " + std::to_string(replay->delivered) +
                " newer than the snapshot (" + std::to_string(upserts) + " upserts, " +
                std::to_string(removes) + " removes), " + human_bytes(replay->file_bytes));
  if (replay->torn_tail()) {
    note("log",
         "ends in " + std::to_string(replay->file_bytes - replay->valid_bytes) +
             " bytes of a torn record (a crash during a write); the next open cuts them off");
  }
}

}  // namespace

int run_check(std::span<char* const> argv) {
  Args args("check", argv, kSpecs);
  args.expect_positional(1, 1, "PATH");
  return Checker(args.positional()[0], args.has("--quiet")).run();
}

}  // namespace iqdb::cli
