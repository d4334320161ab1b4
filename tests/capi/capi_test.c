/* The C ABI (iqdb/iqdb.h) exercised from plain C99: no C++ in this file.
 * Usage: capi_test DIR (a scratch directory for the file-backed checks). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iqdb/iqdb.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    ++checks;                                                                  \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* Succeeds or reports the error's message. */
#define CHECK_OK(call)                                                                             \
  do {                                                                                             \
    iqdb_status s_ = (call);                                                                       \
    ++checks;                                                                                      \
    if (s_ != IQDB_OK) {                                                                           \
      ++failures;                                                                                  \
      fprintf(stderr, "%s:%d: %s returned %s\n", __FILE__, __LINE__, #call, iqdb_status_name(s_)); \
    }                                                                                              \
  } while (0)

static iqdb_id int_id(uint64_t v) {
  iqdb_id id;
  id.u64 = v;
  id.bytes = NULL;
  id.bytes_len = 0;
  return id;
}

static iqdb_id key_id(const char* key) {
  iqdb_id id;
  id.u64 = 0;
  id.bytes = key;
  id.bytes_len = strlen(key);
  return id;
}

static iqdb_db* open_l2(size_t dim) {
  iqdb_options o;
  iqdb_db* db = NULL;
  iqdb_error* err = NULL;
  iqdb_options_init(&o);
  o.dim = dim;
  o.metric = IQDB_METRIC_L2;
  CHECK(iqdb_open_in_memory(&o, &db, &err) == IQDB_OK);
  CHECK(err == NULL && db != NULL);
  return db;
}

static void test_versions_and_errors(void) {
  iqdb_options o;
  iqdb_db* db = (iqdb_db*)1;
  iqdb_error* err = NULL;
  CHECK(iqdb_abi_version() == IQDB_ABI_VERSION);
  CHECK(strlen(iqdb_version()) >= 5);
  CHECK(strcmp(iqdb_status_name(IQDB_BUSY), "Busy") == 0);
  CHECK(strcmp(iqdb_status_name((iqdb_status)77), "Unknown") == 0);
  /* NULL is accepted everywhere an error is read or freed. */
  CHECK(iqdb_error_status(NULL) == IQDB_OK);
  CHECK(strcmp(iqdb_error_message(NULL), "") == 0);
  iqdb_error_free(NULL);
  CHECK(iqdb_close(NULL, NULL) == IQDB_OK);

  /* dim 0 is refused with a message; the output handle is cleared. */
  iqdb_options_init(&o);
  CHECK(iqdb_open_in_memory(&o, &db, &err) == IQDB_INVALID_ARGUMENT);
  CHECK(db == NULL);
  CHECK(err != NULL && iqdb_error_status(err) == IQDB_INVALID_ARGUMENT);
  CHECK(strlen(iqdb_error_message(err)) > 0);
  iqdb_error_free(err);
  /* An options struct without struct_size is refused, not misread. */
  memset(&o, 0, sizeof o);
  o.dim = 4;
  CHECK(iqdb_open_in_memory(&o, &db, NULL) == IQDB_INVALID_ARGUMENT);
}

static void test_upsert_get_remove(void) {
  iqdb_db* db = open_l2(3);
  const float a[3] = {1.0f, 2.0f, 3.0f};
  const float nan_row[3] = {1.0f, NAN, 0.0f};
  float out[3] = {0, 0, 0};
  int found = -1, removed = -1;
  iqdb_id id7 = int_id(7);
  iqdb_field fields[3];
  iqdb_metadata* md = NULL;
  iqdb_error* err = NULL;
  size_t i;

  memset(fields, 0, sizeof fields);
  fields[0].name = "class";
  fields[0].value.type = IQDB_VALUE_STRING;
  fields[0].value.str = "Sandal";
  fields[0].value.str_len = 6;
  fields[1].name = "year";
  fields[1].value.type = IQDB_VALUE_INT;
  fields[1].value.integer = 2021;
  fields[2].name = "new";
  fields[2].value.type = IQDB_VALUE_BOOL;
  fields[2].value.boolean = 1;
  CHECK_OK(iqdb_upsert(db, &id7, a, 3, fields, 3, NULL));
  CHECK(iqdb_size(db) == 1);

  CHECK_OK(iqdb_get(db, &id7, out, 3, &found, &md, NULL));
  CHECK(found == 1);
  CHECK(out[0] == 1.0f && out[1] == 2.0f && out[2] == 3.0f);
  CHECK(md != NULL && iqdb_metadata_size(md) == 3);
  for (i = 0; md != NULL && i < iqdb_metadata_size(md); ++i) {
    const char* name = NULL;
    iqdb_value v;
    CHECK(iqdb_metadata_field(md, i, &name, &v) == IQDB_OK);
    if (strcmp(name, "class") == 0) {
      CHECK(v.type == IQDB_VALUE_STRING && v.str_len == 6 && memcmp(v.str, "Sandal", 6) == 0);
    } else if (strcmp(name, "year") == 0) {
      CHECK(v.type == IQDB_VALUE_INT && v.integer == 2021);
    } else {
      CHECK(strcmp(name, "new") == 0 && v.type == IQDB_VALUE_BOOL && v.boolean == 1);
    }
  }
  if (md != NULL) {
    const char* name = NULL;
    iqdb_value v;
    CHECK(iqdb_metadata_field(md, 3, &name, &v) == IQDB_INVALID_ARGUMENT);
  }
  iqdb_metadata_free(md);
  iqdb_metadata_free(NULL);

  /* Wrong dimension and NaN are refused and change nothing. */
  CHECK(iqdb_upsert(db, &id7, a, 2, NULL, 0, &err) == IQDB_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(iqdb_error_message(err), "dimension") != NULL);
  iqdb_error_free(err);
  CHECK(iqdb_upsert(db, &id7, nan_row, 3, NULL, 0, NULL) == IQDB_INVALID_ARGUMENT);
  CHECK_OK(iqdb_get(db, &id7, out, 3, &found, NULL, NULL));
  CHECK(found == 1 && out[1] == 2.0f);

  CHECK_OK(iqdb_remove(db, &id7, &removed, NULL));
  CHECK(removed == 1);
  CHECK_OK(iqdb_remove(db, &id7, &removed, NULL));
  CHECK(removed == 0);
  CHECK_OK(iqdb_get(db, &id7, out, 3, &found, NULL, NULL));
  CHECK(found == 0);
  CHECK(iqdb_size(db) == 0);

  /* A batch removal: absent and repeated ids are skipped. */
  {
    iqdb_id some[4];
    size_t count = 99;
    some[0] = int_id(1);
    some[1] = key_id("two");
    some[2] = int_id(1);
    some[3] = int_id(404);
    CHECK_OK(iqdb_upsert(db, &some[0], a, 3, NULL, 0, NULL));
    CHECK_OK(iqdb_upsert(db, &some[1], a, 3, NULL, 0, NULL));
    CHECK_OK(iqdb_remove_batch(db, some, 4, &count, NULL));
    CHECK(count == 2);
    CHECK(iqdb_size(db) == 0);
    CHECK_OK(iqdb_remove_batch(db, some, 0, &count, NULL));
    CHECK(count == 0);
    CHECK(iqdb_remove_batch(db, NULL, 1, &count, NULL) == IQDB_INVALID_ARGUMENT);
    CHECK(iqdb_remove_batch(NULL, some, 1, NULL, NULL) == IQDB_INVALID_ARGUMENT);
  }
  CHECK_OK(iqdb_close(db, NULL));
}

/* Ten rows on a line, x = 0..9; rows with even x are "even". */
static iqdb_db* line_db(void) {
  iqdb_db* db = open_l2(2);
  float rows[20];
  iqdb_id ids[10];
  iqdb_field parity[10];
  iqdb_record_metadata md[10];
  size_t i;
  for (i = 0; i < 10; ++i) {
    rows[2 * i] = (float)i;
    rows[2 * i + 1] = 0.0f;
    ids[i] = int_id(100 + i);
    memset(&parity[i], 0, sizeof parity[i]);
    parity[i].name = "kind";
    parity[i].value.type = IQDB_VALUE_STRING;
    parity[i].value.str = i % 2 == 0 ? "even" : "odd";
    parity[i].value.str_len = strlen(parity[i].value.str);
    md[i].fields = &parity[i];
    md[i].n_fields = 1;
  }
  CHECK_OK(iqdb_upsert_batch(db, ids, 10, rows, 2, md, NULL));
  CHECK(iqdb_size(db) == 10);
  return db;
}

static void test_search(void) {
  iqdb_db* db = line_db();
  const float queries[4] = {0.0f, 0.0f, 9.0f, 0.0f};
  uint64_t ids[2 * 8];
  float distances[2 * 8];
  size_t counts[2];
  iqdb_search_options so;
  iqdb_search_output out;
  const char* per_query[2];
  iqdb_error* err = NULL;
  size_t j;

  iqdb_search_options_init(&so);
  iqdb_search_output_init(&out);
  out.ids = ids;
  out.distances = distances;
  out.counts = counts;

  /* Single query, nearest first. */
  so.k = 3;
  CHECK_OK(iqdb_search(db, queries, 1, 2, &so, &out, NULL));
  CHECK(counts[0] == 3);
  CHECK(ids[0] == 100 && ids[1] == 101 && ids[2] == 102);
  CHECK(distances[0] == 0.0f && distances[1] == 1.0f && distances[2] == 2.0f);

  /* A filter matching 5 rows with k = 8: three slots are marked empty. */
  so.k = 8;
  so.filter = "kind = 'even'";
  CHECK_OK(iqdb_search(db, queries, 2, 2, &so, &out, NULL));
  CHECK(counts[0] == 5 && counts[1] == 5);
  CHECK(ids[0] == 100 && ids[4] == 108);
  CHECK(ids[8] == 108 && ids[9] == 106);
  for (j = 5; j < 8; ++j) {
    CHECK(ids[j] == IQDB_EMPTY_ID && isinf(distances[j]));
    CHECK(ids[8 + j] == IQDB_EMPTY_ID && isinf(distances[8 + j]));
  }

  /* One filter per query. */
  so.filter = NULL;
  per_query[0] = "kind = 'odd'";
  per_query[1] = NULL;
  so.filters = per_query;
  so.threads = 1;
  CHECK_OK(iqdb_search(db, queries, 2, 2, &so, &out, NULL));
  CHECK(counts[0] == 5 && ids[0] == 101);
  CHECK(counts[1] == 8 && ids[8] == 109 && ids[9] == 108);

  /* Both kinds of filter at once, a malformed filter, k = 0: refused. */
  so.filter = "kind = 'odd'";
  CHECK(iqdb_search(db, queries, 2, 2, &so, &out, NULL) == IQDB_INVALID_ARGUMENT);
  so.filters = NULL;
  so.filter = "kind = ";
  CHECK(iqdb_search(db, queries, 1, 2, &so, &out, &err) == IQDB_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(iqdb_error_message(err), "column") != NULL);
  iqdb_error_free(err);
  so.filter = NULL;
  so.k = 0;
  CHECK(iqdb_search(db, queries, 1, 2, &so, &out, NULL) == IQDB_INVALID_ARGUMENT);
  /* An output without an ids buffer is refused, not written through. */
  so.k = 2;
  out.ids = NULL;
  CHECK(iqdb_search(db, queries, 1, 2, &so, &out, NULL) == IQDB_INVALID_ARGUMENT);
  CHECK_OK(iqdb_close(db, NULL));
}

static void test_byte_ids(void) {
  iqdb_db* db = open_l2(2);
  const float row[2] = {1.0f, 1.0f};
  const float origin[2] = {0.0f, 0.0f};
  iqdb_id key = key_id("doc-1");
  iqdb_id num = int_id(5);
  uint64_t ids[3];
  float distances[3];
  size_t counts[1];
  uint8_t keys[3 * IQDB_MAX_ID_BYTES];
  size_t key_lens[3];
  iqdb_search_options so;
  iqdb_search_output out;

  CHECK_OK(iqdb_upsert(db, &key, row, 2, NULL, 0, NULL));
  CHECK_OK(iqdb_upsert(db, &num, origin, 2, NULL, 0, NULL));
  iqdb_search_options_init(&so);
  so.k = 3;
  iqdb_search_output_init(&out);
  out.ids = ids;
  out.distances = distances;
  out.counts = counts;
  /* Without key buffers a byte-id hit cannot be returned. */
  CHECK(iqdb_search(db, origin, 1, 2, &so, &out, NULL) == IQDB_INVALID_ARGUMENT);
  out.key_bytes = keys;
  out.key_capacity = IQDB_MAX_ID_BYTES;
  out.key_lens = key_lens;
  CHECK_OK(iqdb_search(db, origin, 1, 2, &so, &out, NULL));
  CHECK(counts[0] == 2);
  CHECK(ids[0] == 5 && key_lens[0] == 0);
  CHECK(ids[1] == IQDB_EMPTY_ID && key_lens[1] == 5 &&
        memcmp(keys + IQDB_MAX_ID_BYTES, "doc-1", 5) == 0);
  CHECK(ids[2] == IQDB_EMPTY_ID && key_lens[2] == 0 && isinf(distances[2]));
  /* A key buffer too small for the id is refused. */
  out.key_capacity = 3;
  CHECK(iqdb_search(db, origin, 1, 2, &so, &out, NULL) == IQDB_INVALID_ARGUMENT);
  /* An empty byte id is refused. */
  key.bytes_len = 0;
  CHECK(iqdb_upsert(db, &key, row, 2, NULL, 0, NULL) == IQDB_INVALID_ARGUMENT);
  CHECK_OK(iqdb_close(db, NULL));
}

static void test_file_round_trip(const char* dir) {
  char path[4096];
  iqdb_options o;
  iqdb_info info;
  iqdb_db* db = NULL;
  iqdb_db* second = NULL;
  iqdb_error* err = NULL;
  const float row[4] = {0.5f, 0.25f, 0.125f, 1.0f};
  float out[4];
  int found = 0;
  iqdb_id id = int_id(42);

  char wal[4200];
  snprintf(path, sizeof path, "%s/capi.iqdb", dir);
  snprintf(wal, sizeof wal, "%s.wal", path);
  remove(path);
  remove(wal);
  iqdb_options_init(&o);
  o.dim = 4;
  o.metric = IQDB_METRIC_L2;
  o.index = IQDB_INDEX_HNSW;
  o.hnsw_m = 8;
  o.fsync = IQDB_FSYNC_NEVER;
  CHECK_OK(iqdb_open(path, &o, &db, NULL));
  CHECK_OK(iqdb_upsert(db, &id, row, 4, NULL, 0, NULL));
  CHECK_OK(iqdb_flush(db, NULL));
  CHECK_OK(iqdb_optimize(db, NULL));
  /* A second open of a held file is Busy. */
  CHECK(iqdb_open(path, &o, &second, &err) == IQDB_BUSY);
  CHECK(second == NULL && iqdb_error_status(err) == IQDB_BUSY);
  iqdb_error_free(err);
  CHECK_OK(iqdb_close(db, NULL));

  /* Reopened with another metric: ConfigMismatch. */
  o.metric = IQDB_METRIC_COSINE;
  CHECK(iqdb_open(path, &o, &db, NULL) == IQDB_CONFIG_MISMATCH);
  o.metric = IQDB_METRIC_L2;
  CHECK_OK(iqdb_open(path, &o, &db, NULL));
  CHECK_OK(iqdb_get(db, &id, out, 4, &found, NULL, NULL));
  CHECK(found == 1 && memcmp(out, row, sizeof row) == 0);

  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.dim == 4 && info.metric == IQDB_METRIC_L2 && info.index == IQDB_INDEX_HNSW);
  CHECK(info.storage == IQDB_STORAGE_F32 && info.size == 1);
  CHECK_OK(iqdb_close(db, NULL));
}

