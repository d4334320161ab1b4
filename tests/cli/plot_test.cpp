// The benchmark's PNG encoder and plot (bench/ann): files a PNG decoder
// would accept, pixels that survive the round trip, and Pareto frontiers.
#include "ann/plot.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ann/png.h"
#include "ann/raster.h"
#include "unit/util/temp_dir.h"

using namespace iqdb;
using namespace iqdb::bench;

namespace {

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// A strict little PNG reader for 8-bit RGB with filter 0 or 1 (what the
// encoder writes): checks every chunk CRC and returns the pixels.
RgbImage decode(const std::string& png) {
  REQUIRE(png.size() > 8);
  REQUIRE(png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  RgbImage img;
  std::string idat;
  size_t at = 8;
  bool end = false;
  while (at + 12 <= png.size()) {
    const uint32_t len = be32(png, at);
    REQUIRE(at + 12 + len <= png.size());
    const std::string type = png.substr(at + 4, 4);
    const std::string data = png.substr(at + 8, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(png.data() + at + 4), uInt(4 + len));
    CHECK(uint32_t(crc) == be32(png, at + 8 + len));
    if (type == "IHDR") {
      REQUIRE(len == 13);
      img.width = be32(data, 0);
      img.height = be32(data, 4);
      CHECK(data[8] == 8);   // bit depth
      CHECK(data[9] == 2);   // RGB
      CHECK(data[12] == 0);  // no interlace
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      end = true;
    }
    at += 12 + len;
  }
  CHECK(end);
  CHECK(at == png.size());
  const size_t stride = img.width * 3;
  std::vector<uint8_t> raw(img.height * (stride + 1));
  uLongf raw_size = uLongf(raw.size());
  REQUIRE(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()),
                     uLong(idat.size())) == Z_OK);
  REQUIRE(raw_size == raw.size());
  img.rgb.resize(img.height * stride);
  for (size_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    REQUIRE(filter <= 1);
    for (size_t i = 0; i < stride; ++i) {
      uint8_t v = raw[y * (stride + 1) + 1 + i];
      if (filter == 1 && i >= 3) v = uint8_t(v + img.rgb[y * stride + i - 3]);
      img.rgb[y * stride + i] = v;
    }
  }
  return img;
}

}  // namespace

TEST_CASE("PNG files decode back to the exact pixels, with valid chunk CRCs") {
  RgbImage img;
  img.width = 3;
  img.height = 2;
  img.rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 100, 50, 0, 0, 0};
  auto png = encode_png(img);
  REQUIRE(png.ok());
  RgbImage back = decode(*png);
  CHECK(back.width == 3);
  CHECK(back.height == 2);
  CHECK(back.rgb == img.rgb);
  img.rgb.pop_back();
  CHECK_FALSE(encode_png(img).ok());
  CHECK_FALSE(encode_png(RgbImage{}).ok());
}

TEST_CASE("text and lines land on the canvas; rotated text stays in bounds") {
  Canvas c(80, 60, {255, 255, 255});
  c.text(2, 2, "Ag9", {0, 0, 0}, 1);
  c.text_up(50, 58, "QPS", {0, 0, 0}, 2);
  c.line(0, 59, 79, 0, {255, 0, 0}, 2);
  c.marker(40, 30, Marker::kCircle, {0, 0, 255}, 9);
  RgbImage img = c.image();
  auto pixel = [&](int x, int y) { return img.rgb.data() + (size_t(y) * 80 + size_t(x)) * 3; };
  CHECK(pixel(40, 30)[2] == 255);  // marker centre
  CHECK(pixel(40, 30)[0] < 40);
  // 'A' at scale 1: its top row is .###. so (3, 2) is ink and (2, 2) is not.
  CHECK(pixel(3, 2)[0] == 0);
  CHECK(pixel(2, 2)[0] == 255);
  CHECK(Canvas::text_width("Ag9", 1) == 17);
  bool any_rotated_ink = false;
  for (int y = 0; y < 60; ++y) {
    for (int x = 50; x < 70; ++x) any_rotated_ink |= pixel(x, y)[1] == 0 && pixel(x, y)[0] == 0;
  }
  CHECK(any_rotated_ink);
}

TEST_CASE("each plotted line is the index's Pareto frontier") {
  std::vector<Point> pts = {{"a", "ef=10", 0.80, 1000, 0, 0},
                            {"a", "ef=20", 0.90, 800, 0, 0},
                            {"a", "ef=15", 0.85, 500, 0, 0},  // beaten by ef=20 on both
                            {"a", "ef=40", 0.95, 400, 0, 0}};
  auto f = pareto_frontier(pts);
  REQUIRE(f.size() == 3);
  CHECK(f[0].params == "ef=10");
  CHECK(f[1].params == "ef=20");
  CHECK(f[2].params == "ef=40");
}

TEST_CASE("the recall/QPS plot is a readable PNG and the markdown links it") {
  iqdb::testing::TempDir dir;
  std::vector<Point> pts;
  for (int i = 0; i < 6; ++i) {
    pts.push_back({"iqdb-hnsw M=16", "ef=" + std::to_string(10 << i), 0.8 + 0.03 * i,
                   20000.0 / (i + 1), 1, 300});
    pts.push_back(
        {"peer", "ef=" + std::to_string(10 << i), 0.78 + 0.03 * i, 9000.0 / (i + 1), 1, 300});
  }
  pts.push_back({"iqdb-flat", "", 1.0, 150, 0.1, 3136});
  const RunDescription run{"test data", "test machine"};
  const std::string png_path = (dir / "out" / "ann.png").string();
  const std::string md_path = (dir / "out" / "ann.md").string();
  REQUIRE(write_recall_qps_plot(pts, run, png_path).ok());
  REQUIRE(write_markdown_report(pts, run, png_path, md_path).ok());
  std::ifstream in(png_path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  RgbImage img = decode(bytes.str());
  CHECK(img.width == 1400);
  CHECK(img.height == 900);
  size_t coloured = 0;
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    coloured += img.rgb[i] != img.rgb[i + 1] || img.rgb[i + 1] != img.rgb[i + 2];
  }
  CHECK(coloured > 1000);  // the series are drawn in colour, the frame in grey
  std::ifstream md(md_path);
  std::stringstream text;
  text << md.rdbuf();
  CHECK(text.str().find("![recall@10 vs QPS](ann.png)") != std::string::npos);
  CHECK(text.str().find("| iqdb-flat |  | 1.0000 | 150 |") != std::string::npos);
  std::vector<Point> nothing;
  CHECK_FALSE(write_recall_qps_plot(nothing, run, png_path).ok());
}
