// The binary vector readers of tools/dataset: fvecs/bvecs/ivecs, raw
// float32, IDX and .npy. Each is fed small files written here, and hostile
// ones whose headers promise more than the file holds.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "dataset/npy.h"
#include "dataset/rows.h"
#include "dataset/vecs.h"
#include "unit/util/temp_dir.h"

using namespace iqdb;
using namespace iqdb::dataset;
using iqdb::testing::TempDir;

namespace {

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

std::string fvecs(const std::vector<std::vector<float>>& rows) {
  std::string s;
  for (const auto& r : rows) {
    put_u32(s, uint32_t(r.size()));
    for (float f : r) put_f32(s, f);
  }
  return s;
}

std::string npy(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const size_t fixed = major == 1 ? 10 : 12;
  while ((fixed + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string s = "\x93NUMPY";
  s.push_back(char(major));
  s.push_back(0);
  if (major == 1) {
    s.push_back(char(header.size() & 0xff));
    s.push_back(char(header.size() >> 8));
  } else {
    put_u32(s, uint32_t(header.size()));
  }
  return s + header + data;
}

std::string f32_data(std::initializer_list<float> values) {
  std::string s;
  for (float f : values) put_f32(s, f);
  return s;
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string idx3(uint32_t n, uint32_t h, uint32_t w, const std::vector<uint8_t>& data) {
  std::string s = {0, 0, 8, 3};
  for (uint32_t v : {n, h, w}) {
    for (int i = 3; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xff));
  }
  s.append(data.begin(), data.end());
  return s;
}

}  // namespace

TEST_CASE("fvecs rows read back exactly, in batches of any size") {
  TempDir dir;
  const std::vector<std::vector<float>> rows = {{1, 2, 3}, {-0.5f, 0, 1e-7f}, {4, 5, 6}};
  write_file(dir / "a.fvecs", fvecs(rows));
  auto reader = open_rows(dir / "a.fvecs");
  REQUIRE(reader.ok());
  CHECK((*reader)->dim() == 3);
  CHECK((*reader)->total_rows() == 3);
  RowBatch batch;
  std::vector<float> all;
  for (;;) {
    auto n = (*reader)->next(2, batch);
    REQUIRE(n.ok());
    if (*n == 0) break;
    CHECK(batch.ids.empty());
    all.insert(all.end(), batch.values.begin(), batch.values.end());
  }
  CHECK(all == std::vector<float>{1, 2, 3, -0.5f, 0, 1e-7f, 4, 5, 6});
  CHECK((*reader)->fraction_done() == 1.0);
}

TEST_CASE("a truncated fvecs tail is an error naming the cut row, found before reading") {
  TempDir dir;
  std::string s = fvecs({{1, 2}, {3, 4}});
  s.resize(s.size() - 3);
  write_file(dir / "t.fvecs", s);
  auto reader = open_rows(dir / "t.fvecs");
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.status().code() == StatusCode::kInvalidArgument);
  CHECK(reader.status().message().find("row 1 is cut short") != std::string_view::npos);
}

TEST_CASE("a hostile fvecs dimension is refused without allocating it") {
  TempDir dir;
  std::string s;
  put_u32(s, 0x7fffffff);
  put_f32(s, 1);
  write_file(dir / "h.fvecs", s);
  auto reader = open_rows(dir / "h.fvecs");
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.status().message().find("dimension 2147483647") != std::string_view::npos);
  std::string neg;
  put_u32(neg, 0xffffffff);
  CHECK_FALSE(decode_vecs(bytes_of(neg), Format::kFvecs).ok());
}

TEST_CASE("fvecs rows of different dimensions are an error naming the row") {
  TempDir dir;
  // Row 1 claims dimension 3 but the file size fits rows of dimension 2.
  std::string s = fvecs({{1, 2}});
  put_u32(s, 3);
  put_f32(s, 1);
  put_f32(s, 2);
  write_file(dir / "r.fvecs", s);
  auto all = read_rows(dir / "r.fvecs");
  REQUIRE_FALSE(all.ok());
  CHECK(all.status().message().find("row 1 says dimension 3") != std::string_view::npos);
}

