#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/wal_reader.h"
#include "storage/wal_writer.h"
#include "unit/util/temp_dir.h"
#include "util/coding.h"
#include "util/fault_injection.h"

namespace iqdb::storage {
namespace {

using testing::TempDir;

constexpr uint64_t kId = 0xC0FFEE0012345678ull;

struct Rec {
  uint64_t seq;
  uint8_t op;
  std::string payload;
  friend bool operator==(const Rec&, const Rec&) = default;
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Result<WalReplayResult> replay_into(const std::filesystem::path& p, uint64_t after,
                                    std::vector<Rec>* out, uint64_t identity = kId) {
  out->clear();
  return replay_wal(p, identity, after, [&](uint64_t seq, uint8_t op, std::span<const uint8_t> pl) {
    out->push_back(Rec{seq, op, std::string(util::as_chars(pl))});
    return Status::OK();
  });
}

Result<WalReplayResult> replay_image(std::string_view image, uint64_t after,
                                     std::vector<Rec>* out) {
  out->clear();
  return replay_wal_bytes(util::as_bytes(image), kId, after,
                          [&](uint64_t seq, uint8_t op, std::span<const uint8_t> pl) {
                            out->push_back(Rec{seq, op, std::string(util::as_chars(pl))});
                            return Status::OK();
                          });
}

// Writes `n` records (seq 1..n) and returns them with each record's start offset.
std::vector<Rec> write_records(const std::filesystem::path& p, size_t n,
                               std::vector<uint64_t>* offsets = nullptr) {
  auto w = WalWriter::open(p, kId, 1);
  REQUIRE(w.ok());
  std::vector<Rec> recs;
  for (size_t i = 0; i < n; ++i) {
    if (offsets) offsets->push_back((*w)->size_bytes());
    Rec r{0, static_cast<uint8_t>(i % 3), "payload-" + std::to_string(i) + std::string(i * 7, 'z')};
    Result<uint64_t> seq = (*w)->append(r.op, r.payload);
    REQUIRE(seq.ok());
    r.seq = *seq;
    recs.push_back(r);
  }
  REQUIRE((*w)->sync().ok());
  return recs;
}

TEST_CASE("WAL appends replay in order, and replay after a sequence skips older records") {
  TempDir dir;
  const auto path = dir / "db.wal";
  const std::vector<Rec> recs = write_records(path, 10);
  for (size_t i = 0; i < recs.size(); ++i) CHECK(recs[i].seq == i + 1);

  std::vector<Rec> got;
  Result<WalReplayResult> r = replay_into(path, 0, &got);
  REQUIRE(r.ok());
  CHECK(got == recs);
  CHECK(r->records == 10);
  CHECK(r->delivered == 10);
  CHECK(r->last_seq == 10);
  CHECK(r->next_seq == 11);
  CHECK_FALSE(r->torn_tail());

  r = replay_into(path, 7, &got);
  REQUIRE(r.ok());
  CHECK(got == std::vector<Rec>(recs.begin() + 7, recs.end()));
  CHECK(r->records == 10);
  CHECK(r->delivered == 3);

  // A snapshot that covers more than the log: nothing to replay, and the
  // next sequence continues after the snapshot.
  r = replay_into(path, 50, &got);
  REQUIRE(r.ok());
  CHECK(got.empty());
  CHECK(r->next_seq == 51);
}

TEST_CASE("a missing WAL replays as empty, and a reopened writer continues the sequence") {
  TempDir dir;
  const auto path = dir / "db.wal";
  std::vector<Rec> got;
  Result<WalReplayResult> r = replay_into(path, 5, &got);
  REQUIRE(r.ok());
  CHECK(r->records == 0);
  CHECK(r->next_seq == 6);

  {
    auto w = WalWriter::open(path, kId, r->next_seq);
    REQUIRE(w.ok());
    CHECK((*w)->size_bytes() == kWalHeaderBytes);
    CHECK(*(*w)->append(1, "a") == 6);
    CHECK(*(*w)->append(2, "b") == 7);
  }
  r = replay_into(path, 5, &got);
  REQUIRE(r.ok());
  CHECK(got == std::vector<Rec>{{6, 1, "a"}, {7, 2, "b"}});
  auto w = WalWriter::open(path, kId, r->next_seq);
  REQUIRE(w.ok());
  CHECK(*(*w)->append(3, "c") == 8);
  CHECK((*w)->next_seq() == 9);
}

TEST_CASE("torn WAL tail is cut at every offset of the last record and later writes survive") {
  TempDir dir;
  const auto path = dir / "db.wal";
  std::vector<uint64_t> offsets;
  const std::vector<Rec> recs = write_records(path, 4, &offsets);
  const std::string full = read_file(path);
  const uint64_t last_start = offsets.back();

  for (uint64_t cut = last_start + 1; cut < full.size(); ++cut) {
    CAPTURE(cut);
    write_file(path, std::string_view(full).substr(0, cut));
    std::vector<Rec> got;
    Result<WalReplayResult> r = replay_into(path, 0, &got);
    REQUIRE(r.ok());
    REQUIRE(r->torn_tail());
    CHECK(r->valid_bytes == last_start);
    CHECK(got == std::vector<Rec>(recs.begin(), recs.end() - 1));
    REQUIRE(truncate_torn_tail(path, *r).ok());
    CHECK(std::filesystem::file_size(path) == last_start);

    auto w = WalWriter::open(path, kId, r->next_seq);
    REQUIRE(w.ok());
    CHECK(*(*w)->append(9, "after-crash-1") == 4);
    CHECK(*(*w)->append(9, "after-crash-2") == 5);
    REQUIRE((*w)->sync().ok());
    w->reset();

    r = replay_into(path, 0, &got);
    REQUIRE(r.ok());
    CHECK_FALSE(r->torn_tail());
    REQUIRE(got.size() == 5);
    CHECK(got[3] == Rec{4, 9, "after-crash-1"});
    CHECK(got[4] == Rec{5, 9, "after-crash-2"});
  }
}

TEST_CASE("a final WAL record with a bad checksum is a torn tail") {
  TempDir dir;
  const auto path = dir / "db.wal";
  std::vector<uint64_t> offsets;
  write_records(path, 3, &offsets);
  std::string bytes = read_file(path);
  bytes.back() ^= 0x40;  // last payload byte
  write_file(path, bytes);
  std::vector<Rec> got;
  Result<WalReplayResult> r = replay_into(path, 0, &got);
  REQUIRE(r.ok());
  CHECK(r->torn_tail());
  CHECK(r->valid_bytes == offsets.back());
  CHECK(got.size() == 2);
  CHECK(r->next_seq == 3);
}

TEST_CASE("a damaged WAL record followed by valid records is Corruption, never skipped") {
  TempDir dir;
  const auto path = dir / "db.wal";
  std::vector<uint64_t> offsets;
  write_records(path, 5, &offsets);
  const std::string good = read_file(path);
  // Damage record 2 (seq 2) in each of its fields in turn.
  for (uint64_t field : {uint64_t{0}, uint64_t{4}, uint64_t{8}, uint64_t{16}, uint64_t{17}}) {
    CAPTURE(field);
    std::string bad = good;
    bad[offsets[1] + field] ^= 0x01;
    write_file(path, bad);
    std::vector<Rec> got;
    Result<WalReplayResult> r = replay_into(path, 0, &got);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kCorruption);
    CHECK(r.status().message().find("followed by a valid record") != std::string_view::npos);
  }
}

TEST_CASE("a hostile WAL length field never drives an allocation and is judged by what follows") {
  std::vector<Rec> got;
  TempDir dir;
  const auto path = dir / "db.wal";
  std::vector<uint64_t> offsets;
  write_records(path, 3, &offsets);
  const std::string good = read_file(path);

  std::string tail = good;  // the last record claims 4 GiB
  util::encode_u32(reinterpret_cast<uint8_t*>(tail.data()) + offsets[2], 0xFFFFFFFFu);
  Result<WalReplayResult> r = replay_image(tail, 0, &got);
  REQUIRE(r.ok());
  CHECK(r->torn_tail());
  CHECK(got.size() == 2);

  std::string mid = good;  // a middle record claims 1 GiB + 1
  util::encode_u32(reinterpret_cast<uint8_t*>(mid.data()) + offsets[1],
                   static_cast<uint32_t>(kMaxWalPayloadBytes + 1));
  CHECK(replay_image(mid, 0, &got).status().code() == StatusCode::kCorruption);
}

TEST_CASE("every byte flip of a small WAL gives an error or a prefix of the records") {
  TempDir dir;
  const auto path = dir / "db.wal";
  const std::vector<Rec> recs = write_records(path, 6);
  const std::string good = read_file(path);
  size_t errors = 0, prefixes = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      std::vector<Rec> got;
      Result<WalReplayResult> r = replay_image(bad, 0, &got);
      CAPTURE(i);
      if (!r.ok()) {
        ++errors;
        continue;
      }
      REQUIRE(got.size() < recs.size());  // the flip must not go unnoticed
      REQUIRE(std::equal(got.begin(), got.end(), recs.begin()));
      ++prefixes;
    }
  }
  MESSAGE("WAL byte flips: " << errors << " errors, " << prefixes << " torn-tail prefixes");
  CHECK(errors > 0);
  CHECK(prefixes > 0);
}

