// The public Database handle: forwards to DatabaseImpl and makes sure no
// exception crosses the API (std::bad_alloc becomes kResourceExhausted).
#include "iqdb/database.h"

#include <exception>
#include <new>
#include <string>

#include "db/database_impl.h"
#include "db/verify.h"
#include "db/exception_status.h"

namespace iqdb {
namespace {

using db::guarded;

Status moved_from() { return Status::Closed("the database handle was moved from"); }

}  // namespace

Database::Database(std::unique_ptr<DatabaseImpl> impl) : impl_(std::move(impl)) {}
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (impl_) (void)guarded([&] { return impl_->close(); });
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Database::~Database() {
  if (impl_) {
    try {
      (void)impl_->close();
    } catch (...) {  // a destructor must not throw; close() reports errors
    }
  }
}

Result<Database> Database::open_in_memory(size_t dim, Metric metric) {
  return open_in_memory(Config(dim, metric));
}

Result<Database> Database::open_in_memory(const Config& config) {
  return guarded([&]() -> Result<Database> {
    auto impl = DatabaseImpl::open(config, nullptr);
    if (!impl) return impl.status();
    return Database(std::move(*impl));
  });
}

Result<Database> Database::open(const std::filesystem::path& path, size_t dim, Metric metric) {
  return open(path, Config(dim, metric));
}

Result<Database> Database::open(const std::filesystem::path& path, const Config& config) {
  return guarded([&]() -> Result<Database> {
    auto impl = DatabaseImpl::open(config, &path);
    if (!impl) return impl.status();
    return Database(std::move(*impl));
  });
}

Result<Database> Database::open(const std::filesystem::path& path) {
  return open(path, OpenOptions());
}

Result<Database> Database::open(const std::filesystem::path& path, const OpenOptions& options) {
  return guarded([&]() -> Result<Database> {
    auto impl = DatabaseImpl::open_existing(path, options);
    if (!impl) return impl.status();
    return Database(std::move(*impl));
  });
}

Status Database::upsert(const VectorId& id, std::span<const float> vector,
                        const Metadata* metadata) {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->upsert(id, vector, metadata); });
}

Status Database::upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                              std::span<const Metadata* const> metadata) {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->upsert_batch(ids, rows, metadata); });
}

Result<std::optional<Record>> Database::get(const VectorId& id) const {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->get(id); });
}

Result<bool> Database::remove(const VectorId& id) {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->remove(id); });
}

Result<size_t> Database::remove_batch(std::span<const VectorId> ids) {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->remove_batch(ids); });
}

size_t Database::size() const { return impl_ ? impl_->size() : 0; }
size_t Database::dim() const { return impl_ ? impl_->dim() : 0; }
Metric Database::metric() const { return impl_ ? impl_->metric() : Metric::kL2; }
IndexKind Database::index_kind() const { return impl_ ? impl_->index_kind() : IndexKind(); }
VectorStorage Database::storage() const {
  return impl_ ? impl_->config().storage() : VectorStorage();
}

Result<std::vector<Hit>> Database::search(std::span<const float> query, size_t k) const {
  SearchParams params;
  params.k = k;
  return search(query, params);
}

Result<std::vector<Hit>> Database::search(std::span<const float> query, size_t k,
                                          const Filter& filter) const {
  SearchParams params;
  params.k = k;
  params.filter = &filter;
  return search(query, params);
}

Result<std::vector<Hit>> Database::search(std::span<const float> query,
                                          const SearchParams& params) const {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->search(query, params); });
}

Result<std::vector<std::vector<Hit>>> Database::search_batch(std::span<const float> queries,
                                                             size_t k, const Filter* filter) const {
  SearchParams params;
  params.k = k;
  params.filter = filter;
  return search_batch(queries, params);
}

Result<std::vector<std::vector<Hit>>> Database::search_batch(std::span<const float> queries,
                                                             const SearchParams& params) const {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->search_batch(queries, params); });
}

Status Database::optimize() {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->optimize(); });
}

Status Database::flush() {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->flush(); });
}

Status Database::close() {
  if (!impl_) return moved_from();
  // impl_ itself stays until the handle is destroyed: other threads may
  // still be entering calls, which its gate turns away with kClosed.
  return guarded([&] { return impl_->close(); });
}

Result<Integrity> Database::integrity() const {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->integrity(); });
}

Result<DatabaseInfo> Database::info() const {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->info(); });
}

Result<VerifyReport> Database::verify() const {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->verify(); });
}

Result<CompactReport> Database::compact(const CompactOptions& options) {
  if (!impl_) return moved_from();
  return guarded([&] { return impl_->compact(options); });
}

bool Database::read_only() const { return impl_ && impl_->read_only(); }

Result<VerifyReport> verify(const std::filesystem::path& path) {
  return guarded([&] { return verify_files(path); });
}

Result<DatabaseInfo> inspect(const std::filesystem::path& path) {
  return guarded([&] { return inspect_files(path); });
}

std::optional<CacheStats> Database::cache_stats() const {
  return impl_ ? impl_->cache_stats() : std::nullopt;
}

}  // namespace iqdb
