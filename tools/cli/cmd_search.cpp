// iqdb search: the k nearest records to one vector, optionally filtered.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"
#include "cli/query_source.h"

namespace iqdb::cli {

const char* const kSearchHelp =
    "usage: iqdb search PATH (--vector 'X,Y,...' | --from FILE [--row N]) [options]\n\n"
    "Prints the k nearest records to a vector, nearest first.\n\n"
    "  --vector V        the query: numbers separated by commas or spaces\n"
    "  --from FILE       take the query from a vector file (any `iqdb import` format)\n"
    "  --row N           which row of FILE (default 0)\n"
    "  --format F        format of FILE when its name does not say\n"
    "  -k, --k K         how many neighbours (default 10)\n"
    "  --filter EXPR     only records whose metadata match, e.g.\n"
    "                    'class = \"Bag\"'   'year >= 2020 and not draft'\n"
    "                    'tag in (\"a\", \"b\")'   'score < 0.5 or kind != \"doc\"'\n"
    "  --ef N            HNSW beam width for this search (default: the index's);\n"
    "                    HNSW only\n"
    "  --probes N        IVF lists to scan (default: the index's); IVF only\n"
    "  --no-metadata     do not print metadata\n"
    "  --json            one JSON object: "
    "{\"hits\":[{\"id\":..,\"distance\":..,\"metadata\":{..}}]}\n\n"
    "Exit codes: 2 bad option, --vector or --filter text (the message points at\n"
    "the filter's column), 4 no database or no --from file, 5 a query of another\n"
    "dimension than the database, 3 damaged, 6 open in another process.\n\n"
    "example:\n"
    "  iqdb search fm.iqdb --from t10k-images-idx3-ubyte.gz --row 0 -k 5 --filter 'class = "
    "\"Sandal\"'\n";

namespace {

const OptionSpec kSpecs[] = {
    {"--vector", nullptr, true},       {"--from", nullptr, true},   {"--row", nullptr, true},
    {"--format", nullptr, true},       {"--k", "-k", true},         {"--filter", nullptr, true},
    {"--ef", nullptr, true},           {"--probes", nullptr, true}, {"--json", nullptr, false},
    {"--no-metadata", nullptr, false},
};

}  // namespace

int run_search(std::span<char* const> argv) {
  Args args("search", argv, kSpecs);
  args.expect_positional(1, 1, "PATH");
  const std::filesystem::path path = args.positional()[0];
  if (args.has("--vector") == args.has("--from"))
    usage_error("give the query as --vector V or --from FILE");
  if (args.has("--row") && !args.has("--from")) usage_error("--row goes with --from FILE");
  const size_t k = args.get_u64("--k", 10, 1, 100'000);
  std::optional<Filter> filter;
  if (auto f = args.get("--filter")) filter = parse_filter_arg(*f);
  const DatabaseInfo shape = read_shape(path);
  // A knob the index does not have would be ignored silently: say so instead.
  if (args.has("--ef") && !shape.index.is_hnsw())
    usage_error(std::string("--ef applies to an HNSW index; ") + path.string() + " is " +
                shape.index.name());
  if (args.has("--probes") && !shape.index.is_ivf())
    usage_error(std::string("--probes applies to an IVF index; ") + path.string() + " is " +
                shape.index.name());

  std::vector<float> query;
  if (auto v = args.get("--vector")) {
    query = parse_vector_arg(*v);
    if (query.size() != shape.dim) {
      throw CliError(Exit::kBadInput, "--vector has " + std::to_string(query.size()) +
                                          " components, the database has dimension " +
                                          std::to_string(shape.dim));
    }
  } else {
    query = read_query_row(*args.get("--from"), args.get("--format"), args.get_u64("--row", 0),
                           shape.dim);
  }

  Database db = open_existing(path, OpenArgs{.read_only = true});
  SearchParams params;
  params.k = k;
  params.filter = filter ? &*filter : nullptr;
  params.ef = args.get_u64("--ef", 0, 1, 1'000'000);
  params.n_probes = args.get_u64("--probes", 0, 1, 1u << 24);
  params.with_metadata = !args.has("--no-metadata");
  const auto t = std::chrono::steady_clock::now();
  auto hits = take(db.search(query, params), "search");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();

  if (args.has("--json")) {
    std::string out =
        "{\"k\":" + std::to_string(k) + ",\"ms\":" + float_text(float(ms)) + ",\"hits\":[";
    for (size_t i = 0; i < hits.size(); ++i) {
      const Hit& h = hits[i];
      if (i) out += ',';
      out += "{\"id\":" + id_json(h.id) + ",\"distance\":" + float_text(h.distance);
      if (h.metadata) out += ",\"metadata\":" + metadata_json(*h.metadata);
      out += '}';
    }
    out += "]}";
    std::puts(out.c_str());
  } else {
    std::printf("%zu hits in %.3f ms (k=%zu%s)\n", hits.size(), ms, k, filter ? ", filtered" : "");
    if (!hits.empty())
      std::printf("%5s  %-12s %12s%s\n", "rank", "id", "distance",
                  params.with_metadata ? "  metadata" : "");
    for (size_t i = 0; i < hits.size(); ++i) {
      const Hit& h = hits[i];
      const std::string meta = h.metadata ? "  " + metadata_text(*h.metadata) : "";
      std::printf("%5zu  %-12s %12s%s\n", i + 1, id_text(h.id).c_str(),
                  float_text(h.distance).c_str(), meta.c_str());
    }
  }
  check(db.close(), "close", Exit::kError);
  return 0;
}

}  // namespace iqdb::cli
