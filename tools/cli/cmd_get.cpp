// iqdb get: print records by id, exactly as stored.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"

namespace iqdb::cli {

const char* const kGetHelp =
    "usage: iqdb get PATH ID... [--json] [--no-vector]\n\n"
    "Prints each record: its id, metadata and vector: exactly the floats written,\n"
    "except in a database created with --storage f16, bf16 or sq8 and without\n"
    "--keep-f32, which holds only the rounded values.\n"
    "An ID is an integer (42), a text id (doc-7, or str:42 for text that looks\n"
    "like a number) or hex bytes (hex:00ff). Exits 4 when an id is absent (the\n"
    "others are still printed).\n\n"
    "  --json         one JSON object per line: {\"id\":..,\"metadata\":{..},\"vector\":[..]}\n"
    "                 ({\"id\":..,\"found\":false} for an absent id)\n"
    "  --no-vector    leave the vector out\n";

namespace {

const OptionSpec kSpecs[] = {{"--json", nullptr, false}, {"--no-vector", nullptr, false}};

}  // namespace

int run_get(std::span<char* const> argv) {
  Args args("get", argv, kSpecs);
  args.expect_positional(2, SIZE_MAX, "PATH ID...");
  const std::filesystem::path path = args.positional()[0];
  std::vector<VectorId> ids;
  for (size_t i = 1; i < args.positional().size(); ++i)
    ids.push_back(parse_id_arg(args.positional()[i]));
  const bool json = args.has("--json"), with_vector = !args.has("--no-vector");
  (void)read_shape(path);
  Database db = open_existing(path, OpenArgs{.read_only = true});
  size_t missing = 0;
  std::string missing_ids;
  for (const VectorId& id : ids) {
    auto record = take(db.get(id), "get " + id_text(id));
    if (!record) {
      ++missing;
      missing_ids += (missing_ids.empty() ? "" : ", ") + id_text(id);
      if (json) std::printf("{\"id\":%s,\"found\":false}\n", id_json(id).c_str());
      continue;
    }
    if (json) {
      std::string out = "{\"id\":" + id_json(id);
      if (record->metadata) out += ",\"metadata\":" + metadata_json(*record->metadata);
      if (with_vector) out += ",\"vector\":" + vector_json(record->vector);
      out += '}';
      std::puts(out.c_str());
    } else {
      std::printf("id %s\n", id_text(id).c_str());
      if (record->metadata)
        std::printf("  metadata %s\n", metadata_text(*record->metadata).c_str());
      if (with_vector) std::printf("  vector   %s\n", vector_json(record->vector).c_str());
    }
  }
  check(db.close(), "close", Exit::kError);
  if (missing) throw CliError(Exit::kNotFound, "not found: " + missing_ids);
  return 0;
}

}  // namespace iqdb::cli
