/* iqdb.h: the C ABI of iqdb, for C programs and for other languages' FFI.
 *
 * The header is C99 and the symbols live in libiqdb itself. Conventions:
 *
 *  - Handles are opaque (iqdb_db, iqdb_error, iqdb_metadata); the library
 *    allocates them and the matching *_free / iqdb_close releases them.
 *  - Every call that can fail returns an iqdb_status. Its last parameter,
 *    `err`, may be NULL; otherwise the call stores NULL there on success
 *    and a new error object on failure, which the caller frees with
 *    iqdb_error_free (the previous value is overwritten, not freed).
 *  - Options structs start with `struct_size`: set it with the matching
 *    *_init function (or to sizeof the struct). A library newer than the
 *    caller's header reads only the fields the caller knows; the rest keep
 *    their defaults. Knobs left at 0 mean "let iqdb choose".
 *  - Output buffers belong to the caller. Slots a search could not fill
 *    (fewer matching records than k) hold IQDB_EMPTY_ID and +INFINITY;
 *    counts[i] says how many slots of row i are filled.
 *  - No C++ exception crosses this boundary; out of memory is
 *    IQDB_RESOURCE_EXHAUSTED.
 *
 * Thread-safety: an iqdb_db may be used from many threads at once, except
 * that iqdb_close must not race with other calls on the same handle (as
 * with free()). Error and metadata objects belong to one thread at a time.
 */
#ifndef IQDB_IQDB_H_
#define IQDB_IQDB_H_

#include <stddef.h>
#include <stdint.h>

#include "iqdb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a signature or a struct's existing layout changes. Structs
 * growing at the end do not change it. */
#define IQDB_ABI_VERSION 1u

/* The ABI version of the linked library; compare with IQDB_ABI_VERSION. */
IQDB_EXPORT uint32_t iqdb_abi_version(void);
/* "MAJOR.MINOR.PATCH" of the linked library. */
IQDB_EXPORT const char* iqdb_version(void);

/* Mirrors iqdb::StatusCode, value for value. */
typedef enum iqdb_status {
  IQDB_OK = 0,
  IQDB_INVALID_ARGUMENT = 1,
  IQDB_NOT_FOUND = 2,
  IQDB_CORRUPTION = 3,
  IQDB_IO_ERROR = 4,
  IQDB_CONFIG_MISMATCH = 5,
  IQDB_BUSY = 6,
  IQDB_UNSUPPORTED = 7,
  IQDB_RESOURCE_EXHAUSTED = 8,
  IQDB_CLOSED = 9
} iqdb_status;

/* "OK", "InvalidArgument", ...; "Unknown" for values outside the enum. */
IQDB_EXPORT const char* iqdb_status_name(iqdb_status status);

typedef struct iqdb_error iqdb_error;
/* IQDB_OK for NULL. */
IQDB_EXPORT iqdb_status iqdb_error_status(const iqdb_error* err);
/* The message, valid until iqdb_error_free; "" for NULL. */
IQDB_EXPORT const char* iqdb_error_message(const iqdb_error* err);
/* NULL is accepted. */
IQDB_EXPORT void iqdb_error_free(iqdb_error* err);

typedef enum iqdb_metric {
  IQDB_METRIC_COSINE = 0,
  IQDB_METRIC_DOT = 1,
  IQDB_METRIC_L2 = 2,
  IQDB_METRIC_L1 = 3,
  IQDB_METRIC_HAMMING = 4
} iqdb_metric;

typedef enum iqdb_index_kind {
  IQDB_INDEX_FLAT = 0,
  IQDB_INDEX_HNSW = 1,
  IQDB_INDEX_IVF = 2
} iqdb_index_kind;

typedef enum iqdb_storage_type {
  IQDB_STORAGE_F32 = 0,
  IQDB_STORAGE_F16 = 1,
  IQDB_STORAGE_BF16 = 2,
  IQDB_STORAGE_SQ8 = 3,
  IQDB_STORAGE_U8 = 4
} iqdb_storage_type;

typedef enum iqdb_ivf_pq {
  IQDB_IVF_PQ_NONE = 0,
  IQDB_IVF_PQ_8BIT = 1,
  IQDB_IVF_PQ_4BIT = 2
} iqdb_ivf_pq;

typedef enum iqdb_fsync {
  IQDB_FSYNC_ALWAYS = 0,
  IQDB_FSYNC_PERIODIC = 1,
  IQDB_FSYNC_NEVER = 2
} iqdb_fsync;

