/* Unit tests of the table layer: manifest naming, manifest parsing, feature flags, deletion files
 * (Roaring and Arrow IPC), row-id sequences, and version resolution on a hand-built dataset. */
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "rowids.pb-c.h"
#include "table/table.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, len, f);
  fclose(f);
}

/* Serializes a manifest with one int64 field "id" (and optional fragments) into manifest-file
 * bytes: [u32 len][Manifest][i64 pos][u16 0][u16 2]["LANC"]. Caller frees. */
static uint8_t *make_manifest(uint64_t version, uint64_t flags, Lance__Table__DataFragment **frags,
                              size_t n_frags, size_t *len) {
  Lance__File__Field f = LANCE__FILE__FIELD__INIT;
  f.name = "id";
  f.id = 0;
  f.parent_id = -1;
  f.logical_type = "int64";
  f.nullable = 1;
  Lance__File__Field *fields[1] = {&f};
  Lance__Table__Manifest__WriterVersion wv = LANCE__TABLE__MANIFEST__WRITER_VERSION__INIT;
  wv.library = "lance";
  wv.version = "14.0.2";
  Lance__Table__Timestamp ts = LANCE__TABLE__TIMESTAMP__INIT;
  ts.seconds = 1700000000 + (int64_t)version;
  Lance__Table__Manifest m = LANCE__TABLE__MANIFEST__INIT;
  m.n_fields = 1;
  m.fields = fields;
  m.version = version;
  m.reader_feature_flags = flags;
  m.writer_version = &wv;
  m.timestamp = &ts;
  m.n_fragments = n_frags;
  m.fragments = frags;
  size_t ml = lance__table__manifest__get_packed_size(&m);
  uint8_t *b = calloc(1, 8 + ml + 16);
  memcpy(b + 8, "XXXX", 4); /* something before the manifest, like an index section */
  lsql_store_le32(b + 4, (uint32_t)ml);
  lance__table__manifest__pack(&m, b + 8);
  uint8_t *foot = b + 8 + ml;
  lsql_store_le64(foot, 4);
  foot[8] = 0, foot[9] = 0, foot[10] = 2, foot[11] = 0;
  memcpy(foot + 12, "LANC", 4);
  *len = 8 + ml + 16;
  return b;
}

static int count_bits(const uint8_t *bits, uint64_t n) {
  int c = 0;
  for (uint64_t i = 0; i < n; i++) c += (bits[i / 8] >> (i % 8)) & 1;
  return c;
}

/* ---- naming ------------------------------------------------------------------------------- */

LSQL_TEST(test_manifest_names) {
  uint64_t v = 0;
  int sch = 0;
  CHECK(lsql_table_parse_manifest_name("1.manifest", &v, &sch) && v == 1 && sch == LSQL_MANIFEST_V1);
  CHECK(lsql_table_parse_manifest_name("12.manifest", &v, &sch) && v == 12);
  CHECK(lsql_table_parse_manifest_name("18446744073709551614.manifest", &v, &sch) && v == 1 &&
        sch == LSQL_MANIFEST_V2);
  CHECK(lsql_table_parse_manifest_name("18446744073709551606.manifest", &v, &sch) && v == 9);
  CHECK(!lsql_table_parse_manifest_name("d12.manifest", &v, &sch));
  CHECK(!lsql_table_parse_manifest_name("_latest.manifest", &v, &sch));
  CHECK(!lsql_table_parse_manifest_name("3.manifest-1b2c3d4e", &v, &sch));
  CHECK(!lsql_table_parse_manifest_name("latest_version_hint.json", &v, &sch));
  CHECK(!lsql_table_parse_manifest_name(".tmp_3.manifest", &v, &sch));
  CHECK(!lsql_table_parse_manifest_name("0.manifest", &v, &sch));
  CHECK(!lsql_table_parse_manifest_name("99999999999999999999999.manifest", &v, &sch));
  char buf[48];
  lsql_table_manifest_name(9, LSQL_MANIFEST_V2, buf, sizeof buf);
  CHECK(strcmp(buf, "18446744073709551606.manifest") == 0);
  lsql_table_manifest_name(9, LSQL_MANIFEST_V1, buf, sizeof buf);
  CHECK(strcmp(buf, "9.manifest") == 0);
  for (uint64_t x = 1; x < 2000; x += 37) {
    lsql_table_manifest_name(x, LSQL_MANIFEST_V2, buf, sizeof buf);
    CHECK(lsql_table_parse_manifest_name(buf, &v, &sch) && v == x && sch == LSQL_MANIFEST_V2);
  }
}

