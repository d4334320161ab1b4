// Writes the seed corpora under fuzz/corpus/: a few valid files made by the
// real writers plus damaged variants. Run from the repository root:
//   build/fuzz/make_fuzz_corpus fuzz/corpus
// Seeds are kept under 96 KiB each (a database file takes a 4 KiB-aligned
// block per section).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "index/payload_index.h"
#include "iqdb/iqdb.hpp"
#include "storage/codec.h"
#include "storage/snapshot_writer.h"
#include "storage/wal.h"
#include "util/coding.h"

namespace {

using namespace iqdb::storage;
namespace util = iqdb::util;

constexpr uint64_t kFuzzIdentity = 0xF0220F0220F0220Full;  // as in wal_fuzz.cpp

void put(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "id=" + std::to_string(i % 37) + ";";
  s.resize(n);
  return s;
}

std::string snapshot(bool compressed) {
  SnapshotHeader h;
  h.dim = 4;
  h.metric = 2;
  h.record_count = 3;
  h.wal_sequence = 7;
  h.identity = kFuzzIdentity;
  h.index_config = "flat";
  SnapshotWriter w(h);
  std::string floats;
  for (int i = 0; i < 12; ++i) util::put_f32(floats, float(i) * 0.5f);
  (void)w.add_owned_section(1, floats);
  if (compressed) {
    (void)w.add_owned_section(2, text(3000), CodecKind::kZstd, 3);
    (void)w.add_owned_section(3, text(2000), CodecKind::kLz4);
  }
  (void)w.add_owned_section(4, "");
  return *w.write_to_string();
}

// A payload index section, prefixed by the byte payload_fuzz.cpp reads the
// store's shape from: 40 slots, live unless (7s + 40) % 5 == 0.
std::string payload_section(size_t max_values) {
  constexpr uint8_t kShape = 40;
  iqdb::index::PayloadIndex index(max_values);
  for (uint32_t s = 0; s < kShape; ++s) {
    if ((s * 7 + kShape) % 5 == 0) continue;
    const iqdb::Metadata m{{"a", int64_t(s % 4)},
                           {"b", s % 3 == 0 ? iqdb::Value(0.5 * s) : iqdb::Value("x")},
                           {"c", s % 2 == 0}};
    index.add(s, &m);
  }
  return std::string(1, char(kShape)) + index.encode(kShape);
}

std::string wal(size_t records) {
  auto header = encode_wal_header(WalFileHeader{kFuzzIdentity, 1});
  std::string out(reinterpret_cast<const char*>(header.data()), header.size());
  for (size_t i = 0; i < records; ++i) {
    std::string payload = "record " + std::to_string(i) + std::string(i * 5, 'p');
    append_wal_record(out, i + 1, uint8_t(i % 4), util::as_bytes(payload));
  }
  return out;
}

// A small database file made by the database itself: `rows` rows of 8
// whole numbers in [0, 255] (so every storage type holds them), a metadata
// field on every third row.
std::string database_file(const iqdb::Config& config, size_t rows) {
  const auto dir = std::filesystem::temp_directory_path() / "iqdb-make-corpus";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = dir / "seed.iqdb";
  {
    auto db = iqdb::Database::open(path, config);
    if (!db.ok()) {
      std::fprintf(stderr, "cannot create a seed database: %s\n", db.status().to_string().c_str());
      std::exit(1);
    }
    uint32_t x = 12345;
    for (size_t i = 0; i < rows; ++i) {
      std::vector<float> v(8);
      for (float& f : v) {
        x = x * 1103515245u + 12345u;
        f = float((x >> 16) % 256);
      }
      iqdb::Metadata m;
      if (i % 3 == 0) m.set("k", iqdb::Value(int64_t(i % 2)));
      (void)db->upsert(iqdb::VectorId(uint64_t(i)), v, i % 3 == 0 ? &m : nullptr);
    }
    (void)db->close();
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove_all(dir);
  return bytes;
}

std::string codec_input(CodecKind kind, const std::string& stored, uint32_t expected) {
  std::string out(1, char(kind));
  util::put_u32(out, expected);
  return out + stored;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path root = argc > 1 ? argv[1] : "fuzz/corpus";

  const std::string plain = snapshot(false), full = snapshot(true);
  put(root / "snapshot", "valid-plain", plain);
  put(root / "snapshot", "valid-compressed", full);
  std::string s = full;
  s[100] ^= 1;  // section table, header checksum now wrong
  put(root / "snapshot", "bad-header-crc", s);
  s = full;
  s[4096 + 3] ^= 1;  // first section's bytes
  put(root / "snapshot", "bad-section-crc", s);
  put(root / "snapshot", "truncated", full.substr(0, full.size() - 4096));
  put(root / "snapshot", "header-only", full.substr(0, 200));

  using iqdb::Config;
  using iqdb::Metric;
  using iqdb::VectorStorage;
  const iqdb::HnswConfig hnsw = iqdb::HnswConfig{}.with_m(4).with_ef_construction(16);
  const iqdb::IvfConfig ivf = iqdb::IvfConfig{}.with_n_clusters(4);
  const struct {
    const char* name;
    Config config;
    size_t rows;
  } databases[] = {
      {"flat", Config(8, Metric::kL2), 40},
      {"hnsw", Config(8, Metric::kL2).index(hnsw), 300},
      {"hnsw-f32-walk",
       Config(8, Metric::kCosine).index(iqdb::HnswConfig(hnsw).with_quantized_walk(false)), 200},
      {"hnsw-u8", Config(8, Metric::kL2).storage(VectorStorage::u8()).index(hnsw), 200},
      {"ivf-flat", Config(8, Metric::kL2).index(ivf), 300},
      {"ivf-flat-u8", Config(8, Metric::kL1).storage(VectorStorage::u8()).index(ivf), 300},
      {"ivf-flat-f16-f32", Config(8, Metric::kDot).storage(VectorStorage::f16(true)).index(ivf),
       300},
      {"ivf-pq4",
       Config(8, Metric::kL2)
           .index(iqdb::IvfConfig(ivf).with_pq(iqdb::IvfConfig::Pq::k4BitFastScan)),
       300},
  };
  for (const auto& d : databases) {
    const std::string file = database_file(d.config, d.rows);
    put(root / "database", d.name, file);
    if (std::string(d.name) == "ivf-flat-u8") {
      put(root / "database", "ivf-flat-u8-truncated", file.substr(0, file.size() - 100));
    }
  }

  const std::string log = wal(6);
  put(root / "wal", "valid", log);
  put(root / "wal", "empty-log", wal(0));
  put(root / "wal", "torn-tail", log.substr(0, log.size() - 3));
  put(root / "wal", "partial-header", log.substr(0, 11));
  std::string w = log;
  w[kWalHeaderBytes + kWalRecordHeaderBytes + 2] ^= 0x20;  // first payload: mid-log damage
  put(root / "wal", "mid-corruption", w);
  w = log;
  util::encode_u32(reinterpret_cast<uint8_t*>(w.data()) + kWalHeaderBytes, 0xFFFFFFFFu);
  put(root / "wal", "hostile-length", w);

  const std::string t = text(5000);
  const std::string zeros(60000, '\0');
  for (CodecKind kind : {CodecKind::kZstd, CodecKind::kLz4}) {
    const std::string name(codec_name(kind));
    const std::string c = *compress(kind, 3, util::as_bytes(t));
    put(root / "codec", name + "-valid", codec_input(kind, c, uint32_t(t.size())));
    put(root / "codec", name + "-wrong-size", codec_input(kind, c, uint32_t(t.size() - 1)));
    put(root / "codec", name + "-truncated",
        codec_input(kind, c.substr(0, c.size() / 2), uint32_t(t.size())));
    const std::string bomb = *compress(kind, 3, util::as_bytes(zeros));
    put(root / "codec", name + "-bomb", codec_input(kind, bomb, 100));
  }
  put(root / "codec", "none-valid", codec_input(CodecKind::kNone, "plain bytes", 11));

  const std::string payload = payload_section(64);
  put(root / "payload", "valid", payload);
  put(root / "payload", "over-limit", payload_section(3));
  put(root / "payload", "truncated", payload.substr(0, payload.size() - 5));
  std::string p = payload;
  p[p.size() - 1] ^= 0x7F;  // the NaN postings' count now exceeds the bytes left
  put(root / "payload", "bad-count", p);
  std::printf("wrote seed corpora under %s\n", root.string().c_str());
  return 0;
}
