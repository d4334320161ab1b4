// A child process for the read-only sharing tests: opens the database at
// argv[2] ("ro": read-only, "rw": writable), writes one line to stdout
// ("open SIZE" or "error CODE MESSAGE"), then holds the handle until its
// stdin reaches end of file, closes it and exits 0 (1 when the open failed).
#include <cstdio>
#include <cstring>
#include <string>

#include "iqdb/iqdb.hpp"

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "ro") != 0 && std::strcmp(argv[1], "rw") != 0)) {
    std::fprintf(stderr, "usage: db_holder ro|rw PATH\n");
    return 2;
  }
  iqdb::OpenOptions options;
  options.read_only = std::strcmp(argv[1], "ro") == 0;
  auto db = iqdb::Database::open(argv[2], options);
  if (!db.ok()) {
    std::printf("error %d %s\n", int(db.status().code()),
                std::string(db.status().message()).c_str());
    std::fflush(stdout);
    return 1;
  }
  std::printf("open %zu\n", db->size());
  std::fflush(stdout);
  char buf[64];
  while (std::fread(buf, 1, sizeof buf, stdin) > 0) {
  }
  return db->close().ok() ? 0 : 3;
}