/* ---- manifest bytes and feature flags ----------------------------------------------------- */

LSQL_TEST(test_feature_flags) {
  lsql_error err = {0};
  const uint64_t ok[] = {0, 1, 2, 4, 8, 16, 32, 63, 256, 256 | 63};
  for (size_t i = 0; i < LSQL_ARRAY_LEN(ok); i++) CHECK_OK(lsql_table_check_feature_flags(ok[i], &err), err);
  CHECK_FAILS(lsql_table_check_feature_flags(64, &err), LSQL_EUNSUPPORTED, "0x40", err);
  CHECK_FAILS(lsql_table_check_feature_flags(512 | 1, &err), LSQL_EUNSUPPORTED, "0x200", err);
  CHECK_FAILS(lsql_table_check_feature_flags((uint64_t)1 << 40, &err), LSQL_EUNSUPPORTED, "0x10000000000", err);
}

LSQL_TEST(test_manifest_parse) {
  lsql_error err = {0};
  size_t len;
  uint8_t *b = make_manifest(7, 1, NULL, 0, &len);
  Lance__Table__Manifest *m = NULL;
  CHECK_OK(lsql_table_manifest_parse(b, len, &m, &err), err);
  CHECK(m && m->version == 7 && m->n_fields == 1 && strcmp(m->fields[0]->name, "id") == 0);
  CHECK(m && m->fields[0]->parent_id == -1);
  lsql_table_manifest_free(m);
  /* corruptions */
  b[len - 1] ^= 1;
  CHECK_FAILS(lsql_table_manifest_parse(b, len, &m, &err), LSQL_ECORRUPT, "magic", err);
  b[len - 1] ^= 1;
  lsql_store_le64(b + len - 16, 5);
  CHECK_FAILS(lsql_table_manifest_parse(b, len, &m, &err), LSQL_ECORRUPT, "does not end", err);
  lsql_store_le64(b + len - 16, (uint64_t)1 << 62);
  CHECK_FAILS(lsql_table_manifest_parse(b, len, &m, &err), LSQL_ECORRUPT, "outside", err);
  lsql_store_le64(b + len - 16, 4);
  CHECK_FAILS(lsql_table_manifest_parse(b, 10, &m, &err), LSQL_ECORRUPT, "too small", err);
  memset(b + 8, 0xff, 6); /* garbage protobuf */
  CHECK_FAILS(lsql_table_manifest_parse(b, len, &m, &err), LSQL_ECORRUPT, "protobuf", err);
  CHECK(m == NULL);
  free(b);
  b = make_manifest(3, 64 | 1, NULL, 0, &len);
  CHECK_FAILS(lsql_table_manifest_parse(b, len, &m, &err), LSQL_EUNSUPPORTED, "0x40", err);
  /* every truncation and single-byte corruption fails cleanly or parses */
  for (size_t i = 0; i < len; i++) {
    if (lsql_table_manifest_parse(b, i, &m, &err) == LSQL_OK) lsql_table_manifest_free(m);
    uint8_t *c = malloc(len);
    memcpy(c, b, len);
    c[i] ^= 0x5a;
    if (lsql_table_manifest_parse(c, len, &m, &err) == LSQL_OK) lsql_table_manifest_free(m);
    free(c);
  }
  free(b);
}

