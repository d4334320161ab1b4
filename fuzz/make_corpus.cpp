// Writes the seed corpora under fuzz/corpus/: a few valid files made by the
// real writers plus damaged variants. Run from the repository root:
//   build/fuzz/make_fuzz_corpus fuzz/corpus
// Seeds are kept under 64 KiB each.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

std::string wal(size_t records) {
  auto header = encode_wal_header(WalFileHeader{kFuzzIdentity, 1});
  std::string out(reinterpret_cast<const char*>(header.data()), header.size());
  for (size_t i = 0; i < records; ++i) {
    std::string payload = "record " + std::to_string(i) + std::string(i * 5, 'p');
    append_wal_record(out, i + 1, uint8_t(i % 4), util::as_bytes(payload));
  }
  return out;
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
    put(root / "codec", name + "-truncated", codec_input(kind, c.substr(0, c.size() / 2), uint32_t(t.size())));
    const std::string bomb = *compress(kind, 3, util::as_bytes(zeros));
    put(root / "codec", name + "-bomb", codec_input(kind, bomb, 100));
  }
  put(root / "codec", "none-valid", codec_input(CodecKind::kNone, "plain bytes", 11));
  std::printf("wrote seed corpora under %s\n", root.c_str());
  return 0;
}
