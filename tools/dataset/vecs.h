// The TEXMEX vector formats (as the SIFT/GIST/BIGANN sets ship) and bare
// float32 files.
//
//   .fvecs  per row: int32 dim | dim x float32     (all little-endian)
//   .bvecs  per row: int32 dim | dim x uint8
//   .ivecs  per row: int32 dim | dim x int32       (ground-truth neighbour ids)
//   raw     dim x float32 per row, no header; the caller gives dim
//
// Every row must have the first row's dim, and the file must hold a whole
// number of rows: a truncated tail or a hostile dim is an error naming the
// row, found from the file size before any row is decoded.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

#include "dataset/rows.h"

namespace iqdb::dataset {

// kind is kFvecs, kBvecs or kIvecs. ivecs values become floats (exact up to 2^24).
Result<std::unique_ptr<RowReader>> open_vecs(const std::filesystem::path& path, Format kind);

Result<std::unique_ptr<RowReader>> open_raw_f32(const std::filesystem::path& path, size_t dim);

// Reads a whole .ivecs file as integers.
Result<IntRows> read_ivecs(const std::filesystem::path& path);

// Decodes an in-memory *vecs image (tests, fuzzing). `name` prefixes errors.
Result<RowBatch> decode_vecs(std::span<const uint8_t> bytes, Format kind,
                             std::string_view name = "input");

}  // namespace iqdb::dataset