/* How to create (or reopen) a database. */
typedef struct iqdb_options {
  size_t struct_size;
  size_t dim;
  iqdb_metric metric;
  iqdb_index_kind index;
  size_t hnsw_m;
  size_t hnsw_ef_construction;
  size_t hnsw_ef_search;
  size_t ivf_n_clusters;
  size_t ivf_n_probes;
  iqdb_ivf_pq ivf_pq;
  size_t ivf_pq_subvectors;
  iqdb_storage_type storage;
  int keep_f32; /* lossy storage types: keep the f32 rows as well */
  iqdb_fsync fsync;
  uint32_t fsync_interval_ms; /* IQDB_FSYNC_PERIODIC only */
  /* Metadata fields the payload index holds (Config::indexed_fields):
     indexed_field_count NUL-terminated names; 0 (the default): every field
     with at most 4,096 distinct values. */
  const char* const* indexed_fields;
  size_t indexed_field_count;
  /* At most this many threads do the index work of writes and of
     iqdb_optimize at once (Config::write_threads); 0 (the default): every
     hardware thread. A service that searches while it writes sets one
     fewer than its hardware threads, so searches keep a core. Not stored
     in the file. */
  size_t write_threads;
  /* Nonzero: copy the snapshot's sections into the handle's own memory at
     open instead of mapping the file (Config::load_into_memory): faster
     searches on a reopened database, a slower open, and pages no longer
     shared with other processes' read-only handles. 0 (the default): map.
     Not stored in the file. */
  int load_into_memory;
} iqdb_options;

/* Defaults: flat index, f32 rows, cosine, fsync always, dim 0 (must be set). */
IQDB_EXPORT void iqdb_options_init(iqdb_options* options);

typedef struct iqdb_db iqdb_db;

/* Opens the database at `path`, creating it when absent. kBusy when another
 * process has it open; reopening with another dim or metric is
 * IQDB_CONFIG_MISMATCH. On success *db is a new handle. */
IQDB_EXPORT iqdb_status iqdb_open(const char* path, const iqdb_options* options, iqdb_db** db,
                                  iqdb_error** err);
/* A database that lives as long as its handle. */
IQDB_EXPORT iqdb_status iqdb_open_in_memory(const iqdb_options* options, iqdb_db** db,
                                            iqdb_error** err);
/* Flushes and releases the handle, which is freed even when the flush
 * fails. NULL is accepted. */
IQDB_EXPORT iqdb_status iqdb_close(iqdb_db* db, iqdb_error** err);

/* A record id: an unsigned 64-bit integer when `bytes` is NULL, otherwise a
 * byte string of 1..IQDB_MAX_ID_BYTES bytes. The two kinds never equal each
 * other. */
#define IQDB_MAX_ID_BYTES 1024u
typedef struct iqdb_id {
  uint64_t u64;
  const void* bytes;
  size_t bytes_len;
} iqdb_id;

/* Metadata: a list of fields, each a name and a scalar value. */
typedef enum iqdb_value_type {
  IQDB_VALUE_NULL = 0,
  IQDB_VALUE_BOOL = 1,
  IQDB_VALUE_INT = 2,
  IQDB_VALUE_DOUBLE = 3,
  IQDB_VALUE_STRING = 4
} iqdb_value_type;

typedef struct iqdb_value {
  iqdb_value_type type;
  int boolean;     /* IQDB_VALUE_BOOL */
  int64_t integer; /* IQDB_VALUE_INT */
  double real;     /* IQDB_VALUE_DOUBLE */
  const char* str; /* IQDB_VALUE_STRING: str_len bytes (need not end in NUL) */
  size_t str_len;
} iqdb_value;

typedef struct iqdb_field {
  const char* name; /* NUL-terminated */
  iqdb_value value;
} iqdb_field;

/* Inserts or replaces one record. `vector` holds `dim` floats, which must
 * equal the database's dimension; `fields` (n_fields entries) may be NULL
 * for a record without metadata. */
IQDB_EXPORT iqdb_status iqdb_upsert(iqdb_db* db, const iqdb_id* id, const float* vector, size_t dim,
                                    const iqdb_field* fields, size_t n_fields, iqdb_error** err);

/* One record's metadata in a batch: fields == NULL means none. */
typedef struct iqdb_record_metadata {
  const iqdb_field* fields;
  size_t n_fields;
} iqdb_record_metadata;

/* Upserts n records at once; `rows` is row-major n x dim. `metadata` is
 * NULL or has n entries. Either every record is written or none is. */
IQDB_EXPORT iqdb_status iqdb_upsert_batch(iqdb_db* db, const iqdb_id* ids, size_t n,
                                          const float* rows, size_t dim,
                                          const iqdb_record_metadata* metadata, iqdb_error** err);

/* Metadata read back from the database, owned by the library. */
typedef struct iqdb_metadata iqdb_metadata;
IQDB_EXPORT size_t iqdb_metadata_size(const iqdb_metadata* md);
/* Field i in name order; *name and value->str stay valid until
 * iqdb_metadata_free. IQDB_INVALID_ARGUMENT when i is out of range. */
