// A small software rasteriser for the benchmark plots: anti-aliased lines
// and markers, rectangles, and text in a built-in 5x7 bitmap font (ASCII
// 32..126, scaled by whole pixels). Coordinates are pixels, y down.
#pragma once

#include <cstdint>
#include <string_view>

#include "ann/png.h"

namespace iqdb::bench {

struct Rgb {
  uint8_t r, g, b;
};

enum class Marker : uint8_t { kCircle, kSquare, kTriangle, kDiamond, kTriangleDown, kCross, kPlus };

class Canvas {
 public:
  Canvas(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }

  // Mixes `c` into one pixel with opacity alpha in [0, 1]; ignores pixels
  // outside the canvas.
  void blend(int x, int y, Rgb c, double alpha);
  // Fills [x0, x1) x [y0, y1).
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);
  // A one-pixel rectangle outline around [x0, x1) x [y0, y1).
  void outline_rect(int x0, int y0, int x1, int y1, Rgb c);
  // An anti-aliased segment of the given width with round ends.
  void line(double x0, double y0, double x1, double y1, Rgb c, double width);
  // A filled marker centred at (x, y), `size` pixels across.
  void marker(double x, double y, Marker shape, Rgb c, double size);

  // Text with its top-left corner at (x, y); each font pixel becomes a
  // scale x scale block. Characters outside ASCII 32..126 draw as '?'.
  void text(int x, int y, std::string_view s, Rgb c, int scale);
  // The same, rotated 90 degrees counter-clockwise (reading bottom to top),
  // with the start of the text at (x, y) and the glyph tops towards -x.
  void text_up(int x, int y, std::string_view s, Rgb c, int scale);
  static int text_width(std::string_view s, int scale);
  // Cap height (digits, capitals); descenders reach two font pixels lower.
  static int text_height(int scale);

  RgbImage image() const { return image_; }

 private:
  void glyph_pixels(char ch, int scale, bool rotate, int x, int y, Rgb c);

  int width_;
  int height_;
  RgbImage image_;
};

}  // namespace iqdb::bench
