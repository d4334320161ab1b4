// Opening a database, in one place: for a file, lock it, load the snapshot
// (or write the first one), reconcile the stored config with the requested
// one and replay the log; in memory, build empty contents. Either way the
// result is the contents and the journal that logs later writes.
//
// Thread-safety: a free function; two opens of one path exclude each other
// through the lock (kBusy).
#pragma once

#include <filesystem>
#include <memory>

#include "iqdb/config.h"
#include "iqdb/status.h"
#include "db/contents.h"
#include "db/journal.h"
#include "db/scrub.h"

namespace iqdb::db {

struct OpenedDatabase {
  std::unique_ptr<Contents> contents;
  std::unique_ptr<Journal> journal;
  // The contents differ from the snapshot on disk in ways its log does not
  // replay (a replay dropped a torn batch, say): the next flush must write.
  bool unsaved = false;
  // The checksums of the snapshot the contents came from, being verified
  // in the background (null in memory and for a database just created).
  std::unique_ptr<SnapshotScrub> scrub;
};

// In memory when `path` is null. On reopen the stored dim and metric must
// match `config` (else kConfigMismatch); the stored index kind and row type
// win over the requested ones. When an earlier handle found the snapshot
// damaged (PATH.damaged), every section is verified before anything is
// used: still damaged is kCorruption, repaired clears the marker.
// With `read_only` (a file only): takes the shared lock, never creates,
// cuts or writes a file (kNotFound when absent), replays the log into
// memory and returns a journal that refuses writes.
// `keep_stored_fields`: the payload index keeps the rule the file was
// written under (Contents::load) instead of config.indexed_fields().
Result<OpenedDatabase> open_database(const Config& config, const std::filesystem::path* path,
                                     bool read_only = false, bool keep_stored_fields = false);

}  // namespace iqdb::db
