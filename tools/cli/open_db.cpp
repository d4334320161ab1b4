#include "cli/open_db.h"

#include <charconv>
#include <system_error>

#include "cli/args.h"
#include "cli/cli.h"

namespace iqdb::cli {

std::filesystem::path sibling(const std::filesystem::path& path, std::string_view suffix) {
  std::filesystem::path p = path;
  p += std::string(suffix);
  return p;
}

uint64_t file_bytes_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : uint64_t(n);
}

DatabaseInfo read_shape(const std::filesystem::path& path) {
  auto info = inspect(path);
  if (info.ok()) return std::move(*info);
  const Status& s = info.status();
  const std::string msg(s.message());
  switch (s.code()) {
    case StatusCode::kNotFound:
      throw CliError(Exit::kNotFound,
                     msg + " (create one with: iqdb create " + path.string() + " --dim N)");
    case StatusCode::kInvalidArgument: throw CliError(Exit::kUsage, msg);
    case StatusCode::kUnsupported: throw CliError(Exit::kUnsupported, msg);
    case StatusCode::kCorruption: throw CliError(Exit::kDamaged, msg);
    default: throw CliError(Exit::kError, msg);
  }
}

Database open_existing(const std::filesystem::path& path, const OpenArgs& args) {
  OpenOptions options;
  options.read_only = args.read_only;
  options.compression = args.compression;
  options.fsync = args.fsync;
  auto db = Database::open(path, options);
  if (!db.ok()) {
    const Status& s = db.status();
    if (s.code() == StatusCode::kBusy) {
      throw CliError(Exit::kBusy,
                     path.string() + " is open in another process: " + std::string(s.message()));
    }
    if (s.code() == StatusCode::kNotFound)
      throw CliError(Exit::kNotFound, std::string(s.message()));
    check(s, "cannot open " + path.string(), Exit::kDamaged);
  }
  return std::move(*db);
}

Compression parse_compression(std::string_view text) {
  if (text == "none") return Compression::none();
  if (text == "lz4") return Compression::lz4();
  if (text == "zstd") return Compression::zstd();
  if (text.starts_with("zstd:")) {
    return Compression::zstd(int(parse_u64(text.substr(5), "--compression zstd level", 1, 22)));
  }
  usage_error("--compression: '" + std::string(text) + "' is not none, zstd, zstd:LEVEL or lz4");
}

std::string compression_text(const Compression& c) {
  switch (c.kind()) {
    case Compression::Kind::kNone: return "none";
    case Compression::Kind::kZstd: return "zstd";
    case Compression::Kind::kLz4: return "lz4";
  }
  return "unknown";
}

FsyncPolicy parse_fsync(std::string_view text) {
  if (text == "always") return FsyncPolicy::always();
  if (text == "never") return FsyncPolicy::never();
  if (text.starts_with("periodic:")) {
    return FsyncPolicy::periodic(std::chrono::milliseconds(
        parse_u64(text.substr(9), "--fsync periodic interval (ms)", 1, 3'600'000)));
  }
  usage_error("--fsync: '" + std::string(text) + "' is not always, never or periodic:MS");
}

Metric parse_metric_arg(std::string_view text) {
  auto m = parse_metric(text);
  if (!m.ok())
    usage_error("--metric: '" + std::string(text) + "' is not l2, cosine, dot, l1 or hamming");
  return *m;
}

StorageType parse_storage_arg(std::string_view text) {
  for (StorageType t : {StorageType::kF32, StorageType::kF16, StorageType::kBF16, StorageType::kSq8,
                        StorageType::kU8}) {
    if (text == storage_type_name(t)) return t;
  }
  usage_error("--storage: '" + std::string(text) + "' is not f32, f16, bf16, sq8 or u8");
}

std::string describe_storage(const VectorStorage& storage, bool sq8_trained) {
  std::string out = storage_type_name(storage.type);
  switch (storage.type) {
    case StorageType::kF32: return out + " (exact, 4 bytes a value)";
    case StorageType::kU8: return out + " (exact for whole numbers 0..255, 1 byte a value)";
    case StorageType::kF16:
    case StorageType::kBF16: out += " (lossy, 2 bytes a value"; break;
    case StorageType::kSq8:
      out += sq8_trained ? " (lossy, 1 byte a value"
                         : " (lossy, 1 byte a value once trained; f32 until " +
                               std::to_string(VectorStorage::kSq8TrainingRows) + " rows";
      break;
  }
  if (storage.keep_f32) out += ", f32 rows kept: exact rerank and get";
  return out + ")";
}

std::string describe_index(const IndexKind& kind) {
  if (kind.is_hnsw()) {
    const HnswConfig& h = kind.hnsw();
    return "hnsw (m=" + std::to_string(h.m) +
           ", ef_construction=" + std::to_string(h.ef_construction) +
           ", ef_search=" + std::to_string(h.ef_search) + ", seed=" + std::to_string(h.seed) +
           (h.quantized_walk ? "" : ", f32 walk") + ")";
  }
  if (kind.is_ivf()) {
    const IvfConfig& v = kind.ivf();
    const char* pq = v.pq == IvfConfig::Pq::kNone   ? "none"
                     : v.pq == IvfConfig::Pq::k8Bit ? "8-bit"
                                                    : "4-bit fast scan";
    return "ivf (clusters=" + (v.n_clusters ? std::to_string(v.n_clusters) : std::string("auto")) +
           ", probes=" + std::to_string(v.n_probes) + ", pq=" + pq +
           (v.pq != IvfConfig::Pq::kNone
                ? ", pq_subvectors=" +
                      (v.pq_subvectors ? std::to_string(v.pq_subvectors) : std::string("auto"))
                : std::string()) +
           ", refine_factor=" + std::to_string(v.refine_factor) + ", training_sample=" +
           (v.training_sample_size ? std::to_string(v.training_sample_size) : std::string("auto")) +
           ", seed=" + std::to_string(v.seed) + ")";
  }
  return "flat (exact)";
}

}  // namespace iqdb::cli
