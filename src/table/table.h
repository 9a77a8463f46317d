/* The Lance table layer: versions (manifest naming, tags, branches), manifests, deletion files,
 * row-id sequences, datasets and scans. Depends on src/format, src/io and src/util.
 * The parsers take byte buffers so they can be unit-tested and fuzzed without files. */
#ifndef LSQL_TABLE_H
#define LSQL_TABLE_H

#include <pthread.h>

#include "format/format.h"
#include "io/io.h"
#include "table.pb-c.h"
#include "util/util.h"

/* ---- manifest naming (_versions/) --------------------------------------------------------- */

enum { LSQL_MANIFEST_V1 = 1, LSQL_MANIFEST_V2 = 2 };

/* Parses one entry name of _versions/. Returns true for a committed manifest and sets *version
 * and *scheme; false for detached (d*), staging (*.manifest-uuid), _latest.manifest, hints. */
bool lsql_table_parse_manifest_name(const char *name, uint64_t *version, int *scheme);
/* Writes the file name of `version` under `scheme` into buf (>= 32 bytes). */
void lsql_table_manifest_name(uint64_t version, int scheme, char *buf, size_t cap);

/* ---- manifest ----------------------------------------------------------------------------- */

/* Feature flags this reader implements (Lance reader_feature_flags). */
#define LSQL_TABLE_FLAG_DELETION_FILES 1u
#define LSQL_TABLE_FLAG_STABLE_ROW_IDS 2u
#define LSQL_TABLE_FLAG_BASE_PATHS 16u
#define LSQL_TABLE_FLAG_MIXED_FILE_VERSIONS 256u
#define LSQL_TABLE_SUPPORTED_FLAGS (1u | 2u | 4u | 8u | 16u | 32u | 256u)

/* Parses a whole manifest file (footer, length-prefixed protobuf) and checks the feature flags.
 * Caller frees *out with lsql_table_manifest_free. */
int lsql_table_manifest_parse(const uint8_t *data, size_t len, Lance__Table__Manifest **out,
                              lsql_error *err);
void lsql_table_manifest_free(Lance__Table__Manifest *m);
/* LSQL_EUNSUPPORTED naming the unknown bits when `flags` has bits outside the supported set. */
int lsql_table_check_feature_flags(uint64_t flags, lsql_error *err);
/* The protobuf-c allocator that routes through lsql_malloc. */
extern ProtobufCAllocator lsql_table_pb_allocator;

/* ---- deletions ---------------------------------------------------------------------------- */

/* Decode a deletion file into `deleted` (a zeroed bitmap of n_rows bits, bit set = deleted) and
 * count the distinct deleted offsets into *n_deleted. Offsets >= n_rows are LSQL_ECORRUPT. */
int lsql_table_deletion_parse_arrow(const uint8_t *data, size_t len, uint64_t n_rows,
                                    uint8_t *deleted, uint64_t *n_deleted, lsql_error *err);
int lsql_table_deletion_parse_roaring(const uint8_t *data, size_t len, uint64_t n_rows,
                                      uint8_t *deleted, uint64_t *n_deleted, lsql_error *err);

/* ---- row ids ------------------------------------------------------------------------------ */

/* Decodes a serialized RowIdSequence that must hold exactly n_rows ids into out[n_rows]. */
int lsql_table_rowids_decode(const uint8_t *data, size_t len, uint64_t n_rows, uint64_t *out,
                             lsql_error *err);

/* ---- datasets ----------------------------------------------------------------------------- */

/* Reader buffers kept between scans of one dataset handle (see lsql_table_spares_take). */
#define LSQL_DATASET_SPARES_MAX_BYTES ((size_t)256 << 20)
#define LSQL_DATASET_SPARES_MAX_ENTRIES 64

typedef struct lsql_spares_entry {
  int32_t field_id;
  size_t bytes;                 /* lsql_reader_spares_bytes when cached */
  lsql_reader_spares *sp;
} lsql_spares_entry;

/* Data files kept open between scans of one dataset handle (see lsql_table_file_take): parsed
 * footers and column metadata, plus one descriptor (or S3 handle) each. */
#define LSQL_DATASET_FILES_MAX 16

typedef struct lsql_file_entry {
  char *path;
  lsql_file *f;
} lsql_file_entry;

/* An open dataset version. Besides the manifest and schema it caches the reusable buffers of
 * finished scans' column readers (decoded-page spares, read-buffer pools, output buffer pools),
 * so the next scan of the same handle (every SQL query, every repetition) reuses warm memory
 * instead of faulting in fresh pages. The trade-off: an idle handle keeps up to spares_max_bytes
 * (256 MiB by default) of heap alive until lsql_dataset_free; output pools may grow past their
 * counted size when batches that outlived their scan are released. */
