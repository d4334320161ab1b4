#include "iqdb/async_database.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "exec/executor.h"

namespace iqdb {

struct detail::AsyncState {
  AsyncState(Database database, size_t threads) : db(std::move(database)), executor(threads) {}
  ~AsyncState() {
    executor.wait();
    if (!closed.exchange(true)) (void)db.close();
  }
  Database db;
  exec::Executor executor;
  std::atomic<bool> closed{false};
};

namespace {

Status closed_status() { return Status::Closed("the async database is closed"); }

// Runs fn() on the executor and hands its result to a future. fn must not
// throw (Database never does); anything else that throws becomes an error.
template <typename T, typename Fn>
std::future<T> run(const std::shared_ptr<detail::AsyncState>& state, Fn fn) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  if (!state || state->closed.load()) {
    promise->set_value(T(closed_status()));
    return future;
  }
  state->executor.submit([state_ptr = state.get(), promise, fn = std::move(fn)]() mutable {
    // Accepted work runs even if close() was called after it was
    // submitted: close waits for it.
    try {
      promise->set_value(fn(state_ptr->db));
    } catch (...) {
      promise->set_value(T(Status::ResourceExhausted("async task failed to allocate")));
    }
  });
  return future;
}

}  // namespace

Result<AsyncDatabase> AsyncDatabase::wrap(Database db, size_t threads) {
  try {
    return AsyncDatabase(std::make_shared<detail::AsyncState>(std::move(db), threads));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory");
  }
}

Result<AsyncDatabase> AsyncDatabase::open_in_memory(size_t dim, Metric metric, size_t threads) {
  return open_in_memory(Config(dim, metric), threads);
}

Result<AsyncDatabase> AsyncDatabase::open(const std::filesystem::path& path, size_t dim,
                                          Metric metric, size_t threads) {
  return open(path, Config(dim, metric), threads);
}

Result<AsyncDatabase> AsyncDatabase::open(const std::filesystem::path& path, size_t threads) {
  return open(path, OpenOptions(), threads);
}

Result<AsyncDatabase> AsyncDatabase::open_in_memory(const Config& config, size_t threads) {
  auto db = Database::open_in_memory(config);
  if (!db) return db.status();
  return wrap(std::move(*db), threads);
}

Result<AsyncDatabase> AsyncDatabase::open(const std::filesystem::path& path, const Config& config,
                                          size_t threads) {
  auto db = Database::open(path, config);
  if (!db) return db.status();
  return wrap(std::move(*db), threads);
}

Result<AsyncDatabase> AsyncDatabase::open(const std::filesystem::path& path,
                                          const OpenOptions& options, size_t threads) {
  auto db = Database::open(path, options);
  if (!db) return db.status();
  return wrap(std::move(*db), threads);
}

std::future<Status> AsyncDatabase::upsert(VectorId id, std::vector<float> vector,
                                          std::optional<Metadata> metadata) const {
  return run<Status>(
      state_, [id = std::move(id), vector = std::move(vector), metadata = std::move(metadata)](
                  Database& db) { return db.upsert(id, vector, metadata ? &*metadata : nullptr); });
}

std::future<Status> AsyncDatabase::upsert_batch(
    std::vector<VectorId> ids, std::vector<float> rows,
    std::vector<std::optional<Metadata>> metadata) const {
  return run<Status>(state_, [ids = std::move(ids), rows = std::move(rows),
                              metadata = std::move(metadata)](Database& db) {
    std::vector<const Metadata*> ptrs;
    for (const auto& m : metadata) ptrs.push_back(m ? &*m : nullptr);
    return db.upsert_batch(ids, rows, ptrs);
  });
}

std::future<Result<std::optional<Record>>> AsyncDatabase::get(VectorId id) const {
  return run<Result<std::optional<Record>>>(
      state_, [id = std::move(id)](Database& db) { return db.get(id); });
}

std::future<Result<bool>> AsyncDatabase::remove(VectorId id) const {
  return run<Result<bool>>(state_, [id = std::move(id)](Database& db) { return db.remove(id); });
}

std::future<Result<size_t>> AsyncDatabase::remove_batch(std::vector<VectorId> ids) const {
  return run<Result<size_t>>(state_,
                             [ids = std::move(ids)](Database& db) { return db.remove_batch(ids); });
}

