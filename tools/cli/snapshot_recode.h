// Rewriting a snapshot with another section compression, for
// `iqdb compact --compression` when the log is empty (the database skips a
// compaction that would write the same records again).
//
// Every section is read back (its checksum verified, decompressed), then
// written unchanged but for its encoding, with the same header, through the
// storage layer's atomic write (temp file, fsync, rename, directory fsync).
// The write-ahead log is left alone: the records, the sequence number the
// snapshot covers and the identity the log is tied to do not change.
#pragma once

#include <filesystem>

#include "iqdb/config.h"
#include "iqdb/status.h"

namespace iqdb::cli {

// Requires the caller to hold the database's lock. kCorruption when a
// section fails its checksum (nothing is written then), kUnsupported for a
// codec this build lacks.
Status recode_snapshot(const std::filesystem::path& path, const Compression& compression);

}  // namespace iqdb::cli
