// Power loss, not just kill -9: util::PowerLossFs keeps what the disk would
// hold if power failed now (only fsynced data, only directory entries made
// durable by a directory fsync). A workload of upserts, batches (one record
// and many parts), removes, flushes and background compactions runs under
// FsyncPolicy::always(); at every sync point the disk's state is saved, and
// each saved state must reopen, hold every acknowledged write, and hold the
// write in flight either whole or not at all.
//
// Then the same workload with one write failing (ENOSPC, EIO, a short
// write) or one fsync failing (EIO), at every write and sync it performs:
// the call fails cleanly, nothing acknowledged is lost, and a reopen works.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db/journal.h"
#include "db/wal_ops.h"
#include "storage/wal.h"
#include "iqdb/iqdb.hpp"
#include "util/file.h"
#include "util/power_loss.h"

using namespace iqdb;

namespace {

constexpr size_t kDim = 8;
using Model = std::map<uint64_t, std::vector<float>>;

// Real files under /dev/shm when there is one: durability here is the
// simulated disk's business, so the real fsyncs need not cost anything.
class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    const std::filesystem::path base = std::filesystem::exists("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    path_ = base /
            ("iqdb-power-" + std::to_string(util::process_id()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<float> row(uint64_t i, uint64_t version) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float(i) + float(d) * 0.5f + float(version) * 100.0f;
  return v;
}

struct Op {
  enum Kind { kUpsert, kBatch, kRemove, kFlush } kind;
  std::vector<uint64_t> ids;
  uint64_t version = 0;
};

std::vector<Op> workload() {
  std::vector<Op> ops;
  uint64_t version = 1;
  for (int round = 0; round < 5; ++round) {
    const uint64_t base = uint64_t(round) * 10;
    for (uint64_t i = 0; i < 4; ++i) ops.push_back({Op::kUpsert, {base + i}, version++});
    ops.push_back({Op::kBatch, {base + 1, base + 5, base + 6}, version++});  // one record
    std::vector<uint64_t> big;
    for (uint64_t i = 0; i < 24; ++i) big.push_back(100 + (base + i) % 60);
    ops.push_back({Op::kBatch, big, version++});  // many parts (the part size is lowered)
    ops.push_back({Op::kRemove, {base + 2}, 0});
    ops.push_back({Op::kUpsert, {base + 2}, version++});
    ops.push_back({Op::kRemove, {base + 3}, 0});
    if (round % 2 == 0) ops.push_back({Op::kFlush, {}, 0});
    ops.push_back({Op::kUpsert, {base}, version++});
  }
  return ops;
}

void apply_op(Model& model, const Op& op) {
  switch (op.kind) {
    case Op::kUpsert:
    case Op::kBatch:
      for (uint64_t id : op.ids) model[id] = row(id, op.version);
      break;
    case Op::kRemove: model.erase(op.ids[0]); break;
    case Op::kFlush: break;
  }
}

Status run(Database& db, const Op& op) {
  switch (op.kind) {
    case Op::kUpsert: return db.upsert(op.ids[0], row(op.ids[0], op.version));
    case Op::kBatch: {
      std::vector<VectorId> ids(op.ids.begin(), op.ids.end());
      std::vector<float> rows;
      for (uint64_t id : op.ids) {
        auto r = row(id, op.version);
        rows.insert(rows.end(), r.begin(), r.end());
      }
      return db.upsert_batch(ids, rows);
    }
    case Op::kRemove: return db.remove(op.ids[0]).status();
    case Op::kFlush: return db.flush();
  }
  return Status::OK();
}

// Every id the workload touches, read back.
Result<Model> read_all(const Database& db) {
  Model out;
  for (uint64_t id = 0; id < 200; ++id) {
    auto got = db.get(id);
    if (!got.ok()) return got.status();
    if (got->has_value()) out[id] = (*got)->vector;
  }
  if (out.size() != db.size()) return Status::Corruption("size() disagrees with the rows found");
  return out;
}

Config config() { return Config(kDim, Metric::kL2).fsync(FsyncPolicy::always()); }

// Lowers the batch part size and the compaction threshold for one test, so
// a small workload has multi-part batches and background compactions.
struct SmallParts {
  SmallParts() {
    db::set_batch_part_bytes(256);
    db::set_compact_log_bytes(400);
  }
  ~SmallParts() {
    db::set_batch_part_bytes(db::kBatchPartBytes);
    db::set_compact_log_bytes(uint64_t{256} << 20);
  }
};

struct Capture {
  Model acked;
  std::optional<Op> in_flight;
};

}  // namespace

TEST_CASE("power loss at every sync point never loses an acknowledged write nor opens a mix") {
  SmallParts small;
  ScratchDir dir, images;
  const auto path = dir.path() / "db";
  util::PowerLossFs fs(dir.path());

  std::mutex mu;
  Model model;
  std::optional<Op> in_flight;
  // Keyed by sync point: with background compactions two threads reach
  // sync points, and their callbacks may take the lock out of order.
  std::map<uint64_t, Capture> captures;
  fs.on_sync_point([&](uint64_t index) {
    std::lock_guard l(mu);
    CHECK(fs.image_to(images.path() / std::to_string(index)).ok());
    captures[index] = Capture{model, in_flight};
  });
  fs.install();
  const std::vector<Op> ops = workload();
  {
    auto db = Database::open(path, config());
    REQUIRE(db.ok());
    for (const Op& op : ops) {
      {
        std::lock_guard l(mu);
        in_flight = op;
      }
      Status s = run(*db, op);
      REQUIRE(s.ok());
      std::lock_guard l(mu);
      apply_op(model, op);
      in_flight.reset();
    }
    REQUIRE(db->close().ok());
  }
  fs.uninstall();
  REQUIRE(captures.size() == fs.sync_points());
  REQUIRE(captures.size() > 50);

  size_t reopened = 0;
  for (const auto& [i, c] : captures) {
    CAPTURE(i);
    auto db = Database::open(images.path() / std::to_string(i) / "db", config());
    REQUIRE(db.ok());  // never a failed open, never a half-written snapshot
    auto state = read_all(*db);
    REQUIRE(state.ok());
    Model with = c.acked;
    if (c.in_flight) apply_op(with, *c.in_flight);
    const bool matches = *state == c.acked || *state == with;
    CHECK(matches);
    // The reopened database takes writes.
    CHECK(db->upsert(199, row(199, 9)).ok());
    CHECK(db->close().ok());
    ++reopened;
  }
  MESSAGE("simulated power losses: " << reopened);

  auto final_db = Database::open(path, config());
  REQUIRE(final_db.ok());
  auto state = read_all(*final_db);
  REQUIRE(state.ok());
  CHECK(*state == model);
}

namespace {

struct FaultRun {
  bool any_failed = false;
};

// Runs the workload with `fs` failing one operation; checks the outcome.
void run_with_fault(util::PowerLossFs& fs, const std::filesystem::path& path, bool sync_fault,
                    FaultRun& out) {
  Model model;
  std::optional<Op> failed;
  fs.install();
  {
    auto db = Database::open(path, config());
    if (!db.ok()) {
      out.any_failed = true;  // creating failed cleanly; the next open must work
      db = Database::open(path, config());
    }
    REQUIRE(db.ok());
    for (const Op& op : workload()) {
      Status s = run(*db, op);
      if (s.ok()) {
        apply_op(model, op);
      } else {
        out.any_failed = true;
        CHECK(s.code() != StatusCode::kInvalidArgument);
        if (!failed) failed = op;
      }
    }
    (void)db->close();  // may report the failure again
  }
  fs.uninstall();
  auto db = Database::open(path, config());
  REQUIRE(db.ok());
  auto state = read_all(*db);
  REQUIRE(state.ok());
  if (sync_fault && failed) {
    // A failed fsync leaves the write's fate unknown; only acknowledged
    // writes are promised, and they are all there.
    Model with = model;
    apply_op(with, *failed);
    const bool matches = *state == model || *state == with;
    CHECK(matches);
  } else {
    CHECK(*state == model);  // a failed write was taken back whole
  }
  CHECK(db->upsert(199, row(199, 9)).ok());
  CHECK(db->close().ok());
}

}  // namespace

TEST_CASE(
    "ENOSPC, EIO and short writes at every write, and EIO at every fsync, lose nothing "
    "acknowledged") {
  SmallParts small;
  uint64_t writes = 0, syncs = 0;
  {
    ScratchDir dir;
    util::PowerLossFs fs(dir.path());
    FaultRun run;
    run_with_fault(fs, dir.path() / "db", false, run);
    writes = fs.writes();
    syncs = fs.sync_points();
    CHECK_FALSE(run.any_failed);
  }
  REQUIRE(writes > 50);
  size_t injected = 0, failed_calls = 0;
  const int errors[] = {ENOSPC, EIO, ENOSPC};
  for (uint64_t w = 0; w < writes; ++w) {
    CAPTURE(w);
    ScratchDir dir;
    util::PowerLossFs fs(dir.path());
    const int kind = int(w % 3);  // 0: ENOSPC, 1: EIO, 2: a short write then ENOSPC
    fs.fail_write(w, kind == 2 ? 7 : 0, errors[kind]);
    FaultRun run;
    run_with_fault(fs, dir.path() / "db", false, run);
    ++injected;
    failed_calls += run.any_failed ? 1 : 0;
  }
  for (uint64_t k = 0; k < syncs; ++k) {
    CAPTURE(k);
    ScratchDir dir;
    util::PowerLossFs fs(dir.path());
    fs.fail_sync(k, EIO);
    FaultRun run;
    run_with_fault(fs, dir.path() / "db", true, run);
    ++injected;
    failed_calls += run.any_failed ? 1 : 0;
  }
  MESSAGE("injected faults: " << injected << " (" << writes << " writes, " << syncs
                              << " syncs); runs where a call failed: " << failed_calls);
  CHECK(failed_calls > injected / 2);
}

namespace {

// Whether the log file at `path` starts after sequence 1 (a compaction cut it).
bool log_was_cut(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.string().c_str(), "rb");
  if (f == nullptr) return false;
  uint8_t head[storage::kWalHeaderBytes];
  const bool whole = std::fread(head, 1, sizeof head, f) == sizeof head;
  std::fclose(f);
  if (!whole) return false;
  auto header = storage::parse_wal_header(head);
  return header.ok() && header->start_seq > 1;
}

}  // namespace

TEST_CASE("power loss while writers race background compactions loses no acknowledged write") {
  // The log crosses its (lowered) threshold every few writes, so snapshots
  // are written while both writers keep logging; a power cut at any sync
  // point, the snapshot's and the log cut's included, must keep them all.
  SmallParts small;
  ScratchDir dir, images;
  const auto path = dir.path() / "db";
  util::PowerLossFs fs(dir.path());
  struct RaceCapture {
    std::set<uint64_t> acked, in_flight;
  };
  std::mutex mu;
  std::set<uint64_t> acked, in_flight;
  std::map<uint64_t, RaceCapture> captures;
  fs.on_sync_point([&](uint64_t index) {
    std::lock_guard l(mu);
    CHECK(fs.image_to(images.path() / std::to_string(index)).ok());
    captures[index] = RaceCapture{acked, in_flight};
  });
  fs.install();
  {
    auto db = Database::open(path, config());
    REQUIRE(db.ok());
    std::vector<std::thread> writers;
    for (uint64_t w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        for (uint64_t i = 0; i < 40; ++i) {
          const uint64_t id = w * 100 + i;
          {
            std::lock_guard l(mu);
            in_flight.insert(id);
          }
          CHECK(db->upsert(id, row(id, 1)).ok());
          std::lock_guard l(mu);
          in_flight.erase(id);
          acked.insert(id);
        }
      });
    }
    for (auto& t : writers) t.join();
    REQUIRE(db->close().ok());
  }
  fs.uninstall();
  REQUIRE(captures.size() == fs.sync_points());
  REQUIRE(captures.size() > 40);
  size_t cut_logs = 0;
  for (const auto& [index, c] : captures) {
    CAPTURE(index);
    auto db = Database::open(images.path() / std::to_string(index) / "db", config());
    REQUIRE(db.ok());
    auto state = read_all(*db);
    REQUIRE(state.ok());
    for (uint64_t id : c.acked) {
      auto it = state->find(id);
      REQUIRE(it != state->end());
      CHECK(it->second == row(id, 1));
    }
    for (const auto& [id, vector] : *state) {
      CHECK((c.acked.count(id) != 0 || c.in_flight.count(id) != 0));
      CHECK(vector == row(id, 1));
    }
    CHECK(db->close().ok());
    cut_logs += log_was_cut(images.path() / std::to_string(index) / "db.wal") ? 1 : 0;
  }
  // The writers really raced compactions: images caught with a cut log
  // (one that starts after sequence 1) while records were still coming.
  CHECK(cut_logs > 0);
  MESSAGE("simulated power losses with writers racing compactions: "
          << captures.size() << " (" << cut_logs << " after a log cut)");
}