struct lsql_dataset {
  int refcount;                 /* atomic */
  char *uri;                    /* as given */
  char *root;                   /* normalized dataset root (main branch) */
  char *dir;                    /* directory the manifest was read from (branch dir for branches) */
  char *branch;                 /* NULL = main */
  lsql_store *store;
  uint64_t version;
  Lance__Table__Manifest *manifest;
  lsql_schema schema;
  bool has_schema;
  int32_t max_field_id;
  /* spares cache, guarded by spares_mu; oldest first, taking removes the entry */
  pthread_mutex_t spares_mu;
  bool spares_init;
  lsql_spares_entry *spares;    /* LSQL_DATASET_SPARES_MAX_ENTRIES slots */
  size_t n_spares, spares_bytes, spares_max_bytes;
  /* open data files, also guarded by spares_mu; oldest first, taking removes the entry. A handle
   * is one immutable version, so a cached file never goes stale. */
  lsql_file_entry *files;       /* LSQL_DATASET_FILES_MAX slots */
  size_t n_files;
};

/* Takes (removes) cached reader buffers of field `field_id` for a new reader; NULL when none.
 * Thread-safe: concurrent scans never get the same buffers. */
lsql_reader_spares *lsql_table_spares_take(lsql_dataset *ds, int32_t field_id);
/* Gives sp (NULL-safe, consumed) back to ds's cache, evicting the oldest entries to stay within
 * spares_max_bytes; freed when it does not fit. Thread-safe. */
void lsql_table_spares_give(lsql_dataset *ds, int32_t field_id, lsql_reader_spares *sp);
/* Takes (removes) the cached open data file at `path`; NULL when none. Thread-safe: each scan
 * that takes a file has it to itself until it gives it back. */
lsql_file *lsql_table_file_take(lsql_dataset *ds, const char *path);
/* Gives f (NULL-safe, consumed) back: cached under its path (lsql_file_path), evicting and
 * closing the oldest beyond LSQL_DATASET_FILES_MAX, or closed when already cached. Thread-safe. */
void lsql_table_file_give(lsql_dataset *ds, lsql_file *f);
/* Entries and counted bytes of the cache (tests). */
void lsql_table_spares_stats(lsql_dataset *ds, size_t *n_entries, size_t *bytes);

/* lsql_dataset_scan with internal flags (lsql_dataset_scan passes 0).
 * LSQL_TABLE_SCAN_DICT_BATCHES: a utf8/binary column's batch whose pages are all dictionary-encoded
 * may come as an Arrow dictionary array (int32 indices, the column's type as the dictionary's)
 * although the stream schema declares the plain type (lsql_field_reader_set_dict_batches); only
 * for consumers that expect that (the SQL bridge). */
#define LSQL_TABLE_SCAN_DICT_BATCHES 1u
int lsql_table_scan(lsql_dataset *ds, const lsql_scan_options *opts, unsigned flags,
                    struct ArrowArrayStream *out, lsql_error *err);

/* Arrow schema of a full scan's stream (what lsql_dataset_scan returns without virtual columns):
 * blob columns are their descriptions, while lsql_dataset_schema gives the declared types. */
int lsql_table_scan_schema(lsql_dataset *ds, struct ArrowSchema *out, lsql_error *err);

/* Opens a dataset with an existing store (the namespace layer passes the store it built from
 * storage options). The dataset takes its own store reference. */
int lsql_table_open(lsql_store *st, const char *uri, const lsql_open_options *opts,
                    lsql_dataset **out, lsql_error *err);
lsql_dataset *lsql_table_ref(lsql_dataset *ds);
/* Same as lsql_dataset_free. */
void lsql_table_unref(lsql_dataset *ds);

/* Full paths (caller frees) of a data file / deletion file of the dataset's manifest. */
int lsql_table_data_file_path(const lsql_dataset *ds, const Lance__Table__DataFile *df, char **out,
                              lsql_error *err);
int lsql_table_deletion_file_path(const lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                                  char **out, lsql_error *err);
/* Physical rows of a fragment (from the manifest, or from its first data file when unknown). */
int lsql_table_fragment_rows(lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                             uint64_t *out, lsql_error *err);
/* Loads the deleted-offset bitmap of a fragment (n_rows bits; *bits NULL when no deletion file).
 * Caller frees *bits with lsql_free. */
int lsql_table_fragment_deletions(lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                                  uint64_t n_rows, uint8_t **bits, uint64_t *n_deleted,
                                  lsql_error *err);
/* Loads the row ids (stable row ids) of a fragment; *ids NULL when the fragment has none. */
int lsql_table_fragment_rowids(lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                               uint64_t n_rows, uint64_t **ids, lsql_error *err);

/* Builds an all-null array of `field`'s type with n rows (schema evolution null-fill). */
int lsql_table_null_array(const lsql_field *field, int64_t n, struct ArrowArray *out,
                          lsql_error *err);

#endif
