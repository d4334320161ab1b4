// Fashion-MNIST grown past its 60,000 training images, for the cost curve
// of iqdb-ann --scale: every extra image is a training image moved by a
// small shift (1 or 2 pixels along x, y or both) and/or mirrored left to
// right. Those are the variations a photographed garment really shows, so
// each new image sits in a real neighbourhood (near its source and its
// source's neighbours) rather than in noise, and the nearest-neighbour
// problem stays the same kind of problem as it grows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::bench {

inline constexpr uint64_t kGrowSeed = 0x6A0BF00D;
// Distinct transforms of one image: 24 shifts (dx, dy in -2..2, not both
// 0), each with and without the mirror, and the mirror alone.
inline constexpr size_t kGrowTransforms = 49;

// `rows` images of side x side pixels (values 0..255): the `sources`
// originals first, in order; then round after round, every source (in one
// seeded order) under its next transform (a seeded order per source), so
// any prefix holds each source's first few transforms and no image twice.
// Vacated pixels are 0, the background. Requires rows <= sources * (1 +
// kGrowTransforms).
std::vector<uint8_t> grow_images(const std::vector<float>& originals, size_t sources, size_t side,
                                 size_t rows, uint64_t seed);

}  // namespace iqdb::bench
