// CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78): the
// checksum of every snapshot header, snapshot section and WAL record.
//
// On x86-64 CPUs with SSE4.2 it runs on the `crc32` instruction, 8 bytes per
// instruction in three interleaved streams (13-21 GB/s measured on EPYC;
// see src/storage/FORMAT.md for the measurement and why CRC32C). Elsewhere it
// falls back to a portable slicing-by-8 table. Both give identical results.
//
// Thread-safety: all functions are pure and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace iqdb::util {

// The CRC32C of `data` continued from `crc`, the CRC32C of some earlier bytes
// A: crc32c_extend(crc32c(A), B) == crc32c(A ++ B). Start from 0.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) noexcept;

inline uint32_t crc32c(const void* data, size_t n) noexcept { return crc32c_extend(0, data, n); }
inline uint32_t crc32c(std::span<const uint8_t> bytes) noexcept {
  return crc32c_extend(0, bytes.data(), bytes.size());
}
inline uint32_t crc32c(std::string_view bytes) noexcept {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

// "sse4.2" or "portable": which implementation crc32c_extend uses here.
std::string_view crc32c_implementation() noexcept;

// The two implementations, exposed so tests can compare them.
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n) noexcept;
// True when crc32c_extend_hardware may be called on this CPU.
bool crc32c_hardware_available() noexcept;
// Requires crc32c_hardware_available().
uint32_t crc32c_extend_hardware(uint32_t crc, const void* data, size_t n) noexcept;

}  // namespace iqdb::util