/* A caller built against an older, shorter iqdb_options: the fields it does
 * not know keep their defaults. */
static void test_older_struct_size(void) {
  iqdb_options o;
  iqdb_db* db = NULL;
  iqdb_info info;
  iqdb_options_init(&o);
  o.dim = 2;
  o.metric = IQDB_METRIC_L2;
  o.index = IQDB_INDEX_HNSW;
  o.storage = IQDB_STORAGE_U8; /* past the shortened size: ignored */
  o.struct_size = offsetof(iqdb_options, hnsw_m);
  CHECK_OK(iqdb_open_in_memory(&o, &db, NULL));
  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.index == IQDB_INDEX_HNSW && info.storage == IQDB_STORAGE_F32);
  CHECK_OK(iqdb_close(db, NULL));
}

/* Declared indexed fields: filters on them and on other fields answer the
   same; a NULL name is refused. */
static void test_indexed_fields(void) {
  const char* fields[1] = {"n"};
  const char* bad[1] = {NULL};
  iqdb_options o;
  iqdb_db* db = NULL;
  iqdb_error* err = NULL;
  iqdb_search_options so;
  iqdb_search_output out;
  uint64_t ids[3];
  float distances[3];
  size_t count = 0;
  const float query[2] = {0.0f, 0.0f};
  uint64_t i;
  iqdb_options_init(&o);
  o.dim = 2;
  o.metric = IQDB_METRIC_L2;
  o.indexed_fields = bad;
  o.indexed_field_count = 1;
  CHECK(iqdb_open_in_memory(&o, &db, &err) == IQDB_INVALID_ARGUMENT);
  CHECK(db == NULL);
  iqdb_error_free(err);
  o.indexed_fields = fields;
  CHECK_OK(iqdb_open_in_memory(&o, &db, NULL));
  for (i = 0; i < 20; ++i) {
    const float v[2] = {(float)i, 0.0f};
    iqdb_field f[2];
    iqdb_id id;
    memset(f, 0, sizeof f);
    id.u64 = i;
    id.bytes = NULL;
    id.bytes_len = 0;
    f[0].name = "n";
    f[0].value.type = IQDB_VALUE_INT;
    f[0].value.integer = (int64_t)i;
    f[1].name = "odd";
    f[1].value.type = IQDB_VALUE_BOOL;
    f[1].value.boolean = (int)(i % 2);
    CHECK_OK(iqdb_upsert(db, &id, v, 2, f, 2, NULL));
  }
  iqdb_search_options_init(&so);
  iqdb_search_output_init(&out);
  out.ids = ids;
  out.distances = distances;
  out.counts = &count;
  so.k = 3;
  so.filter = "n >= 15";
  CHECK_OK(iqdb_search(db, query, 1, 2, &so, &out, NULL));
  CHECK(count == 3 && ids[0] == 15 && ids[1] == 16 && ids[2] == 17);
  so.filter = "odd = true";
  CHECK_OK(iqdb_search(db, query, 1, 2, &so, &out, NULL));
  CHECK(count == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 5);
  CHECK_OK(iqdb_close(db, NULL));
}