TEST_CASE("NaN in an fvecs file is refused with its row and component") {
  auto r = decode_vecs(bytes_of(fvecs({{1, 2}, {3, std::numeric_limits<float>::quiet_NaN()}})),
                       Format::kFvecs);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("row 1, component 1") != std::string_view::npos);
}

TEST_CASE("bvecs bytes and ivecs integers become floats; read_ivecs keeps integers") {
  TempDir dir;
  std::string b;
  put_u32(b, 3);
  b += std::string("\x00\x7f\xff", 3);
  write_file(dir / "x.bvecs", b);
  auto rows = read_rows(dir / "x.bvecs");
  REQUIRE(rows.ok());
  CHECK(rows->values == std::vector<float>{0, 127, 255});

  std::string iv;
  for (int r = 0; r < 2; ++r) {
    put_u32(iv, 2);
    put_u32(iv, uint32_t(10 * r));
    put_u32(iv, uint32_t(10 * r + 1));
  }
  write_file(dir / "gt.ivecs", iv);
  auto ints = read_ivecs(dir / "gt.ivecs");
  REQUIRE(ints.ok());
  CHECK(ints->dim == 2);
  CHECK(ints->values == std::vector<int64_t>{0, 1, 10, 11});
  auto as_float = read_rows(dir / "gt.ivecs");
  REQUIRE(as_float.ok());
  CHECK(as_float->values == std::vector<float>{0, 1, 10, 11});
}

TEST_CASE("raw float32 needs a dimension that divides the file") {
  TempDir dir;
  write_file(dir / "v.f32", f32_data({1, 2, 3, 4, 5, 6}));
  CHECK_FALSE(open_rows(dir / "v.f32").ok());  // no dim given
  ReadOptions o;
  o.dim = 4;
  auto bad = open_rows(dir / "v.f32", o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("not a whole number") != std::string_view::npos);
  o.dim = 3;
  auto rows = read_rows(dir / "v.f32", o);
  REQUIRE(rows.ok());
  CHECK(rows->rows() == 2);
  CHECK(rows->values[5] == 6);
}

TEST_CASE("IDX images read plain and gzip-compressed, labels as integer rows") {
  TempDir dir;
  const std::string images = idx3(2, 2, 2, {0, 1, 2, 3, 250, 251, 252, 253});
  write_file(dir / "img-idx3-ubyte", images);
  gzFile gz = gzopen((dir / "img-idx3-ubyte.gz").string().c_str(), "wb");
  REQUIRE(gz != nullptr);
  gzwrite(gz, images.data(), unsigned(images.size()));
  gzclose(gz);
  for (const char* name : {"img-idx3-ubyte", "img-idx3-ubyte.gz"}) {
    auto rows = read_rows(dir / name);
    REQUIRE(rows.ok());
    CHECK(rows->dim == 4);
    CHECK(rows->values == std::vector<float>{0, 1, 2, 3, 250, 251, 252, 253});
  }
  std::string labels = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};
  write_file(dir / "lab-idx1-ubyte", labels);
  auto ints = read_int_rows(dir / "lab-idx1-ubyte");
  REQUIRE(ints.ok());
  CHECK(ints->dim == 1);
  CHECK(ints->values == std::vector<int64_t>{7, 0, 9});
  // A header promising more images than the file holds.
  write_file(dir / "short-idx3-ubyte", idx3(3, 2, 2, {0, 1, 2, 3}));
  CHECK_FALSE(read_rows(dir / "short-idx3-ubyte").ok());
}

TEST_CASE("npy float32 and uint8 arrays decode; higher ranks flatten into rows") {
  auto f = decode_npy(bytes_of(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                   f32_data({1, 2, 3, 4, 5, 6.5f}))));
  REQUIRE(f.ok());
  CHECK(f->dim == 3);
  CHECK(f->values == std::vector<float>{1, 2, 3, 4, 5, 6.5f});
  auto u = decode_npy(bytes_of(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }",
                                   std::string("\x00\x01\x02\x03\x04\x05\x06\xff", 8))));
  REQUIRE(u.ok());
  CHECK(u->dim == 4);
  CHECK(u->values.back() == 255);
  auto v2 = decode_npy(bytes_of(
      npy("{'shape': (1,2), 'fortran_order': False, 'descr': '<f4'}", f32_data({7, 8}), 2)));
  REQUIRE(v2.ok());
  CHECK(v2->values == std::vector<float>{7, 8});
  auto rank1 = decode_npy(bytes_of(
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f32_data({1, 2, 3}))));
  REQUIRE(rank1.ok());
  CHECK(rank1->dim == 1);
  CHECK(rank1->rows() == 3);
}

