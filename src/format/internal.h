/* Internal types shared by the data-file reader's files (not part of the format.h contract). */
#ifndef LSQL_FORMAT_INTERNAL_H
#define LSQL_FORMAT_INTERNAL_H

#include "encodings_v2_0.pb-c.h"
#include "encodings_v2_1.pb-c.h"
#include "file.pb-c.h"
#include "file2.pb-c.h"
#include "format/format.h"
#include "format/encoding/kernels.h"
#include "util/bufpool.h"

typedef struct lsql_page {
  uint64_t n_rows;                 /* Page.length */
  size_t n_buffers;
  const uint64_t *buf_off, *buf_size;
  Lance__Encodings21__PageLayout *layout;   /* 2.1+ */
  Lance__Encodings__ArrayEncoding *array;   /* 2.0 */
} lsql_page;

typedef struct lsql_column {
  size_t n_pages;
  lsql_page *pages;
  uint64_t n_rows;                 /* sum of page lengths */
  bool blob20;                     /* 2.0 ColumnEncoding.blob */
} lsql_column;

struct lsql_file {
  char *path;
  lsql_rfile *rf;
  uint64_t size;
  int major, minor;
  uint64_t num_rows;
  uint32_t n_cols;
  lsql_column *cols;
  Lance__File__V2__ColumnMetadata **cm;
  lsql_schema schema;
};

/* Decoded values of one page (or an accumulation of page slices). */
typedef struct lsql_vals {
  uint32_t bits;        /* fixed width in bits (1 = bitmap); 0 when `var` */
  bool var;             /* variable width: offs holds n+1 u64 offsets into data */
  uint64_t n;
  lsql_buf data;
  lsql_buf offs;
  lsql_buf ivalid;      /* FSL item validity bitmap (n * dim bits), empty when absent */
  uint32_t dim;         /* FSL items per value (for ivalid) */
  lsql_buf valid;       /* dictionaries only: value validity bitmap, empty when all valid */
  lsql_bufpool *pool;   /* borrowed: Arrow arrays built from these vals take their buffers from
                         * and give them back to this pool (NULL: plain heap) */
} lsql_vals;

void lsql_vals_free(lsql_vals *v);
/* Appends values [a, b) of src to dst (same shape). */
int lsql_vals_append(lsql_vals *dst, const lsql_vals *src, uint64_t a, uint64_t b, lsql_error *err);
/* Appends n values of `bits` width (fixed) or copies bytes; helpers for decoders. */
int lsql_vals_append_fixed(lsql_vals *dst, const uint8_t *src, uint64_t n, lsql_error *err);
/* Appends n copies of one fixed-width value of w bytes (constant encodings) and sets dst->bits. */
int lsql_vals_append_constant(lsql_vals *dst, const uint8_t *value, size_t w, uint64_t n, lsql_error *err);
/* Appends n strings given u32/u64 offsets (n+1, any base) and their bytes. */
int lsql_vals_append_var(lsql_vals *dst, unsigned off_bits, const uint8_t *offs, const uint8_t *bytes,
                         size_t bytes_len, uint64_t n, lsql_error *err);
/* Gathers dict[idx[i]] for n u32 indices into dst (same shape as dict); checks the indices. */
int lsql_vals_gather(lsql_vals *dst, const lsql_vals *dict, const uint32_t *idx, uint64_t n, lsql_error *err);
/* Same, for indices the caller already checked (every idx[i] < dict->n, or dict is empty and fixed-width). */
int lsql_vals_gather_checked(lsql_vals *dst, const lsql_vals *dict, const uint32_t *idx, uint64_t n, lsql_error *err);

enum { LSQL_DPAGE_SP_DATA, LSQL_DPAGE_SP_OFFS, LSQL_DPAGE_SP_IDX, LSQL_DPAGE_SP_IX, LSQL_DPAGE_SP_REP,
       LSQL_DPAGE_SP_DEF, LSQL_DPAGE_SP_ROWL, LSQL_DPAGE_SP_ROWV, LSQL_DPAGE_SPARE_N };

