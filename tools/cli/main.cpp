// iqdb: the command-line shell for iqdb databases.
//
//   iqdb <command> [options]      iqdb <command> --help      iqdb --help
//
// Each command lives in its own cmd_*.cpp; this file dispatches, prints the
// overview and turns a CliError into a message and an exit code.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <span>
#include <string_view>

#include "cli/cli.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::cli {
namespace {

const Command kCommands[] = {
    {"create", "create an empty database (dim, metric, index, compression)", kCreateHelp,
     run_create},
    {"import", "add vectors from fvecs/bvecs/ivecs/IDX/npy/raw/JSONL/CSV files", kImportHelp,
     run_import},
    {"search", "nearest neighbours of a vector, optionally filtered", kSearchHelp, run_search},
    {"get", "print records by id", kGetHelp, run_get},
    {"remove", "delete records by id", kRemoveHelp, run_remove},
    {"info", "dimension, metric, index and knobs, sizes, compression, SIMD target", kInfoHelp,
     run_info},
    {"check", "verify checksums, id map, graph invariants and the log", kCheckHelp, run_check},
    {"compact", "fold the write-ahead log into a fresh snapshot", kCompactHelp, run_compact},
    {"bench", "recall@k and queries/s on a query file with ground truth", kBenchHelp, run_bench},
};

void print_overview() {
  std::printf(
      "usage: iqdb <command> [options]\n"
      "       iqdb <command> --help     details of one command\n"
      "       iqdb --version\n\n"
      "iqdb %s, an embedded vector database. A database at PATH is the files PATH\n"
      "(snapshot), PATH.wal (write-ahead log) and PATH.lock.\n\ncommands:\n",
      version());
  for (const Command& c : kCommands) std::printf("  %-8s %s\n", c.name, c.summary);
  std::printf(
      "\nexit codes:\n"
      "  0  success\n"
      "  1  runtime error (I/O failure, out of memory, anything unexpected)\n"
      "  2  usage error (unknown option, bad number, bad filter or --vector text,\n"
      "     a knob the index does not have, creating over an existing database)\n"
      "  3  the database is damaged (or `iqdb check` found a problem)\n"
      "  4  not found (no database at PATH, a missing input file, an absent id)\n"
      "  5  bad input data (an import or query file is malformed, or a vector, from\n"
      "     a file or --vector, has another dimension than the database)\n"
      "  6  busy (another process has the database open)\n"
      "  7  unsupported (a file format or index kind this build cannot handle)\n\n"
      "example:\n"
      "  iqdb create fm.iqdb --dim 784 --metric l2 --index hnsw\n"
      "  iqdb import fm.iqdb train-images-idx3-ubyte.gz --labels train-labels-idx1-ubyte.gz \\\n"
      "              --label-names fashion-mnist\n"
      "  iqdb search fm.iqdb --from t10k-images-idx3-ubyte.gz --row 0 -k 5 --filter 'class = "
      "\"Bag\"'\n");
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    print_overview();
    return int(Exit::kUsage);
  }
  std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    if (name == "help" && argc > 2) {
      for (const Command& c : kCommands) {
        if (std::strcmp(argv[2], c.name) == 0) {
          std::fputs(c.help, stdout);
          return 0;
        }
      }
    }
    print_overview();
    return 0;
  }
  if (name == "--version" || name == "-V") {
    std::printf("iqdb %s (SIMD target %s)\n", version(), simd_target().c_str());
    return 0;
  }
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    std::span<char* const> args(argv + 2, size_t(argc - 2));
    for (const char* a : args) {
      if (std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0) {
        std::fputs(c.help, stdout);
        return 0;
      }
      if (std::strcmp(a, "--") == 0) break;
    }
    return c.run(args);
  }
  std::fprintf(stderr, "iqdb: unknown command '%s' (see: iqdb --help)\n", argv[1]);
  return int(Exit::kUsage);
}

}  // namespace
}  // namespace iqdb::cli

int main(int argc, char** argv) {
  using iqdb::cli::CliError;
  using iqdb::cli::Exit;
  const char* command = argc > 1 ? argv[1] : "";
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // results and progress interleave in order in logs
  try {
    return iqdb::cli::dispatch(argc, argv);
  } catch (const CliError& e) {
    std::fprintf(stderr, "iqdb %s: %s\n", command, e.what());
    return int(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "iqdb %s: out of memory\n", command);
    return int(Exit::kError);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "iqdb %s: %s\n", command, e.what());
    return int(Exit::kError);
  }
}