/* write_threads caps the threads doing the index work of writes: the value
   asked for is the one in force, 0 resolves to the whole pool, and a caller
   whose struct ends before the field gets the default. Writes under a cap
   of one thread still land. */
static void test_write_threads(void) {
  iqdb_options o;
  iqdb_db* db = NULL;
  iqdb_info info;
  size_t whole_pool;
  uint64_t i;
  const float query[2] = {3.0f, 0.0f};
  iqdb_search_options so;
  iqdb_search_output out;
  uint64_t ids[1];
  float distances[1];
  size_t count = 0;

  iqdb_options_init(&o);
  CHECK(o.write_threads == 0);
  o.dim = 2;
  o.metric = IQDB_METRIC_L2;
  o.index = IQDB_INDEX_HNSW;
  CHECK_OK(iqdb_open_in_memory(&o, &db, NULL));
  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  whole_pool = info.write_threads;
  CHECK(whole_pool >= 1);
  CHECK_OK(iqdb_close(db, NULL));

  o.write_threads = 1;
  CHECK_OK(iqdb_open_in_memory(&o, &db, NULL));
  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.write_threads == 1);
  for (i = 0; i < 50; ++i) {
    const float v[2] = {(float)i, 0.0f};
    iqdb_id id = int_id(i);
    CHECK_OK(iqdb_upsert(db, &id, v, 2, NULL, 0, NULL));
  }
  CHECK_OK(iqdb_optimize(db, NULL));
  CHECK(iqdb_size(db) == 50);
  iqdb_search_options_init(&so);
  iqdb_search_output_init(&out);
  out.ids = ids;
  out.distances = distances;
  out.counts = &count;
  so.k = 1;
  CHECK_OK(iqdb_search(db, query, 1, 2, &so, &out, NULL));
  CHECK(count == 1 && ids[0] == 3);
  /* An iqdb_info that ends before write_threads is filled up to its end. */
  memset(&info, 0xAB, sizeof info);
  info.struct_size = offsetof(iqdb_info, write_threads);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.size == 50);
  {
    size_t untouched;
    memset(&untouched, 0xAB, sizeof untouched);
    CHECK(memcmp(&info.write_threads, &untouched, sizeof untouched) == 0);
  }
  CHECK_OK(iqdb_close(db, NULL));

  /* Built against an iqdb_options without the field: the default. */
  o.write_threads = 1;
  o.struct_size = offsetof(iqdb_options, write_threads);
  CHECK_OK(iqdb_open_in_memory(&o, &db, NULL));
  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.write_threads == whole_pool);
  CHECK_OK(iqdb_close(db, NULL));
}

