#include "storage/wal_writer.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "util/coding.h"

namespace iqdb::storage {
namespace {

// Bytes of records copied per read when a log keeps its tail.
constexpr size_t kCopyChunkBytes = size_t{1} << 20;

// Creates a log holding its header and then bytes [tail_begin, tail_end) of
// `tail_from` (none without it), atomically: written to a temp file,
// fsynced, renamed over `path`, directory fsynced.
Result<util::File> create_log(const std::filesystem::path& path, const WalFileHeader& header,
                              const util::File* tail_from = nullptr, uint64_t tail_begin = 0,
                              uint64_t tail_end = 0) {
  const std::filesystem::path tmp = util::with_suffix(path, ".tmp");
  Status s = [&]() -> Status {
    Result<util::File> f = util::File::open(tmp, util::File::Mode::kCreateTruncate);
    if (!f.ok()) return f.status();
    const auto bytes = encode_wal_header(header);
    IQDB_RETURN_IF_ERROR(f->write_at(0, bytes));
    if (tail_from != nullptr && tail_end > tail_begin) {
      std::string chunk;
      try {
        chunk.resize(
            static_cast<size_t>(std::min<uint64_t>(kCopyChunkBytes, tail_end - tail_begin)));
      } catch (const std::bad_alloc&) {
        return Status::ResourceExhausted("out of memory copying the WAL");
      }
      uint64_t out = kWalHeaderBytes;
      for (uint64_t at = tail_begin; at < tail_end;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), tail_end - at));
        auto piece = std::span(reinterpret_cast<uint8_t*>(chunk.data()), n);
        IQDB_RETURN_IF_ERROR(tail_from->read_exact(at, piece));
        IQDB_RETURN_IF_ERROR(f->write_at(out, piece));
        at += n;
        out += n;
      }
    }
    IQDB_RETURN_IF_ERROR(f->sync());
    IQDB_RETURN_IF_ERROR(f->close());
    return util::rename_durably(tmp, path);
  }();
  if (!s.ok()) {
    (void)util::remove_file_if_exists(tmp);
    return s;
  }
  return util::File::open(path, util::File::Mode::kReadWrite);
}

bool is_magic_prefix(std::span<const uint8_t> bytes) {
  const size_t n = std::min(bytes.size(), sizeof kWalMagic);
  return n == 0 || std::memcmp(bytes.data(), kWalMagic, n) == 0;
}

// Buffers above this are released after use so one huge record does not pin
// its size in memory.
constexpr size_t kKeepBufferBytes = size_t{1} << 20;

}  // namespace

WalWriter::WalWriter(PrivateTag, std::filesystem::path path, util::File file, uint64_t identity,
                     uint64_t next_seq, uint64_t end)
    : path_(std::move(path)),
      file_(std::move(file)),
      identity_(identity),
      next_seq_(next_seq),
      synced_seq_(next_seq - 1),
      end_(end) {}

Result<std::unique_ptr<WalWriter>> WalWriter::open(const std::filesystem::path& path,
                                                   uint64_t identity, uint64_t next_seq) {
  if (next_seq == 0) return Status::InvalidArgument("WAL sequence numbers start at 1");
  Result<util::File> file = util::File::open(path, util::File::Mode::kCreate);
  if (!file.ok()) return file.status();
  Result<uint64_t> size = file->size();
  if (!size.ok()) return size.status();
  if (*size < kWalHeaderBytes) {
    uint8_t head[kWalHeaderBytes];
    IQDB_RETURN_IF_ERROR(file->read_exact(0, std::span(head, static_cast<size_t>(*size))));
    if (!is_magic_prefix(std::span(head, static_cast<size_t>(*size)))) {
      return Status::Corruption("WAL '" + path.string() + "' is not an iqdb write-ahead log");
    }
    file = create_log(path, WalFileHeader{identity, next_seq});
    if (!file.ok()) return file.status();
    size = kWalHeaderBytes;
  } else {
    uint8_t head[kWalHeaderBytes];
    IQDB_RETURN_IF_ERROR(file->read_exact(0, head));
    Result<WalFileHeader> header = parse_wal_header(head);
    if (!header.ok()) {
      return Status(header.status().code(),
                    std::string(header.status().message()) + " in '" + path.string() + "'");
    }
    if (header->identity != identity) {
      return Status::Corruption("WAL '" + path.string() + "' belongs to another database");
    }
    if (next_seq < header->start_seq) {
      return Status::InvalidArgument("next sequence " + std::to_string(next_seq) +
                                     " is below the WAL's start " +
                                     std::to_string(header->start_seq));
    }
    // What replay read may have come from the page cache of a process that
    // crashed; make it durable before building on it.
    IQDB_RETURN_IF_ERROR(file->sync());
  }
  try {
    return std::make_unique<WalWriter>(PrivateTag(), path, std::move(*file), identity, next_seq,
                                       *size);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory opening the WAL");
  }
}

