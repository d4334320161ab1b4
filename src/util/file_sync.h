// How the POSIX file layer makes data durable, exposed so that tests can
// drive the macOS path on Linux. Private to util/ and its tests.
//
// On macOS fsync only hands data to the drive, whose cache may lose it on
// power loss; fcntl(F_FULLFSYNC) asks the drive to flush that cache too.
// IQDB_FULL_FSYNC_COMMAND names the fcntl command the library syncs with:
// F_FULLFSYNC on macOS; on Linux, a build with -Dfull_fsync=true sets it
// to F_FULLFSYNC's number, which Linux refuses with EINVAL, so that build
// runs every sync through the macOS fallback to fsync.
#pragma once

#if !defined(_WIN32)
#include <fcntl.h>

#if defined(__APPLE__)
#define IQDB_FULL_FSYNC_COMMAND F_FULLFSYNC
#elif defined(IQDB_EMULATE_FULL_FSYNC)
#define IQDB_FULL_FSYNC_COMMAND 51  // F_FULLFSYNC on macOS; not a Linux command
#endif

namespace iqdb::util::detail {

// fcntl(fd, full_sync_command); where the filesystem or OS refuses the
// command (EINVAL, ENOTSUP, ENOTTY), fsync instead. 0 or -1 with errno.
int full_fsync(int fd, int full_sync_command);

// What File::sync and File::sync_all call: fdatasync and fsync, or
// full_fsync for both where IQDB_FULL_FSYNC_COMMAND is defined. EINTR is
// retried. 0 or -1 with errno.
int data_sync(int fd);
int full_sync(int fd);

}  // namespace iqdb::util::detail

#endif  // !_WIN32
