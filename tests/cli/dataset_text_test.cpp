// The text readers of tools/dataset: the strict JSON parser, JSON Lines rows
// and CSV rows, in memory and from files.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "dataset/csv.h"
#include "dataset/json.h"
#include "dataset/jsonl.h"
#include "dataset/rows.h"
#include "unit/util/temp_dir.h"

using namespace iqdb;
using namespace iqdb::dataset;
using iqdb::testing::TempDir;

namespace {

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

bool mentions(const Status& s, std::string_view what) {
  return s.message().find(what) != std::string_view::npos;
}

}  // namespace

TEST_CASE("JSON values parse exactly: integers keep 64 bits, doubles read back") {
  auto v = parse_json(
      R"( {"a": [1, -2.5e3, true, null, "x\u00e9\ud83d\ude00"], "big": 18446744073709551615,
                           "min": -9223372036854775808, "f": 0.1, "huge": 123456789012345678901234} )");
  REQUIRE(v.ok());
  const JsonValue* a = v->find("a");
  REQUIRE(a != nullptr);
  REQUIRE(a->items.size() == 5);
  CHECK(a->items[0].fits_i64);
  CHECK(a->items[0].i64 == 1);
  CHECK(a->items[1].number == -2500.0);
  CHECK_FALSE(a->items[1].is_integer());
  CHECK(a->items[4].string == "x\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v->find("big")->u64 == UINT64_MAX);
  CHECK_FALSE(v->find("big")->fits_i64);
  CHECK(v->find("min")->i64 == INT64_MIN);
  CHECK_FALSE(v->find("huge")->is_integer());
  auto again = parse_json(to_json(*v));
  REQUIRE(again.ok());
  CHECK(*again == *v);
  CHECK(to_json(*parse_json("0.1")) == "0.1");
  CHECK(to_json(*parse_json("1.0")) == "1.0");
}

TEST_CASE("strict JSON: each departure from RFC 8259 is an error naming its column") {
  struct Case {
    const char* text;
    const char* column;
  };
  const Case cases[] = {
      {"[1,2,]", "column 6"},
      {"{\"a\":1,}", "column 8"},
      {"{'a':1}", "column 2"},
      {"[01]", "column 3"},
      {"[+1]", "column 2"},
      {"[NaN]", "column 2"},
      {"{\"a\":1,\"a\":2}", "column 8"},
      {"\"\\ud800\"", "column 2"},
      {"\"a\tb\"", "column 3"},
      {"[1] x", "column 5"},
      {"// c\n1", "column 1"},
      {"[1e400]", "column 2"},
      {"\"\\x\"", "column 3"},
      {"", "column 1"},
      {"[1 2]", "column 4"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parse_json(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(mentions(r.status(), c.column));
  }
  CHECK_FALSE(parse_json("\"\xc3\x28\"").ok());      // invalid UTF-8
  CHECK_FALSE(parse_json("\"\xe0\x80\xaf\"").ok());  // overlong
}

TEST_CASE("JSON nesting is bounded so hostile input cannot exhaust the stack") {
  std::string ok_text = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  CHECK(parse_json(ok_text).ok());
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = parse_json(deep);
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.status(), "nested deeper"));
}