Result<uint64_t> WalWriter::append(uint8_t op, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxWalPayloadBytes) {
    return Status::InvalidArgument("WAL record of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kMaxWalPayloadBytes));
  }
  std::lock_guard lock(mu_);
  if (!broken_.ok()) return broken_;
  if (next_seq_ == UINT64_MAX) return Status::ResourceExhausted("WAL sequence numbers exhausted");
  const uint64_t seq = next_seq_;
  try {
    buffer_.clear();
    append_wal_record(buffer_, seq, op, payload);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory encoding a WAL record");
  }
  Status s = file_.write_at(end_, util::as_bytes(buffer_));
  if (buffer_.capacity() > kKeepBufferBytes) std::string().swap(buffer_);
  if (!s.ok()) {
    // A partial record followed by later ones would read as mid-log
    // corruption: cut it off, or refuse all further appends.
    Status undo = file_.truncate(end_);
    if (!undo.ok())
      broken_ = Status::IOError("WAL is unusable after a failed write: " + s.to_string());
    return s;
  }
  end_ += kWalRecordHeaderBytes + payload.size();
  ++next_seq_;
  return seq;
}

Result<uint64_t> WalWriter::append(uint8_t op, std::string_view payload) {
  return append(op, util::as_bytes(payload));
}

Status WalWriter::sync_to(uint64_t seq) {
  std::lock_guard sync_lock(sync_mu_);
  uint64_t target;
  {
    std::lock_guard lock(mu_);
    if (!broken_.ok()) return broken_;
    if (synced_seq_ >= seq) return Status::OK();
    target = next_seq_ - 1;  // everything written so far, possibly beyond seq
  }
  // file_ cannot change while sync_mu_ is held (reset takes it).
  Status s = file_.sync();
  std::lock_guard lock(mu_);
  if (!s.ok()) {
    broken_ = Status::IOError("WAL is unusable after a failed fsync: " + s.to_string());
    return broken_;
  }
  synced_seq_ = std::max(synced_seq_, target);
  return Status::OK();
}

Status WalWriter::sync() {
  uint64_t last;
  {
    std::lock_guard lock(mu_);
    last = next_seq_ - 1;
  }
  return sync_to(last);
}

WalWriter::Mark WalWriter::mark() const {
  std::lock_guard lock(mu_);
  return Mark{end_, next_seq_};
}

Status WalWriter::rollback(const Mark& mark) {
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  if (!broken_.ok()) return broken_;
  if (mark.end > end_ || mark.next_seq > next_seq_) {
    return Status::InvalidArgument("WAL rollback past its end");
  }
  Status s = file_.truncate(mark.end);
  if (s.ok()) s = file_.sync();
  if (!s.ok()) {
    broken_ = Status::IOError("WAL is unusable after a failed rollback: " + s.to_string());
    return broken_;
  }
  end_ = mark.end;
  next_seq_ = mark.next_seq;
  synced_seq_ = std::min(synced_seq_, next_seq_ - 1);
  return Status::OK();
}

Status WalWriter::reset(uint64_t identity, uint64_t next_seq) {
  if (next_seq == 0) return Status::InvalidArgument("WAL sequence numbers start at 1");
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  Result<util::File> file = create_log(path_, WalFileHeader{identity, next_seq});
  if (!file.ok()) return file.status();
  file_ = std::move(*file);
  identity_ = identity;
  next_seq_ = next_seq;
  synced_seq_ = next_seq - 1;
  end_ = kWalHeaderBytes;
  broken_ = Status::OK();
  return Status::OK();
}

Status WalWriter::reset_keeping(uint64_t identity, const Mark& from) {
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  IQDB_RETURN_IF_ERROR(broken_);
  if (from.next_seq == 0 || from.end < kWalHeaderBytes || from.end > end_ ||
      from.next_seq > next_seq_) {
    return Status::InvalidArgument("WAL mark is not in this log");
  }
  Result<util::File> file =
      create_log(path_, WalFileHeader{identity, from.next_seq}, &file_, from.end, end_);
  if (!file.ok()) return file.status();
  file_ = std::move(*file);
  identity_ = identity;
  end_ = kWalHeaderBytes + (end_ - from.end);
  synced_seq_ = next_seq_ - 1;  // the new file was fsynced whole
  return Status::OK();
}

Status WalWriter::broken() const {
  std::lock_guard lock(mu_);
  return broken_;
}

uint64_t WalWriter::size_bytes() const {
  std::lock_guard lock(mu_);
  return end_;
}

uint64_t WalWriter::next_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_;
}

uint64_t WalWriter::synced_seq() const {
  std::lock_guard lock(mu_);
  return synced_seq_;
}

uint64_t WalWriter::identity() const {
  std::lock_guard lock(mu_);
  return identity_;
}

}  // namespace iqdb::storage