IQDB_EXPORT iqdb_status iqdb_metadata_field(const iqdb_metadata* md, size_t i, const char** name,
                                            iqdb_value* value);
/* NULL is accepted. */
IQDB_EXPORT void iqdb_metadata_free(iqdb_metadata* md);

/* Reads a record: *found is 1 and `vector` (dim floats, the database's
 * dimension) holds exactly the floats written, or *found is 0 and nothing
 * is written. When `metadata` is not NULL it receives the record's
 * metadata (NULL when it has none). */
IQDB_EXPORT iqdb_status iqdb_get(const iqdb_db* db, const iqdb_id* id, float* vector, size_t dim,
                                 int* found, iqdb_metadata** metadata, iqdb_error** err);

/* *removed (may be NULL) is 1 when the record was present. */
IQDB_EXPORT iqdb_status iqdb_remove(iqdb_db* db, const iqdb_id* id, int* removed, iqdb_error** err);

/* Removes n records in one write: all of them become absent together, also
 * after a crash, and an HNSW index takes the whole set out at once (about
 * the cost of one iqdb_remove). Absent and repeated ids are skipped;
 * *removed (may be NULL) is how many records were present. */
IQDB_EXPORT iqdb_status iqdb_remove_batch(iqdb_db* db, const iqdb_id* ids, size_t n,
                                          size_t* removed, iqdb_error** err);

/* Search knobs. */
typedef struct iqdb_search_options {
  size_t struct_size;
  size_t k;                   /* required: results per query */
  const char* filter;         /* filter text for every query, or NULL */
  const char* const* filters; /* or one filter text per query (NULL entries: none) */
  size_t ef;                  /* HNSW beam width */
  size_t n_probes;            /* IVF lists to scan */
  size_t threads;             /* batches: at most this many threads */
} iqdb_search_options;

IQDB_EXPORT void iqdb_search_options_init(iqdb_search_options* options);

/* Marks a slot that holds no hit, and (with key buffers) a hit whose id is
 * a byte string. */
#define IQDB_EMPTY_ID UINT64_MAX

/* Caller-owned result buffers for n queries of k results. Slot j of query i
 * is at i * k + j. */
typedef struct iqdb_search_output {
  size_t struct_size;
  uint64_t* ids;    /* n * k; required */
  float* distances; /* n * k, or NULL */
  size_t* counts;   /* n, or NULL */
  /* Byte ids: when key_bytes is set, a hit with a byte id stores its bytes
   * at key_bytes + slot * key_capacity and its length in key_lens[slot]
   * (0 for integer ids and empty slots), and ids[slot] is IQDB_EMPTY_ID.
   * Without key buffers a byte-id hit fails the call with
   * IQDB_INVALID_ARGUMENT. IQDB_MAX_ID_BYTES always suffices. */
  uint8_t* key_bytes;
  size_t key_capacity;
  size_t* key_lens;
} iqdb_search_output;

IQDB_EXPORT void iqdb_search_output_init(iqdb_search_output* output);

/* The k nearest records for each of n queries (row-major n x dim), nearest
 * first. n = 1 is a single search; larger n runs in parallel. */
IQDB_EXPORT iqdb_status iqdb_search(const iqdb_db* db, const float* queries, size_t n, size_t dim,
                                    const iqdb_search_options* options,
                                    const iqdb_search_output* output, iqdb_error** err);

/* What a database is and holds. */
typedef struct iqdb_info {
  size_t struct_size;
  size_t dim;
  iqdb_metric metric;
  iqdb_index_kind index;
  iqdb_storage_type storage;
  int keep_f32;
  size_t size;          /* records */
  size_t write_threads; /* the write_threads in force (0 resolved); 0 once closed */
  int load_into_memory; /* nonzero: the snapshot was copied at open, not mapped */
} iqdb_info;

IQDB_EXPORT void iqdb_info_init(iqdb_info* info);
IQDB_EXPORT iqdb_status iqdb_get_info(const iqdb_db* db, iqdb_info* info, iqdb_error** err);

/* Number of records; 0 for NULL or a closed handle. */
IQDB_EXPORT size_t iqdb_size(const iqdb_db* db);
/* Folds the write-ahead log into a fresh snapshot (no-op in memory). */
IQDB_EXPORT iqdb_status iqdb_flush(iqdb_db* db, iqdb_error** err);
/* Rebuilds or retrains the approximate index over the current records. */
IQDB_EXPORT iqdb_status iqdb_optimize(iqdb_db* db, iqdb_error** err);

#ifdef __cplusplus
}
#endif

#endif /* IQDB_IQDB_H_ */