TEST_CASE("JSON Lines rows carry ids, vectors and metadata from top level and \"metadata\"") {
  auto rows = decode_jsonl(
      "{\"id\": 7, \"vector\": [0.5, 1, 2], \"kind\": \"doc\", \"year\": 2021}\n"
      "\n"
      "{\"id\": \"doc-8\", \"vector\": [3, 4, 5], \"metadata\": {\"draft\": true, \"score\": 0.25, "
      "\"x\": null}}\r\n"
      "{\"vector\": [6, 7, 8]}\n");
  REQUIRE(rows.ok());
  CHECK(rows->dim == 3);
  CHECK(rows->rows() == 3);
  REQUIRE(rows->ids.size() == 3);
  CHECK(*rows->ids[0] == VectorId(7));
  CHECK(*rows->ids[1] == *VectorId::from_bytes("doc-8"));
  CHECK_FALSE(rows->ids[2].has_value());
  REQUIRE(rows->metadata.size() == 3);
  CHECK(*rows->metadata[0] == Metadata{{"kind", "doc"}, {"year", 2021}});
  CHECK(*rows->metadata[1] == Metadata{{"draft", true}, {"score", 0.25}, {"x", nullptr}});
  CHECK_FALSE(rows->metadata[2].has_value());
  CHECK(rows->values == std::vector<float>{0.5f, 1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("JSON Lines errors name the line, and the column or field") {
  auto err = [](const std::string& text) {
    auto r = decode_jsonl(text);
    REQUIRE_FALSE(r.ok());
    return std::string(r.status().message());
  };
  CHECK(err("{\"vector\":[1,2]}\n{\"vector\":[1]}\n").find("line 2: has 1 vector components") !=
        std::string::npos);
  CHECK(err("{\"vector\":[1,2]}\n{\"vector\":[1,]}\n").find("line 2: column 14") !=
        std::string::npos);
  CHECK(err("{\"id\":1}\n").find("\"vector\": is missing") != std::string::npos);
  CHECK(err("{\"vector\":[]}\n").find("empty array") != std::string::npos);
  CHECK(err("{\"vector\":[1,\"2\"]}\n").find("component 1 is a string") != std::string::npos);
  CHECK(err("{\"vector\":[1e39]}\n").find("float32") != std::string::npos);
  CHECK(err("{\"vector\":[1],\"id\":-3}\n").find("\"id\"") != std::string::npos);
  CHECK(err("{\"vector\":[1],\"id\":1.5}\n").find("\"id\"") != std::string::npos);
  CHECK(err("{\"vector\":[1],\"tags\":[\"a\"]}\n").find("\"tags\"") != std::string::npos);
  CHECK(err("{\"vector\":[1],\"a\":1,\"metadata\":{\"a\":2}}\n").find("appears twice") !=
        std::string::npos);
  CHECK(err("[1,2]\n").find("must be a JSON object") != std::string::npos);
}

TEST_CASE("the JSON Lines file reader agrees with the decoder and names file and line") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 25; ++i) {
    text += "{\"id\":" + std::to_string(100 + i) + ",\"vector\":[" + std::to_string(i) +
            ",1],\"n\":" + std::to_string(i) + "}\n";
  }
  write_file(dir / "a.jsonl", text);
  auto from_file = read_rows(dir / "a.jsonl");
  auto in_memory = decode_jsonl(text);
  REQUIRE(from_file.ok());
  REQUIRE(in_memory.ok());
  CHECK(from_file->values == in_memory->values);
  CHECK(from_file->ids == in_memory->ids);
  CHECK(from_file->metadata == in_memory->metadata);
  write_file(dir / "bad.jsonl", "{\"vector\":[1,2]}\n\n{\"vector\":[1,2}\n");
  auto bad = read_rows(dir / "bad.jsonl");
  REQUIRE_FALSE(bad.ok());
  CHECK(mentions(bad.status(), "bad.jsonl: line 3: column 15"));
}

TEST_CASE("CSV with a vector column: quoted cells, typed metadata, quoted text stays text") {
  auto rows = decode_csv(
      "id,vector,kind,n,score,ok,none,code\n"
      "7,\"0.5,1,2\",doc,42,0.25,true,null,\"042\"\n"
      "doc-8,\"[3 4 5]\",\"memo, draft\",,1e3,false,,\"\"\n");
  REQUIRE(rows.ok());
  CHECK(rows->dim == 3);
  CHECK(rows->values == std::vector<float>{0.5f, 1, 2, 3, 4, 5});
  CHECK(*rows->ids[0] == VectorId(7));
  CHECK(*rows->ids[1] == *VectorId::from_bytes("doc-8"));
  CHECK(*rows->metadata[0] == Metadata{{"kind", "doc"},
                                       {"n", 42},
                                       {"score", 0.25},
                                       {"ok", true},
                                       {"none", nullptr},
                                       {"code", "042"}});
  // Empty unquoted cells leave the field out; an empty quoted cell is "".
  CHECK(*rows->metadata[1] ==
        Metadata{{"kind", "memo, draft"}, {"score", 1000.0}, {"ok", false}, {"code", ""}});
}

TEST_CASE("CSV numbered columns form the vector (pixel1..pixelN as Kaggle ships MNIST)") {
  auto rows = decode_csv("label,pixel1,pixel2,pixel3\n9,0,12,255\n0,1,2,3\n");
  REQUIRE(rows.ok());
  CHECK(rows->dim == 3);
  CHECK(rows->values == std::vector<float>{0, 12, 255, 1, 2, 3});
  CHECK(*rows->metadata[0] == Metadata{{"label", 9}});
  CHECK(rows->ids.empty());
  auto zero_based = decode_csv("v0,v1\n1,2\n");
  REQUIRE(zero_based.ok());
  CHECK(zero_based->dim == 2);
}

TEST_CASE("CSV quoting: doubled quotes, delimiters and newlines inside quotes") {
  auto fields = split_csv_record("a,\"b,c\",\"say \"\"hi\"\"\",  \"padded\"  ,");
  REQUIRE(fields.ok());
  REQUIRE(fields->size() == 5);
  CHECK((*fields)[1].text == "b,c");
  CHECK((*fields)[2].text == "say \"hi\"");
  CHECK((*fields)[3].text == "padded");
  CHECK((*fields)[3].quoted);
  CHECK((*fields)[4].text.empty());
  auto rows = decode_csv("vector,note\n\"1;2\",\"line one\nline two\"\n\"3;4\",x\n");
  REQUIRE(rows.ok());
  CHECK(rows->metadata[0]->get("note")->as_string() == "line one\nline two");
  CHECK(rows->rows() == 2);
}

TEST_CASE("CSV errors name the line and what is wrong") {
  auto err = [](const std::string& text) {
    auto r = decode_csv(text);
    REQUIRE_FALSE(r.ok());
    return std::string(r.status().message());
  };
  CHECK(err("vector,a\n\"1,2\",x\n\"1,2\",x,y\n").find("line 3: has 3 fields, the header has 2") !=
        std::string::npos);
  CHECK(err("vector,a\n\"1,2\",x\"y\n").find("a quote inside an unquoted field") !=
        std::string::npos);
  CHECK(err("vector,a\n\"1,2\"z,x\n").find("text after a closing quote") != std::string::npos);
  CHECK(err("vector,a\n\"1,2,x\n").find("unterminated") != std::string::npos);
  CHECK(err("a,b\n1,2\n").find("no vector column") != std::string::npos);
  CHECK(err("v0,v1,w0,w1\n1,2,3,4\n").find("more than one group") != std::string::npos);
  CHECK(err("vector,vector\n1,2\n").find("appears twice") != std::string::npos);
  CHECK(err("vector\n\"1,x\"\n").find("component 1") != std::string::npos);
  CHECK(err("vector\n\"1,2\"\n\"1\"\n").find("line 3: has 1 vector components") !=
        std::string::npos);
  CHECK(err("").find("no header") != std::string::npos);
}

TEST_CASE("the CSV file reader counts physical lines across multi-line records; TSV by name") {
  TempDir dir;
  write_file(dir / "a.csv",
             "id,vector,note\n1,\"1,2\",\"two\nlines\"\n2,\"3,4\",ok\n3,\"5\",short\n");
  auto bad = read_rows(dir / "a.csv");
  REQUIRE_FALSE(bad.ok());
  CHECK(mentions(bad.status(), "a.csv: line 5: has 1 vector components"));
  write_file(dir / "b.tsv", "id\tvector\tkind\n1\t1,2\tx\n2\t3 4\ty\n");
  auto tsv = read_rows(dir / "b.tsv");
  REQUIRE(tsv.ok());
  CHECK(tsv->values == std::vector<float>{1, 2, 3, 4});
  CHECK(tsv->metadata[1]->get("kind")->as_string() == "y");
}
