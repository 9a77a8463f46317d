/* Stable row ids (rowids.proto): a fragment's RowIdSequence has one id per physical row, as a
 * concatenation of segments (ranges, ranges with holes or a bitmap, explicit arrays). */
#include <inttypes.h>

#include "rowids.pb-c.h"
#include "table/table.h"

/* Decodes an EncodedU64Array into out[*pos...], at most `cap` values in total. With out == NULL
 * only *pos advances (counting). */
static int decode_array(const Lance__Table__EncodedU64Array *a, uint64_t *out, uint64_t cap,
                        uint64_t *pos, lsql_error *err) {
  if (!a) return lsql_err_corrupt(err, "row ids: missing array");
  const uint8_t *b;
  size_t len, w;
  uint64_t base = 0;
  switch (a->array_case) {
    case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U16_ARRAY:
      b = a->u16_array->offsets.data, len = a->u16_array->offsets.len, w = 2;
      base = a->u16_array->base_value;
      break;
    case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U32_ARRAY:
      b = a->u32_array->offsets.data, len = a->u32_array->offsets.len, w = 4;
      base = a->u32_array->base_value;
      break;
    case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U64_ARRAY:
      b = a->u64_array->values.data, len = a->u64_array->values.len, w = 8;
      break;
    default: return lsql_err_corrupt(err, "row ids: empty encoded array");
  }
  if (len % w) return lsql_err_corrupt(err, "row ids: array of %zu bytes is not a multiple of %zu", len, w);
  uint64_t n = len / w;
  if (n > cap - *pos) return lsql_err_corrupt(err, "row ids: more ids than rows (%" PRIu64 ")", cap);
  if (out) {
    uint64_t *o = out + *pos;
    if (w == 2)
      for (uint64_t i = 0; i < n; i++) o[i] = base + lsql_load_le16(b + 2 * i);
    else if (w == 4)
      for (uint64_t i = 0; i < n; i++) o[i] = base + lsql_load_le32(b + 4 * i);
    else
      for (uint64_t i = 0; i < n; i++) o[i] = lsql_load_le64(b + 8 * i);
  }
  *pos += n;
  return LSQL_OK;
}

static int check_range(uint64_t start, uint64_t end, uint64_t cap, uint64_t pos, lsql_error *err) {
  if (end < start) return lsql_err_corrupt(err, "row ids: range end %" PRIu64 " < start %" PRIu64, end, start);
  if (end - start > cap - pos) return lsql_err_corrupt(err, "row ids: more ids than rows (%" PRIu64 ")", cap);
  return LSQL_OK;
}

int lsql_table_rowids_decode(const uint8_t *data, size_t len, uint64_t n_rows, uint64_t *out,
                             lsql_error *err) {
  Lance__Table__RowIdSequence *seq =
      lance__table__row_id_sequence__unpack(&lsql_table_pb_allocator, len, data);
  if (!seq) return lsql_err_corrupt(err, "row ids: invalid RowIdSequence protobuf");
  uint64_t pos = 0;
  int rc = LSQL_OK;
  for (size_t s = 0; rc == LSQL_OK && s < seq->n_segments; s++) {
    const Lance__Table__U64Segment *g = seq->segments[s];
    switch (g->segment_case) {
      case LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE: {
        uint64_t a = g->range->start, e = g->range->end;
        if ((rc = check_range(a, e, n_rows, pos, err))) break;
        for (uint64_t v = a; v < e; v++) out[pos++] = v;
        break;
      }
      case LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE_WITH_HOLES: {
        const Lance__Table__U64Segment__RangeWithHoles *r = g->range_with_holes;
        if (r->end < r->start) {
          rc = lsql_err_corrupt(err, "row ids: range end < start");
          break;
        }
        /* Holes are sorted absolute values inside the range; decode them into a scratch list. */
        uint64_t nh = 0, cap_h = r->end - r->start;
        if ((rc = decode_array(r->holes, NULL, cap_h, &nh, err))) break;
        uint64_t *holes = lsql_calloc(nh ? nh : 1, sizeof *holes);
        if (!holes) {
          rc = lsql_err_oom(err);
          break;
        }
        uint64_t nh2 = 0;
        decode_array(r->holes, holes, nh, &nh2, err);
        if ((rc = check_range(r->start, r->end - nh, n_rows, pos, err)) == LSQL_OK) {
          uint64_t h = 0;
          for (uint64_t v = r->start; v < r->end; v++) {
            while (h < nh && holes[h] < v) h++;
            if (h < nh && holes[h] == v) continue;
            if (pos >= n_rows) {
              rc = lsql_err_corrupt(err, "row ids: more ids than rows (%" PRIu64 ")", n_rows);
              break;
            }
            out[pos++] = v;
          }
        }
        lsql_free(holes);
        break;
      }
      case LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE_WITH_BITMAP: {
        /* Bit i (least-significant bit first, as lance-table's rowids/bitmap.rs reads it) says
         * whether start + i is present. */
        const Lance__Table__U64Segment__RangeWithBitmap *r = g->range_with_bitmap;
        if (r->end < r->start || (r->end - r->start + 7) / 8 > r->bitmap.len) {
          rc = lsql_err_corrupt(err, "row ids: bitmap shorter than its range");
          break;
        }
        for (uint64_t i = 0; i < r->end - r->start && rc == LSQL_OK; i++) {
          if (!((r->bitmap.data[i / 8] >> (i % 8)) & 1)) continue;
          if (pos >= n_rows)
            rc = lsql_err_corrupt(err, "row ids: more ids than rows (%" PRIu64 ")", n_rows);
          else
            out[pos++] = r->start + i;
        }
        break;
      }
      case LANCE__TABLE__U64_SEGMENT__SEGMENT_SORTED_ARRAY:
        rc = decode_array(g->sorted_array, out, n_rows, &pos, err);
        break;
      case LANCE__TABLE__U64_SEGMENT__SEGMENT_ARRAY:
        rc = decode_array(g->array, out, n_rows, &pos, err);
        break;
      default: rc = lsql_err_corrupt(err, "row ids: empty segment %zu", s);
    }
  }
  if (rc == LSQL_OK && pos != n_rows)
    rc = lsql_err_corrupt(err, "row ids: %" PRIu64 " ids for %" PRIu64 " rows", pos, n_rows);
  lance__table__row_id_sequence__free_unpacked(seq, &lsql_table_pb_allocator);
  return rc;
}