LSQL_TEST(test_manifest_real) {
  lsql_error err = {0};
  size_t len = 0;
  uint8_t *b = read_file(LSQL_SOURCE_DIR "/fuzz/corpus/manifest/rowids_compacted.manifest", &len);
  CHECK(b != NULL);
  if (!b) return;
  Lance__Table__Manifest *m = NULL;
  CHECK_OK(lsql_table_manifest_parse(b, len, &m, &err), err);
  if (m) {
    CHECK(m->reader_feature_flags & LSQL_TABLE_FLAG_STABLE_ROW_IDS);
    CHECK(m->n_fragments >= 1);
    for (size_t i = 0; i < m->n_fragments; i++) {
      const Lance__Table__DataFragment *f = m->fragments[i];
      CHECK(f->row_id_sequence_case == LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_INLINE_ROW_IDS);
      uint64_t *ids = calloc(f->physical_rows + 1, 8);
      CHECK_OK(lsql_table_rowids_decode(f->inline_row_ids.data, f->inline_row_ids.len, f->physical_rows,
                                        ids, &err), err);
      free(ids);
    }
    lsql_table_manifest_free(m);
  }
  free(b);
}

/* ---- row ids ------------------------------------------------------------------------------ */

LSQL_TEST(test_rowids) {
  lsql_error err = {0};
  Lance__Table__U64Segment s[4];
  for (int i = 0; i < 4; i++) lance__table__u64_segment__init(&s[i]);
  Lance__Table__U64Segment__Range r = LANCE__TABLE__U64_SEGMENT__RANGE__INIT;
  r.start = 10, r.end = 13;
  s[0].segment_case = LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE, s[0].range = &r;
  Lance__Table__U16Array u16 = LANCE__TABLE__U16_ARRAY__INIT;
  uint8_t offs[4] = {0, 0, 2, 0};
  u16.base_value = 21, u16.offsets.data = offs, u16.offsets.len = 4;
  Lance__Table__EncodedU64Array holes = LANCE__TABLE__ENCODED_U64_ARRAY__INIT;
  holes.array_case = LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U16_ARRAY, holes.u16_array = &u16;
  Lance__Table__U64Segment__RangeWithHoles rh = LANCE__TABLE__U64_SEGMENT__RANGE_WITH_HOLES__INIT;
  rh.start = 20, rh.end = 25, rh.holes = &holes;
  s[1].segment_case = LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE_WITH_HOLES, s[1].range_with_holes = &rh;
  uint8_t bm[1] = {0x05}; /* LSB first: offsets 0 and 2 */
  Lance__Table__U64Segment__RangeWithBitmap rb = LANCE__TABLE__U64_SEGMENT__RANGE_WITH_BITMAP__INIT;
  rb.start = 100, rb.end = 108, rb.bitmap.data = bm, rb.bitmap.len = 1;
  s[2].segment_case = LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE_WITH_BITMAP, s[2].range_with_bitmap = &rb;
  uint8_t v64[8] = {7, 0, 0, 0, 0, 0, 0, 1};
  Lance__Table__U64Array a64 = LANCE__TABLE__U64_ARRAY__INIT;
  a64.values.data = v64, a64.values.len = 8;
  Lance__Table__EncodedU64Array arr = LANCE__TABLE__ENCODED_U64_ARRAY__INIT;
  arr.array_case = LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U64_ARRAY, arr.u64_array = &a64;
  s[3].segment_case = LANCE__TABLE__U64_SEGMENT__SEGMENT_ARRAY, s[3].array = &arr;
  Lance__Table__U64Segment *sp[4] = {&s[0], &s[1], &s[2], &s[3]};
  Lance__Table__RowIdSequence seq = LANCE__TABLE__ROW_ID_SEQUENCE__INIT;
  seq.n_segments = 4, seq.segments = sp;
  uint8_t buf[256];
  size_t n = lance__table__row_id_sequence__pack(&seq, buf);
  uint64_t ids[9];
  CHECK_OK(lsql_table_rowids_decode(buf, n, 9, ids, &err), err);
  const uint64_t want[9] = {10, 11, 12, 20, 22, 24, 100, 102, ((uint64_t)1 << 56) | 7};
  for (int i = 0; i < 9; i++) CHECK_EQ_INT(ids[i], want[i]);
  CHECK_FAILS(lsql_table_rowids_decode(buf, n, 8, ids, &err), LSQL_ECORRUPT, "more ids", err);
  uint64_t big[10];
  CHECK_FAILS(lsql_table_rowids_decode(buf, n, 10, big, &err), LSQL_ECORRUPT, "9 ids for 10", err);
  rb.end = 200; /* bitmap shorter than the range */
  n = lance__table__row_id_sequence__pack(&seq, buf);
  CHECK_FAILS(lsql_table_rowids_decode(buf, n, 9, ids, &err), LSQL_ECORRUPT, "bitmap", err);
}

