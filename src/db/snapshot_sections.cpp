#include "db/snapshot_sections.h"

#include <cstring>
#include <string>

#include "db/index_config.h"

namespace iqdb::db {
namespace {

// Collects sections into a SnapshotWriter, compressing per the config.
class SnapshotSink final : public index::SectionSink {
 public:
  SnapshotSink(storage::SnapshotWriter& writer, Compression compression, bool copy)
      : writer_(writer), compression_(compression), copy_(copy) {}
  void add(uint32_t kind, std::span<const uint8_t> bytes) override {
    if (copy_) {
      add_owned(kind, std::string(bytes.begin(), bytes.end()));
      return;
    }
    note(writer_.add_section(kind, bytes, compression_.kind(), compression_.level()));
  }
  void add_owned(uint32_t kind, std::string bytes) override {
    note(writer_.add_owned_section(kind, std::move(bytes), compression_.kind(),
                                   compression_.level()));
  }
  const Status& status() const { return status_; }

 private:
  void note(Status s) {
    if (status_.ok() && !s.ok()) status_ = std::move(s);
  }
  storage::SnapshotWriter& writer_;
  Compression compression_;
  bool copy_;
  Status status_;
};

}  // namespace

Result<std::span<const uint8_t>> SnapshotSource::bytes(uint32_t kind) const {
  auto b = reader_.bytes(kind);
  if (!b) return Status::Corruption("snapshot lacks section " + std::to_string(kind));
  return b;
}

bool SnapshotSource::has(uint32_t kind) const { return reader_.find(kind) != nullptr; }

Status SnapshotSource::adopt(uint32_t kind, util::Arena& arena) const {
  if (!copy_) {
    auto range = reader_.file_range(kind);
    if (range) return arena.adopt_file(*range->file, range->offset, range->length);
  }
  auto b = bytes(kind);
  if (!b) return b.status();
  IQDB_RETURN_IF_ERROR(arena.grow(b->size()));
  if (!b->empty()) std::memcpy(arena.data(), b->data(), b->size());
  // A section copied out of the mapping need not stay resident twice.
  if (copy_) reader_.drop_pages(kind);
  return Status::OK();
}

storage::SnapshotHeader snapshot_header(const Contents& contents, uint64_t identity,
                                        uint64_t wal_sequence) {
  const Config& config = contents.config();
  storage::SnapshotHeader header;
  header.dim = static_cast<uint32_t>(config.dim());
  header.metric = static_cast<uint8_t>(config.metric());
  header.record_count = contents.store().size();
  header.wal_sequence = wal_sequence;
  header.identity = identity;
  header.index_config = encode_index_kind(config.index_kind());
  return header;
}

Status add_sections(const Contents& contents, storage::SnapshotWriter& writer) {
  return add_sections(contents, writer, contents.config().compression_kind());
}

Status add_sections(const Contents& contents, storage::SnapshotWriter& writer,
                    const Compression& compression) {
  SnapshotSink sink(writer, compression, false);
  contents.save(sink);
  return sink.status();
}

Status copy_sections(const Contents& contents, storage::SnapshotWriter& writer,
                     const Compression& compression) {
  SnapshotSink sink(writer, compression, true);
  contents.save(sink);
  return sink.status();
}

}  // namespace iqdb::db
