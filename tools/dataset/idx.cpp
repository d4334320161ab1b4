#include "dataset/idx.h"

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace iqdb::dataset {
namespace {

// Reads a whole file, gunzipping when it is gzip-compressed (zlib's gz*
// functions read plain files transparently too).
Result<std::string> read_all(const std::filesystem::path& path) {
#if defined(_WIN32)  // paths are UTF-16 there; zlib takes them through gzopen_w
  gzFile f = gzopen_w(path.c_str(), "rb");
#else
  gzFile f = gzopen(path.c_str(), "rb");
#endif
  if (f == nullptr) return Status::NotFound("cannot open " + path.string());
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      gzclose(f);
      return Status::Corruption("cannot decompress " + path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (size_t{4} << 30)) {
      gzclose(f);
      return Status::ResourceExhausted(path.string() + " is larger than 4 GiB");
    }
  }
  gzclose(f);
  return out;
}

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

size_t IdxTensor::row_size() const {
  size_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

Result<IdxTensor> read_idx(const std::filesystem::path& path) {
  auto bytes = read_all(path);
  if (!bytes) return bytes.status();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes->data());
  const size_t size = bytes->size();
  if (size < 4 || p[0] != 0 || p[1] != 0)
    return Status::Corruption(path.string() + ": not an IDX file");
  if (p[2] != 0x08)
    return Status::Unsupported(path.string() + ": only unsigned-byte IDX files are read");
  const size_t rank = p[3];
  if (rank == 0 || rank > 8 || size < 4 + 4 * rank) {
    return Status::Corruption(path.string() + ": bad IDX header");
  }
  IdxTensor t;
  size_t count = 1;
  bool overflow = false;
  for (size_t i = 0; i < rank; ++i) {
    t.shape.push_back(big_endian_u32(p + 4 + 4 * i));
    if (t.shape.back() != 0 && count > SIZE_MAX / t.shape.back()) overflow = true;
    count *= t.shape.back();
  }
  const size_t header = 4 + 4 * rank;
  if (overflow || count != size - header) {
    return Status::Corruption(
        path.string() + ": IDX header promises a different number of bytes than the file has");
  }
  t.data.assign(p + header, p + size);
  return t;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> kNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                  "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
  return kNames;
}

Result<FashionMnist> load_fashion_mnist(const std::filesystem::path& dir) {
  FashionMnist out;
  auto load_images = [&](const char* name, std::vector<float>& dst) -> Status {
    auto t = read_idx(dir / name);
    if (!t) return t.status();
    if (out.dim != 0 && out.dim != t->row_size()) return Status::Corruption("image sizes differ");
    out.dim = t->row_size();
    dst.assign(t->data.begin(), t->data.end());
    return Status::OK();
  };
  auto load_labels = [&](const char* name, std::vector<uint8_t>& dst) -> Status {
    auto t = read_idx(dir / name);
    if (!t) return t.status();
    dst = std::move(t->data);
    return Status::OK();
  };
  IQDB_RETURN_IF_ERROR(load_images("train-images-idx3-ubyte.gz", out.train));
  IQDB_RETURN_IF_ERROR(load_labels("train-labels-idx1-ubyte.gz", out.train_labels));
  IQDB_RETURN_IF_ERROR(load_images("t10k-images-idx3-ubyte.gz", out.test));
  IQDB_RETURN_IF_ERROR(load_labels("t10k-labels-idx1-ubyte.gz", out.test_labels));
  if (out.train_labels.size() != out.train_rows() || out.test_labels.size() != out.test_rows()) {
    return Status::Corruption("label count does not match image count");
  }
  return out;
}

}  // namespace iqdb::dataset