/* ---- deletions ---------------------------------------------------------------------------- */

LSQL_TEST(test_roaring_handmade) {
  lsql_error err = {0};
  uint8_t bits[128] = {0};
  uint64_t n = 0;
  /* cookie 12346, 1 container: key 0, card 3, offset 16, values 1 5 9 */
  uint8_t a[] = {0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 16, 0, 0, 0, 1, 0, 5, 0, 9, 0};
  CHECK_OK(lsql_table_deletion_parse_roaring(a, sizeof a, 1000, bits, &n, &err), err);
  CHECK_EQ_INT(n, 3);
  CHECK(((bits[0] >> 1) & 1) && ((bits[0] >> 5) & 1) && ((bits[1] >> 1) & 1));
  /* out of range */
  memset(bits, 0, sizeof bits);
  CHECK_FAILS(lsql_table_deletion_parse_roaring(a, sizeof a, 9, bits, &n, &err), LSQL_ECORRUPT, "beyond", err);
  for (size_t i = 0; i < sizeof a; i++)
    CHECK_FAILS(lsql_table_deletion_parse_roaring(a, i, 1000, bits, &n, &err), LSQL_ECORRUPT, "", err);
  /* cookie 12347 with one run container: runs [3..6] */
  uint8_t r[] = {0x3b, 0x30, 0, 0, 0x01, 0, 0, 3, 0, 1, 0, 3, 0, 3, 0};
  memset(bits, 0, sizeof bits);
  CHECK_OK(lsql_table_deletion_parse_roaring(r, sizeof r, 1000, bits, &n, &err), err);
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_INT(bits[0], 0x78);
  /* run overflowing 65535 */
  uint8_t ro[] = {0x3b, 0x30, 0, 0, 0x01, 0, 0, 3, 0, 1, 0, 0xff, 0xff, 3, 0};
  CHECK_FAILS(lsql_table_deletion_parse_roaring(ro, sizeof ro, 1u << 20, bits, &n, &err), LSQL_ECORRUPT, "overflow", err);
  uint8_t bad[] = {1, 2, 3, 4, 0, 0, 0, 0};
  CHECK_FAILS(lsql_table_deletion_parse_roaring(bad, sizeof bad, 10, bits, &n, &err), LSQL_ECORRUPT, "cookie", err);
}

LSQL_TEST(test_roaring_vs_croaring) {
  /* CRoaring-serialized bitmaps (array, bitmap and run containers over several keys). */
  lsql_error err = {0};
  roaring_bitmap_t *rb = roaring_bitmap_create();
  const uint64_t n_rows = 300000;
  for (uint32_t v = 0; v < 5000; v += 3) roaring_bitmap_add(rb, v);          /* array */
  for (uint32_t v = 70000; v < 90000; v += 2) roaring_bitmap_add(rb, v);     /* bitmap */
  for (uint32_t v = 140000; v < 150000; v++) roaring_bitmap_add(rb, v);      /* run */
  roaring_bitmap_add(rb, 299999);
  for (int pass = 0; pass < 2; pass++) {
    if (pass) roaring_bitmap_run_optimize(rb);
    size_t sz = roaring_bitmap_portable_size_in_bytes(rb);
    char *buf = malloc(sz);
    roaring_bitmap_portable_serialize(rb, buf);
    uint8_t *bits = calloc(n_rows / 8 + 1, 1);
    uint64_t n = 0;
    CHECK_OK(lsql_table_deletion_parse_roaring((uint8_t *)buf, sz, n_rows, bits, &n, &err), err);
    CHECK_EQ_INT(n, roaring_bitmap_get_cardinality(rb));
    int mism = 0;
    for (uint32_t v = 0; v < n_rows; v++) mism += ((bits[v / 8] >> (v % 8)) & 1) != roaring_bitmap_contains(rb, v);
    CHECK_EQ_INT(mism, 0);
    for (size_t cut = 0; cut < sz; cut += 97) {
      memset(bits, 0, n_rows / 8 + 1);
      CHECK(lsql_table_deletion_parse_roaring((uint8_t *)buf, cut, n_rows, bits, &n, &err) == LSQL_ECORRUPT);
    }
    free(bits);
    free(buf);
  }
  roaring_bitmap_free(rb);
}

