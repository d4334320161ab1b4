#include "storage/snapshot_writer.h"

#include <cstring>
#include <new>

#include "util/coding.h"
#include "util/crc32c.h"
#include "util/file.h"

namespace iqdb::storage {
namespace {

class FileSink final : public SnapshotWriter::Sink {
 public:
  explicit FileSink(const util::File& file) : file_(file) {}
  Status write_at(uint64_t offset, std::span<const uint8_t> bytes) override {
    return file_.write_at(offset, bytes);
  }
  // Extending with ftruncate leaves the padding as a hole that reads as zeros.
  Status finish(uint64_t file_bytes) override { return file_.truncate(file_bytes); }

 private:
  const util::File& file_;
};

class StringSink final : public SnapshotWriter::Sink {
 public:
  Status write_at(uint64_t offset, std::span<const uint8_t> bytes) override {
    if (out_.size() < offset + bytes.size()) out_.resize(offset + bytes.size());
    if (!bytes.empty()) std::memcpy(out_.data() + offset, bytes.data(), bytes.size());
    return Status::OK();
  }
  Status finish(uint64_t file_bytes) override {
    out_.resize(file_bytes);
    return Status::OK();
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

Status SnapshotWriter::add_section(uint32_t kind, std::span<const uint8_t> bytes, CodecKind codec,
                                   int level) {
  if (!codec_available(codec)) {
    return Status::Unsupported("codec " + std::string(codec_name(codec)) +
                               " is not compiled into this build");
  }
  if (pending_.size() >= kMaxSnapshotSections) {
    return Status::InvalidArgument("a snapshot holds at most " +
                                   std::to_string(kMaxSnapshotSections) + " sections");
  }
  for (const Pending& p : pending_) {
    if (p.kind == kind) {
      return Status::InvalidArgument("snapshot section kind " + std::to_string(kind) +
                                     " added twice");
    }
  }
  pending_.push_back(Pending{kind, bytes, codec, level});
  return Status::OK();
}

Status SnapshotWriter::add_owned_section(uint32_t kind, std::string bytes, CodecKind codec,
                                         int level) {
  owned_.push_back(std::move(bytes));
  Status s = add_section(kind, util::as_bytes(owned_.back()), codec, level);
  if (!s.ok()) owned_.pop_back();
  return s;
}

Status SnapshotWriter::write_to(Sink& sink) const {
  if (header_.index_config.size() > kMaxIndexConfigBytes) {
    return Status::InvalidArgument(
        "index config of " + std::to_string(header_.index_config.size()) +
        " bytes exceeds the snapshot limit of " + std::to_string(kMaxIndexConfigBytes));
  }
  std::vector<SectionInfo> table;
  table.reserve(pending_.size());
  uint64_t cursor =
      align_to_snapshot_page(snapshot_header_bytes(header_.index_config.size(), pending_.size()));
  for (const Pending& p : pending_) {
    SectionInfo info;
    info.kind = p.kind;
    info.offset = cursor;
    info.uncompressed_bytes = p.bytes.size();
    std::span<const uint8_t> stored = p.bytes;
    std::string compressed;
    if (p.codec != CodecKind::kNone && !p.bytes.empty()) {
      Result<std::string> c = compress(p.codec, p.level, p.bytes);
      if (!c.ok()) return c.status();
      if (c->size() < p.bytes.size()) {
        compressed = std::move(*c);
        stored = util::as_bytes(compressed);
        info.codec = p.codec;
      }
    }
    info.stored_bytes = stored.size();
    info.crc32c = util::crc32c(stored);
    IQDB_RETURN_IF_ERROR(sink.write_at(info.offset, stored));
    cursor = align_to_snapshot_page(info.offset + info.stored_bytes);
    table.push_back(info);
  }
  const std::string region = encode_snapshot_header(header_, table, cursor);
  IQDB_RETURN_IF_ERROR(sink.write_at(0, util::as_bytes(region)));
  return sink.finish(cursor);
}

Result<std::string> SnapshotWriter::write_to_string() const {
  StringSink sink;
  try {
    IQDB_RETURN_IF_ERROR(write_to(sink));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory building a snapshot image");
  }
  return sink.take();
}

Status SnapshotWriter::write_atomically(const std::filesystem::path& path) const {
  const std::filesystem::path tmp = util::with_suffix(path, ".tmp");
  Status s = [&]() -> Status {
    Result<util::File> file = util::File::open(tmp, util::File::Mode::kCreateTruncate);
    if (!file.ok()) return file.status();
    FileSink sink(*file);
    try {
      IQDB_RETURN_IF_ERROR(write_to(sink));
    } catch (const std::bad_alloc&) {
      return Status::ResourceExhausted("out of memory writing a snapshot");
    }
    // The new contents must be durable before the rename makes them the
    // snapshot; otherwise a crash could leave the name on unwritten blocks.
    IQDB_RETURN_IF_ERROR(file->sync_all());
    IQDB_RETURN_IF_ERROR(file->close());
    return util::rename_durably(tmp, path);
  }();
  if (!s.ok()) (void)util::remove_file_if_exists(tmp);
  return s;
}

}  // namespace iqdb::storage