TEST_CASE("a WAL of another database, or one that starts after the snapshot, is Corruption") {
  TempDir dir;
  const auto path = dir / "db.wal";
  write_records(path, 2);
  std::vector<Rec> got;
  Result<WalReplayResult> r = replay_into(path, 0, &got, kId + 1);
  CHECK(r.status().code() == StatusCode::kCorruption);
  CHECK(r.status().message().find("another database") != std::string_view::npos);
  CHECK(WalWriter::open(path, kId + 1, 3).status().code() == StatusCode::kCorruption);

  {
    auto w = WalWriter::open(path, kId, 3);
    REQUIRE(w.ok());
    REQUIRE((*w)->reset(kId, 100).ok());  // as after a snapshot covering 99
  }
  CHECK(replay_into(path, 99, &got).ok());
  r = replay_into(path, 50, &got);  // an older snapshot: 51..99 would be missing
  CHECK(r.status().code() == StatusCode::kCorruption);
  CHECK(r.status().message().find("missing") != std::string_view::npos);

  write_file(path, "not a wal at all, longer than a header is......");
  CHECK(replay_into(path, 0, &got).status().code() == StatusCode::kCorruption);
  CHECK(WalWriter::open(path, kId, 1).status().code() == StatusCode::kCorruption);
}

TEST_CASE("a WAL with only part of its header is an empty log that the writer recreates") {
  TempDir dir;
  const auto path = dir / "db.wal";
  write_file(path, std::string_view(kWalMagic, 5));
  std::vector<Rec> got;
  Result<WalReplayResult> r = replay_into(path, 0, &got);
  REQUIRE(r.ok());
  CHECK(r->torn_tail());
  CHECK(r->valid_bytes == 0);
  REQUIRE(truncate_torn_tail(path, *r).ok());
  auto w = WalWriter::open(path, kId, r->next_seq);
  REQUIRE(w.ok());
  CHECK(*(*w)->append(1, "x") == 1);
  w->reset();
  r = replay_into(path, 0, &got);
  REQUIRE(r.ok());
  CHECK(got == std::vector<Rec>{{1, 1, "x"}});
}

