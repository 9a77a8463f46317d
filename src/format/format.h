/* The Lance file layer: schemas (Lance fields and logical types), and the reader of v2.x data
 * files (footer, column metadata, pages) that decodes columns into Arrow C data arrays.
 * Depends on src/io and src/util only. */
#ifndef LSQL_FORMAT_H
#define LSQL_FORMAT_H

#include "io/io.h"
#include "util/util.h"

/* ---- schema ------------------------------------------------------------------------------- */

typedef enum lsql_type {
  LSQL_TYPE_NULL = 0,
  LSQL_TYPE_BOOL,
  LSQL_TYPE_INT8, LSQL_TYPE_UINT8, LSQL_TYPE_INT16, LSQL_TYPE_UINT16,
  LSQL_TYPE_INT32, LSQL_TYPE_UINT32, LSQL_TYPE_INT64, LSQL_TYPE_UINT64,
  LSQL_TYPE_FLOAT16, LSQL_TYPE_FLOAT32, LSQL_TYPE_FLOAT64,
  LSQL_TYPE_UTF8, LSQL_TYPE_LARGE_UTF8, LSQL_TYPE_BINARY, LSQL_TYPE_LARGE_BINARY,
  LSQL_TYPE_FIXED_SIZE_BINARY,          /* width = byte width */
  LSQL_TYPE_DATE32, LSQL_TYPE_DATE64,
  LSQL_TYPE_TIME32, LSQL_TYPE_TIME64,   /* time_unit */
  LSQL_TYPE_TIMESTAMP,                  /* time_unit, timezone (NULL = none) */
  LSQL_TYPE_DURATION,                   /* time_unit */
  LSQL_TYPE_DECIMAL128, LSQL_TYPE_DECIMAL256, /* precision, scale */
  LSQL_TYPE_FIXED_SIZE_LIST,            /* width = dimension; children[0] = item */
  LSQL_TYPE_LIST, LSQL_TYPE_LARGE_LIST, /* children[0] = item */
  LSQL_TYPE_STRUCT,                     /* children = members */
  LSQL_TYPE_MAP,                        /* children[0] = entries struct {key, value} */
  LSQL_TYPE_DICTIONARY                  /* dict_index = index type; children[0] = value field */
} lsql_type;

enum { LSQL_UNIT_S = 0, LSQL_UNIT_MS = 1, LSQL_UNIT_US = 2, LSQL_UNIT_NS = 3 };

typedef struct lsql_field lsql_field;
struct lsql_field {
  char *name;
  int32_t id;            /* Lance field id; -1 for synthesized children (FSL items, dict values) */
  int32_t parent_id;
  char *logical_type;    /* as stored, e.g. "fixed_size_list:float:128" */
  lsql_type type;
  bool nullable;
  int time_unit;
  char *timezone;
  int32_t precision, scale;
  int32_t width;
  lsql_type dict_index;
  lsql_field *children;
  size_t n_children;
  size_t n_metadata;     /* Arrow field metadata (includes lance-encoding:* keys) */
  char **meta_keys;
  char **meta_values;    /* NUL-terminated copies; values may contain NUL, see meta_value_lens */
  size_t *meta_value_lens;
  bool packed;           /* lance-encoding:packed (struct stored as one column) */
  bool blob;             /* blob column (lance-encoding:blob or blob v2) */
  lsql_field *declared;  /* blob v2 only: the field as declared (lance.blob.v2 extension struct);
                            this field itself is rewritten to the description struct scans read */
};

typedef struct lsql_schema {
  lsql_field *fields;    /* top-level fields in table order */
  size_t n_fields;
  size_t n_metadata;
  char **meta_keys;
  char **meta_values;
  size_t *meta_value_lens;
} lsql_schema;

/* A Lance `Field` message in plain C form (what the manifest and the file descriptor hold). */
typedef struct lsql_pb_field {
  const char *name;
  int32_t id, parent_id;
  const char *logical_type;
  bool nullable;
  const char *extension_name;
  size_t n_metadata;
  const char *const *meta_keys;
  const uint8_t *const *meta_values;
  const size_t *meta_value_lens;
} lsql_pb_field;

/* Rebuilds the nested schema from the flat pre-order field list (children after parents).
 * Unknown logical types, dangling parent ids and cycles are LSQL_ECORRUPT/EUNSUPPORTED errors
 * naming the field. Caller frees with lsql_schema_free. */
int lsql_schema_build(const lsql_pb_field *fields, size_t n, lsql_schema *out, lsql_error *err);
void lsql_schema_free(lsql_schema *s);
/* Parses one logical type string into f's type fields (type, unit, tz, precision, ...). */
int lsql_logical_type_parse(const char *logical_type, lsql_field *f, lsql_error *err);
/* Arrow schema of a field / of a whole schema (struct "+s" with the top-level fields), as scans
 * read them: blob columns are their descriptions (like pylance's to_table()). */
int lsql_field_to_arrow(const lsql_field *f, struct ArrowSchema *out, lsql_error *err);
int lsql_schema_to_arrow(const lsql_schema *s, struct ArrowSchema *out, lsql_error *err);
/* The declared schema (pylance's Dataset.schema): legacy blobs as large_binary with the
 * lance-encoding:blob marker, blob v2 as the lance.blob.v2 extension struct. */