LSQL_TEST(test_roaring_real) {
  lsql_error err = {0};
  size_t len = 0;
  uint8_t *b = read_file(LSQL_SOURCE_DIR "/fuzz/corpus/deletion_roaring/bitmap_6500.bin", &len);
  CHECK(b != NULL);
  if (!b) return;
  uint8_t *bits = calloc(12000 / 8 + 1, 1);
  uint64_t n = 0;
  /* pylance: 12000-row fragment, delete 1000 <= id < 7500 */
  CHECK_OK(lsql_table_deletion_parse_roaring(b, len, 12000, bits, &n, &err), err);
  CHECK_EQ_INT(n, 6500);
  CHECK_EQ_INT(count_bits(bits, 1000), 0);
  CHECK_EQ_INT(count_bits(bits, 7500), 6500);
  free(bits);
  free(b);
}

LSQL_TEST(test_arrow_deletions) {
  lsql_error err = {0};
  size_t len = 0;
  /* fragment 3 (rows 900..999) of "delete id % 10 = 3": offsets 3, 13, ..., 93; raw buffers */
  uint8_t *b = read_file(LSQL_SOURCE_DIR "/fuzz/corpus/deletion_arrow/raw_30.arrow", &len);
  CHECK(b != NULL);
  if (!b) return;
  uint8_t bits[64] = {0};
  uint64_t n = 0;
  CHECK_OK(lsql_table_deletion_parse_arrow(b, len, 100, bits, &n, &err), err);
  CHECK_EQ_INT(n, 10);
  for (int i = 0; i < 100; i++) CHECK(((bits[i / 8] >> (i % 8)) & 1) == (i % 10 == 3));
  CHECK_FAILS(lsql_table_deletion_parse_arrow(b, len, 50, bits, &n, &err), LSQL_ECORRUPT, "", err);
  /* every truncation and corruption: an error or a success, never a crash */
  for (size_t i = 0; i < len; i++) {
    memset(bits, 0, sizeof bits);
    CHECK(lsql_table_deletion_parse_arrow(b, i, 100, bits, &n, &err) != LSQL_OK);
    b[i] ^= 0xa5;
    lsql_table_deletion_parse_arrow(b, len, 100, bits, &n, &err);
    b[i] ^= 0xa5;
  }
  free(b);
  /* 3000 offsets (i % 3 == 0, i < 9000) with zstd-compressed buffers */
  b = read_file(LSQL_SOURCE_DIR "/fuzz/corpus/deletion_arrow/zstd_3000.arrow", &len);
  CHECK(b != NULL);
  if (!b) return;
  uint8_t *big = calloc(10000 / 8 + 1, 1);
  CHECK_OK(lsql_table_deletion_parse_arrow(b, len, 10000, big, &n, &err), err);
  CHECK_EQ_INT(n, 3000);
  int bad = 0;
  for (int i = 0; i < 10000; i++) bad += ((big[i / 8] >> (i % 8)) & 1) != (i % 3 == 0 && i < 9000);
  CHECK_EQ_INT(bad, 0);
  for (size_t i = 0; i < len; i += 7) {
    memset(big, 0, 10000 / 8 + 1);
    b[i] ^= 0xff;
    lsql_table_deletion_parse_arrow(b, len, 10000, big, &n, &err);
    b[i] ^= 0xff;
  }
  free(big);
  free(b);
}