TEST_CASE("npy files this reader does not handle are kUnsupported with the reason") {
  auto code = [](const std::string& dict, const std::string& data) {
    auto r = decode_npy(bytes_of(npy(dict, data)));
    return r.ok() ? StatusCode::kOk : r.status().code();
  };
  CHECK(code("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')) ==
        StatusCode::kUnsupported);
  CHECK(code("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0')) ==
        StatusCode::kUnsupported);
  CHECK(code("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", std::string(16, '\0')) ==
        StatusCode::kUnsupported);
  CHECK(code("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
             std::string(4, '\0')) == StatusCode::kUnsupported);
}

TEST_CASE("hostile npy headers are refused before anything is allocated") {
  // A header length far beyond the file.
  std::string s = "\x93NUMPY\x02";
  s.push_back(0);
  put_u32(s, 0xfffffff0u);
  s += "{'descr'";
  auto r = parse_npy_header(bytes_of(s));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("header length") != std::string_view::npos);
  // A shape whose size overflows.
  auto huge = decode_npy(bytes_of(
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 4294967295), }",
          f32_data({1}))));
  CHECK_FALSE(huge.ok());
  // Data shorter and longer than the shape.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  auto short_data = decode_npy(bytes_of(npy(dict, f32_data({1, 2, 3}))));
  REQUIRE_FALSE(short_data.ok());
  CHECK(short_data.status().message().find("promises 16 bytes") != std::string_view::npos);
  CHECK_FALSE(decode_npy(bytes_of(npy(dict, f32_data({1, 2, 3, 4, 5})))).ok());
  // Malformed dicts, each with an offset.
  for (const char* bad : {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 2)}",
                          "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2)}",
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2)}",
                          "{'descr': '<f4', 'fortran_order': False}",
                          "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                          "__import__('os')"}) {
    auto m = decode_npy(bytes_of(npy(bad, f32_data({1, 2, 3, 4}))));
    CHECK_FALSE(m.ok());
    CHECK(m.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("the npy file reader streams rows and agrees with the in-memory decoder") {
  TempDir dir;
  std::string data;
  for (int i = 0; i < 10 * 4; ++i) put_f32(data, float(i));
  write_file(dir / "a.npy",
             npy("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }", data));
  auto reader = open_rows(dir / "a.npy");
  REQUIRE(reader.ok());
  CHECK((*reader)->total_rows() == 10);
  auto all = read_rows(dir / "a.npy", {}, 7);
  REQUIRE(all.ok());
  CHECK(all->rows() == 7);
  CHECK(all->values[27] == 27);
  write_file(dir / "cut.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }",
                                  data.substr(0, 100)));
  auto cut = open_rows(dir / "cut.npy");
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.status().message().find("cut.npy") != std::string_view::npos);
}

TEST_CASE("formats are told from file names, and a missing file is kNotFound") {
  CHECK(*detect_format("a/b.fvecs") == Format::kFvecs);
  CHECK(*detect_format("train-images-idx3-ubyte.gz") == Format::kIdx);
  CHECK(*detect_format("x.NPY") == Format::kNpy);
  CHECK(*detect_format("rows.ndjson") == Format::kJsonl);
  CHECK(*detect_format("t.tsv") == Format::kCsv);
  CHECK(*detect_format("v.f32") == Format::kRaw);
  CHECK_FALSE(detect_format("notes.txt").ok());
  CHECK_FALSE(detect_format("base.fvecs.gz").ok());
  CHECK(*parse_format("NDJSON") == Format::kJsonl);
  CHECK_FALSE(parse_format("parquet").ok());
  auto missing = open_rows("/nonexistent/dir/x.fvecs");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
}
