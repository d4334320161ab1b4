#include "ann/grow.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace iqdb::bench {
namespace {

struct Transform {
  int dx, dy;
  bool mirror;
};

std::vector<Transform> all_transforms() {
  std::vector<Transform> out;
  for (int dy = -2; dy <= 2; ++dy) {
    for (int dx = -2; dx <= 2; ++dx) {
      if (dx == 0 && dy == 0) continue;
      out.push_back({dx, dy, false});
      out.push_back({dx, dy, true});
    }
  }
  out.push_back({0, 0, true});
  return out;
}

// out(x, y) = in(x', y - dy) with x' the source column after the mirror
// and the shift; outside the image: 0.
void transform_image(const float* in, size_t side, const Transform& t, uint8_t* out) {
  const int s = static_cast<int>(side);
  for (int y = 0; y < s; ++y) {
    for (int x = 0; x < s; ++x) {
      const int sy = y - t.dy;
      int sx = x - t.dx;
      if (t.mirror) sx = s - 1 - sx;
      uint8_t v = 0;
      if (sy >= 0 && sy < s && sx >= 0 && sx < s)
        v = static_cast<uint8_t>(in[size_t(sy) * side + size_t(sx)]);
      out[size_t(y) * side + size_t(x)] = v;
    }
  }
}

}  // namespace

std::vector<uint8_t> grow_images(const std::vector<float>& originals, size_t sources, size_t side,
                                 size_t rows, uint64_t seed) {
  const size_t dim = side * side;
  const std::vector<Transform> transforms = all_transforms();
  rows = std::min(rows, sources * (1 + transforms.size()));
  std::vector<uint8_t> out(rows * dim);
  const size_t first = std::min(rows, sources);
  for (size_t i = 0; i < first * dim; ++i) out[i] = static_cast<uint8_t>(originals[i]);
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> order(sources);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), rng);
  // Each source's transform order, drawn from its own stream so that it
  // does not depend on how many rows are asked for.
  std::vector<uint8_t> per_source(sources * transforms.size());
  for (size_t s = 0; s < sources; ++s) {
    uint8_t* mine = per_source.data() + s * transforms.size();
    std::iota(mine, mine + transforms.size(), uint8_t{0});
    std::mt19937_64 local(seed ^ (0x9E3779B97F4A7C15ull * (s + 1)));
    std::shuffle(mine, mine + transforms.size(), local);
  }
  for (size_t row = first; row < rows; ++row) {
    const size_t round = (row - sources) / sources;
    const size_t source = order[(row - sources) % sources];
    const Transform& t = transforms[per_source[source * transforms.size() + round]];
    transform_image(originals.data() + source * dim, side, t, out.data() + row * dim);
  }
  return out;
}

}  // namespace iqdb::bench