TEST_CASE("WAL reset_keeping drops the records before the mark and keeps the ones after it") {
  TempDir dir;
  const auto path = dir / "db.wal";
  auto w = WalWriter::open(path, kId, 1);
  REQUIRE(w.ok());
  for (int i = 0; i < 3; ++i) REQUIRE((*w)->append(1, "covered").ok());
  const WalWriter::Mark mark = (*w)->mark();  // a snapshot holds 1..3
  REQUIRE((*w)->append(2, "after-a").ok());
  REQUIRE((*w)->append(3, std::string(3000, 'b')).ok());
  REQUIRE((*w)->sync().ok());
  REQUIRE((*w)->reset_keeping(kId, mark).ok());
  CHECK((*w)->next_seq() == 6);
  CHECK((*w)->synced_seq() == 5);
  CHECK(*(*w)->append(4, "later") == 6);
  REQUIRE((*w)->sync().ok());
  std::vector<Rec> got;
  auto r = replay_into(path, 3, &got);
  REQUIRE(r.ok());
  CHECK(got ==
        std::vector<Rec>{{4, 2, "after-a"}, {5, 3, std::string(3000, 'b')}, {6, 4, "later"}});
  // The cut log starts right after the snapshot: an older one misses records.
  CHECK(replay_into(path, 2, &got).status().code() == StatusCode::kCorruption);
  // A mark past the end of the log is refused and changes nothing.
  WalWriter::Mark beyond = (*w)->mark();
  beyond.end += 100;
  CHECK((*w)->reset_keeping(kId, beyond).code() == StatusCode::kInvalidArgument);
  CHECK(replay_into(path, 3, &got).ok());
  CHECK(got.size() == 3);
}

