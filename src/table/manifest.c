/* Manifest files: _versions/ naming (V1 and V2 schemes) and the manifest file itself
 * (length-prefixed Manifest protobuf followed by a 16-byte footer), plus the feature-flag check. */
#include <inttypes.h>
#include <stdio.h>

#include "table/table.h"

static void *pb_alloc(void *ctx, size_t n) { return lsql_malloc(n); }
static void pb_free(void *ctx, void *p) { lsql_free(p); }
ProtobufCAllocator lsql_table_pb_allocator = {pb_alloc, pb_free, NULL};

/* Lance's own rule (io/commit.rs): names starting with 'd' are detached, only names ending in
 * "manifest" count, 29 characters (20 digits + ".manifest") is V2, anything else V1. */
bool lsql_table_parse_manifest_name(const char *name, uint64_t *version, int *scheme) {
  size_t n = strlen(name);
  static const char suffix[] = ".manifest";
  const size_t sl = sizeof suffix - 1;
  if (n <= sl || name[0] == 'd' || memcmp(name + n - sl, suffix, sl) != 0) return false;
  size_t digits = n - sl;
  if (digits > 20) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < digits; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    uint64_t d = (uint64_t)(name[i] - '0');
    if (lsql_mul_overflow_u64(v, 10, &v) || lsql_add_overflow_u64(v, d, &v)) return false;
  }
  if (n == 29) {
    *scheme = LSQL_MANIFEST_V2;
    *version = UINT64_MAX - v;
  } else {
    *scheme = LSQL_MANIFEST_V1;
    *version = v;
  }
  /* Version 0 never exists; bit 63 marks detached versions. */
  return *version != 0 && !(*version >> 63);
}

void lsql_table_manifest_name(uint64_t version, int scheme, char *buf, size_t cap) {
  if (scheme == LSQL_MANIFEST_V2)
    snprintf(buf, cap, "%020" PRIu64 ".manifest", UINT64_MAX - version);
  else
    snprintf(buf, cap, "%" PRIu64 ".manifest", version);
}

int lsql_table_check_feature_flags(uint64_t flags, lsql_error *err) {
  uint64_t unknown = flags & ~(uint64_t)LSQL_TABLE_SUPPORTED_FLAGS;
  if (unknown)
    return lsql_err(err, LSQL_EUNSUPPORTED,
                    "unsupported reader feature flags 0x%" PRIx64 " (of 0x%" PRIx64
                    "; this reader supports 0x%x)",
                    unknown, flags, LSQL_TABLE_SUPPORTED_FLAGS);
  return LSQL_OK;
}

int lsql_table_manifest_parse(const uint8_t *data, size_t len, Lance__Table__Manifest **out,
                              lsql_error *err) {
  *out = NULL;
  if (len < 16 + 4) return lsql_err_corrupt(err, "manifest: file too small (%zu bytes)", len);
  const uint8_t *footer = data + len - 16;
  if (memcmp(footer + 12, "LANC", 4) != 0) return lsql_err_corrupt(err, "manifest: bad magic");
  uint64_t pos = lsql_load_le64(footer);
  uint64_t body_end = len - 16;
  if (pos > body_end || body_end - pos < 4)
    return lsql_err_corrupt(err, "manifest: position %" PRIu64 " outside the file (%zu bytes)", pos,
                            len);
  uint32_t mlen = lsql_load_le32(data + pos);
  if (pos + 4 + (uint64_t)mlen != body_end)
    return lsql_err_corrupt(err,
                            "manifest: message of %" PRIu32 " bytes at %" PRIu64
                            " does not end at the footer (%" PRIu64 ")",
                            mlen, pos, body_end);
  Lance__Table__Manifest *m =
      lance__table__manifest__unpack(&lsql_table_pb_allocator, mlen, data + pos + 4);
  if (!m) return lsql_err_corrupt(err, "manifest: invalid Manifest protobuf");
  int rc = lsql_table_check_feature_flags(m->reader_feature_flags, err);
  if (rc == LSQL_OK && m->data_format && m->data_format->file_format &&
      m->data_format->file_format[0] && strcmp(m->data_format->file_format, "lance") != 0)
    rc = lsql_err(err, LSQL_EUNSUPPORTED, "manifest: unsupported data format \"%s\"",
                  m->data_format->file_format);
  for (size_t i = 0; rc == LSQL_OK && i < m->n_fragments; i++) {
    const Lance__Table__DataFragment *f = m->fragments[i];
    if (f->id > UINT32_MAX)
      rc = lsql_err_corrupt(err, "manifest: fragment id %" PRIu64 " does not fit in 32 bits", f->id);
    else if (f->n_overlays)
      rc = lsql_err(err, LSQL_EUNSUPPORTED, "manifest: fragment %" PRIu64 " has data overlay files",
                    f->id);
    for (size_t j = 0; rc == LSQL_OK && j < f->n_files; j++) {
      const Lance__Table__DataFile *df = f->files[j];
      if (df->n_column_indices != 0 && df->n_column_indices != df->n_fields)
        rc = lsql_err_corrupt(err,
                              "manifest: fragment %" PRIu64 ": data file %s lists %zu fields but %zu "
                              "column indices",
                              f->id, df->path, df->n_fields, df->n_column_indices);
    }
    if (rc == LSQL_OK && f->deletion_file && f->deletion_file->has_file_type &&
        f->deletion_file->file_type != LANCE__TABLE__DELETION_FILE__DELETION_FILE_TYPE__ARROW_ARRAY &&
        f->deletion_file->file_type != LANCE__TABLE__DELETION_FILE__DELETION_FILE_TYPE__BITMAP)
      rc = lsql_err(err, LSQL_EUNSUPPORTED, "manifest: fragment %" PRIu64 ": deletion file type %d",
                    f->id, (int)f->deletion_file->file_type);
  }
  if (rc != LSQL_OK) {
    lsql_table_manifest_free(m);
    return rc;
  }
  *out = m;
  return LSQL_OK;
}

void lsql_table_manifest_free(Lance__Table__Manifest *m) {
  if (m) lance__table__manifest__free_unpacked(m, &lsql_table_pb_allocator);
}
