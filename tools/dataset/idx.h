// Readers for the IDX files Fashion-MNIST and MNIST ship as (optionally
// gzip-compressed): images as uint8 tensors, labels as uint8 vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "iqdb/status.h"

namespace iqdb::dataset {

struct IdxTensor {
  std::vector<uint32_t> shape;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;    // row-major
  // Elements per first-axis item (e.g. 784 for 28x28 images).
  size_t row_size() const;
  size_t rows() const { return shape.empty() ? 0 : shape[0]; }
};

// Reads an unsigned-byte IDX file (`*-ubyte` or `*-ubyte.gz`). Every size in
// the header is checked against the bytes present.
Result<IdxTensor> read_idx(const std::filesystem::path& path);

// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// The ten Fashion-MNIST class names, by label.
const std::vector<std::string>& fashion_mnist_classes();

struct FashionMnist {
  size_t dim = 0;            // 784
  std::vector<float> train;  // 60000 x dim, pixel values 0..255
  std::vector<uint8_t> train_labels;
  std::vector<float> test;  // 10000 x dim
  std::vector<uint8_t> test_labels;
  size_t train_rows() const { return dim ? train.size() / dim : 0; }
  size_t test_rows() const { return dim ? test.size() / dim : 0; }
};

// Loads the whole set from `dir` (the Debian location by default).
Result<FashionMnist> load_fashion_mnist(const std::filesystem::path& dir = kFashionMnistDir);

}  // namespace iqdb::dataset