/* A decoded 2.1+ page: levels (one per item) and the visible values. */
typedef struct lsql_dpage {
  uint64_t n_rows;
  uint64_t n_levels;
  uint16_t *rep, *def;      /* NULL when absent (all zero) */
  uint64_t *row_level;      /* n_rows+1 level index of each row start; NULL when no rep */
  uint64_t *row_vis;        /* n_rows+1 visible values before each row; NULL when all visible & no rep */
  lsql_vals vals;
  lsql_vals dict;           /* dictionary values when has_dict or gather_dict (vals = u32 indices) */
  bool has_dict;            /* the output type is a dictionary: indices + dictionary are kept */
  bool gather_dict;         /* vals are checked u32 indices into dict; the reader gathers each batch's
                             * rows straight into its accumulator (one copy, not page then batch) */
  int n_layers;
  int layers[16];           /* RepDefLayer, inner -> outer */
  size_t rep_cap, def_cap;  /* allocation sizes of rep/def when recyclable (0: not) */
  size_t row_level_cap, row_vis_cap;  /* allocation sizes of row_level/row_vis */
  /* Empty buffers (len 0, capacity kept) from the previous page of the same column: decoding
   * the next page into them avoids faulting fresh memory for every page. */
  lsql_buf spare[LSQL_DPAGE_SPARE_N];
} lsql_dpage;

void lsql_dpage_free(lsql_dpage *p);
/* Frees the page's contents but keeps its large buffers as spares for the next decode into p. */
void lsql_dpage_recycle(lsql_dpage *p);

/* What the leaf's values should look like after decode. */
typedef struct lsql_leaf_shape {
  const lsql_field *field;  /* the leaf (or packed struct / blob / FSL) field */
  bool keep_dict;           /* output type is a dictionary: keep indices + dictionary */
} lsql_leaf_shape;

/* Reads all buffers of a page with one coalesced request. bufs[i] are lsql_malloc'ed. */
int lsql_page_read_buffers(lsql_file *f, const lsql_page *pg, uint8_t ***bufs, lsql_error *err);
void lsql_page_free_buffers(const lsql_page *pg, uint8_t **bufs);

/* Raw buffers of the upcoming pages of one column, read together so that an object store makes
 * one (coalescable) request for many small pages instead of one per page. Zero-initialise. */
#define LSQL_PREFETCH_POOL 8
typedef struct lsql_prefetch {
  size_t first, n;      /* pages [first, first + n) were read */
  uint8_t ***bufs;      /* bufs[i]: buffers of page first + i; NULL once handed out */
  uint64_t window;      /* read-ahead bytes (beyond the needed pages) of the last refill */
  size_t next;          /* the page after the last one handed out */
  /* Buffers of pages already decoded (given back), reused for the next reads of the column so
   * that every page does not fault in fresh memory. */
  uint8_t *pool[LSQL_PREFETCH_POOL];
  size_t pool_cap[LSQL_PREFETCH_POOL];
} lsql_prefetch;
/* Hands out the buffers of page p of column col (the caller frees them with
 * lsql_page_free_buffers). When p is not held, one lsql_rfile_read_ranges call reads pages
 * p..need (all wanted by the current request) plus read-ahead pages; the read-ahead grows while
 * pages are taken in order and is bounded, so random access reads little extra. */
int lsql_prefetch_take(lsql_file *f, uint32_t col, size_t p, size_t need, lsql_prefetch *pf,
                       uint8_t ***bufs, lsql_error *err);
void lsql_prefetch_free(lsql_file *f, uint32_t col, lsql_prefetch *pf);
/* Gives back the buffers of page p (from lsql_prefetch_take) for reuse; frees what is not kept. */
void lsql_prefetch_give(lsql_file *f, uint32_t col, size_t p, lsql_prefetch *pf, uint8_t **bufs);

/* 2.1+ page decode (whole page) from the page's buffers (borrowed; decoders may take one over
 * and leave NULL in its slot). `out` is reset except for its spare buffers (zero it, or pass a
 * page given to lsql_dpage_recycle). Nothing in a dpage is ever handed to an ArrowArray. */
int lsql_decode_page21(lsql_file *f, const lsql_page *pg, const lsql_leaf_shape *shape, uint8_t **bufs,
                       lsql_dpage *out, lsql_error *err);

/* Compressive encoding interpreters (compressive.c). */
typedef Lance__Encodings21__CompressiveEncoding lsql_cenc;
int lsql_cenc_miniblock(const lsql_cenc *e, uint8_t *const *bufs, const size_t *lens, size_t nbufs,
                        uint64_t n, lsql_vals *out, lsql_error *err);
int lsql_cenc_block(const lsql_cenc *e, const uint8_t *buf, size_t len, uint64_t n, lsql_vals *out,
                    lsql_error *err);
/* One mini-block chunk of fsst(values) with an already parsed symbol table (pages parse it once). */
int lsql_cenc_fsst_chunk(const lsql_fsst_table *t, const lsql_cenc *values, uint8_t *const *bufs,
                         const size_t *lens, size_t nbufs, uint64_t n, lsql_vals *out, lsql_error *err);
/* Decodes block-compressed u16 levels. */
int lsql_cenc_levels(const lsql_cenc *e, const uint8_t *buf, size_t len, uint64_t n, uint16_t *out,
                     lsql_error *err);
