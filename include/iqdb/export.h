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
#else
#define IQDB_EXPORT __attribute__((visibility("default")))
#endif