TEST_CASE("WAL reset empties the log, changes identity and restarts the sequence") {
  TempDir dir;
  const auto path = dir / "db.wal";
  auto w = WalWriter::open(path, kId, 1);
  REQUIRE(w.ok());
  for (int i = 0; i < 5; ++i) REQUIRE((*w)->append(0, "old").ok());
  REQUIRE((*w)->reset(kId + 7, 42).ok());
  CHECK((*w)->size_bytes() == kWalHeaderBytes);
  CHECK((*w)->identity() == kId + 7);
  CHECK((*w)->synced_seq() == 41);
  CHECK(*(*w)->append(5, "new") == 42);
  REQUIRE((*w)->sync().ok());
  CHECK_FALSE(std::filesystem::exists(dir / "db.wal.tmp"));
  std::vector<Rec> got;
  Result<WalReplayResult> r = replay_into(path, 41, &got, kId + 7);
  REQUIRE(r.ok());
  CHECK(got == std::vector<Rec>{{42, 5, "new"}});
}

TEST_CASE("a replay callback error stops the replay and is returned") {
  TempDir dir;
  const auto path = dir / "db.wal";
  write_records(path, 5);
  int calls = 0;
  Result<WalReplayResult> r =
      replay_wal(path, kId, 0, [&](uint64_t, uint8_t, std::span<const uint8_t>) {
        return ++calls == 3 ? Status::InvalidArgument("bad op") : Status::OK();
      });
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(calls == 3);
}

TEST_CASE("concurrent appenders share fsyncs and every record replays exactly once") {
  TempDir dir;
  const auto path = dir / "db.wal";
  auto opened = WalWriter::open(path, kId, 1);
  REQUIRE(opened.ok());
  WalWriter& w = **opened;
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<uint64_t> seq = w.append(static_cast<uint8_t>(t), std::to_string(t * 1000 + i));
        if (!seq.ok() || !w.sync_to(*seq).ok() || w.synced_seq() < *seq) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) CHECK(f == 0);
  CHECK(w.next_seq() == kThreads * kPerThread + 1);

  std::vector<Rec> got;
  Result<WalReplayResult> r = replay_into(path, 0, &got);
  REQUIRE(r.ok());
  REQUIRE(got.size() == kThreads * kPerThread);
  std::vector<int> seen(kThreads * 1000, 0);
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].seq == i + 1);
    ++seen[std::stoi(got[i].payload)];
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) CHECK(seen[t * 1000 + i] == 1);
  }
}

TEST_CASE("a failed WAL fsync makes every later append and sync fail until reset") {
  TempDir dir;
  const auto path = dir / "db.wal";
  auto opened = WalWriter::open(path, kId, 1);
  REQUIRE(opened.ok());
  WalWriter& w = **opened;
  Result<uint64_t> seq = w.append(1, "a");
  REQUIRE(seq.ok());
  util::inject_sync_failures(1);
  CHECK(w.sync_to(*seq).code() == StatusCode::kIOError);
  util::inject_sync_failures(0);
  CHECK(w.synced_seq() == 0);
  CHECK(w.append(1, "b").status().code() == StatusCode::kIOError);
  CHECK(w.sync().code() == StatusCode::kIOError);
  REQUIRE(w.reset(kId, 2).ok());
  CHECK(*w.append(1, "c") == 2);
  CHECK(w.sync().ok());
  CHECK(w.synced_seq() == 2);
}

TEST_CASE("WAL writer rejects sequence 0 and a next sequence below the log's start") {
  TempDir dir;
  const auto path = dir / "db.wal";
  CHECK(WalWriter::open(path, kId, 0).status().code() == StatusCode::kInvalidArgument);
  {
    auto w = WalWriter::open(path, kId, 10);
    REQUIRE(w.ok());
    CHECK((*w)->reset(kId, 0).code() == StatusCode::kInvalidArgument);
  }
  CHECK(WalWriter::open(path, kId, 5).status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace iqdb::storage