std::future<Result<std::vector<Hit>>> AsyncDatabase::search(std::vector<float> query,
                                                            size_t k) const {
  return run<Result<std::vector<Hit>>>(
      state_, [query = std::move(query), k](Database& db) { return db.search(query, k); });
}

std::future<Result<std::vector<Hit>>> AsyncDatabase::search(std::vector<float> query, size_t k,
                                                            Filter filter) const {
  return run<Result<std::vector<Hit>>>(
      state_, [query = std::move(query), k, filter = std::move(filter)](Database& db) {
        return db.search(query, k, filter);
      });
}

std::future<Result<std::vector<Hit>>> AsyncDatabase::search(std::vector<float> query,
                                                            SearchParams params) const {
  std::optional<Filter> filter;
  if (params.filter != nullptr) filter = *params.filter;
  return run<Result<std::vector<Hit>>>(
      state_, [query = std::move(query), params, filter = std::move(filter)](Database& db) mutable {
        params.filter = filter ? &*filter : nullptr;
        return db.search(query, params);
      });
}

std::future<Result<std::vector<std::vector<Hit>>>> AsyncDatabase::search_batch(
    std::vector<float> queries, size_t k, std::optional<Filter> filter) const {
  return run<Result<std::vector<std::vector<Hit>>>>(
      state_, [queries = std::move(queries), k, filter = std::move(filter)](Database& db) {
        return db.search_batch(queries, k, filter ? &*filter : nullptr);
      });
}

std::future<Result<std::vector<std::vector<Hit>>>> AsyncDatabase::search_batch(
    std::vector<float> queries, SearchParams params) const {
  // The filters are copied; the task points params at its own copies.
  std::optional<Filter> filter;
  if (params.filter != nullptr) filter = *params.filter;
  std::vector<std::optional<Filter>> filters;
  filters.reserve(params.filters.size());
  for (const Filter* f : params.filters)
    filters.push_back(f ? std::optional<Filter>(*f) : std::nullopt);
  return run<Result<std::vector<std::vector<Hit>>>>(
      state_, [queries = std::move(queries), params, filter = std::move(filter),
               filters = std::move(filters)](Database& db) mutable {
        params.filter = filter ? &*filter : nullptr;
        std::vector<const Filter*> pointers;
        pointers.reserve(filters.size());
        for (const auto& f : filters) pointers.push_back(f ? &*f : nullptr);
        params.filters = pointers;
        return db.search_batch(queries, params);
      });
}

std::future<Result<DatabaseInfo>> AsyncDatabase::info() const {
  return run<Result<DatabaseInfo>>(state_, [](Database& db) { return db.info(); });
}

std::future<Result<VerifyReport>> AsyncDatabase::verify() const {
  return run<Result<VerifyReport>>(state_, [](Database& db) { return db.verify(); });
}

std::future<Result<CompactReport>> AsyncDatabase::compact(CompactOptions options) const {
  return run<Result<CompactReport>>(state_,
                                    [options](Database& db) { return db.compact(options); });
}

std::future<Status> AsyncDatabase::optimize() const {
  return run<Status>(state_, [](Database& db) { return db.optimize(); });
}

std::future<Status> AsyncDatabase::flush() const {
  return run<Status>(state_, [](Database& db) { return db.flush(); });
}

std::future<Status> AsyncDatabase::close() const {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  if (!state_ || state_->closed.exchange(true)) {
    promise->set_value(closed_status());
    return future;
  }
  // Close on a plain thread: it waits for the executor's tasks, so it
  // cannot run as one of them.
  std::thread([state = state_, promise] {
    state->executor.wait();
    promise->set_value(state->db.close());
  }).detach();
  return future;
}

size_t AsyncDatabase::size() const { return state_ ? state_->db.size() : 0; }
size_t AsyncDatabase::dim() const { return state_ ? state_->db.dim() : 0; }
Metric AsyncDatabase::metric() const { return state_ ? state_->db.metric() : Metric::kL2; }
IndexKind AsyncDatabase::index_kind() const {
  return state_ ? state_->db.index_kind() : IndexKind();
}
VectorStorage AsyncDatabase::storage() const {
  return state_ ? state_->db.storage() : VectorStorage();
}
bool AsyncDatabase::read_only() const { return state_ && state_->db.read_only(); }
std::optional<CacheStats> AsyncDatabase::cache_stats() const {
  return state_ ? state_->db.cache_stats() : std::nullopt;
}

}  // namespace iqdb
