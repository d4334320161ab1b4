// NumPy's .npy format, read without NumPy:
//
//   "\x93NUMPY" | u8 major (1..3) | u8 minor | header length (u16 for
//   version 1, u32 for 2 and 3, little-endian) | header | data
//
// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }
// It is parsed by a small tokenizer that accepts exactly that shape of dict
// (string keys 'descr', 'fortran_order', 'shape', each once; string, bool
// and int-tuple values): nothing in it is evaluated. Arrays of rank >= 2
// are rows over the first axis, flattened (60000 x 28 x 28 gives dim 784);
// rank 1 gives rows of dimension 1.
//
// Read: float32 ('<f4') and uint8 ('|u1'), C order. Big-endian, float64,
// Fortran order, structured dtypes and the rest are kUnsupported with a
// message saying what the file holds. The data must be exactly the size the
// shape promises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "dataset/rows.h"

namespace iqdb::dataset {

// The largest header accepted (NumPy itself writes a few hundred bytes).
inline constexpr size_t kMaxNpyHeaderBytes = 64 * 1024;

struct NpyHeader {
  enum class Dtype : uint8_t { kF32, kU8 };
  Dtype dtype = Dtype::kF32;
  std::vector<uint64_t> shape;
  uint64_t rows = 0;         // shape[0]
  uint64_t dim = 0;          // product of shape[1..], 1 for rank 1
  uint64_t data_offset = 0;  // where the data starts
  size_t item_bytes() const { return dtype == Dtype::kF32 ? 4 : 1; }
  // rows * dim * item_bytes, checked against overflow by the parser.
  uint64_t data_bytes() const { return rows * dim * item_bytes(); }
};

// Parses the header at the start of `prefix`: the first bytes of a file
// (at least 12 + kMaxNpyHeaderBytes, or the whole file if shorter).
// kInvalidArgument when malformed or cut short, kUnsupported for a valid
// header this reader does not handle.
Result<NpyHeader> parse_npy_header(std::span<const uint8_t> prefix);

// Decodes a whole in-memory .npy file (tests, fuzzing).
Result<RowBatch> decode_npy(std::span<const uint8_t> file);

Result<std::unique_ptr<RowReader>> open_npy(const std::filesystem::path& path);

}  // namespace iqdb::dataset
