// iqdb import: add the rows of vector files to an existing database, in
// batches through Database::upsert_batch.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/progress.h"
#include "dataset/idx.h"
#include "dataset/rows.h"

namespace iqdb::cli {

const char* const kImportHelp =
    "usage: iqdb import PATH FILE... [options]\n\n"
    "Adds every row of each FILE to the database at PATH (create it first with\n"
    "`iqdb create`). The format comes from the file name unless --format says:\n"
    "  *.fvecs *.bvecs *.ivecs       TEXMEX vectors (int32 dim, then the values)\n"
    "  *-ubyte *-ubyte.gz *.idx      IDX unsigned-byte tensors (MNIST, Fashion-MNIST)\n"
    "  *.npy                         NumPy float32 or uint8, C order\n"
    "  *.f32 *.raw *.bin             bare float32 rows (--dim, default the database's)\n"
    "  *.jsonl *.ndjson              one JSON object per line: {\"id\": 7, \"vector\":\n"
    "                                [0.1, ...], \"kind\": \"doc\", ...}; other fields and a\n"
    "                                \"metadata\" object become metadata\n"
    "  *.csv *.tsv                   a header row; an id column, a vector column (or\n"
    "                                numbered columns v0,v1,... / pixel1,...), and\n"
    "                                metadata columns (unquoted cells typed, quoted text)\n\n"
    "Ids are the row number (counting across the files, from --first-id) unless\n"
    "the file gives them. Existing ids are replaced.\n\n"
    "  --format F         fvecs, bvecs, ivecs, idx, npy, raw, jsonl or csv\n"
    "  --dim N            row length of raw float32 files\n"
    "  --first-id N       id of the first row (default 0)\n"
    "  --limit N          import at most N rows in all\n"
    "  --batch N          rows per upsert_batch (default 1000)\n"
    "  --labels FILE      one integer label per row (IDX labels, .ivecs, .npy), stored\n"
    "                     as metadata \"label\"; only with a single FILE\n"
    "  --label-names L    also store metadata \"class\": fashion-mnist or a comma list\n"
    "  --id-field NAME    JSONL/CSV id field (default id)\n"
    "  --vector-field N   JSONL/CSV vector field (default vector)\n"
    "  --delimiter C      CSV delimiter (default , and tab for .tsv)\n"
    "  --compression C    compress the snapshot written at the end (none, zstd, lz4)\n"
    "  --fsync P          always (default), never or periodic:MS\n"
    "  --quiet            no progress output\n\n"
    "example:\n"
    "  iqdb import fm.iqdb /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \\\n"
    "      --labels /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz \\\n"
    "      --label-names fashion-mnist\n";

namespace {

const OptionSpec kSpecs[] = {
    {"--format", nullptr, true},       {"--dim", nullptr, true},
    {"--first-id", nullptr, true},     {"--limit", nullptr, true},
    {"--batch", nullptr, true},        {"--labels", nullptr, true},
    {"--label-names", nullptr, true},  {"--id-field", nullptr, true},
    {"--vector-field", nullptr, true}, {"--delimiter", nullptr, true},
    {"--compression", nullptr, true},  {"--fsync", nullptr, true},
    {"--quiet", "-q", false},
};

struct Labels {
  std::vector<int64_t> values;
  std::vector<std::string> names;  // empty: no "class" field
};

Labels load_labels(const Args& args) {
  Labels labels;
  auto file = args.get("--labels");
  if (!file) {
    if (args.has("--label-names")) usage_error("--label-names needs --labels FILE");
    return labels;
  }
  auto rows = take(dataset::read_int_rows(*file), "--labels", Exit::kBadInput);
  if (rows.dim != 1) {
    throw CliError(Exit::kBadInput, "--labels " + *file + ": rows of " + std::to_string(rows.dim) +
                                        " values; expected one label per row");
  }
  labels.values = std::move(rows.values);
  if (auto names = args.get("--label-names")) {
    if (*names == "fashion-mnist") {
      labels.names = dataset::fashion_mnist_classes();
    } else {
      size_t start = 0;
      while (start <= names->size()) {
        size_t end = names->find(',', start);
        if (end == std::string::npos) end = names->size();
        labels.names.push_back(names->substr(start, end - start));
        start = end + 1;
      }
    }
    for (size_t i = 0; i < labels.values.size(); ++i) {
      if (labels.values[i] < 0 || size_t(labels.values[i]) >= labels.names.size()) {
        throw CliError(Exit::kBadInput, "--labels: row " + std::to_string(i) + " has label " +
                                            std::to_string(labels.values[i]) +
                                            ", but --label-names gives " +
                                            std::to_string(labels.names.size()) + " names");
      }
    }
  }
  return labels;
}

struct Source {
  std::string file;
  std::unique_ptr<dataset::RowReader> reader;
};

}  // namespace

int run_import(std::span<char* const> argv) {
  Args args("import", argv, kSpecs);
  args.expect_positional(2, SIZE_MAX, "PATH FILE...");
  const std::filesystem::path path = args.positional()[0];
  const std::vector<std::string> files(args.positional().begin() + 1, args.positional().end());
  const DatabaseInfo shape = read_shape(path);

  dataset::ReadOptions ro;
  if (auto f = args.get("--format")) ro.format = take(dataset::parse_format(*f), "--format");
  ro.dim = args.get_u64("--dim", shape.dim, 1, Config::kMaxDim);
  ro.id_field = args.get_or("--id-field", "id");
  ro.vector_field = args.get_or("--vector-field", "vector");
  if (auto d = args.get("--delimiter")) {
    if (*d == "\\t" || *d == "tab")
      ro.delimiter = '\t';
    else if (d->size() == 1 && (*d)[0] != '"' && (*d)[0] != '\n')
      ro.delimiter = (*d)[0];
    else
      usage_error("--delimiter must be one character (or tab)");
  }
  const uint64_t first_id = args.get_u64("--first-id", 0);
  const uint64_t limit = args.get_u64("--limit", UINT64_MAX, 1);
  const size_t batch_rows = args.get_u64("--batch", 1000, 1, 1'000'000);
  const bool quiet = args.has("--quiet");
  OpenArgs open_options;
  if (auto c = args.get("--compression")) open_options.compression = parse_compression(*c);
  if (auto f = args.get("--fsync")) open_options.fsync = parse_fsync(*f);
  if (args.has("--labels") && files.size() != 1) usage_error("--labels works with a single FILE");
  const Labels labels = load_labels(args);

  // Open every input before touching the database, so a wrong file changes nothing.
  std::vector<Source> sources;
  for (const std::string& f : files) {
    auto reader = take(dataset::open_rows(f, ro), "", Exit::kBadInput);
    if (reader->dim() != shape.dim) {
      throw CliError(Exit::kBadInput, f + " has vectors of dimension " +
                                          std::to_string(reader->dim()) + ", the database at " +
                                          path.string() + " has dimension " +
                                          std::to_string(shape.dim));
    }
    if (!labels.values.empty() && reader->total_rows() && limit == UINT64_MAX &&
        *reader->total_rows() != labels.values.size()) {
      throw CliError(Exit::kBadInput, f + " has " + std::to_string(*reader->total_rows()) +
                                          " rows but --labels has " +
                                          std::to_string(labels.values.size()));
    }
    sources.push_back({f, std::move(reader)});
  }

  Database db = open_existing(path, open_options);
  const size_t size_before = db.size();
  uint64_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  dataset::RowBatch batch;
  std::vector<VectorId> ids;
  std::vector<Metadata> metas;
  std::vector<const Metadata*> meta_ptrs;
  for (Source& src : sources) {
    const std::string label = std::filesystem::path(src.file).filename().string();
    Progress progress("importing " + label, !quiet);
    uint64_t file_rows = 0;
    std::optional<uint64_t> total = src.reader->total_rows();
    if (total && limit != UINT64_MAX) total = std::min(*total, limit - done);
    while (done < limit) {
      const size_t want = size_t(std::min<uint64_t>(batch_rows, limit - done));
      const size_t n = take(src.reader->next(want, batch), "", Exit::kBadInput);
      if (n == 0) break;
      ids.clear();
      metas.assign(n, Metadata{});
      meta_ptrs.assign(n, nullptr);
      for (size_t i = 0; i < n; ++i) {
        const uint64_t row = file_rows + i;
        const bool file_id = !batch.ids.empty() && batch.ids[i].has_value();
        ids.push_back(file_id ? *batch.ids[i] : VectorId(first_id + done + i));
        bool has_meta = false;
        if (!batch.metadata.empty() && batch.metadata[i]) {
          metas[i] = std::move(*batch.metadata[i]);
          has_meta = true;
        }
        if (!labels.values.empty()) {
          if (row >= labels.values.size()) {
            throw CliError(Exit::kBadInput, src.file + " has more rows than --labels has labels (" +
                                                std::to_string(labels.values.size()) + ")");
          }
          metas[i].set("label", labels.values[row]);
          if (!labels.names.empty())
            metas[i].set("class", labels.names[size_t(labels.values[row])]);
          has_meta = true;
        }
        if (has_meta) meta_ptrs[i] = &metas[i];
      }
      Status s = db.upsert_batch(ids, batch.values, meta_ptrs);
      check(s,
            src.file + ", rows " + std::to_string(file_rows) + ".." +
                std::to_string(file_rows + n - 1),
            Exit::kBadInput);
      file_rows += n;
      done += n;
      progress.update(file_rows,
                      total ? double(file_rows) / double(std::max<uint64_t>(*total, 1))
                            : src.reader->fraction_done(),
                      total);
    }
    progress.finish(file_rows);
    if (!quiet) {
      const double s = progress.elapsed_seconds();
      std::printf("imported %llu rows from %s in %.1f s (%.0f rows/s)\n",
                  static_cast<unsigned long long>(file_rows), src.file.c_str(), s,
                  s > 0 ? double(file_rows) / s : 0);
    }
    src.reader.reset();  // release the file (and an IDX tensor's memory) early
  }
  const size_t size_after = db.size();
  const auto compact_start = std::chrono::steady_clock::now();
  if (!quiet) std::fprintf(stderr, "writing the snapshot of %s ...\n", path.string().c_str());
  check(db.close(), "cannot write the snapshot of " + path.string(), Exit::kError);
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double compact_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - compact_start).count();
  std::printf(
      "%s: %zu records (%zu new, %llu rows written) in %.1f s, snapshot written in %.1f s\n",
      path.string().c_str(), size_after, size_after - std::min(size_after, size_before),
      static_cast<unsigned long long>(done), total_s, compact_s);
  return 0;
}

}  // namespace iqdb::cli
