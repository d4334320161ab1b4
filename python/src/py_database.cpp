#include "py_database.h"

#include <chrono>
#include <mutex>
#include <cstdint>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <iqdb/config.h>

#include "convert.h"

namespace iqdb::py {
namespace {

using pyb::gil_scoped_release;

size_t get_size(const pyb::dict& d, const char* key, size_t fallback) {
  return d.contains(key) ? d[key].cast<size_t>() : fallback;
}

IndexKind make_index(const std::string& index, const pyb::dict& p) {
  if (index == "flat") return FlatConfig{};
  if (index == "hnsw") {
    HnswConfig h;
    h.m = get_size(p, "m", h.m);
    h.ef_construction = get_size(p, "ef_construction", h.ef_construction);
    h.ef_search = get_size(p, "ef_search", h.ef_search);
    if (p.contains("seed")) h.seed = p["seed"].cast<uint64_t>();
    if (p.contains("quantized_walk")) h.quantized_walk = p["quantized_walk"].cast<bool>();
    return h;
  }
  if (index == "ivf") {
    IvfConfig v;
    v.n_clusters = get_size(p, "n_clusters", v.n_clusters);
    v.n_probes = get_size(p, "n_probes", v.n_probes);
    v.training_sample_size = get_size(p, "training_sample_size", v.training_sample_size);
    v.pq_subvectors = get_size(p, "pq_subvectors", v.pq_subvectors);
    v.refine_factor = get_size(p, "refine_factor", v.refine_factor);
    if (p.contains("seed")) v.seed = p["seed"].cast<uint64_t>();
    const std::string pq = p.contains("pq") ? p["pq"].cast<std::string>() : "none";
    if (pq == "none")
      v.pq = IvfConfig::Pq::kNone;
    else if (pq == "8bit")
      v.pq = IvfConfig::Pq::k8Bit;
    else if (pq == "4bit")
      v.pq = IvfConfig::Pq::k4BitFastScan;
    else
      invalid("pq is 'none', '8bit' or '4bit'");
    return v;
  }
  invalid("index is 'flat', 'hnsw' or 'ivf'");
}

VectorStorage make_storage(const std::string& storage, bool keep_f32) {
  if (storage == "f32") return VectorStorage::f32();
  if (storage == "f16") return VectorStorage::f16(keep_f32);
  if (storage == "bf16") return VectorStorage::bf16(keep_f32);
  if (storage == "sq8") return VectorStorage::sq8(keep_f32);
  if (storage == "u8") return VectorStorage::u8();
  invalid("storage is 'f32', 'f16', 'bf16', 'sq8' or 'u8'");
}

std::unique_ptr<PyDatabase> open_database(std::optional<std::string> path, size_t dim,
                                          const std::string& metric, const std::string& index,
                                          const pyb::dict& index_params, const std::string& storage,
                                          bool keep_f32, const std::string& fsync,
                                          int64_t fsync_interval_ms, const std::string& compression,
                                          int compression_level, size_t cache_capacity,
                                          const std::vector<std::string>& indexed_fields,
                                          size_t write_threads, bool load_into_memory) {
  Result<Metric> m = parse_metric(metric);
  check(m.status());
  Config config(dim, *m);
  config.index(make_index(index, index_params));
  config.storage(make_storage(storage, keep_f32));
  if (fsync == "always")
    config.fsync(FsyncPolicy::always());
  else if (fsync == "never")
    config.fsync(FsyncPolicy::never());
  else if (fsync == "periodic") {
    if (fsync_interval_ms <= 0) invalid("fsync='periodic' needs fsync_interval_ms > 0");
    config.fsync(FsyncPolicy::periodic(std::chrono::milliseconds(fsync_interval_ms)));
  } else
    invalid("fsync is 'always', 'periodic' or 'never'");
  if (compression == "none")
    config.compression(Compression::none());
  else if (compression == "zstd")
    config.compression(Compression::zstd(compression_level == 0 ? 3 : compression_level));
  else if (compression == "lz4")
    config.compression(Compression::lz4());
  else
    invalid("compression is 'none', 'zstd' or 'lz4'");
  if (cache_capacity > 0) config.cache(CacheConfig{}.with_capacity(cache_capacity));
  config.indexed_fields(indexed_fields);
  config.write_threads(write_threads);
  config.load_into_memory(load_into_memory);

  std::optional<Result<Database>> opened;
  {
    gil_scoped_release release;
    opened.emplace(path ? Database::open(*path, config) : Database::open_in_memory(config));
  }
  check(opened->status());
  return std::make_unique<PyDatabase>(std::move(**opened), std::move(path));
}

// Opens the existing database at `path`, its shape taken from the file.
std::unique_ptr<PyDatabase> open_existing(const std::string& path, bool read_only,
                                          const std::string& fsync, int64_t fsync_interval_ms,
                                          size_t cache_capacity, size_t write_threads,
                                          bool load_into_memory) {
  OpenOptions options;
  options.read_only = read_only;
  options.write_threads = write_threads;
  options.load_into_memory = load_into_memory;
  if (fsync == "always")
    options.fsync = FsyncPolicy::always();
  else if (fsync == "never")
    options.fsync = FsyncPolicy::never();
  else if (fsync == "periodic") {
    if (fsync_interval_ms <= 0) invalid("fsync='periodic' needs fsync_interval_ms > 0");
    options.fsync = FsyncPolicy::periodic(std::chrono::milliseconds(fsync_interval_ms));
  } else
    invalid("fsync is 'always', 'periodic' or 'never'");
  if (cache_capacity > 0) options.cache = CacheConfig{}.with_capacity(cache_capacity);
  std::optional<Result<Database>> opened;
  {
    gil_scoped_release release;
    opened.emplace(Database::open(path, options));
  }
  check(opened->status());
  return std::make_unique<PyDatabase>(std::move(**opened), path);
}

const char* codec_name(Compression::Kind kind) {
  switch (kind) {
    case Compression::Kind::kNone: return "none";
    case Compression::Kind::kZstd: return "zstd";
    case Compression::Kind::kLz4: return "lz4";
  }
  return "unknown";
}

Compression parse_compression(const std::string& name, int level) {
  if (name == "none") return Compression::none();
  if (name == "zstd") return Compression::zstd(level == 0 ? 3 : level);
  if (name == "lz4") return Compression::lz4();
  invalid("compression is 'none', 'zstd' or 'lz4'");
}

// Upserts one record (scalar id) or a batch (a sequence of ids).
void upsert(PyDatabase& self, pyb::handle ids, pyb::handle vectors, pyb::handle metadata) {
  FloatRows rows = as_float_rows(vectors, "vectors");
  if (is_scalar_id(ids)) {
    if (!rows.one_row) invalid("one id takes one 1-D vector; pass a sequence of ids for 2-D rows");
    VectorId id = to_id(ids);
    std::optional<Metadata> md;
    if (!metadata.is_none()) md = to_metadata(metadata);
    gil_scoped_release release;
    check(self.with_db_mut([&](Database& db) {
      return db.upsert(id, std::span<const float>(rows.data, rows.cols), md ? &*md : nullptr);
    }));
    return;
  }
  std::vector<VectorId> id_list = to_ids(ids);
  if (id_list.size() != rows.rows) {
    invalid(std::to_string(id_list.size()) + " ids for " + std::to_string(rows.rows) + " rows");
  }
  std::vector<std::optional<Metadata>> mds;
  std::vector<const Metadata*> md_ptrs;
  if (!metadata.is_none()) {
    if (PyDict_Check(metadata.ptr()))
      invalid("a batch takes a sequence of metadata dicts (or None), one per id");
    pyb::sequence seq = pyb::reinterpret_borrow<pyb::object>(metadata).cast<pyb::sequence>();
    if (seq.size() != id_list.size()) {
      invalid(std::to_string(seq.size()) + " metadata entries for " +
              std::to_string(id_list.size()) + " ids");
    }
    mds.reserve(seq.size());
    for (pyb::handle item : seq) {
      mds.push_back(item.is_none() ? std::nullopt : std::optional<Metadata>(to_metadata(item)));
    }
    for (const auto& md : mds) md_ptrs.push_back(md ? &*md : nullptr);
  }
  gil_scoped_release release;
  check(self.with_db_mut([&](Database& db) {
    return db.upsert_batch(id_list, std::span<const float>(rows.data, rows.rows * rows.cols),
                           md_ptrs);
  }));
}

pyb::object get(const PyDatabase& self, pyb::handle id_obj) {
  VectorId id = to_id(id_obj);
  std::optional<Result<std::optional<Record>>> got;
  {
    gil_scoped_release release;
    got.emplace(self.with_db([&](const Database& db) { return db.get(id); }));
  }
  check(got->status());
  std::optional<Record>& record = **got;
  if (!record) return pyb::none();
  pyb::array_t<float> vector(static_cast<pyb::ssize_t>(record->vector.size()));
  std::copy(record->vector.begin(), record->vector.end(), vector.mutable_data());
  pyb::object metadata =
      record->metadata ? pyb::object(from_metadata(*record->metadata)) : pyb::none();
  return pyb::module_::import("iqdb._records").attr("Record")(vector, metadata);
}

bool contains(const PyDatabase& self, pyb::handle id_obj) {
  VectorId id = to_id(id_obj);
  gil_scoped_release release;
  return self.with_db([&](const Database& db) {
    Result<std::optional<Record>> got = db.get(id);
    check(got.status());
    return got->has_value();
  });
}

pyb::object remove(PyDatabase& self, pyb::handle ids) {
  if (is_scalar_id(ids)) {
    VectorId id = to_id(ids);
    bool removed = false;
    {
      gil_scoped_release release;
      removed = self.with_db_mut([&](Database& db) {
        Result<bool> r = db.remove(id);
        check(r.status());
        return *r;
      });
    }
    return pyb::bool_(removed);
  }
  std::vector<VectorId> list = to_ids(ids);
  size_t removed = 0;
  {
    gil_scoped_release release;
    removed = self.with_db_mut([&](Database& db) {
      Result<size_t> r = db.remove_batch(list);
      check(r.status());
      return *r;
    });
  }
  return pyb::int_(removed);
}

pyb::dict info(const PyDatabase& self) {
  std::optional<Result<DatabaseInfo>> got;
  {
    gil_scoped_release release;
    got.emplace(self.with_db([](const Database& db) { return db.info(); }));
  }
  check(got->status());
  const DatabaseInfo& i = **got;
  pyb::dict d;
  d["path"] = self.path() ? pyb::object(pyb::str(*self.path())) : pyb::none();
  d["dim"] = i.dim;
  d["metric"] = self.metric();
  d["index"] = i.index.name();
  d["storage"] = storage_type_name(i.storage.type);
  d["keep_f32"] = i.storage.keep_f32 && i.storage.lossy();
  d["indexed_fields"] = i.indexed_fields;
  d["size"] = i.records;
  d["read_only"] = i.read_only;
  d["snapshot_bytes"] = i.snapshot_bytes;
  d["log_bytes"] = i.log_bytes;
  d["log_records"] = i.log_records;
  d["write_threads"] = i.write_threads;
  d["load_into_memory"] = i.load_into_memory;
  pyb::list sections;
  for (const SnapshotSectionInfo& s : i.sections) {
    pyb::dict one;
    one["kind"] = s.kind;
    one["bytes"] = s.bytes;
    one["stored_bytes"] = s.stored_bytes;
    one["compressed"] = s.compressed;
    sections.append(one);
  }
  d["sections"] = sections;
  d["compression"] = codec_name(i.compression.kind());
  d["simd_target"] = i.simd_target;
  d["format_version"] = i.format_version;
  d["integrity"] = integrity_state_name(i.integrity.state);
  if (!i.integrity.damage.empty()) d["damage"] = i.integrity.damage;
  return d;
}

pyb::dict verify(const PyDatabase& self) {
  std::optional<Result<VerifyReport>> got;
  {
    gil_scoped_release release;
    got.emplace(self.with_db([](const Database& db) { return db.verify(); }));
  }
  check(got->status());
  const VerifyReport& r = **got;
  static constexpr const char* kSeverity[] = {"ok", "note", "damaged", "unchecked"};
  pyb::list findings;
  for (const VerifyReport::Finding& f : r.findings) {
    findings.append(pyb::make_tuple(stage_name(f.stage), kSeverity[static_cast<size_t>(f.severity)],
                                    f.message));
  }
  pyb::dict d;
  d["ok"] = r.ok();
  d["problems"] = r.problems();
  d["findings"] = findings;
  d["sections_verified"] = r.sections_verified;
  d["records"] = r.records;
  d["log_records"] = r.log_records;
  d["unreachable_nodes"] = r.unreachable_nodes;
  return d;
}

pyb::dict compact(PyDatabase& self, std::optional<std::string> compression, int compression_level) {
  CompactOptions options;
  if (compression) options.compression = parse_compression(*compression, compression_level);
  std::optional<Result<CompactReport>> got;
  {
    gil_scoped_release release;
    got.emplace(self.with_db_mut([&](Database& db) { return db.compact(options); }));
  }
  check(got->status());
  const CompactReport& r = **got;
  pyb::dict d;
  d["records"] = r.records;
  d["log_records_folded"] = r.log_records_folded;
  d["snapshot_bytes_before"] = r.snapshot_bytes_before;
  d["snapshot_bytes_after"] = r.snapshot_bytes_after;
  d["log_bytes_before"] = r.log_bytes_before;
  d["log_bytes_after"] = r.log_bytes_after;
  d["compression"] = codec_name(r.compression_after.kind());
  return d;
}

}  // namespace

PyDatabase::PyDatabase(Database db, std::optional<std::string> path)
    : db_(std::move(db)),
      path_(std::move(path)),
      dim_(db_->dim()),
      metric_(metric_name(db_->metric())) {}

bool PyDatabase::closed() const {
  std::shared_lock lock(mutex_);
  return !db_.has_value();
}

void PyDatabase::close() {
  std::unique_lock lock(mutex_);
  if (!db_) return;
  Status s = db_->close();
  db_.reset();
  check(s);
}

void bind_database(pyb::module_& m) {
  pyb::class_<PyDatabase>(m, "Database", R"doc(
An open iqdb database. Make one with iqdb.open() or iqdb.open_in_memory().

Every method may be called from many Python threads at once; the GIL is
released while iqdb works. Use it as a context manager (or call close())
to flush and release it; afterwards every call raises iqdb.Closed.
A handle cannot be pickled: open the file again in the other process.)doc")
      .def("upsert", &upsert, pyb::arg("ids"), pyb::arg("vectors"),
           pyb::arg("metadata") = pyb::none(),
           R"doc(Insert or replace records.

One record: ``upsert(id, vector, metadata=None)`` with a scalar id (int in
0..2**64-1, bytes, or str stored as its UTF-8 bytes), a 1-D vector and an
optional dict. A batch: ``upsert(ids, rows, metadata=None)`` with a sequence
(or integer array) of n ids, an (n, dim) array and None or n dicts/None.
float32 C-contiguous arrays are used without a copy; other numeric dtypes
are converted to float32. A batch is written whole or not at all.)doc")
      .def("get", &get, pyb::arg("id"),
           "The record under `id` as iqdb.Record(vector, metadata), or None when absent.")
      .def("remove", &remove, pyb::arg("ids"),
           "Remove one id (returns True if it was present) or a sequence of ids in one write "
           "(all absent together, also after a crash; returns how many were present).")
      .def("__contains__", &contains, pyb::arg("id"))
      .def("__len__",
           [](const PyDatabase& self) {
             gil_scoped_release release;
             return self.with_db([](const Database& db) { return db.size(); });
           })
      .def("search", &search, pyb::arg("queries"), pyb::arg("k") = 10, pyb::kw_only(),
           pyb::arg("filter") = pyb::none(), pyb::arg("ef") = pyb::none(),
           pyb::arg("n_probes") = pyb::none(), pyb::arg("threads") = pyb::none(),
           pyb::arg("exact") = false,
           R"doc(The k nearest records of each query, nearest first.

A 1-D query returns ``(ids, distances, count)`` with arrays of shape (k,);
an (n, dim) batch returns arrays of shape (n, k) and counts of shape (n,).
Slots past a row's count (fewer matching records than k) hold id -1 and
distance inf. ids are int64 when every id found is an integer below 2**63,
otherwise an object array of int/bytes with None in empty slots.

filter: None, filter text (``"class = 'Sandal' and year >= 2020"``), an
iqdb.Filter, or for a batch a sequence with one of those per query.
ef: HNSW beam width; n_probes: IVF lists to scan (None: the index's
default). threads: at most this many threads for a batch (None: all).
exact: the exact answer whatever the index (to measure recall).)doc")
      .def(
          "optimize",
          [](PyDatabase& self) {
            gil_scoped_release release;
            check(self.with_db_mut([](Database& db) { return db.optimize(); }));
          },
          "Rebuild or retrain the approximate index over the current records.")
      .def(
          "flush",
          [](PyDatabase& self) {
            gil_scoped_release release;
            check(self.with_db_mut([](Database& db) { return db.flush(); }));
          },
          "Fold the write-ahead log into a fresh snapshot (no-op in memory).")
      .def(
          "close",
          [](PyDatabase& self) {
            gil_scoped_release release;
            self.close();
          },
          "Wait for calls in flight, flush and release the database. Safe to call twice.")
      .def("info", &info,
           "What the database is and holds, as a dict: shape, index, storage, size, file and log "
           "bytes, sections, compression, SIMD target, format version, the write_threads in "
           "force, whether the snapshot was loaded into memory, and how far the snapshot's "
           "checksums have been verified since open "
           "('integrity').")
      .def("verify", &verify,
           "Checks every checksum, the id map, rows and norms, the index and the log; returns "
           "a dict with 'ok', 'problems' and 'findings' (stage, severity, message).")
      .def("compact", &compact, pyb::kw_only(), pyb::arg("compression") = pyb::none(),
           pyb::arg("compression_level") = 0,
           "Writes a fresh snapshot now (optionally re-encoded: 'none', 'zstd', 'lz4') and folds "
           "the log "
           "into it; returns what it did as a dict.")
      .def_property_readonly("dim", &PyDatabase::dim)
      .def_property_readonly("metric", &PyDatabase::metric)
      .def_property_readonly("path", &PyDatabase::path, "The file, or None in memory.")
      .def_property_readonly("closed", &PyDatabase::closed)
      .def(
          "__enter__", [](PyDatabase& self) -> PyDatabase& { return self; },
          pyb::return_value_policy::reference)
      .def("__exit__",
           [](PyDatabase& self, pyb::handle exc_type, pyb::handle, pyb::handle) {
             try {
               gil_scoped_release release;
               self.close();
             } catch (const StatusError&) {
               // A failure to close must not hide the exception that ended the block.
               if (exc_type.is_none()) throw;
             }
           })
      .def("__reduce_ex__",
           [](const PyDatabase&, pyb::handle) -> pyb::object {
             throw pyb::type_error(
                 "an iqdb.Database handle cannot be pickled: it owns an open file (or an in-memory "
                 "index); "
                 "pass the path and call iqdb.open() in the other process");
           })
      .def("__repr__", [](const PyDatabase& self) {
        std::string where = self.path() ? "'" + *self.path() + "'" : std::string("in memory");
        return "<iqdb.Database " + where + " dim=" + std::to_string(self.dim()) +
               " metric=" + self.metric() + (self.closed() ? " closed>" : ">");
      });

  m.def("_open_existing", &open_existing, pyb::arg("path"), pyb::arg("read_only"),
        pyb::arg("fsync"), pyb::arg("fsync_interval_ms"), pyb::arg("cache_capacity"),
        pyb::arg("write_threads"), pyb::arg("load_into_memory"));
  m.def("_open", &open_database, pyb::arg("path"), pyb::arg("dim"), pyb::arg("metric"),
        pyb::arg("index"), pyb::arg("index_params"), pyb::arg("storage"), pyb::arg("keep_f32"),
        pyb::arg("fsync"), pyb::arg("fsync_interval_ms"), pyb::arg("compression"),
        pyb::arg("compression_level"), pyb::arg("cache_capacity"), pyb::arg("indexed_fields"),
        pyb::arg("write_threads"), pyb::arg("load_into_memory"));
}

}  // namespace iqdb::py
