#include "db/durability.h"

namespace iqdb::db {

Result<std::unique_ptr<Durability>> Durability::open(const std::filesystem::path&, DatabaseImpl&) {
  return Status::Unsupported("file-backed databases are not available in this build yet");
}

}  // namespace iqdb::db
