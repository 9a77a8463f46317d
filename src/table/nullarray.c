/* All-null arrays of any schema type: a column that no data file of a fragment holds (added by
 * schema evolution without backfill) reads as nulls for every physical row. */
#include "table/table.h"
#include "util/arrow.h"

static int fixed_width(const lsql_field *f) {
  switch (f->type) {
    case LSQL_TYPE_INT8: case LSQL_TYPE_UINT8: return 1;
    case LSQL_TYPE_INT16: case LSQL_TYPE_UINT16: case LSQL_TYPE_FLOAT16: return 2;
    case LSQL_TYPE_INT32: case LSQL_TYPE_UINT32: case LSQL_TYPE_FLOAT32: case LSQL_TYPE_DATE32:
    case LSQL_TYPE_TIME32: return 4;
    case LSQL_TYPE_INT64: case LSQL_TYPE_UINT64: case LSQL_TYPE_FLOAT64: case LSQL_TYPE_DATE64:
    case LSQL_TYPE_TIME64: case LSQL_TYPE_TIMESTAMP: case LSQL_TYPE_DURATION: return 8;
    case LSQL_TYPE_DECIMAL128: return 16;
    case LSQL_TYPE_DECIMAL256: return 32;
    case LSQL_TYPE_FIXED_SIZE_BINARY: return f->width;
    default: return 0;
  }
}

/* Sets buffer i to a zeroed allocation of n bytes. */
static int zero_buffer(struct ArrowArray *a, int64_t i, uint64_t n) {
  void *b = lsql_calloc(n ? (size_t)n : 1, 1);
  if (!b) return LSQL_ENOMEM;
  lsql_arrow_array_set_buffer(a, i, b);
  return LSQL_OK;
}

static int null_array(const lsql_field *f, int64_t n, struct ArrowArray *out) {
  int rc;
  int64_t n_children = 0, n_buffers = 2;
  switch (f->type) {
    case LSQL_TYPE_NULL: n_buffers = 0; break;
    case LSQL_TYPE_UTF8: case LSQL_TYPE_BINARY: case LSQL_TYPE_LARGE_UTF8:
    case LSQL_TYPE_LARGE_BINARY: n_buffers = 3; break;
    case LSQL_TYPE_STRUCT: n_buffers = 1; n_children = (int64_t)f->n_children; break;
    case LSQL_TYPE_FIXED_SIZE_LIST: n_buffers = 1; n_children = 1; break;
    case LSQL_TYPE_LIST: case LSQL_TYPE_LARGE_LIST: case LSQL_TYPE_MAP: n_children = 1; break;
    default: break;
  }
  if ((rc = lsql_arrow_array_init(out, n_buffers, n_children))) return rc;
  out->length = n;
  out->null_count = n;
  if (n_buffers > 0 && (rc = zero_buffer(out, 0, lsql_bitmap_bytes((uint64_t)n)))) goto fail;
  switch (f->type) {
    case LSQL_TYPE_NULL: break;
    case LSQL_TYPE_BOOL: rc = zero_buffer(out, 1, lsql_bitmap_bytes((uint64_t)n)); break;
    case LSQL_TYPE_UTF8: case LSQL_TYPE_BINARY:
      if (!(rc = zero_buffer(out, 1, ((uint64_t)n + 1) * 4))) rc = zero_buffer(out, 2, 0);
      break;
    case LSQL_TYPE_LARGE_UTF8: case LSQL_TYPE_LARGE_BINARY:
      if (!(rc = zero_buffer(out, 1, ((uint64_t)n + 1) * 8))) rc = zero_buffer(out, 2, 0);
      break;
    case LSQL_TYPE_STRUCT:
      for (size_t i = 0; i < f->n_children && !rc; i++) rc = null_array(&f->children[i], n, out->children[i]);
      break;
    case LSQL_TYPE_FIXED_SIZE_LIST:
      rc = f->n_children ? null_array(&f->children[0], n * f->width, out->children[0]) : LSQL_ECORRUPT;
      break;
    case LSQL_TYPE_LIST: case LSQL_TYPE_MAP:
      if (!(rc = zero_buffer(out, 1, ((uint64_t)n + 1) * 4)))
        rc = f->n_children ? null_array(&f->children[0], 0, out->children[0]) : LSQL_ECORRUPT;
      break;
    case LSQL_TYPE_LARGE_LIST:
      if (!(rc = zero_buffer(out, 1, ((uint64_t)n + 1) * 8)))
        rc = f->n_children ? null_array(&f->children[0], 0, out->children[0]) : LSQL_ECORRUPT;
      break;
    case LSQL_TYPE_DICTIONARY: {
      lsql_field idx = *f;
      idx.type = f->dict_index;
      rc = zero_buffer(out, 1, (uint64_t)n * (uint64_t)fixed_width(&idx));
      struct ArrowArray *d = rc ? NULL : lsql_arrow_array_alloc_dictionary(out);
      if (!rc && !d) rc = LSQL_ENOMEM;
      if (!rc) rc = f->n_children ? null_array(&f->children[0], 0, d) : LSQL_ECORRUPT;
      break;
    }
    default: {
      int w = fixed_width(f);
      rc = w > 0 ? zero_buffer(out, 1, (uint64_t)n * (uint64_t)w) : LSQL_EUNSUPPORTED;
    }
  }
  if (!rc) return LSQL_OK;
fail:
  lsql_arrow_array_reset(out);
  return rc;
}

int lsql_table_null_array(const lsql_field *field, int64_t n, struct ArrowArray *out,
                          lsql_error *err) {
  int rc = null_array(field, n, out);
  if (rc == LSQL_ENOMEM) return lsql_err_oom(err);
  if (rc) return lsql_err(err, rc, "column %s: cannot build nulls of type %s", field->name,
                          field->logical_type ? field->logical_type : "?");
  return LSQL_OK;
}