/* ---- datasets on disk --------------------------------------------------------------------- */

static char g_dir[256];

static void put_manifest(const char *sub, const char *name, uint64_t version, uint64_t flags,
                         Lance__Table__DataFragment **frags, size_t nf) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", g_dir, sub);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/%s/%s", g_dir, sub, name);
  size_t len;
  uint8_t *b = make_manifest(version, flags, frags, nf, &len);
  write_file(p, b, len);
  free(b);
}

LSQL_TEST(test_dataset_versions) {
  lsql_error err = {0};
  snprintf(g_dir, sizeof g_dir, "/tmp/lsql_test_table_%d", (int)getpid());
  mkdir(g_dir, 0755);
  /* V1 naming: versions 1, 2, 10 plus junk that must be ignored */
  put_manifest("_versions", "1.manifest", 1, 0, NULL, 0);
  put_manifest("_versions", "2.manifest", 2, 0, NULL, 0);
  /* version 10: one fragment of 100 rows with a roaring deletion file, count unknown (0) */
  Lance__Table__DeletionFile del = LANCE__TABLE__DELETION_FILE__INIT;
  del.has_file_type = 1, del.file_type = LANCE__TABLE__DELETION_FILE__DELETION_FILE_TYPE__BITMAP;
  del.has_read_version = 1, del.read_version = 9, del.has_id = 1, del.id = 42;
  Lance__Table__DataFragment fr;
  lance__table__data_fragment__init(&fr);
  fr.id = 3, fr.physical_rows = 100, fr.deletion_file = &del;
  Lance__Table__DataFragment *frs[1] = {&fr};
  put_manifest("_versions", "10.manifest", 10, 1, frs, 1);
  char p[512];
  snprintf(p, sizeof p, "%s/_deletions", g_dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/_deletions/3-9-42.bin", g_dir);
  uint8_t roar[] = {0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 16, 0, 0, 0, 1, 0, 5, 0, 9, 0};
  write_file(p, roar, sizeof roar);
  put_manifest("_versions", "d11.manifest", 11, 0, NULL, 0);
  put_manifest("_versions", "_latest.manifest", 12, 0, NULL, 0);
  put_manifest("_versions", "13.manifest-abcd", 13, 0, NULL, 0);
  snprintf(p, sizeof p, "%s/_versions/latest_version_hint.json", g_dir);
  write_file(p, "{\"version\":99}", 14);

  lsql_dataset *ds = NULL;
  CHECK_OK(lsql_dataset_open(g_dir, NULL, &ds, &err), err);
  CHECK_EQ_INT(lsql_dataset_version(ds), 10);
  CHECK(ds && strcmp(lsql_dataset_uri(ds), g_dir) == 0);
  uint64_t rows = 0;
  CHECK_OK(lsql_dataset_count_rows(ds, &rows, &err), err);
  CHECK_EQ_INT(rows, 97);
  lsql_version_info *vi = NULL;
  size_t nv = 0;
  CHECK_OK(lsql_dataset_versions(ds, &vi, &nv, &err), err);
  CHECK_EQ_INT(nv, 3);
  if (nv == 3) {
    CHECK_EQ_INT(vi[0].version, 1);
    CHECK_EQ_INT(vi[2].version, 10);
    CHECK_EQ_INT(vi[2].timestamp_us, (int64_t)(1700000010) * 1000000);
  }
  lsql_free(vi);
  lsql_dataset_free(ds);

  lsql_open_options o = {0};
  o.version = 2;
  CHECK_OK(lsql_dataset_open(g_dir, &o, &ds, &err), err);
  CHECK_EQ_INT(lsql_dataset_version(ds), 2);
  lsql_dataset_free(ds);
  o.version = 4;
  CHECK_FAILS(lsql_dataset_open(g_dir, &o, &ds, &err), LSQL_ENOTFOUND, "version 4", err);
  CHECK(ds == NULL && strstr(err.message, g_dir) != NULL);

  /* tags (camelCase keys, branch null) */
  snprintf(p, sizeof p, "%s/_refs", g_dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/_refs/tags", g_dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/_refs/tags/v2.json", g_dir);
  const char *tag = "{\"branch\": null, \"version\": 2, \"manifestSize\": 100}";
  write_file(p, tag, strlen(tag));
  o = (lsql_open_options){0};
  o.tag = "v2";
  CHECK_OK(lsql_dataset_open(g_dir, &o, &ds, &err), err);
  CHECK_EQ_INT(lsql_dataset_version(ds), 2);
  lsql_dataset_free(ds);
  o.tag = "nope";
  CHECK_FAILS(lsql_dataset_open(g_dir, &o, &ds, &err), LSQL_ENOTFOUND, "tag \"nope\"", err);
  o.tag = "../x";
  CHECK_FAILS(lsql_dataset_open(g_dir, &o, &ds, &err), LSQL_EINVAL, "tag", err);

  /* branch with V2 names under tree/<branch>/ and a tag pointing into it */
  snprintf(p, sizeof p, "%s/tree", g_dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/tree/feat", g_dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/tree/feat/x", g_dir);
  mkdir(p, 0755);
  char name[48];
  lsql_table_manifest_name(3, LSQL_MANIFEST_V2, name, sizeof name);
  put_manifest("tree/feat/x/_versions", name, 3, 0, NULL, 0);
  lsql_table_manifest_name(2, LSQL_MANIFEST_V2, name, sizeof name);
  put_manifest("tree/feat/x/_versions", name, 2, 0, NULL, 0);
  o = (lsql_open_options){0};
  o.branch = "feat/x";
  CHECK_OK(lsql_dataset_open(g_dir, &o, &ds, &err), err);
  CHECK_EQ_INT(lsql_dataset_version(ds), 3);
  lsql_dataset_free(ds);
  snprintf(p, sizeof p, "%s/_refs/tags/bt.json", g_dir);
  tag = "{\"branch\": \"feat/x\", \"version\": 2, \"manifestSize\": 100}";
  write_file(p, tag, strlen(tag));
  o = (lsql_open_options){0};
  o.tag = "bt";
  CHECK_OK(lsql_dataset_open(g_dir, &o, &ds, &err), err);
  CHECK_EQ_INT(lsql_dataset_version(ds), 2);
  lsql_dataset_free(ds);
  o = (lsql_open_options){0};
  o.branch = "nobranch";
  CHECK_FAILS(lsql_dataset_open(g_dir, &o, &ds, &err), LSQL_ENOTFOUND, "branch", err);

  /* corrupt manifest and unknown feature flag: errors name the dataset and version */
  snprintf(p, sizeof p, "%s/_versions/11.manifest", g_dir);
  write_file(p, "garbage garbage garbage", 23);
  CHECK_FAILS(lsql_dataset_open(g_dir, NULL, &ds, &err), LSQL_ECORRUPT, "version 11", err);
  CHECK(strstr(err.message, g_dir) != NULL);
  put_manifest("_versions", "11.manifest", 11, 1024, NULL, 0);
  CHECK_FAILS(lsql_dataset_open(g_dir, NULL, &ds, &err), LSQL_EUNSUPPORTED, "0x400", err);
  CHECK(strstr(err.message, "version 11") != NULL);
  put_manifest("_versions", "12.manifest", 11, 0, NULL, 0); /* holds the wrong version */
  CHECK_FAILS(lsql_dataset_open(g_dir, NULL, &ds, &err), LSQL_ECORRUPT, "version 12", err);
  CHECK_FAILS(lsql_dataset_open("/nonexistent/lsql/ds", NULL, &ds, &err), LSQL_ENOTFOUND, "/nonexistent/lsql/ds", err);

  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
}