/* Number of buffers a mini-block value encoding uses per chunk (-1 unknown). */
int lsql_cenc_bits(const lsql_cenc *e, uint32_t *bits, bool *var, uint32_t *dim);
const char *lsql_cenc_describe(const lsql_cenc *e, lsql_buf *out);

/* Number of def levels a layer consumes. */
/* The page holding `row`, given page_start[0..n_pages] (each page's first row, then the total):
 * the last page starting at or before `row`, moved past empty pages; n_pages when `row` is at or
 * past the total. Shared by the 2.0 and 2.1+ readers. */
static inline size_t lsql_page_of_row(const uint64_t *page_start, size_t n_pages, uint64_t row) {
  size_t lo = 0, hi = n_pages;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (page_start[mid] <= row) lo = mid;
    else hi = mid;
  }
  while (lo < n_pages && row >= page_start[lo + 1]) lo++;
  return lo;
}

static inline int lsql_layer_ndef(int layer) {
  switch (layer) {
    case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM:
    case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_LIST:
    case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_EMPTYABLE_LIST: return 1;
    case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULL_AND_EMPTY_LIST: return 2;
    default: return 0;
  }
}
static inline bool lsql_layer_is_list(int layer) {
  return layer == LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_LIST ||
         layer == LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_LIST ||
         layer == LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_EMPTYABLE_LIST ||
         layer == LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULL_AND_EMPTY_LIST;
}

/* Builds the final Arrow array for a 2.1+ field from accumulated leaves (repdef.c). */
typedef struct lsql_leaf_acc {
  lsql_buf rep, def;        /* u16 levels */
  uint64_t n_levels;
  bool has_rep, has_def;
  lsql_vals vals;
  lsql_vals dict;           /* keep_dict or dictionary batches: concatenated dictionaries */
  bool has_dict;            /* vals are u32 indices into dict */
  /* Dictionary batches (lsql_field_reader_set_dict_batches): 1 while every page so far kept its
   * dictionary (has_dict holds once one did), 2 once the batch went plain; 0 when not asked. */
  int dict_batch;
  int n_layers;
  int layers[16];
  uint64_t n_rows;
  bool missing;             /* the leaf has no column in this file: read as nulls */
} lsql_leaf_acc;

void lsql_leaf_acc_free(lsql_leaf_acc *a);
int lsql_repdef_build(const lsql_field *field, lsql_leaf_acc *leaves, size_t n_leaves,
                      uint64_t n_rows, struct ArrowArray *out, lsql_error *err);
/* Arrow array of `n` values of a leaf type from vals, with optional validity. */
int lsql_arrow_from_vals(const lsql_field *f, lsql_vals *v, uint64_t n, uint8_t *validity,
                         int64_t null_count, struct ArrowArray *out, lsql_error *err);
/* An empty (length 0) array of the field's type. */
int lsql_arrow_empty(const lsql_field *f, struct ArrowArray *out, lsql_error *err);
/* Bits per value of a fixed-width leaf type (1 for bool), or -1. */
int lsql_field_fixed_bits(const lsql_field *f);
int lsql_arrow_all_null(const lsql_field *f, uint64_t n, struct ArrowArray *out, lsql_error *err);

/* 2.0 reader (decode20.c). */
typedef struct lsql_reader20 lsql_reader20;
int lsql_reader20_new(lsql_file *f, const lsql_field *field, const lsql_column_map *map,
                      lsql_reader20 **out, lsql_error *err);
void lsql_reader20_free(lsql_reader20 *r);
int lsql_reader20_read(lsql_reader20 *r, uint64_t start, uint64_t count, struct ArrowArray *out,
                       lsql_error *err);
/* Reusable buffers of a 2.0 reader (page read pools, decode spares, output pools), carried to
 * the next fragment's reader of the same field (keep: NULL on OOM; adopt consumes sp). */
typedef struct lsql_reader20_spares lsql_reader20_spares;
lsql_reader20_spares *lsql_reader20_keep(lsql_reader20 *r);
void lsql_reader20_adopt(lsql_reader20 *r, lsql_reader20_spares *sp);
void lsql_reader20_spares_free(lsql_reader20_spares *sp);
/* Bytes of heap buffers sp holds now (NULL => 0). */
size_t lsql_reader20_spares_bytes(const lsql_reader20_spares *sp);

/* Gathers rows idx[0..n) of an array this layer built (used for row lists on 2.0 files). */
int lsql_arrow_take(const lsql_field *f, const struct ArrowArray *a, const uint64_t *idx, uint64_t n,
                    struct ArrowArray *out, lsql_error *err);

#endif