int lsql_schema_to_arrow_declared(const lsql_schema *s, struct ArrowSchema *out, lsql_error *err);
int lsql_field_to_arrow_declared(const lsql_field *f, struct ArrowSchema *out, lsql_error *err);
/* Top-level field by name, or NULL. */
const lsql_field *lsql_schema_find(const lsql_schema *s, const char *name);
/* Field anywhere in the tree by Lance id, or NULL. */
const lsql_field *lsql_schema_find_id(const lsql_schema *s, int32_t id);
/* Largest field id in the schema (for sizing id-indexed arrays); -1 when empty. */
int32_t lsql_schema_max_id(const lsql_schema *s);

/* ---- data files --------------------------------------------------------------------------- */

typedef struct lsql_file lsql_file;

/* Opens a v2.x data file: reads the footer, the column metadata and the file schema (global
 * buffer 0). size_hint > 0 saves a size lookup. Legacy 0.1/0.2 files are LSQL_EUNSUPPORTED
 * ("unsupported legacy format"). Errors name the path. Caller frees with lsql_file_close.
 * A file may be read by several field readers at once (from different threads). */
int lsql_file_open(lsql_store *st, const char *path, uint64_t size_hint, lsql_file **out,
                   lsql_error *err);
void lsql_file_close(lsql_file *f);
const char *lsql_file_path(const lsql_file *f);
/* Format version: 2.0 is reported as (2,0) whatever the footer says ((0,3) or (2,0)). */
void lsql_file_version(const lsql_file *f, int *major, int *minor);
uint64_t lsql_file_num_rows(const lsql_file *f);
uint32_t lsql_file_num_columns(const lsql_file *f);
/* The schema stored in the file itself. Borrowed; valid until lsql_file_close. */
const lsql_schema *lsql_file_schema(const lsql_file *f);

/* Where each field's column lives: col_by_field_id[id] = column index in the file, or -1.
 * For a dataset this comes from DataFile.fields/column_indices; for a standalone file,
 * lsql_file_default_column_map derives it from the file schema (pre-order: every field in 2.0,
 * leaves / packed structs / blobs in 2.1+). */
typedef struct lsql_column_map {
  const int32_t *col_by_field_id;
  size_t n;
} lsql_column_map;
/* Caller frees out->col_by_field_id with lsql_free. */
int lsql_file_default_column_map(const lsql_file *f, lsql_column_map *out, lsql_error *err);

/* Which rows to read: a range [start, start+count), or when `rows` is non-NULL, `count` strictly
 * increasing row offsets. */
typedef struct lsql_row_selection {
  uint64_t start;
  uint64_t count;
  const uint64_t *rows;
} lsql_row_selection;

/* A stateful reader of one top-level field of one file. It caches decoded pages, so reading
 * consecutive selections in increasing row order decodes each page once. Not thread-safe: use one
 * reader per thread; readers of different fields decode in parallel. */
typedef struct lsql_field_reader lsql_field_reader;

/* `field` must come from a schema that outlives the reader (the table schema or the file schema);
 * its type decides the Arrow output type. Fields whose columns are all absent from the map are an
 * error (the table layer null-fills those itself). */
int lsql_field_reader_new(lsql_file *f, const lsql_field *field, const lsql_column_map *map,
                          lsql_field_reader **out, lsql_error *err);
void lsql_field_reader_free(lsql_field_reader *r);

/* Reusable buffers (decoded-page and read buffers) of a freed reader, for the reader of the same
 * field in the next file: a scan then reuses memory across fragments instead of faulting in fresh
 * pages for every one. Holds no memory an ArrowArray references. */
typedef struct lsql_reader_spares lsql_reader_spares;
/* Frees r; its reusable buffers replace *spares (left alone when r is NULL). */
void lsql_field_reader_free_keep(lsql_field_reader *r, lsql_reader_spares **spares);
/* Hands the buffers of *spares to r (a new reader of the same field); *spares becomes NULL. */
void lsql_field_reader_adopt(lsql_field_reader *r, lsql_reader_spares **spares);
void lsql_reader_spares_free(lsql_reader_spares *sp);
/* Bytes of heap buffers sp holds now (NULL => 0); its output pools may grow later, when batches
 * still alive give their buffers back. */
size_t lsql_reader_spares_bytes(const lsql_reader_spares *sp);
/* Internal to the SQL bridge: when `on`, batches of a top-level utf8/binary field whose pages are
 * all dictionary-encoded come out as Arrow dictionary arrays (int32 indices, the field's type as
 * the dictionary's) instead of gathered values, unless the dictionary is large for the batch. That
 * breaks the declared (plain) schema, so only consumers that expect it turn it on. No effect on
 * other fields or on 2.0 files. */
void lsql_field_reader_set_dict_batches(lsql_field_reader *r, bool on);
/* Decodes the selected rows into *out (caller releases). Errors carry the file path, the column
 * index and the page number. */
int lsql_field_reader_read(lsql_field_reader *r, const lsql_row_selection *sel,
                           struct ArrowArray *out, lsql_error *err);

/* Appends a JSON description of the file to `out`: version, rows, and per column its pages with
 * row counts, page layout and the compression tree ("miniblock(general(lz4, inline_bitpacking))").
 * Used by lsql_dataset_inspect and the encoding coverage test. */
int lsql_file_describe_json(lsql_file *f, lsql_buf *out, lsql_error *err);

#endif
