// Runs the `iqdb` binary as a user would and checks its output and exit
// codes: every command on a real Fashion-MNIST database (a 5,000-row
// subset, HNSW), every import format on small generated files, and the
// mistakes people make — wrong dimension, bad filter text, missing files,
// a damaged or busy database.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dataset/idx.h"
#include "dataset/json.h"
#include "db/wal_ops.h"
#include "iqdb/iqdb.hpp"
#include "index/sections.h"
#include "storage/snapshot_reader.h"
#include "storage/snapshot_writer.h"
#include "storage/wal_writer.h"
#include "unit/util/temp_dir.h"

#ifndef IQDB_CLI_PATH
#error "IQDB_CLI_PATH must name the iqdb binary"
#endif

using namespace iqdb;
using iqdb::dataset::JsonValue;
using iqdb::testing::TempDir;

namespace {

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `iqdb args...` with stdout and stderr captured (stderr is not a
// terminal, so progress comes as plain lines).
Run iqdb_run(const std::vector<std::string>& args) {
  static TempDir capture;
  static int counter = 0;
  const auto out_path = capture / ("out" + std::to_string(counter));
  const auto err_path = capture / ("err" + std::to_string(counter++));
  std::vector<std::string> words = {IQDB_CLI_PATH};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

#define RUN_OK(...)                                       \
  [&] {                                                   \
    Run r_ = iqdb_run(__VA_ARGS__);                       \
    INFO("stdout: " << r_.out << "\nstderr: " << r_.err); \
    REQUIRE(r_.code == 0);                                \
    return r_;                                            \
  }()

bool has(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
void put_f32(std::string& s, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  put_u32(s, bits);
}

void flip_byte(const std::filesystem::path& p, uint64_t offset) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(offset));
  char c = 0;
  f.read(&c, 1);
  c = char(c ^ 0x5a);
  f.seekp(std::streamoff(offset));
  f.write(&c, 1);
}

JsonValue json(const std::string& text) {
  auto v = dataset::parse_json(text);
  INFO(text);
  REQUIRE(v.ok());
  return std::move(*v);
}

const std::string kFm = dataset::kFashionMnistDir;
const std::string kTrain = kFm + "/train-images-idx3-ubyte.gz";
const std::string kTrainLabels = kFm + "/train-labels-idx1-ubyte.gz";
const std::string kTest = kFm + "/t10k-images-idx3-ubyte.gz";
constexpr size_t kRows = 5000;

// A 5,000-image Fashion-MNIST HNSW database with class names, built once
// through the CLI. Tests that change it work on copies.
const std::filesystem::path& fashion_db() {
  static TempDir dir;
  static const std::filesystem::path path = [] {
    auto p = dir / "fm.iqdb";
    RUN_OK({"create", p.string(), "--dim", "784", "--metric", "l2", "--index", "hnsw", "--m", "16",
            "--ef-construction", "100"});
    Run imp = RUN_OK({"import", p.string(), kTrain, "--labels", kTrainLabels, "--label-names",
                      "fashion-mnist", "--limit", std::to_string(kRows), "--batch", "1000"});
    CHECK(has(imp.out, "5000 records"));
    // Not a terminal: plain progress lines, not a redrawn bar.
    CHECK(has(imp.err, "importing train-images-idx3-ubyte.gz"));
    CHECK(has(imp.err, "rows/s"));
    CHECK_FALSE(has(imp.err, "\r"));
    return p;
  }();
  return path;
}

std::filesystem::path copy_db(const TempDir& dir, const std::string& name) {
  const auto src = fashion_db();
  const auto dst = dir / name;
  std::filesystem::copy_file(src, dst);
  std::error_code ec;
  std::filesystem::path wal = src;
  wal += ".wal";
  if (std::filesystem::exists(wal, ec)) {
    std::filesystem::path dst_wal = dst;
    dst_wal += ".wal";
    std::filesystem::copy_file(wal, dst_wal);
  }
  return dst;
}

std::vector<float> train_row(size_t row) {
  static const auto images = dataset::read_idx(kTrain);
  REQUIRE(images.ok());
  const size_t d = images->row_size();
  return std::vector<float>(images->data.begin() + ptrdiff_t(row * d),
                            images->data.begin() + ptrdiff_t((row + 1) * d));
}

}  // namespace

TEST_CASE("iqdb --help lists the commands and documents every exit code") {
  Run r = RUN_OK({"--help"});
  for (const char* cmd :
       {"create", "import", "search", "get", "remove", "info", "check", "compact", "bench"}) {
    CHECK(has(r.out, std::string("  ") + cmd));
  }
  for (const char* code : {"0  success", "1  runtime", "2  usage", "3  the database is damaged",
                           "4  not found", "5  bad input", "6  busy", "7  unsupported"}) {
    CHECK(has(r.out, code));
  }
  CHECK(iqdb_run({}).code == 2);
  Run unknown = iqdb_run({"frobnicate"});
  CHECK(unknown.code == 2);
  CHECK(has(unknown.err, "unknown command 'frobnicate'"));
  CHECK(has(RUN_OK({"--version"}).out, version()));
}

TEST_CASE("every command has --help, and an unknown option is a usage error naming it") {
  for (const char* cmd :
       {"create", "import", "search", "get", "remove", "info", "check", "compact", "bench"}) {
    CAPTURE(cmd);
    Run h = RUN_OK({cmd, "--help"});
    CHECK(has(h.out, std::string("usage: iqdb ") + cmd));
    CHECK(RUN_OK({"help", cmd}).out == h.out);
    Run bad = iqdb_run({cmd, "x", "--no-such-option"});
    CHECK(bad.code == 2);
    CHECK(has(bad.err, "unknown option --no-such-option"));
  }
}

TEST_CASE("create refuses bad arguments and existing databases with usage errors") {
  TempDir dir;
  const std::string p = (dir / "a.iqdb").string();
  CHECK(has(iqdb_run({"create", p}).err, "--dim N is required"));
  CHECK(iqdb_run({"create", p, "--dim", "0"}).code == 2);
  CHECK(iqdb_run({"create", p, "--dim", "x"}).code == 2);
  CHECK(has(iqdb_run({"create", p, "--dim", "4", "--metric", "chebyshev"}).err, "--metric"));
  CHECK(has(iqdb_run({"create", p, "--dim", "4", "--m", "8"}).err, "--m applies to --index hnsw"));
  CHECK(iqdb_run({"create", p, "--dim", "4", "--index", "hnsw", "--m", "1"}).code == 2);
  CHECK(iqdb_run({"create", p, "--dim", "4", "--compression", "brotli"}).code == 2);
  Run ok = RUN_OK({"create", p, "--dim", "4", "--metric", "cosine", "--index", "hnsw", "--m", "8",
                   "--compression", "zstd"});
  CHECK(has(ok.out, "hnsw (m=8"));
  Run again = iqdb_run({"create", p, "--dim", "4"});
  CHECK(again.code == 2);
  CHECK(has(again.err, "already exists"));
  // IVF either works or says plainly that this build lacks it.
  Run ivf = iqdb_run(
      {"create", (dir / "ivf.iqdb").string(), "--dim", "4", "--index", "ivf", "--clusters", "2"});
  CHECK((ivf.code == 0 || (ivf.code == 7 && has(ivf.err, "IVF"))));
  // --f32-walk is an HNSW knob, recorded in the file.
  CHECK(has(iqdb_run({"create", (dir / "w.iqdb").string(), "--dim", "4", "--f32-walk"}).err,
            "applies to --index hnsw"));
  const std::string walk = (dir / "walk.iqdb").string();
  Run plain = RUN_OK({"create", walk, "--dim", "4", "--index", "hnsw", "--f32-walk"});
  CHECK(has(plain.out, "f32 walk"));
  CHECK(has(RUN_OK({"info", walk, "--json"}).out, "\"quantized_walk\":false"));
}

TEST_CASE("import reads every format, and get returns exactly what was imported") {
  TempDir dir;
  const std::string db = (dir / "f.iqdb").string();
  RUN_OK({"create", db, "--dim", "3"});

  std::string fv, bv, iv, raw;
  for (uint32_t r = 0; r < 2; ++r) {
    put_u32(fv, 3);
    put_u32(bv, 3);
    put_u32(iv, 3);
    for (uint32_t j = 0; j < 3; ++j) {
      put_f32(fv, 0.5f + float(r * 3 + j));
      bv.push_back(char(200 + r * 3 + j));
      put_u32(iv, 1000 + r * 3 + j);
      put_f32(raw, -float(r * 3 + j) - 0.25f);
    }
  }
  write_file(dir / "a.fvecs", fv);
  write_file(dir / "b.bvecs", bv);
  write_file(dir / "c.ivecs", iv);
  write_file(dir / "d.f32", raw);
  std::string npy = "\x93NUMPY\x01";
  npy.push_back(0);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  while ((10 + header.size() + 1) % 64) header.push_back(' ');
  header.push_back('\n');
  npy.push_back(char(header.size()));
  npy.push_back(0);
  npy += header;
  for (int i = 0; i < 6; ++i) put_f32(npy, 7.5f + float(i));
  write_file(dir / "e.npy", npy);
  std::string idx = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
  write_file(dir / "g-idx2-ubyte", idx);
  write_file(dir / "h.jsonl",
             "{\"id\": 500, \"vector\": [1.5, 2.5, 3.5], \"kind\": \"doc\", \"year\": 2021}\n"
             "{\"id\": \"doc-7\", \"vector\": [4, 5, 6], \"metadata\": {\"kind\": \"memo\", "
             "\"draft\": true}}\n");
  write_file(dir / "i.csv", "id,vector,kind,score\n600,\"9,8,7\",csv,0.5\n601,\"6 5 4\",\"42\",\n");

  // Binary files take row-number ids from --first-id, counting across files.
  RUN_OK({"import", db, (dir / "a.fvecs").string(), (dir / "b.bvecs").string(), "--first-id", "10",
          "--quiet"});
  RUN_OK({"import", db, (dir / "c.ivecs").string(), "--first-id", "20", "--quiet"});
  RUN_OK({"import", db, (dir / "d.f32").string(), "--first-id", "30",
          "--quiet"});  // dim from the database
  RUN_OK({"import", db, (dir / "e.npy").string(), "--first-id", "40", "--quiet"});
  RUN_OK({"import", db, (dir / "g-idx2-ubyte").string(), "--first-id", "50", "--quiet"});
  RUN_OK({"import", db, (dir / "h.jsonl").string(), "--quiet"});
  RUN_OK({"import", db, (dir / "i.csv").string(), "--quiet"});

  auto get = [&](const std::string& id) {
    Run r = RUN_OK({"get", db, id, "--json"});
    return json(r.out);
  };
  auto vec = [](const JsonValue& v) {
    std::vector<double> out;
    for (const auto& x : v.find("vector")->items) out.push_back(x.number);
    return out;
  };
  CHECK(vec(get("10")) == std::vector<double>{0.5, 1.5, 2.5});
  CHECK(vec(get("11")) == std::vector<double>{3.5, 4.5, 5.5});
  CHECK(vec(get("12")) == std::vector<double>{200, 201, 202});  // bvecs continue the numbering
  CHECK(vec(get("21")) == std::vector<double>{1003, 1004, 1005});
  CHECK(vec(get("31")) == std::vector<double>{-3.25, -4.25, -5.25});
  CHECK(vec(get("40")) == std::vector<double>{7.5, 8.5, 9.5});
  CHECK(vec(get("51")) == std::vector<double>{4, 5, 6});
  JsonValue j = get("500");
  CHECK(vec(j) == std::vector<double>{1.5, 2.5, 3.5});
  CHECK(j.find("metadata")->find("kind")->string == "doc");
  CHECK(j.find("metadata")->find("year")->i64 == 2021);
  JsonValue s = get("doc-7");
  CHECK(s.find("id")->string == "doc-7");
  CHECK(s.find("metadata")->find("draft")->boolean);
  JsonValue c = get("601");
  CHECK(vec(c) == std::vector<double>{6, 5, 4});
  CHECK(c.find("metadata")->find("kind")->string == "42");  // quoted CSV text stays text
  CHECK(c.find("metadata")->find("score") == nullptr);      // empty cell: no field
  Run text = RUN_OK({"get", db, "500"});
  CHECK(has(text.out, "kind=\"doc\" year=2021"));
  CHECK(has(text.out, "[1.5,2.5,3.5]"));
  Run info = RUN_OK({"info", db, "--json"});
  CHECK(json(info.out).find("records")->i64 == 16);
}

TEST_CASE("import refuses wrong dimensions, malformed and missing files, changing nothing") {
  TempDir dir;
  const std::string db = (dir / "w.iqdb").string();
  RUN_OK({"create", db, "--dim", "4"});
  std::string fv;
  put_u32(fv, 3);
  for (int i = 0; i < 3; ++i) put_f32(fv, 1);
  write_file(dir / "three.fvecs", fv);
  Run wrong = iqdb_run({"import", db, (dir / "three.fvecs").string()});
  CHECK(wrong.code == 5);
  CHECK(has(wrong.err, "dimension 3, the database at"));
  CHECK(has(wrong.err, "has dimension 4"));

  write_file(dir / "bad.jsonl", "{\"vector\":[1,2,3,4]}\n{\"vector\":[1,2,3,4],}\n");
  Run bad = iqdb_run({"import", db, (dir / "bad.jsonl").string()});
  CHECK(bad.code == 5);
  CHECK(has(bad.err, "line 2: column 21"));

  write_file(dir / "cut.fvecs", fv.substr(0, 9));
  CHECK(iqdb_run({"import", db, (dir / "cut.fvecs").string()}).code == 5);
  Run missing = iqdb_run({"import", db, (dir / "nope.fvecs").string()});
  CHECK(missing.code == 4);
  CHECK(has(missing.err, "nope.fvecs: no such file"));
  Run missing_gz = iqdb_run({"import", db, (dir / "nope-ubyte.gz").string()});
  CHECK(missing_gz.code == 4);
  CHECK(iqdb_run({"import", db, (dir / "nope.gz").string()}).code == 4);
  CHECK(iqdb_run({"import", db, (dir / "three.fvecs").string(), "--labels",
                  (dir / "nope.ivecs").string()})
            .code == 4);
  write_file(dir / "notes.txt", "1,2,3,4\n");
  Run unknown = iqdb_run({"import", db, (dir / "notes.txt").string()});
  CHECK(unknown.code == 5);
  CHECK(has(unknown.err, "cannot tell the format"));
  Run no_db = iqdb_run({"import", (dir / "absent.iqdb").string(), (dir / "three.fvecs").string()});
  CHECK(no_db.code == 4);
  CHECK(has(no_db.err, "no database at"));
  CHECK(json(RUN_OK({"info", db, "--json"}).out).find("records")->i64 == 0);
}

TEST_CASE("info describes a real Fashion-MNIST database") {
  const std::string db = fashion_db().string();
  Run text = RUN_OK({"info", db});
  CHECK(has(text.out, "dimension    784"));
  CHECK(has(text.out, "metric       l2"));
  CHECK(has(text.out, "hnsw (m=16, ef_construction=100"));
  CHECK(has(text.out, "records      5000"));
  CHECK(has(text.out, "simd         " + simd_target()));
  JsonValue j = json(RUN_OK({"info", db, "--json"}).out);
  CHECK(j.find("dim")->i64 == 784);
  CHECK(j.find("index")->string == "hnsw");
  CHECK(j.find("knobs")->find("m")->i64 == 16);
  CHECK(j.find("records")->i64 == 5000);
  CHECK(j.find("snapshot_bytes")->i64 > int64_t(5000 * 784 * 4));
  CHECK(j.find("compression")->string == "none");
  CHECK(j.find("simd_target")->string == simd_target());
}

TEST_CASE("search finds a stored image itself first, with class names, as text and JSON") {
  const std::string db = fashion_db().string();
  Run text = RUN_OK({"search", db, "--from", kTrain, "--row", "17", "-k", "5"});
  CHECK(has(text.out, "5 hits"));
  CHECK(has(text.out, "    1  17 "));
  CHECK(has(text.out, "class=\""));
  JsonValue j = json(
      RUN_OK({"search", db, "--from", kTest, "--row", "0", "-k", "10", "--json", "--ef", "128"})
          .out);
  const auto& hits = j.find("hits")->items;
  REQUIRE(hits.size() == 10);
  double last = -1;
  for (const JsonValue& h : hits) {
    CHECK(h.find("distance")->number >= last);
    last = h.find("distance")->number;
    CHECK(h.find("id")->u64 < kRows);
    CHECK(h.find("metadata")->find("class")->type == JsonValue::Type::kString);
  }
  // Test image 0 is an ankle boot; its nearest neighbours are ankle boots.
  CHECK(hits[0].find("metadata")->find("class")->string == "Ankle boot");
  // The same query typed as --vector gives the same answer.
  std::vector<float> row = train_row(17);
  std::string v;
  for (float f : row) v += (v.empty() ? "" : ",") + std::to_string(int(f));
  JsonValue same = json(RUN_OK({"search", db, "--vector", v, "-k", "1", "--json"}).out);
  CHECK(same.find("hits")->items[0].find("id")->u64 == 17);
  CHECK(same.find("hits")->items[0].find("distance")->number == 0);
}

TEST_CASE("filtered search returns only matching records") {
  const std::string db = fashion_db().string();
  JsonValue j = json(RUN_OK({"search", db, "--from", kTest, "--row", "0", "-k", "7", "--json",
                             "--filter", "class = \"Sneaker\""})
                         .out);
  const auto& hits = j.find("hits")->items;
  REQUIRE(hits.size() == 7);
  for (const JsonValue& h : hits) CHECK(h.find("metadata")->find("class")->string == "Sneaker");
  JsonValue in = json(RUN_OK({"search", db, "--from", kTest, "--row", "1", "-k", "20", "--json",
                              "--filter", "label in (1, 3) and not class = \"Dress\""})
                          .out);
  REQUIRE(in.find("hits")->items.size() == 20);
  for (const JsonValue& h : in.find("hits")->items)
    CHECK(h.find("metadata")->find("label")->i64 == 1);
  Run none =
      RUN_OK({"search", db, "--from", kTest, "-k", "3", "--filter", "class = \"Spaceship\""});
  CHECK(has(none.out, "0 hits"));
}

TEST_CASE("search mistakes: bad filter text points at the column, wrong dim, missing things") {
  const std::string db = fashion_db().string();
  Run f = iqdb_run({"search", db, "--vector", "1", "--filter", "class = = \"x\""});
  CHECK(f.code == 2);
  CHECK(has(f.err, "column 9"));
  CHECK(has(f.err, "  class = = \"x\"\n          ^"));
  Run dim = iqdb_run({"search", db, "--vector", "0.1,0.2,0.3"});
  CHECK(dim.code == 5);
  CHECK(has(dim.err, "--vector has 3 components, the database has dimension 784"));
  Run junk = iqdb_run({"search", db, "--vector", "1,x,3"});
  CHECK(junk.code == 2);
  CHECK(has(junk.err, "component 1"));
  Run no_db = iqdb_run({"search", "/nonexistent/x.iqdb", "--vector", "1"});
  CHECK(no_db.code == 4);
  Run no_file = iqdb_run({"search", db, "--from", "/nonexistent/q.fvecs"});
  CHECK(no_file.code == 4);
  // Missing is missing, even when the name alone would be refused.
  Run no_gz = iqdb_run({"search", db, "--from", "/nonexistent/q.fvecs.gz"});
  CHECK(no_gz.code == 4);
  CHECK(has(no_gz.err, "q.fvecs.gz: no such file"));
  // A knob the index lacks is an error, not silently ignored.
  Run probes = iqdb_run({"search", db, "--from", kTest, "--probes", "4"});
  CHECK(probes.code == 2);
  CHECK(has(probes.err, "--probes applies to an IVF index"));
  Run row = iqdb_run({"search", db, "--from", kTest, "--row", "10000"});
  CHECK(row.code == 2);
  CHECK(has(row.err, "has only 10000 rows"));
  CHECK(iqdb_run({"search", db}).code == 2);
  CHECK(iqdb_run({"search", db, "--vector", "1", "-k", "0"}).code == 2);
}

TEST_CASE("get, remove and compact on a copy of the database") {
  TempDir dir;
  const std::string db = copy_db(dir, "g.iqdb").string();
  JsonValue g = json(RUN_OK({"get", db, "17", "--json"}).out);
  std::vector<float> want = train_row(17);
  const auto& got = g.find("vector")->items;
  REQUIRE(got.size() == want.size());
  bool same = true;
  for (size_t i = 0; i < want.size(); ++i) same = same && float(got[i].number) == want[i];
  CHECK(same);
  CHECK(g.find("metadata")->find("label")->type == JsonValue::Type::kNumber);

  Run absent = iqdb_run({"get", db, "17", "999999"});
  CHECK(absent.code == 4);
  CHECK(has(absent.out, "id 17"));
  CHECK(has(absent.err, "not found: 999999"));
  CHECK(iqdb_run({"get", db, "hex:0g"}).code == 2);

  Run rm = RUN_OK({"remove", db, "17", "18"});
  CHECK(has(rm.out, "removed 2 of 2"));
  CHECK(has(rm.out, "4998 records"));
  CHECK(iqdb_run({"get", db, "17"}).code == 4);
  CHECK(iqdb_run({"remove", db, "17"}).code == 4);
  RUN_OK({"remove", db, "17", "--missing-ok"});
  JsonValue s =
      json(RUN_OK({"search", db, "--from", kTrain, "--row", "17", "-k", "3", "--json"}).out);
  for (const JsonValue& h : s.find("hits")->items) CHECK(h.find("id")->u64 != 17);

  Run c = RUN_OK({"compact", db});
  CHECK(has(c.out, "4998 records"));
  Run chk = RUN_OK({"check", db});
  CHECK(has(chk.out, "\nok\n"));
}

TEST_CASE("check passes a healthy database and reports each stage") {
  Run r = RUN_OK({"check", fashion_db().string()});
  CHECK(has(r.out, "snapshot  ok: 5000 records"));
  CHECK(has(r.out, "every checksum verified"));
  CHECK(has(r.out, "ids       ok: 5000 live slots"));
  CHECK(has(r.out, "index     ok: hnsw, 5000 nodes"));
  CHECK_FALSE(has(r.out, "cannot be reached"));  // the index repairs reachability
  CHECK(has(r.out, "log       ok"));
  CHECK(r.out.ends_with("ok\n"));
  CHECK(RUN_OK({"check", fashion_db().string(), "--quiet"}).out == "ok\n");
}

TEST_CASE("check finds flipped bytes in the rows and in the header, and exits 3") {
  TempDir dir;
  const auto rows = copy_db(dir, "rows.iqdb");
  flip_byte(rows, std::filesystem::file_size(rows) / 3);
  Run r = iqdb_run({"check", rows.string()});
  CHECK(r.code == 3);
  CHECK(has(r.out, "DAMAGED"));
  CHECK(has(r.out, "checksum"));
  CHECK(has(r.out, "problem"));

  const auto head = copy_db(dir, "head.iqdb");
  flip_byte(head, 20);
  Run h = iqdb_run({"check", head.string()});
  CHECK(h.code == 3);
  CHECK(has(h.out, "DAMAGED"));
  // Commands that open it say it is damaged too.
  CHECK(iqdb_run({"info", head.string()}).code == 3);
  CHECK(iqdb_run({"search", head.string(), "--vector", "1"}).code == 3);

  const auto garbage = dir / "garbage.iqdb";
  write_file(garbage, std::string(10000, 'x'));
  CHECK(iqdb_run({"check", garbage.string()}).code == 3);
  CHECK(iqdb_run({"check", (dir / "absent.iqdb").string()}).code == 4);
}

TEST_CASE(
    "a torn log tail is a note for check, not damage; a bad record before good ones is damage") {
  TempDir dir;
  const std::string db = (dir / "t.iqdb").string();
  const std::string wal = db + ".wal";
  RUN_OK({"create", db, "--dim", "2"});
  // Log three upserts the way the database does, as if it had crashed
  // before folding them into the snapshot.
  std::vector<uint64_t> ends;
  {
    auto snap = storage::SnapshotReader::open(db);
    REQUIRE(snap.ok());
    auto writer =
        storage::WalWriter::open(wal, snap->header().identity, snap->header().wal_sequence + 1);
    REQUIRE(writer.ok());
    for (uint64_t i = 0; i < 3; ++i) {
      const std::vector<float> v = {float(i), 1};
      REQUIRE((*writer)
                  ->append(uint8_t(db::WalOp::kUpsert), db::encode_upsert(VectorId(i), v, nullptr))
                  .ok());
      REQUIRE((*writer)->sync().ok());
      ends.push_back(std::filesystem::file_size(wal));
    }
  }
  {
    std::ofstream out(wal, std::ios::binary | std::ios::app);
    out.write("\x30\x00\x00\x00torn", 8);
  }
  Run torn = iqdb_run({"check", db});
  INFO(torn.out);
  CHECK(torn.code == 0);
  CHECK(has(torn.out, "3 newer than the snapshot (3 upserts, 0 removes)"));
  CHECK(has(torn.out, "torn record"));

  std::filesystem::resize_file(wal, ends.back());
  flip_byte(wal, ends[0] - 2);  // inside the first record, with two good ones after it
  Run bad = iqdb_run({"check", db});
  INFO(bad.out);
  CHECK(bad.code == 3);
  CHECK(has(bad.out, "log       DAMAGED"));
  CHECK(iqdb_run({"get", db, "1"}).code == 3);  // opening refuses it too
}

TEST_CASE("a database open in another process is reported as busy") {
  TempDir dir;
  const auto db = copy_db(dir, "busy.iqdb");
  auto held = Database::open(db, 784, Metric::kL2);
  REQUIRE(held.ok());
  Run s = iqdb_run({"search", db.string(), "--vector", "1"});
  CHECK(s.code == 5);  // the vector is checked first...
  std::string v(784 * 2 - 1, '0');
  for (size_t i = 1; i < v.size(); i += 2) v[i] = ',';
  Run busy = iqdb_run({"search", db.string(), "--vector", v});
  CHECK(busy.code == 6);
  CHECK(has(busy.err, "open in another process"));
  Run info = RUN_OK({"info", db.string()});  // info still reads the header
  CHECK(has(info.out, "records      5000 (in the snapshot"));
  Run chk = RUN_OK({"check", db.string()});
  CHECK(has(chk.out, "open in another process"));
  REQUIRE(held->close().ok());
}

TEST_CASE("bench measures recall and QPS against exact truth and an .ivecs file") {
  TempDir dir;
  const auto db = copy_db(dir, "b.iqdb");
  Run r = RUN_OK({"bench", db.string(), "--queries", kTest, "--limit", "50", "--ef", "16,128"});
  CHECK(has(r.out, "exact ground truth by flat scan"));
  CHECK(has(r.out, "ef=16"));
  CHECK(has(r.out, "ef=128"));
  Run j =
      RUN_OK({"bench", db.string(), "--queries", kTest, "--limit", "50", "--ef", "128", "--json"});
  std::istringstream lines(j.out);
  std::string first;
  std::getline(lines, first);
  JsonValue p = json(first);
  CHECK(p.find("knob")->string == "ef=128");
  CHECK(p.find("recall")->number > 0.9);
  CHECK(p.find("qps")->number > 0);

  // Truth from a file: exact neighbours by brute force, written as .ivecs.
  std::string ivecs;
  auto images = dataset::read_idx(kTest);
  REQUIRE(images.ok());
  std::vector<std::vector<float>> base;
  for (size_t i = 0; i < kRows; ++i) base.push_back(train_row(i));
  for (size_t q = 0; q < 20; ++q) {
    std::vector<std::pair<float, uint32_t>> d;
    for (size_t i = 0; i < kRows; ++i) {
      float sum = 0;
      for (size_t j = 0; j < 784; ++j) {
        const float diff = float(images->data[q * 784 + j]) - base[i][j];
        sum += diff * diff;
      }
      d.emplace_back(sum, uint32_t(i));
    }
    std::partial_sort(d.begin(), d.begin() + 10, d.end());
    put_u32(ivecs, 10);
    for (size_t j = 0; j < 10; ++j) put_u32(ivecs, d[j].second);
  }
  write_file(dir / "gt.ivecs", ivecs);
  Run t = RUN_OK({"bench", db.string(), "--queries", kTest, "--limit", "20", "--truth",
                  (dir / "gt.ivecs").string(), "--ef", "256", "--json"});
  std::istringstream tl(t.out);
  std::getline(tl, first);
  CHECK(json(first).find("recall")->number > 0.95);
  Run short_truth = iqdb_run({"bench", db.string(), "--queries", kTest, "--limit", "30", "--truth",
                              (dir / "gt.ivecs").string()});
  CHECK(short_truth.code == 5);
  CHECK(iqdb_run({"bench", db.string()}).code == 2);
}

TEST_CASE("create --storage: every row type is accepted, reported by info and verified by check") {
  TempDir dir;
  const std::string base = (dir / "x.iqdb").string();
  Run bad = iqdb_run({"create", base, "--dim", "4", "--storage", "f64"});
  CHECK(bad.code == 2);
  CHECK(has(bad.err, "--storage: 'f64' is not f32, f16, bf16, sq8 or u8"));
  for (const char* exact : {"f32", "u8"}) {
    Run keep = iqdb_run({"create", base, "--dim", "4", "--storage", exact, "--keep-f32"});
    CHECK(keep.code == 2);
    CHECK(has(keep.err, "--keep-f32 applies to --storage f16, bf16 or sq8"));
  }
  CHECK(iqdb_run({"create", base, "--dim", "4", "--keep-f32"}).code == 2);
  CHECK_FALSE(std::filesystem::exists(base));  // no refused create leaves files
  // IVF lists hold the store's own rows: every type is accepted.
  const std::string ivf = (dir / "ivf-u8.iqdb").string();
  RUN_OK({"create", ivf, "--dim", "4", "--index", "ivf", "--storage", "u8"});
  CHECK(has(RUN_OK({"info", ivf}).out, "u8"));

  struct Case {
    const char* type;
    bool keep_f32;
    bool exact_get;  // get returns exactly the pixels imported
  };
  // 1,500 rows: past the 1,024 rows SQ8 trains on.
  for (const Case& c :
       {Case{"f16", false, true}, Case{"bf16", false, true}, Case{"sq8", false, false},
        Case{"sq8", true, true}, Case{"u8", false, true}}) {
    CAPTURE(c.type);
    CAPTURE(c.keep_f32);
    const std::string db =
        (dir / (std::string(c.type) + (c.keep_f32 ? "-keep" : "") + ".iqdb")).string();
    std::vector<std::string> create = {"create",  db,     "--dim",     "784",
                                       "--index", "hnsw", "--storage", c.type};
    if (c.keep_f32) create.push_back("--keep-f32");
    Run made = RUN_OK(create);
    CHECK(has(made.out, std::string("storage ") + c.type));
    CHECK_FALSE(has(made.err, "warning"));
    RUN_OK({"import", db, kTrain, "--labels", kTrainLabels, "--label-names", "fashion-mnist",
            "--limit", "1500", "--quiet"});
    JsonValue info = json(RUN_OK({"info", db, "--json"}).out);
    CHECK(info.find("storage")->string == c.type);
    CHECK(info.find("keep_f32")->boolean == c.keep_f32);
    CHECK(info.find("sq8_trained")->boolean);
    CHECK(info.find("records")->i64 == 1500);
    const int64_t row_bytes = info.find("vector_bytes_per_row")->i64;
    CHECK(row_bytes < int64_t(784 * 4) + (c.keep_f32 ? 784 + 64 : 0));
    CHECK(has(RUN_OK({"info", db}).out, std::string("storage      ") + c.type));
    {
      // info agrees with what the library reports for the reopened file.
      auto opened = Database::open(db, 784, Metric::kL2);
      REQUIRE(opened.ok());
      CHECK(std::string(storage_type_name(opened->storage().type)) == c.type);
      CHECK(opened->storage().keep_f32 == c.keep_f32);
      REQUIRE(opened->close().ok());
    }

    Run chk = RUN_OK({"check", db});
    CHECK(has(chk.out, "vectors   ok: all finite"));
    CHECK(chk.out.ends_with("ok\n"));

    // Pixels are whole numbers 0..255: f16 and bf16 hold them exactly too.
    JsonValue g = json(RUN_OK({"get", db, "17", "--json"}).out);
    const std::vector<float> want = train_row(17);
    const auto& got = g.find("vector")->items;
    REQUIRE(got.size() == want.size());
    double max_error = 0;
    for (size_t i = 0; i < want.size(); ++i)
      max_error = std::max(max_error, std::abs(got[i].number - double(want[i])));
    if (c.exact_get) {
      CHECK(max_error == 0);
    } else {
      CHECK(max_error <= 1.0);  // SQ8: half a step of (max - min) / 255 per pixel
    }
    JsonValue self = json(
        RUN_OK({"search", db, "--from", kTrain, "--row", "17", "-k", "1", "--ef", "128", "--json"})
            .out);
    CHECK(self.find("hits")->items[0].find("id")->u64 == 17);
    // Truth by flat scan ranks the rows as stored; bench says when they are rounded.
    Run bench = RUN_OK({"bench", db, "--queries", kTest, "--limit", "20", "--ef", "64"});
    const bool rounded = std::string(c.type) != "u8" && !c.keep_f32;
    CHECK(has(bench.out, "note: the rows are stored as") == rounded);
    CHECK(has(bench.out, "ef=64"));
  }

  // u8 rows refuse what they cannot hold, naming the row; nothing is written.
  const std::string u8 = (dir / "u8.iqdb").string();
  std::string v = "0.5";
  for (int i = 1; i < 784; ++i) v += ",1";
  write_file(dir / "half.jsonl", "{\"id\": 9000, \"vector\": [" + v + "]}\n");
  Run half = iqdb_run({"import", u8, (dir / "half.jsonl").string()});
  CHECK(half.code == 5);
  CHECK(has(half.err, "row 0"));
  CHECK(iqdb_run({"get", u8, "9000"}).code == 4);
}

TEST_CASE("search and bench refuse a knob the index does not have") {
  TempDir dir;
  const std::string db = (dir / "flat.iqdb").string();
  RUN_OK({"create", db, "--dim", "2"});
  write_file(dir / "p.jsonl", "{\"id\": 1, \"vector\": [1, 2]}\n{\"id\": 2, \"vector\": [3, 4]}\n");
  RUN_OK({"import", db, (dir / "p.jsonl").string(), "--quiet"});
  Run ef = iqdb_run({"search", db, "--vector", "1,2", "--ef", "50"});
  CHECK(ef.code == 2);
  CHECK(has(ef.err, "--ef applies to an HNSW index"));
  CHECK(iqdb_run({"search", db, "--vector", "1,2", "--probes", "2"}).code == 2);
  CHECK(iqdb_run({"bench", db, "--queries", (dir / "p.jsonl").string(), "--ef", "8"}).code == 2);
  Run ok = RUN_OK({"search", db, "--vector", "1,2", "-k", "1", "--no-metadata"});
  CHECK(has(ok.out, "    1  1 "));
  CHECK_FALSE(has(ok.out, " \n"));  // no trailing blanks without a metadata column
}

TEST_CASE(
    "compact --compression re-encodes a snapshot with an empty log, and later writes keep it") {
  TempDir dir;
  const auto db = copy_db(dir, "z.iqdb");
  const std::string p = db.string();
  const auto plain_bytes = std::filesystem::file_size(db);
  Run z = RUN_OK({"compact", p, "--compression", "zstd"});
  CHECK_FALSE(has(z.out, "nothing to do"));
  CHECK(std::filesystem::file_size(db) < plain_bytes / 2);  // pixels: mostly zeros
  CHECK(json(RUN_OK({"info", p, "--json"}).out).find("compression")->string == "zstd");
  CHECK(RUN_OK({"check", p, "--quiet"}).out == "ok\n");
  JsonValue g = json(RUN_OK({"get", p, "17", "--json"}).out);
  CHECK(g.find("vector")->items[200].number == double(train_row(17)[200]));

  RUN_OK({"remove", p, "17"});  // a write through the library keeps the encoding
  CHECK(json(RUN_OK({"info", p, "--json"}).out).find("compression")->string == "zstd");
  RUN_OK({"compact", p, "--compression", "none"});
  CHECK(json(RUN_OK({"info", p, "--json"}).out).find("compression")->string == "none");
  CHECK(json(RUN_OK({"info", p, "--json"}).out).find("records")->i64 == int64_t(kRows - 1));
  Run plain = RUN_OK({"compact", p});
  CHECK(has(plain.out, "nothing to do"));

  // A damaged section is never given a fresh checksum.
  const auto bad = copy_db(dir, "bad.iqdb");
  flip_byte(bad, std::filesystem::file_size(bad) / 3);
  const std::string before = slurp(bad);
  Run r = iqdb_run({"compact", bad.string(), "--compression", "lz4"});
  CHECK(r.code == 3);
  CHECK(has(r.err, "cannot re-encode"));
  CHECK(slurp(bad) == before);
  CHECK(iqdb_run({"check", bad.string()}).code == 3);
}

TEST_CASE(
    "a database held by another iqdb process is busy; after that process is killed, its log "
    "replays") {
  TempDir dir;
  const std::string db = (dir / "held.iqdb").string();
  RUN_OK({"create", db, "--dim", "784", "--index", "hnsw"});
  // A long import in a second iqdb process, killed part way.
  std::vector<std::string> words = {IQDB_CLI_PATH, "import", db,       kTrain,
                                    "--batch",     "500",    "--quiet"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t importer = fork();
  REQUIRE(importer >= 0);
  if (importer == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Wait until the importer holds the database and has logged some rows,
  // watching only the log's size: any iqdb command would take the lock
  // itself and could make the importer's open fail.
  bool logged = false;
  for (int i = 0; i < 1200 && !logged; ++i) {
    std::error_code ec;
    logged = std::filesystem::file_size(db + ".wal", ec) > 784 * 4 * 1000;
    if (!logged) usleep(25'000);
  }
  REQUIRE(logged);
  CHECK(has(RUN_OK({"info", db}).out, "(in the snapshot; open elsewhere"));
  Run search = iqdb_run({"search", db, "--from", kTest, "-k", "3"});
  CHECK(search.code == 6);
  CHECK(has(search.err, "is open in another process"));
  CHECK(iqdb_run({"import", db, kTest, "--limit", "5"}).code == 6);
  CHECK(iqdb_run({"remove", db, "1"}).code == 6);
  CHECK(iqdb_run({"compact", db}).code == 6);
  Run chk = iqdb_run({"check", db});  // reads the files as they are, without the lock
  CHECK(has(chk.out, "open in another process"));

  kill(importer, SIGKILL);
  int status = 0;
  waitpid(importer, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  // The next open replays every whole logged batch (and cuts a torn one).
  JsonValue info = json(RUN_OK({"info", db, "--json"}).out);
  CHECK(info.find("records_exact")->boolean);
  const int64_t records = info.find("records")->i64;
  CHECK(records >= 1000);
  CHECK(records % 500 == 0);  // whole upsert_batch calls only
  CHECK(records < 60000);
  CHECK(RUN_OK({"check", db, "--quiet"}).out == "ok\n");
  JsonValue self =
      json(RUN_OK({"search", db, "--from", kTrain, "--row", "3", "-k", "1", "--json"}).out);
  CHECK(self.find("hits")->items[0].find("id")->u64 == 3);
}

// Rewrites the snapshot at `path` with one float of section `kind` (at
// `index`) multiplied by `factor`, and fresh, valid checksums.
void scale_float_in_section(const std::filesystem::path& path, uint32_t kind, size_t index,
                            float factor) {
  auto reader = storage::SnapshotReader::open(path, storage::VerifyMode::kAll);
  REQUIRE(reader.ok());
  storage::SnapshotWriter writer(reader->header());
  for (const storage::SectionInfo& s : reader->sections()) {
    auto bytes = reader->bytes(s.kind);
    REQUIRE(bytes.ok());
    std::string copy(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    if (s.kind == kind) {
      REQUIRE(copy.size() >= (index + 1) * sizeof(float));
      float v;
      std::memcpy(&v, copy.data() + index * sizeof(float), sizeof v);
      v *= factor;
      std::memcpy(copy.data() + index * sizeof(float), &v, sizeof v);
    }
    REQUIRE(writer.add_owned_section(s.kind, std::move(copy)).ok());
  }
  REQUIRE(writer.write_atomically(path).ok());
}

TEST_CASE("check finds a stored norm that disagrees with its row, under valid checksums") {
  TempDir dir;
  // f32 rows (exact) and f16 rows (compared to f16 precision): a norm 1% off
  // is damage for both; untouched, both pass.
  for (const char* type : {"f32", "f16"}) {
    CAPTURE(type);
    const auto db = dir / (std::string(type) + ".iqdb");
    RUN_OK({"create", db.string(), "--dim", "784", "--storage", type});
    RUN_OK({"import", db.string(), kTrain, "--limit", "300", "--quiet"});
    CHECK(RUN_OK({"check", db.string(), "--quiet"}).out == "ok\n");
    for (uint32_t kind : {index::section::kInvNorms, index::section::kSqNorms}) {
      CAPTURE(kind);
      const auto bad = dir / ("bad-" + std::to_string(kind) + "-" + type + ".iqdb");
      std::filesystem::copy_file(db, bad);
      scale_float_in_section(bad, kind, 42, 1.0202f);  // the norm it implies: 1-2% off
      Run r = iqdb_run({"check", bad.string()});
      CHECK(r.code == 3);
      CHECK(has(r.out, "snapshot  ok"));  // every checksum is valid
      CHECK(has(r.out, "vectors   DAMAGED: 1 rows have a stored norm that does not match"));
    }
  }
}
