// Database::open(path, OpenOptions): an existing database, opened with the
// shape its snapshot records.
#include "db/database_impl.h"
#include "db/stored_shape.h"

namespace iqdb {

Result<std::unique_ptr<DatabaseImpl>> DatabaseImpl::open_existing(const std::filesystem::path& path,
                                                                  const OpenOptions& options) {
  if (path.empty()) return Status::InvalidArgument("empty database path");
  // Read before the lock is taken; opening checks the header again under
  // it (a database replaced meanwhile with another shape: kConfigMismatch).
  auto shape = db::read_stored_shape(path);
  if (!shape) return shape.status();
  Config config(shape->dim, shape->metric);
  config.index(shape->index)
      .fsync(options.fsync)
      .cache(options.cache)
      .compression(options.compression.value_or(shape->compression))
      .write_threads(options.write_threads)
      .load_into_memory(options.load_into_memory);
  // The payload index keeps the rule the file was written under.
  return open(config, &path, options.read_only, true);
}

}  // namespace iqdb
