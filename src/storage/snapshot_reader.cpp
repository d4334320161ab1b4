#include "storage/snapshot_reader.h"

#include <algorithm>
#include <atomic>
#include <new>

#include "util/crc32c.h"

namespace iqdb::storage {
namespace {
std::atomic<uint64_t> g_open_verify_bytes{kSmallSectionBytes};
}  // namespace

uint64_t open_verify_bytes() noexcept {
  return g_open_verify_bytes.load(std::memory_order_relaxed);
}
void set_open_verify_bytes(uint64_t bytes) noexcept {
  g_open_verify_bytes.store(bytes, std::memory_order_relaxed);
}

Result<SnapshotReader> SnapshotReader::open(const std::filesystem::path& path, VerifyMode mode) {
  Result<util::File> file = util::File::open(path, util::File::Mode::kReadOnly);
  if (!file.ok()) return file.status();
  Result<util::MappedFile> map = util::MappedFile::map(*file);
  if (!map.ok()) return map.status();
  SnapshotReader reader;
  reader.file_ = std::move(*file);
  reader.map_ = std::move(*map);
  const std::span<const uint8_t> image = reader.map_.bytes();
  Result<SnapshotReader> r = build(image, mode, std::move(reader));
  if (!r.ok()) {
    return Status(r.status().code(),
                  std::string(r.status().message()) + " in '" + path.string() + "'");
  }
  return r;
}

Result<SnapshotReader> SnapshotReader::parse(std::span<const uint8_t> image, VerifyMode mode) {
  return build(image, mode, SnapshotReader());
}

Result<SnapshotReader> SnapshotReader::build(std::span<const uint8_t> image, VerifyMode mode,
                                             SnapshotReader reader) {
  Result<ParsedSnapshotHeader> parsed = parse_snapshot_header(image);
  if (!parsed.ok()) return parsed.status();
  reader.image_ = image;
  reader.header_ = std::move(parsed->header);
  reader.sections_ = std::move(parsed->sections);
  reader.decompressed_.resize(reader.sections_.size());
  reader.verified_on_open_.assign(reader.sections_.size(), 0);
  const uint64_t small = open_verify_bytes();
  for (size_t i = 0; i < reader.sections_.size(); ++i) {
    const SectionInfo& s = reader.sections_[i];
    const bool compressed = s.codec != CodecKind::kNone;
    if (compressed || mode == VerifyMode::kAll || s.stored_bytes < small) {
      IQDB_RETURN_IF_ERROR(reader.verify_section(i));
      reader.verified_on_open_[i] = 1;
    }
    if (!compressed) continue;
    if (!codec_available(s.codec)) {
      return Status::Unsupported("snapshot section " + std::to_string(s.kind) + " uses codec " +
                                 std::string(codec_name(s.codec)) +
                                 ", which is not compiled into this build");
    }
    if (s.uncompressed_bytes > SIZE_MAX) {
      return Status::ResourceExhausted("snapshot section too large for this address space");
    }
    auto n = static_cast<size_t>(s.uncompressed_bytes);
    std::unique_ptr<uint8_t[]> buf;
    try {
      buf = std::make_unique_for_overwrite<uint8_t[]>(n == 0 ? 1 : n);
    } catch (const std::bad_alloc&) {
      return Status::ResourceExhausted("out of memory decompressing snapshot section " +
                                       std::to_string(s.kind) + " (" + std::to_string(n) +
                                       " bytes)");
    }
    Status d = decompress_into(s.codec, image.subspan(s.offset, s.stored_bytes),
                               std::span<uint8_t>(buf.get(), n));
    if (!d.ok()) {
      return Status(d.code(),
                    "snapshot section " + std::to_string(s.kind) + ": " + std::string(d.message()));
    }
    reader.decompressed_[i] = std::move(buf);
  }
  return reader;
}

size_t SnapshotReader::index_of(uint32_t kind) const noexcept {
  for (size_t i = 0; i < sections_.size(); ++i) {
    if (sections_[i].kind == kind) return i;
  }
  return sections_.size();
}

const SectionInfo* SnapshotReader::find(uint32_t kind) const noexcept {
  size_t i = index_of(kind);
  return i < sections_.size() ? &sections_[i] : nullptr;
}

Result<std::span<const uint8_t>> SnapshotReader::bytes(uint32_t kind) const {
  size_t i = index_of(kind);
  if (i == sections_.size()) {
    return Status::NotFound("snapshot has no section of kind " + std::to_string(kind));
  }
  const SectionInfo& s = sections_[i];
  if (decompressed_[i]) {
    return std::span<const uint8_t>(decompressed_[i].get(),
                                    static_cast<size_t>(s.uncompressed_bytes));
  }
  return image_.subspan(static_cast<size_t>(s.offset), static_cast<size_t>(s.stored_bytes));
}

std::span<const uint8_t> SnapshotReader::stored_bytes(size_t index) const noexcept {
  const SectionInfo& s = sections_[index];
  return image_.subspan(static_cast<size_t>(s.offset), static_cast<size_t>(s.stored_bytes));
}

Status SnapshotReader::verify_section(size_t index) const {
  return check_checksum(index, util::crc32c(stored_bytes(index)));
}

Status SnapshotReader::check_checksum(size_t index, uint32_t actual) const {
  const SectionInfo& s = sections_[index];
  if (actual != s.crc32c) {
    return Status::Corruption("snapshot: checksum mismatch in section " + std::to_string(index) +
                              " (kind " + std::to_string(s.kind) + ", " +
                              std::to_string(s.stored_bytes) + " bytes at offset " +
                              std::to_string(s.offset) + ")");
  }
  return Status::OK();
}

Status SnapshotReader::verify(uint32_t kind) const {
  size_t i = index_of(kind);
  if (i == sections_.size()) {
    return Status::NotFound("snapshot has no section of kind " + std::to_string(kind));
  }
  return verify_section(i);
}

Status SnapshotReader::verify_all() const {
  for (size_t i = 0; i < sections_.size(); ++i) IQDB_RETURN_IF_ERROR(verify_section(i));
  return Status::OK();
}

Result<FileRange> SnapshotReader::file_range(uint32_t kind) const {
  const SectionInfo* s = find(kind);
  if (s == nullptr)
    return Status::NotFound("snapshot has no section of kind " + std::to_string(kind));
  if (s->codec != CodecKind::kNone) {
    return Status::Unsupported("snapshot section " + std::to_string(kind) +
                               " is compressed and has no in-place file range");
  }
  if (!file_.is_open()) return Status::Unsupported("snapshot was parsed from memory, not a file");
  return FileRange{&file_, s->offset, s->stored_bytes};
}

void SnapshotReader::drop_pages(uint32_t kind) const noexcept {
  const SectionInfo* s = find(kind);
  if (s == nullptr || s->codec != CodecKind::kNone) return;
  map_.drop_pages(static_cast<size_t>(s->offset), static_cast<size_t>(s->stored_bytes));
}

size_t SectionVerifier::step(size_t max_bytes) noexcept {
  const size_t n = std::min(max_bytes, bytes_.size() - done_bytes_);
  crc_ = util::crc32c_extend(crc_, bytes_.data() + done_bytes_, n);
  done_bytes_ += n;
  return n;
}

}  // namespace iqdb::storage
