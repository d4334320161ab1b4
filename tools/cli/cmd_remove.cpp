// iqdb remove: delete records by id.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"

namespace iqdb::cli {

const char* const kRemoveHelp =
    "usage: iqdb remove PATH ID... [--missing-ok]\n\n"
    "Deletes the records with these ids (ID syntax as in `iqdb get`) in one\n"
    "write. Exits 4 when an id was absent, after removing the others, unless\n"
    "--missing-ok.\n\n"
    "  --missing-ok   an absent id is not an error\n";

namespace {

const OptionSpec kSpecs[] = {{"--missing-ok", nullptr, false}};

}  // namespace

int run_remove(std::span<char* const> argv) {
  Args args("remove", argv, kSpecs);
  args.expect_positional(2, SIZE_MAX, "PATH ID...");
  const std::filesystem::path path = args.positional()[0];
  std::vector<VectorId> ids;
  for (size_t i = 1; i < args.positional().size(); ++i)
    ids.push_back(parse_id_arg(args.positional()[i]));
  (void)read_shape(path);
  Database db = open_existing(path);
  std::string missing;
  for (const VectorId& id : ids) {
    if (!take(db.get(id), "get " + id_text(id)).has_value())
      missing += (missing.empty() ? "" : ", ") + id_text(id);
  }
  // One write: the records go together, and an HNSW graph is repaired once.
  const size_t removed = take(db.remove_batch(ids), "remove");
  const size_t left = db.size();
  check(db.close(), "cannot write " + path.string(), Exit::kError);
  std::printf("removed %zu of %zu ids; %s holds %zu records\n", removed, ids.size(),
              path.string().c_str(), left);
  if (!missing.empty() && !args.has("--missing-ok"))
    throw CliError(Exit::kNotFound, "not found: " + missing);
  return 0;
}

}  // namespace iqdb::cli
