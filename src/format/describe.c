/* lsql_file_describe_json: version, rows, and per column the pages with their layouts and
 * compression trees. */
#include "format/internal.h"

static void describe_array20(const Lance__Encodings__ArrayEncoding *e, lsql_buf *o) {
  if (!e) { lsql_buf_append_str(o, "none"); return; }
  switch (e->array_encoding_case) {
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FLAT:
      lsql_buf_appendf(o, "flat(%llu%s%s)", (unsigned long long)e->flat->bits_per_value,
                       e->flat->compression ? ", " : "", e->flat->compression ? e->flat->compression->scheme : "");
      break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_NULLABLE: {
      const Lance__Encodings__Nullable *n = e->nullable;
      if (n->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS) {
        lsql_buf_append_str(o, "nullable(no_nulls, "); describe_array20(n->no_nulls->values, o);
      } else if (n->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_SOME_NULLS) {
        lsql_buf_append_str(o, "nullable(some_nulls, "); describe_array20(n->some_nulls->values, o);
      } else lsql_buf_append_str(o, "nullable(all_nulls");
      lsql_buf_append_str(o, ")");
      break;
    }
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FIXED_SIZE_LIST:
      lsql_buf_appendf(o, "fixed_size_list(%u, ", e->fixed_size_list->dimension);
      describe_array20(e->fixed_size_list->items, o);
      lsql_buf_append_str(o, ")");
      break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_LIST: lsql_buf_append_str(o, "list"); break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_STRUCT: lsql_buf_append_str(o, "struct"); break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_BINARY:
      lsql_buf_append_str(o, "binary("); describe_array20(e->binary->bytes, o); lsql_buf_append_str(o, ")"); break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_DICTIONARY: lsql_buf_append_str(o, "dictionary"); break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FSST: lsql_buf_append_str(o, "fsst"); break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_PACKED_STRUCT: lsql_buf_append_str(o, "packed_struct"); break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_BITPACKED: lsql_buf_append_str(o, "bitpacked"); break;
    case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_CONSTANT: lsql_buf_append_str(o, "constant"); break;
    default: lsql_buf_appendf(o, "encoding_%d", (int)e->array_encoding_case);
  }
}

static void describe_layout(const Lance__Encodings21__PageLayout *l, lsql_buf *o) {
  if (!l) { lsql_buf_append_str(o, "\"layout\":\"none\""); return; }
  switch (l->layout_case) {
    case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_MINI_BLOCK_LAYOUT: {
      const Lance__Encodings21__MiniBlockLayout *m = l->mini_block_layout;
      lsql_buf_append_str(o, "\"layout\":\"miniblock\",\"compression\":\"miniblock(");
      lsql_cenc_describe(m->value_compression, o);
      lsql_buf_append_str(o, ")\"");
      if (m->dictionary) {
        lsql_buf_append_str(o, ",\"dictionary\":\"");
        lsql_cenc_describe(m->dictionary, o);
        lsql_buf_append_str(o, "\"");
      }
      if (m->rep_compression) { lsql_buf_append_str(o, ",\"rep\":\""); lsql_cenc_describe(m->rep_compression, o); lsql_buf_append_str(o, "\""); }
      if (m->def_compression) { lsql_buf_append_str(o, ",\"def\":\""); lsql_cenc_describe(m->def_compression, o); lsql_buf_append_str(o, "\""); }
      lsql_buf_appendf(o, ",\"has_large_chunk\":%s", m->has_large_chunk ? "true" : "false");
      break;
    }
    case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_FULL_ZIP_LAYOUT:
      lsql_buf_append_str(o, "\"layout\":\"fullzip\",\"compression\":\"fullzip(");
      lsql_cenc_describe(l->full_zip_layout->value_compression, o);
      lsql_buf_append_str(o, ")\"");
      break;
    case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_CONSTANT_LAYOUT:
      lsql_buf_appendf(o, "\"layout\":\"%s\"", l->constant_layout->inline_value.len ? "constant" : "all_null");
      break;
    case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_BLOB_LAYOUT:
      lsql_buf_append_str(o, "\"layout\":\"blob\",\"inner\":{");
      describe_layout(l->blob_layout->inner_layout, o);
      lsql_buf_append_str(o, "}");
      break;
    case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_SPARSE_LAYOUT: lsql_buf_append_str(o, "\"layout\":\"sparse\""); break;
    default: lsql_buf_append_str(o, "\"layout\":\"unknown\"");
  }
}

int lsql_file_describe_json(lsql_file *f, lsql_buf *o, lsql_error *err) {
  lsql_buf_appendf(o, "{\"version\":\"%d.%d\",\"rows\":%llu,\"columns\":[", f->major, f->minor,
                   (unsigned long long)f->num_rows);
  for (uint32_t c = 0; c < f->n_cols; c++) {
    const lsql_column *col = &f->cols[c];
    lsql_buf_appendf(o, "%s{\"index\":%u,\"pages\":[", c ? "," : "", c);
    for (size_t p = 0; p < col->n_pages; p++) {
      const lsql_page *pg = &col->pages[p];
      lsql_buf_appendf(o, "%s{\"rows\":%llu,\"buffers\":%zu,", p ? "," : "", (unsigned long long)pg->n_rows, pg->n_buffers);
      if (pg->array) {
        lsql_buf_append_str(o, "\"layout\":\"v2.0\",\"compression\":\"");
        describe_array20(pg->array, o);
        lsql_buf_append_str(o, "\"");
      } else describe_layout(pg->layout, o);
      lsql_buf_append_str(o, "}");
    }
    lsql_buf_append_str(o, "]}");
  }
  if (lsql_buf_append_str(o, "]}") != LSQL_OK) return lsql_err_oom(err);
  return LSQL_OK;
}
