// iqdb info: what a database is and what it holds.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"
#include "cli/snapshot_view.h"
#include "dataset/json.h"

namespace iqdb::cli {

const char* const kInfoHelp =
    "usage: iqdb info PATH [--json]\n\n"
    "Prints the dimension, metric, index kind and knobs, how rows are stored\n"
    "(f32, f16, bf16, sq8 or u8) and their bytes per row, record count, snapshot\n"
    "and log sizes, snapshot compression, and the SIMD target the kernels run on.\n"
    "When another process has the database open, the record count is the\n"
    "snapshot's (the log may hold more).\n\n"
    "  --json   one JSON object\n";

namespace {

const OptionSpec kSpecs[] = {{"--json", nullptr, false}};

std::string targets_text() {
  std::string out;
  for (const std::string& t : simd_compiled_targets()) out += (out.empty() ? "" : " ") + t;
  return out;
}

}  // namespace

int run_info(std::span<char* const> argv) {
  Args args("info", argv, kSpecs);
  args.expect_positional(1, 1, "PATH");
  const std::filesystem::path path = args.positional()[0];
  const StoredShape shape = read_stored_shape(path);

  size_t records = shape.snapshot_records;
  IndexKind index = shape.index;
  bool live = true;
  try {
    Database db = open_existing(path, shape);
    records = db.size();
    index = db.index_kind();
    check(db.close(), "close", Exit::kError);
  } catch (const CliError& e) {
    if (e.code() != Exit::kBusy) throw;
    live = false;
  }
  // Sizes after open and close: the log may have been folded in.
  const uint64_t snapshot_bytes = file_bytes_or_zero(path);
  const uint64_t wal_bytes = file_bytes_or_zero(sibling(path, ".wal"));
  const RowStorage rows = read_row_storage(path);
  const std::string compression = shape.compression.kind() == Compression::Kind::kNone
                                      ? "none"
                                      : compression_text(shape.compression);

  if (args.has("--json")) {
    std::string out = "{\"path\":" + dataset::json_quote(path.string()) +
                      ",\"dim\":" + std::to_string(shape.dim) +
                      ",\"metric\":" + dataset::json_quote(metric_name(shape.metric)) +
                      ",\"index\":" + dataset::json_quote(index.name()) + ",\"knobs\":{";
    if (index.is_hnsw()) {
      const HnswConfig& h = index.hnsw();
      out += "\"m\":" + std::to_string(h.m) +
             ",\"ef_construction\":" + std::to_string(h.ef_construction) +
             ",\"ef_search\":" + std::to_string(h.ef_search) +
             ",\"seed\":" + std::to_string(h.seed) +
             ",\"quantized_walk\":" + (h.quantized_walk ? "true" : "false");
    } else if (index.is_ivf()) {
      const IvfConfig& v = index.ivf();
      out += "\"n_clusters\":" + std::to_string(v.n_clusters) +
             ",\"n_probes\":" + std::to_string(v.n_probes) +
             ",\"pq\":" + std::to_string(int(v.pq)) +
             ",\"pq_subvectors\":" + std::to_string(v.pq_subvectors) +
             ",\"refine_factor\":" + std::to_string(v.refine_factor) +
             ",\"training_sample_size\":" + std::to_string(v.training_sample_size) +
             ",\"seed\":" + std::to_string(v.seed);
    }
    out += "},\"storage\":" + dataset::json_quote(storage_type_name(rows.storage.type)) +
           ",\"keep_f32\":" + (rows.storage.keep_f32 ? "true" : "false") +
           ",\"sq8_trained\":" + (rows.sq8_trained ? "true" : "false") +
           ",\"vector_bytes_per_row\":" + std::to_string(rows.vector_bytes_per_row) +
           ",\"records\":" + std::to_string(records) +
           ",\"records_exact\":" + (live ? "true" : "false") +
           ",\"snapshot_bytes\":" + std::to_string(snapshot_bytes) +
           ",\"wal_bytes\":" + std::to_string(wal_bytes) +
           ",\"sections\":" + std::to_string(shape.sections) +
           ",\"compression\":" + dataset::json_quote(compression) +
           ",\"simd_target\":" + dataset::json_quote(simd_target()) +
           ",\"version\":" + dataset::json_quote(version()) + "}";
    std::puts(out.c_str());
    return 0;
  }
  std::printf("path         %s\n", path.c_str());
  std::printf("dimension    %zu\n", shape.dim);
  std::printf("metric       %s\n", std::string(metric_name(shape.metric)).c_str());
  std::printf("index        %s\n", describe_index(index).c_str());
  std::printf("storage      %s, %zu bytes a row\n",
              describe_storage(rows.storage, rows.sq8_trained).c_str(), rows.vector_bytes_per_row);
  std::printf("records      %zu%s\n", records,
              live ? "" : " (in the snapshot; open elsewhere, the log may hold more)");
  std::printf("snapshot     %s (%u sections)\n", human_bytes(snapshot_bytes).c_str(),
              shape.sections);
  std::printf("log          %s\n", human_bytes(wal_bytes).c_str());
  std::printf("compression  %s\n", compression.c_str());
  std::printf("simd         %s (compiled: %s)\n", simd_target().c_str(), targets_text().c_str());
  std::printf("library      iqdb %s\n", version());
  return 0;
}

}  // namespace iqdb::cli
