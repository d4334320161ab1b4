#include "db/scrub.h"

#include <string>
#include <system_error>

#include "index/sections.h"
#include "util/coding.h"
#include "util/file.h"
#include "util/thread_priority.h"

namespace iqdb::db {
namespace {

std::mutex g_settings_mu;
ScrubSettings g_settings;  // guarded by g_settings_mu

// What a section holds, for a message a user can act on.
std::string section_name(uint32_t kind) {
  namespace s = index::section;
  switch (kind) {
    case s::kStoreInfo: return "store info";
    case s::kRows: return "rows";
    case s::kInvNorms: return "norms";
    case s::kIds: return "ids";
    case s::kMetadata: return "metadata";
    case s::kSlots: return "slots";
    case s::kSqNorms: return "SQ8 norms";
    case s::kCodes: return "SQ8 codes";
    case s::kPayloadIndex: return "payload index";
    case s::kSq8Params: return "SQ8 parameters";
    default: break;
  }
  if (kind >= s::kHnswFirst && kind < s::kIvfFirst) return "HNSW graph";
  if (kind >= s::kIvfFirst && kind < s::kIvfFirst + 16) return "IVF lists";
  return "kind " + std::to_string(kind);
}

}  // namespace

ScrubSettings scrub_settings() {
  std::lock_guard l(g_settings_mu);
  return g_settings;
}

void set_scrub_settings(const ScrubSettings& settings) {
  std::lock_guard l(g_settings_mu);
  g_settings = settings;
}

std::filesystem::path damage_marker_path(const std::filesystem::path& db_path) {
  return util::with_suffix(db_path, ".damaged");
}

SnapshotScrub::SnapshotScrub(std::unique_ptr<storage::SnapshotReader> reader,
                             std::filesystem::path marker)
    : reader_(std::move(reader)), marker_(std::move(marker)) {
  const size_t n = reader_->sections().size();
  sections_.resize(n, SectionState::kPending);
  uint64_t verified = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t bytes = reader_->sections()[i].stored_bytes;
    total_bytes_ += bytes;
    if (reader_->verified_on_open(i)) {
      sections_[i] = SectionState::kVerified;
      verified += bytes;
    }
  }
  verified_bytes_.store(verified);
}

SnapshotScrub::~SnapshotScrub() { stop(); }

void SnapshotScrub::start(const ScrubSettings& settings) {
  std::lock_guard l(mu_);
  if (!settings.enabled || stop_ || thread_.joinable()) return;
  bool pending = false;
  for (SectionState s : sections_) pending = pending || s == SectionState::kPending;
  if (!pending) return;
  bytes_per_second_ = settings.bytes_per_second;
  pace_start_ = std::chrono::steady_clock::now();
  try {
    thread_ = std::thread([this] { run(); });
    running_ = true;
  } catch (const std::system_error&) {
    // No thread: the sections wait for verify_rest() before any snapshot.
  }
}

void SnapshotScrub::stop() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SnapshotScrub::run() {
  util::lower_this_thread_priority();  // yield the CPU to queries and writers
  util::name_this_thread("iqdb-scrub");
  for (;;) {
    size_t index;
    {
      std::lock_guard l(mu_);
      index = stop_ || damaged_.load() ? kNone : claim_next_locked();
      if (index == kNone) {
        running_ = false;
        cv_.notify_all();
        return;
      }
    }
    Status verdict;
    const bool cancelled = !verify_section(index, true, verdict);
    finish_section(index, cancelled, verdict);
  }
}

size_t SnapshotScrub::claim_next_locked() {
  for (size_t i = 0; i < sections_.size(); ++i) {
    if (sections_[i] == SectionState::kPending) {
      sections_[i] = SectionState::kClaimed;
      return i;
    }
  }
  return kNone;
}

bool SnapshotScrub::verify_section(size_t index, bool paced, Status& verdict) {
  storage::SectionVerifier v(*reader_, index);
  while (!v.done()) {
    const size_t n = v.step(kChunkBytes);
    verified_bytes_.fetch_add(n, std::memory_order_relaxed);
    if (!paced) continue;
    std::unique_lock l(mu_);
    paced_bytes_ += n;
    if (bytes_per_second_ != 0 && !hurry_.load()) {
      // Sleep until the bytes done so far are within the rate budget.
      const auto due =
          pace_start_ +
          std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(paced_bytes_) * 1e9 /
                                                        static_cast<double>(bytes_per_second_)));
      cv_.wait_until(l, due, [&] { return stop_ || hurry_.load(); });
    }
    if (stop_) {
      verified_bytes_.fetch_sub(v.done_bytes(), std::memory_order_relaxed);
      return false;
    }
  }
  verdict = v.verdict();
  if (!verdict.ok()) {
    verdict =
        Status::Corruption("snapshot section '" + section_name(reader_->sections()[index].kind) +
                           "' is damaged: " + std::string(verdict.message()));
  }
  return true;
}

void SnapshotScrub::finish_section(size_t index, bool cancelled, const Status& verdict) {
  bool write_marker = false;
  std::string message;
  {
    std::lock_guard l(mu_);
    if (cancelled) {
      sections_[index] = SectionState::kPending;
    } else {
      sections_[index] = SectionState::kVerified;
      if (!verdict.ok() && damage_.ok()) {
        damage_ = verdict;
        damaged_.store(true, std::memory_order_release);
        write_marker = true;
        message = std::string(verdict.message()) + "\n";
      }
    }
  }
  cv_.notify_all();
  if (!write_marker || marker_.empty()) return;
  // Best effort: the handle is latched either way; the marker only makes
  // the next open check the whole file before serving it.
  auto file = util::File::open(marker_, util::File::Mode::kCreateTruncate);
  if (!file) return;
  if (file->write_at(0, util::as_bytes(message)).ok()) (void)file->sync();
  (void)file->close();
}

Status SnapshotScrub::verify_rest() {
  std::unique_lock l(mu_);
  // Set under mu_ so a thread between its pacing check and its wait cannot
  // miss it.
  hurry_.store(true);
  cv_.notify_all();
  for (;;) {
    if (damaged_.load()) return damage_;
    const size_t index = claim_next_locked();
    if (index == kNone) {
      bool claimed = false;
      for (SectionState s : sections_) claimed = claimed || s == SectionState::kClaimed;
      if (!claimed) return Status::OK();  // every section verified
      // The thread is inside one: it runs unpaced now; wait for it.
      cv_.wait(l);
      continue;
    }
    l.unlock();
    Status verdict;
    (void)verify_section(index, false, verdict);
    finish_section(index, false, verdict);
    l.lock();
  }
}

Status SnapshotScrub::damage() const {
  if (!damaged_.load(std::memory_order_acquire)) return Status::OK();
  std::lock_guard l(mu_);
  return damage_;
}

Integrity SnapshotScrub::integrity() const {
  Integrity out;
  out.total_bytes = total_bytes_;
  out.verified_bytes = verified_bytes_.load(std::memory_order_relaxed);
  std::lock_guard l(mu_);
  if (!damage_.ok()) {
    out.state = IntegrityState::kDamaged;
    out.damage = std::string(damage_.message());
    return out;
  }
  bool all = true;
  for (SectionState s : sections_) all = all && s == SectionState::kVerified;
  if (all) {
    out.state = IntegrityState::kVerified;
  } else {
    out.state = running_ ? IntegrityState::kInProgress : IntegrityState::kStopped;
  }
  return out;
}

}  // namespace iqdb::db