/* load_into_memory copies a reopened database's snapshot instead of mapping
   it: the answers are the mapped handle's, info reports the choice, writes
   made on the copied handle survive a reopen, and a caller whose struct
   ends before the field maps. */
static void test_load_into_memory(const char* dir) {
  char path[4096];
  char wal[4200];
  iqdb_options o;
  iqdb_db* db = NULL;
  iqdb_info info;
  uint64_t i;
  const float query[3] = {7.2f, 0.5f, 0.0f};
  iqdb_search_options so;
  iqdb_search_output out;
  uint64_t mapped_ids[5];
  uint64_t copied_ids[5];
  float distances[5];
  size_t count = 0;

  snprintf(path, sizeof path, "%s/load.iqdb", dir);
  snprintf(wal, sizeof wal, "%s.wal", path);
  remove(path);
  remove(wal);
  iqdb_options_init(&o);
  CHECK(o.load_into_memory == 0);
  o.dim = 3;
  o.metric = IQDB_METRIC_L2;
  o.index = IQDB_INDEX_HNSW;
  o.fsync = IQDB_FSYNC_NEVER;
  CHECK_OK(iqdb_open(path, &o, &db, NULL));
  for (i = 0; i < 200; ++i) {
    const float v[3] = {(float)(i % 20), (float)(i / 20), 1.0f};
    iqdb_id id = int_id(i);
    CHECK_OK(iqdb_upsert(db, &id, v, 3, NULL, 0, NULL));
  }
  CHECK_OK(iqdb_flush(db, NULL));
  CHECK_OK(iqdb_close(db, NULL));

  iqdb_search_options_init(&so);
  so.k = 5;
  iqdb_search_output_init(&out);
  out.distances = distances;
  out.counts = &count;

  CHECK_OK(iqdb_open(path, &o, &db, NULL));
  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.load_into_memory == 0);
  out.ids = mapped_ids;
  CHECK_OK(iqdb_search(db, query, 1, 3, &so, &out, NULL));
  CHECK(count == 5);
  CHECK_OK(iqdb_close(db, NULL));

  o.load_into_memory = 1;
  CHECK_OK(iqdb_open(path, &o, &db, NULL));
  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.load_into_memory == 1);
  CHECK(info.size == 200);
  out.ids = copied_ids;
  CHECK_OK(iqdb_search(db, query, 1, 3, &so, &out, NULL));
  CHECK(count == 5 && memcmp(mapped_ids, copied_ids, sizeof mapped_ids) == 0);
  {
    const float v[3] = {100.0f, 100.0f, 1.0f};
    iqdb_id id = int_id(1000);
    CHECK_OK(iqdb_upsert(db, &id, v, 3, NULL, 0, NULL));
  }
  CHECK_OK(iqdb_close(db, NULL));

  /* Built against an iqdb_options without the field: mapped. */
  o.struct_size = offsetof(iqdb_options, load_into_memory);
  CHECK_OK(iqdb_open(path, &o, &db, NULL));
  iqdb_info_init(&info);
  CHECK_OK(iqdb_get_info(db, &info, NULL));
  CHECK(info.load_into_memory == 0);
  CHECK(info.size == 201);
  CHECK_OK(iqdb_close(db, NULL));
  remove(path);
  remove(wal);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  test_versions_and_errors();
  test_upsert_get_remove();
  test_search();
  test_byte_ids();
  test_file_round_trip(argv[1]);
  test_indexed_fields();
  test_older_struct_size();
  test_write_threads();
  test_load_into_memory(argv[1]);
  printf("capi: %d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
