#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "storage/snapshot_reader.h"
#include "storage/snapshot_writer.h"
#include "unit/util/temp_dir.h"
#include "util/arena.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/fault_injection.h"

namespace iqdb::storage {
namespace {

using testing::TempDir;

SnapshotHeader sample_header() {
  SnapshotHeader h;
  h.dim = 784;
  h.metric = 2;
  h.record_count = 60'000;
  h.wal_sequence = 1234;
  h.identity = 0x1D1D1D1D2E2E2E2Eull;
  h.index_config = "hnsw m=16 ef=200";
  return h;
}

std::string random_string(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string compressible_string(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "row " + std::to_string(i % 101) + ",";
  s.resize(n);
  return s;
}

void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string section_string(const SnapshotReader& r, uint32_t kind) {
  Result<std::span<const uint8_t>> b = r.bytes(kind);
  REQUIRE(b.ok());
  return std::string(util::as_chars(*b));
}

// Recomputes the header checksum after a test edits header fields.
void reseal_header(std::string& image) {
  const uint32_t header_bytes =
      util::decode_u32(reinterpret_cast<const uint8_t*>(image.data()) + 16);
  uint32_t crc = util::crc32c(image.data(), 12);
  crc = util::crc32c_extend(crc, image.data() + 16, header_bytes - 16);
  util::encode_u32(reinterpret_cast<uint8_t*>(image.data()) + 12, crc);
}

TEST_CASE("snapshot round-trips header and sections with none, zstd and lz4") {
  TempDir dir;
  const std::string raw = random_string(10'000, 1);
  const std::string text = compressible_string(200'000);
  const std::string text2 = compressible_string(150'000);
  SnapshotWriter w(sample_header());
  REQUIRE(w.add_section(1, util::as_bytes(raw)).ok());
  REQUIRE(w.add_section(2, util::as_bytes(text), CodecKind::kNone).ok());
  const bool zstd = codec_available(CodecKind::kZstd), lz4 = codec_available(CodecKind::kLz4);
  if (zstd) REQUIRE(w.add_section(3, util::as_bytes(text), CodecKind::kZstd, 5).ok());
  if (lz4) REQUIRE(w.add_owned_section(4, text2, CodecKind::kLz4).ok());
  REQUIRE(w.add_section(5, {}).ok());  // empty
  if (zstd)
    REQUIRE(w.add_section(6, util::as_bytes(raw), CodecKind::kZstd).ok());  // will not shrink
  REQUIRE(w.write_atomically(dir / "db").ok());
  CHECK_FALSE(std::filesystem::exists(dir / "db.tmp"));
  CHECK(std::filesystem::file_size(dir / "db") % kSnapshotAlignment == 0);

  for (VerifyMode mode : {VerifyMode::kSmallSections, VerifyMode::kAll}) {
    Result<SnapshotReader> r = SnapshotReader::open(dir / "db", mode);
    REQUIRE(r.ok());
    CHECK(r->header() == sample_header());
    CHECK(r->file_bytes() == std::filesystem::file_size(dir / "db"));
    CHECK(section_string(*r, 1) == raw);
    CHECK(section_string(*r, 2) == text);
    CHECK(section_string(*r, 5).empty());
    if (zstd) {
      CHECK(section_string(*r, 3) == text);
      CHECK(r->find(3)->codec == CodecKind::kZstd);
      CHECK(r->find(3)->stored_bytes < text.size() / 4);
      CHECK(section_string(*r, 6) == raw);
      CHECK(r->find(6)->codec == CodecKind::kNone);  // stored raw: zstd did not shrink it
    }
    if (lz4) {
      CHECK(section_string(*r, 4) == text2);
      CHECK(r->find(4)->codec == CodecKind::kLz4);
    }
    CHECK(r->verify_all().ok());
    CHECK(r->find(99) == nullptr);
    CHECK(r->bytes(99).status().code() == StatusCode::kNotFound);
    CHECK(r->verify(99).code() == StatusCode::kNotFound);
    for (const SectionInfo& s : r->sections()) CHECK(s.offset % kSnapshotAlignment == 0);
  }
}

TEST_CASE("an uncompressed snapshot section can be adopted into an arena in place") {
  TempDir dir;
  const std::string raw = random_string(3 * 4096 + 100, 2);  // not a page multiple
  SnapshotWriter w(sample_header());
  REQUIRE(w.add_section(7, util::as_bytes(raw)).ok());
  REQUIRE(w.write_atomically(dir / "db").ok());
  Result<SnapshotReader> r = SnapshotReader::open(dir / "db");
  REQUIRE(r.ok());
  Result<FileRange> range = r->file_range(7);
  REQUIRE(range.ok());
  CHECK(range->offset % 4096 == 0);
  CHECK(range->length == raw.size());
  util::Arena arena(size_t{64} << 20);
  REQUIRE(arena.adopt_file(*range->file, range->offset, static_cast<size_t>(range->length)).ok());
  CHECK(std::string_view(reinterpret_cast<const char*>(arena.data()), raw.size()) == raw);
  // The mapped tail of the last page is padding, readable and zero.
  CHECK(arena.committed_bytes() >= raw.size());
  CHECK(arena.data()[raw.size()] == 0);

  if (codec_available(CodecKind::kZstd)) {
    SnapshotWriter wz(sample_header());
    const std::string text = compressible_string(100'000);
    REQUIRE(wz.add_section(8, util::as_bytes(text), CodecKind::kZstd).ok());
    REQUIRE(wz.write_atomically(dir / "dbz").ok());
    Result<SnapshotReader> rz = SnapshotReader::open(dir / "dbz");
    REQUIRE(rz.ok());
    CHECK(rz->file_range(8).status().code() == StatusCode::kUnsupported);
  }
}

TEST_CASE("snapshot writer rejects duplicate kinds and an oversized index config") {
  SnapshotWriter w(sample_header());
  REQUIRE(w.add_section(1, util::as_bytes("a")).ok());
  CHECK(w.add_section(1, util::as_bytes("b")).code() == StatusCode::kInvalidArgument);
  CHECK(w.add_owned_section(1, "c").code() == StatusCode::kInvalidArgument);
  CHECK(w.section_count() == 1);

  SnapshotHeader h = sample_header();
  h.index_config.assign(kMaxIndexConfigBytes, 'c');
  SnapshotWriter ok(h);
  Result<std::string> image = ok.write_to_string();
  REQUIRE(image.ok());
  Result<SnapshotReader> r = SnapshotReader::parse(util::as_bytes(*image));
  REQUIRE(r.ok());
  CHECK(r->header().index_config == h.index_config);

  h.index_config.push_back('x');
  SnapshotWriter too_big(h);
  CHECK(too_big.write_to_string().status().code() == StatusCode::kInvalidArgument);
  TempDir dir;
  CHECK(too_big.write_atomically(dir / "db").code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(std::filesystem::exists(dir / "db"));
  CHECK_FALSE(std::filesystem::exists(dir / "db.tmp"));
}

TEST_CASE("write_atomically replaces an older snapshot while a reader keeps the old one") {
  TempDir dir;
  SnapshotWriter w1(sample_header());
  REQUIRE(w1.add_owned_section(1, "first version").ok());
  REQUIRE(w1.write_atomically(dir / "db").ok());
  Result<SnapshotReader> old_reader = SnapshotReader::open(dir / "db");
  REQUIRE(old_reader.ok());

  SnapshotHeader h2 = sample_header();
  h2.wal_sequence = 99;
  SnapshotWriter w2(h2);
  REQUIRE(w2.add_owned_section(1, "second").ok());
  REQUIRE(w2.write_atomically(dir / "db").ok());

  CHECK(section_string(*old_reader, 1) == "first version");
  Result<SnapshotReader> fresh = SnapshotReader::open(dir / "db");
  REQUIRE(fresh.ok());
  CHECK(section_string(*fresh, 1) == "second");
  CHECK(fresh->header().wal_sequence == 99);
  CHECK(SnapshotReader::open(dir / "none").status().code() == StatusCode::kNotFound);
}

TEST_CASE("a snapshot whose fsync fails leaves the old snapshot and no temp file") {
  TempDir dir;
  SnapshotWriter w1(sample_header());
  REQUIRE(w1.add_owned_section(1, "old").ok());
  REQUIRE(w1.write_atomically(dir / "db").ok());
  SnapshotWriter w2(sample_header());
  REQUIRE(w2.add_owned_section(1, "new").ok());
  util::inject_sync_failures(1);
  CHECK(w2.write_atomically(dir / "db").code() == StatusCode::kIOError);
  util::inject_sync_failures(0);
  CHECK_FALSE(std::filesystem::exists(dir / "db.tmp"));
  Result<SnapshotReader> r = SnapshotReader::open(dir / "db");
  REQUIRE(r.ok());
  CHECK(section_string(*r, 1) == "old");
}

// A small snapshot with every kind of section, for the exhaustive damage tests.
std::string small_image() {
  SnapshotWriter w(sample_header());
  (void)w.add_owned_section(1, random_string(300, 3));
  if (codec_available(CodecKind::kZstd)) {
    (void)w.add_owned_section(2, compressible_string(2000), CodecKind::kZstd);
  }
  if (codec_available(CodecKind::kLz4)) {
    (void)w.add_owned_section(3, compressible_string(1500), CodecKind::kLz4);
  }
  (void)w.add_owned_section(4, "");
  return *w.write_to_string();
}

TEST_CASE("every single-byte flip of a snapshot is Corruption or leaves the data identical") {
  const std::string good = small_image();
  Result<SnapshotReader> ref = SnapshotReader::parse(util::as_bytes(good), VerifyMode::kAll);
  REQUIRE(ref.ok());
  size_t detected = 0, harmless = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      Result<SnapshotReader> r = SnapshotReader::parse(util::as_bytes(bad), VerifyMode::kAll);
      if (!r.ok()) {
        CAPTURE(i);
        REQUIRE(r.status().code() == StatusCode::kCorruption);
        ++detected;
        continue;
      }
      // Only padding can change unnoticed: everything read must be identical.
      REQUIRE(r->verify_all().ok());
      REQUIRE(r->header() == ref->header());
      REQUIRE(r->sections().size() == ref->sections().size());
      for (const SectionInfo& s : ref->sections()) {
        REQUIRE(section_string(*r, s.kind) == section_string(*ref, s.kind));
      }
      ++harmless;
    }
  }
  MESSAGE("byte flips detected: " << detected << ", in padding: " << harmless);
  CHECK(detected > 0);
}

TEST_CASE("every truncation and extension of a snapshot is Corruption") {
  const std::string good = small_image();
  for (size_t n = 0; n < good.size(); ++n) {
    Result<SnapshotReader> r = SnapshotReader::parse(
        util::as_bytes(std::string_view(good).substr(0, n)), VerifyMode::kAll);
    CAPTURE(n);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.status().code() == StatusCode::kCorruption);
  }
  CHECK(SnapshotReader::parse(util::as_bytes(good + std::string(4096, '\0'))).status().code() ==
        StatusCode::kCorruption);

  TempDir dir;
  write_file(dir / "db", std::string_view(good).substr(0, good.size() - 4096));
  Result<SnapshotReader> r = SnapshotReader::open(dir / "db");
  REQUIRE(r.status().code() == StatusCode::kCorruption);
  CHECK(r.status().message().find("truncated") != std::string_view::npos);
  CHECK(r.status().message().find((dir / "db").string()) != std::string_view::npos);
}

TEST_CASE("a checksummed but hostile section table is Corruption with a specific reason") {
  const std::string raw = random_string(5000, 4);
  auto build = [&](auto edit) {
    SnapshotHeader h = sample_header();
    h.index_config.clear();
    SectionInfo s;
    s.kind = 1;
    s.offset = 4096;
    s.stored_bytes = raw.size();
    s.uncompressed_bytes = raw.size();
    s.crc32c = util::crc32c(raw);
    uint64_t file_bytes = 4096 + align_to_snapshot_page(raw.size());
    edit(s, file_bytes);
    std::string image = encode_snapshot_header(h, std::span(&s, 1), file_bytes);
    image.resize(4096, '\0');
    image += raw;
    image.resize(4096 + align_to_snapshot_page(raw.size()), '\0');
    return image;
  };
  auto reason = [](const std::string& image) {
    Result<SnapshotReader> r = SnapshotReader::parse(util::as_bytes(image));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kCorruption);
    return std::string(r.status().message());
  };
  REQUIRE(SnapshotReader::parse(util::as_bytes(build([](SectionInfo&, uint64_t&) {}))).ok());
  CHECK(reason(build([](SectionInfo& s, uint64_t&) { s.offset = 4097; })).find("aligned") !=
        std::string::npos);
  CHECK(reason(build([](SectionInfo& s, uint64_t&) { s.offset = 0; })).find("overlaps") !=
        std::string::npos);
  CHECK(reason(build([](SectionInfo& s, uint64_t&) {
          s.stored_bytes = UINT64_MAX - 100;
        })).find("past the end") != std::string::npos);
  CHECK(reason(build([](SectionInfo& s, uint64_t&) {
          s.uncompressed_bytes = 1;
        })).find("two different lengths") != std::string::npos);
  CHECK(reason(build([](SectionInfo& s, uint64_t&) {
          s.codec = CodecKind::kZstd;
          s.uncompressed_bytes = UINT64_MAX;
        })).find("impossible") != std::string::npos);
  CHECK(reason(build([](SectionInfo& s, uint64_t&) {
          s.codec = CodecKind::kLz4;
          s.uncompressed_bytes = uint64_t{1} << 40;
        })).find("impossible") != std::string::npos);
  CHECK(reason(build([](SectionInfo& s, uint64_t&) { s.crc32c ^= 1; })).find("checksum") !=
        std::string::npos);
  CHECK(reason(build([](SectionInfo&, uint64_t& f) { f += 4096; })).find("truncated") !=
        std::string::npos);

  // An unknown codec byte, resealed so only the codec check can catch it.
  std::string image = build([](SectionInfo&, uint64_t&) {});
  image[kSnapshotFixedHeaderBytes + 4] = 9;
  reseal_header(image);
  CHECK(reason(image).find("unknown codec") != std::string::npos);
}

TEST_CASE("a snapshot from a newer format version is Unsupported, a damaged one Corruption") {
  std::string image = small_image();
  util::encode_u32(reinterpret_cast<uint8_t*>(image.data()) + 8, kSnapshotFormatVersion + 1);
  reseal_header(image);
  CHECK(SnapshotReader::parse(util::as_bytes(image)).status().code() == StatusCode::kUnsupported);
  image = small_image();
  image[0] = 'X';
  CHECK(SnapshotReader::parse(util::as_bytes(image)).status().message().find("magic") !=
        std::string_view::npos);
}

TEST_CASE("large in-place sections are verified on open only with VerifyMode::kAll") {
  const std::string big = random_string(kSmallSectionBytes + 4096, 5);
  SnapshotWriter w(sample_header());
  REQUIRE(w.add_section(1, util::as_bytes(big)).ok());
  REQUIRE(w.add_owned_section(2, "small").ok());
  std::string image = *w.write_to_string();
  Result<SnapshotReader> clean = SnapshotReader::parse(util::as_bytes(image));
  REQUIRE(clean.ok());
  const uint64_t big_at = clean->find(1)->offset;
  const uint64_t small_at = clean->find(2)->offset;

  std::string bad_big = image;
  bad_big[big_at + 12345] ^= 0x10;
  Result<SnapshotReader> lazy =
      SnapshotReader::parse(util::as_bytes(bad_big), VerifyMode::kSmallSections);
  REQUIRE(lazy.ok());
  CHECK(lazy->verify(2).ok());
  CHECK(lazy->verify(1).code() == StatusCode::kCorruption);
  CHECK(lazy->verify_all().code() == StatusCode::kCorruption);
  CHECK(SnapshotReader::parse(util::as_bytes(bad_big), VerifyMode::kAll).status().code() ==
        StatusCode::kCorruption);

  std::string bad_small = image;
  bad_small[small_at] ^= 0x10;
  CHECK(SnapshotReader::parse(util::as_bytes(bad_small), VerifyMode::kSmallSections)
            .status()
            .code() == StatusCode::kCorruption);
}

}  // namespace
}  // namespace iqdb::storage
