// iqdb info: what a database is and what it holds.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"
#include "dataset/json.h"

namespace iqdb::cli {

const char* const kInfoHelp =
    "usage: iqdb info PATH [--json]\n\n"
    "Prints the dimension, metric, index kind and knobs, how rows are stored\n"
    "(f32, f16, bf16, sq8 or u8) and their bytes per row, record count, snapshot\n"
    "and log sizes, snapshot compression, and the SIMD target the kernels run on.\n"
    "It opens the database read-only. When another process has it open for\n"
    "writing, the record count is the snapshot's (the log may hold more).\n\n"
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
  DatabaseInfo info = read_shape(path);  // damage and absence are reported before the lock
  bool live = true;
  try {
    Database db = open_existing(path, OpenArgs{.read_only = true});
    info = take(db.info(), "info", Exit::kError);
    check(db.close(), "close", Exit::kError);
  } catch (const CliError& e) {
    if (e.code() != Exit::kBusy) throw;
    live = false;  // a writer holds it: what the files say
  }
  const std::string compression = compression_text(info.compression);
  const IndexKind& index = info.index;

  if (args.has("--json")) {
    std::string out = "{\"path\":" + dataset::json_quote(path.string()) +
                      ",\"dim\":" + std::to_string(info.dim) +
                      ",\"metric\":" + dataset::json_quote(metric_name(info.metric)) +
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
    std::string sections;
    for (const SnapshotSectionInfo& s : info.sections) {
      sections += std::string(sections.empty() ? "" : ",") +
                  "{\"kind\":" + dataset::json_quote(s.kind) +
                  ",\"bytes\":" + std::to_string(s.bytes) +
                  ",\"stored_bytes\":" + std::to_string(s.stored_bytes) +
                  ",\"compressed\":" + (s.compressed ? "true" : "false") + "}";
    }
    out += "},\"storage\":" + dataset::json_quote(storage_type_name(info.storage.type)) +
           ",\"keep_f32\":" + (info.storage.keep_f32 ? "true" : "false") +
           ",\"sq8_trained\":" + (info.sq8_trained ? "true" : "false") +
           ",\"vector_bytes_per_row\":" + std::to_string(info.vector_bytes_per_row) +
           ",\"records\":" + std::to_string(info.records) +
           ",\"records_exact\":" + (live ? "true" : "false") +
           ",\"snapshot_bytes\":" + std::to_string(info.snapshot_bytes) +
           ",\"wal_bytes\":" + std::to_string(info.log_bytes) +
           ",\"log_records\":" + std::to_string(info.log_records) +
           ",\"sections\":" + std::to_string(info.sections.size()) + ",\"section_table\":[" +
           sections + "]" + ",\"compression\":" + dataset::json_quote(compression) +
           ",\"simd_target\":" + dataset::json_quote(info.simd_target) +
           ",\"format_version\":" + std::to_string(info.format_version) +
           ",\"version\":" + dataset::json_quote(info.library_version) + "}";
    std::puts(out.c_str());
    return 0;
  }
  std::printf("path         %s\n", path.string().c_str());
  std::printf("dimension    %zu\n", info.dim);
  std::printf("metric       %s\n", std::string(metric_name(info.metric)).c_str());
  std::printf("index        %s\n", describe_index(index).c_str());
  std::printf("storage      %s, %zu bytes a row\n",
              describe_storage(info.storage, info.sq8_trained).c_str(), info.vector_bytes_per_row);
  std::printf("records      %llu%s\n", static_cast<unsigned long long>(info.records),
              live ? "" : " (in the snapshot; open elsewhere, the log may hold more)");
  std::printf("snapshot     %s (%zu sections, format %u)\n",
              human_bytes(info.snapshot_bytes).c_str(), info.sections.size(), info.format_version);
  std::printf("log          %s (%llu records newer than the snapshot)\n",
              human_bytes(info.log_bytes).c_str(),
              static_cast<unsigned long long>(info.log_records));
  std::printf("compression  %s\n", compression.c_str());
  std::printf("simd         %s (compiled: %s)\n", info.simd_target.c_str(), targets_text().c_str());
  std::printf("library      iqdb %s\n", info.library_version.c_str());
  return 0;
}

}  // namespace iqdb::cli
