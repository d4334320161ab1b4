// IQDB_EXPORT marks the symbols that form libiqdb's ABI. The library is built
// with hidden visibility, so anything not marked here stays internal.
#pragma once

#if defined(IQDB_STATIC)
#define IQDB_EXPORT
#elif defined(_WIN32)
#if defined(IQDB_BUILDING)
#define IQDB_EXPORT __declspec(dllexport)
#else
#define IQDB_EXPORT __declspec(dllimport)
#endif
#elif defined(__cplusplus)
// The standard attribute spelling, so it combines with [[nodiscard]].
#define IQDB_EXPORT [[gnu::visibility("default")]]
#else
// C (iqdb.h is C99, which has no [[...]] attributes).
#define IQDB_EXPORT __attribute__((visibility("default")))
#endif
