#include "core/record_codec.h"

#include <bit>

namespace iqdb::core {
namespace {

Status truncated(const char* what) {
  return Status::Corruption(std::string("truncated or malformed ") + what);
}

bool read_string(util::ByteReader& in, std::string& out) {
  uint32_t len = 0;
  std::span<const uint8_t> bytes;
  if (!in.read_u32(&len) || len > kMaxStringBytes || !in.read_bytes(len, &bytes)) return false;
  out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return true;
}

void put_string(std::string& out, std::string_view s) {
  util::put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

}  // namespace

void encode_id(std::string& out, const VectorId& id) {
  if (id.is_u64()) {
    util::put_u8(out, 0);
    util::put_u64(out, id.as_u64());
  } else {
    util::put_u8(out, 1);
    put_string(out, id.bytes());
  }
}

void encode_value(std::string& out, const Value& value) {
  util::put_u8(out, static_cast<uint8_t>(value.type()));
  switch (value.type()) {
    case Value::Type::kNull: break;
    case Value::Type::kBool: util::put_u8(out, value.as_bool() ? 1 : 0); break;
    case Value::Type::kInt: util::put_u64(out, static_cast<uint64_t>(value.as_int())); break;
    case Value::Type::kDouble: util::put_f64(out, value.as_double()); break;
    case Value::Type::kString: put_string(out, value.as_string()); break;
  }
}

void encode_metadata(std::string& out, const Metadata& metadata) {
  util::put_u32(out, static_cast<uint32_t>(metadata.size()));
  for (const auto& [name, value] : metadata) {
    put_string(out, name);
    encode_value(out, value);
  }
}

Result<VectorId> decode_id(util::ByteReader& in) {
  uint8_t kind = 0;
  if (!in.read_u8(&kind)) return truncated("id");
  if (kind == 0) {
    uint64_t v = 0;
    if (!in.read_u64(&v)) return truncated("id");
    return VectorId(v);
  }
  if (kind != 1) return Status::Corruption("unknown id kind " + std::to_string(kind));
  std::string bytes;
  if (!read_string(in, bytes)) return truncated("id");
  auto id = VectorId::from_bytes(bytes);
  if (!id) return Status::Corruption("invalid byte id: " + std::string(id.status().message()));
  return id;
}

Result<Value> decode_value(util::ByteReader& in) {
  uint8_t type = 0;
  if (!in.read_u8(&type)) return truncated("value");
  switch (static_cast<Value::Type>(type)) {
    case Value::Type::kNull: return Value();
    case Value::Type::kBool: {
      uint8_t b = 0;
      if (!in.read_u8(&b) || b > 1) return truncated("bool value");
      return Value(b == 1);
    }
    case Value::Type::kInt: {
      uint64_t v = 0;
      if (!in.read_u64(&v)) return truncated("int value");
      return Value(static_cast<int64_t>(v));
    }
    case Value::Type::kDouble: {
      double d = 0;
      if (!in.read_f64(&d)) return truncated("double value");
      return Value(d);
    }
    case Value::Type::kString: {
      std::string s;
      if (!read_string(in, s)) return truncated("string value");
      return Value(std::move(s));
    }
  }
  return Status::Corruption("unknown value type " + std::to_string(type));
}

Result<Metadata> decode_metadata(util::ByteReader& in) {
  uint32_t count = 0;
  if (!in.read_u32(&count) || count > kMaxMetadataFields) return truncated("metadata");
  Metadata m;
  std::string name, previous;
  for (uint32_t i = 0; i < count; ++i) {
    if (!read_string(in, name)) return truncated("metadata field name");
    // Fields are written in order, so the encoding is canonical and a
    // duplicate cannot hide.
    if (i > 0 && !(previous < name)) return Status::Corruption("metadata fields out of order");
    auto v = decode_value(in);
    if (!v) return v.status();
    m.set(name, std::move(*v));
    previous.swap(name);
  }
  return m;
}

}  // namespace iqdb::core
