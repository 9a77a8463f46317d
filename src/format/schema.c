/* Lance schemas: logical type strings <-> lsql_field, the nested tree rebuilt from the flat
 * pre-order field list, and the Arrow schema export (matching what pylance returns). */
#include <stdio.h>
#include <stdlib.h>

#include "format/format.h"
#include "util/arrow.h"

static void field_clear(lsql_field *f) {
  if (!f) return;
  lsql_free(f->name);
  lsql_free(f->logical_type);
  lsql_free(f->timezone);
  for (size_t i = 0; i < f->n_children; i++) field_clear(&f->children[i]);
  lsql_free(f->children);
  for (size_t i = 0; i < f->n_metadata; i++) {
    lsql_free(f->meta_keys[i]);
    lsql_free(f->meta_values[i]);
  }
  lsql_free(f->meta_keys);
  lsql_free(f->meta_values);
  lsql_free(f->meta_value_lens);
  if (f->declared) field_clear(f->declared);
  lsql_free(f->declared);
  memset(f, 0, sizeof *f);
}

void lsql_schema_free(lsql_schema *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_fields; i++) field_clear(&s->fields[i]);
  lsql_free(s->fields);
  for (size_t i = 0; i < s->n_metadata; i++) {
    lsql_free(s->meta_keys[i]);
    lsql_free(s->meta_values[i]);
  }
  lsql_free(s->meta_keys);
  lsql_free(s->meta_values);
  lsql_free(s->meta_value_lens);
  memset(s, 0, sizeof *s);
}

static int parse_unit(const char *u, int *out) {
  if (!strcmp(u, "s")) *out = LSQL_UNIT_S;
  else if (!strcmp(u, "ms")) *out = LSQL_UNIT_MS;
  else if (!strcmp(u, "us")) *out = LSQL_UNIT_US;
  else if (!strcmp(u, "ns")) *out = LSQL_UNIT_NS;
  else return -1;
  return 0;
}

static const struct { const char *name; lsql_type type; } k_simple[] = {
  {"null", LSQL_TYPE_NULL}, {"bool", LSQL_TYPE_BOOL}, {"int8", LSQL_TYPE_INT8},
  {"uint8", LSQL_TYPE_UINT8}, {"int16", LSQL_TYPE_INT16}, {"uint16", LSQL_TYPE_UINT16},
  {"int32", LSQL_TYPE_INT32}, {"uint32", LSQL_TYPE_UINT32}, {"int64", LSQL_TYPE_INT64},
  {"uint64", LSQL_TYPE_UINT64}, {"halffloat", LSQL_TYPE_FLOAT16}, {"float", LSQL_TYPE_FLOAT32},
  {"double", LSQL_TYPE_FLOAT64}, {"string", LSQL_TYPE_UTF8}, {"large_string", LSQL_TYPE_LARGE_UTF8},
  {"binary", LSQL_TYPE_BINARY}, {"large_binary", LSQL_TYPE_LARGE_BINARY},
  {"date32:day", LSQL_TYPE_DATE32}, {"date64:ms", LSQL_TYPE_DATE64},
  {"struct", LSQL_TYPE_STRUCT}, {"list", LSQL_TYPE_LIST}, {"list.struct", LSQL_TYPE_LIST},
  {"large_list", LSQL_TYPE_LARGE_LIST}, {"large_list.struct", LSQL_TYPE_LARGE_LIST},
  {"map", LSQL_TYPE_MAP}, {"json", LSQL_TYPE_LARGE_BINARY}, {"blob", LSQL_TYPE_LARGE_BINARY},
};

static int parse_int(const char *s, int32_t *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0 || v > 0x7fffffff) return -1;
  *out = (int32_t)v;
  return 0;
}

static int add_child(lsql_field *f, const char *name, const char *lt, lsql_error *err);

int lsql_logical_type_parse(const char *lt, lsql_field *f, lsql_error *err) {
  if (!lt) return lsql_err_corrupt(err, "missing logical type");
  for (size_t i = 0; i < LSQL_ARRAY_LEN(k_simple); i++)
    if (!strcmp(lt, k_simple[i].name)) {
      f->type = k_simple[i].type;
      return LSQL_OK;
    }
  char tmp[256];
  if (strlen(lt) >= sizeof tmp) goto bad;
  strcpy(tmp, lt);
  if (!strncmp(lt, "time32:", 7) || !strncmp(lt, "time64:", 7) || !strncmp(lt, "duration:", 9)) {
    f->type = lt[0] == 'd' ? LSQL_TYPE_DURATION : lt[4] == '3' ? LSQL_TYPE_TIME32 : LSQL_TYPE_TIME64;
    if (parse_unit(strchr(lt, ':') + 1, &f->time_unit)) goto bad;
    return LSQL_OK;
  }
  if (!strncmp(lt, "timestamp:", 10)) {
    char *u = tmp + 10, *c = strchr(u, ':');
    if (!c) goto bad;
    *c = 0;
    if (parse_unit(u, &f->time_unit)) goto bad;
    f->type = LSQL_TYPE_TIMESTAMP;
    if (strcmp(c + 1, "-") != 0) {
      if (!(f->timezone = lsql_strdup(c + 1))) return lsql_err_oom(err);
    }
    return LSQL_OK;
  }
  if (!strncmp(lt, "decimal:", 8)) {
    char *p = tmp + 8, *a = strchr(p, ':');
    if (!a) goto bad;
    *a = 0;
    char *b = strchr(a + 1, ':');
    if (!b) goto bad;
    *b = 0;
    int32_t bits;
    if (parse_int(p, &bits) || (bits != 128 && bits != 256)) goto bad;
    if (parse_int(a + 1, &f->precision)) goto bad;
    char *sc = b + 1;
    char *end;
    long s = strtol(sc, &end, 10);
    if (end == sc || *end) goto bad;
    f->scale = (int32_t)s;
    f->type = bits == 128 ? LSQL_TYPE_DECIMAL128 : LSQL_TYPE_DECIMAL256;
    return LSQL_OK;
  }
  if (!strncmp(lt, "fixed_size_binary:", 18)) {
    if (parse_int(lt + 18, &f->width) || f->width <= 0) goto bad;
    f->type = LSQL_TYPE_FIXED_SIZE_BINARY;
    return LSQL_OK;
  }
  if (!strncmp(lt, "fixed_size_list:", 16)) {
    char *inner = tmp + 16, *last = strrchr(inner, ':');
    if (!last) goto bad;
    *last = 0;
    if (parse_int(last + 1, &f->width) || f->width <= 0) goto bad;
    f->type = LSQL_TYPE_FIXED_SIZE_LIST;
    if (!strcmp(inner, "struct")) return LSQL_OK; /* the child comes from the schema */
    return add_child(f, "item", inner, err);
  }
  if (!strncmp(lt, "dict:", 5)) {
    char *v = tmp + 5, *k = strchr(v, ':');
    if (!k) goto bad;
    *k++ = 0;
    char *o = strchr(k, ':');
    if (o) *o = 0;
    lsql_field kf;
    memset(&kf, 0, sizeof kf);
    if (lsql_logical_type_parse(k, &kf, err) != LSQL_OK) goto bad;
    lsql_type kt = kf.type;
    field_clear(&kf);
    if (kt < LSQL_TYPE_INT8 || kt > LSQL_TYPE_UINT64) goto bad;
    f->dict_index = kt;
    f->type = LSQL_TYPE_DICTIONARY;
    return add_child(f, "value", v, err);
  }
bad:
  return lsql_err(err, LSQL_EUNSUPPORTED, "unsupported logical type \"%s\"", lt);
}

static int add_child(lsql_field *f, const char *name, const char *lt, lsql_error *err) {
  lsql_field *c = lsql_realloc(f->children, (f->n_children + 1) * sizeof *c);
  if (!c) return lsql_err_oom(err);
  f->children = c;
  lsql_field *n = &c[f->n_children++];
  memset(n, 0, sizeof *n);
  n->id = -1;
  n->parent_id = f->id;
  n->nullable = true;
  if (!(n->name = lsql_strdup(name)) || !(n->logical_type = lsql_strdup(lt))) return lsql_err_oom(err);
  if (!strcmp(lt, "lance.bfloat16")) {
    n->type = LSQL_TYPE_FIXED_SIZE_BINARY;
    n->width = 2;
    n->meta_keys = lsql_calloc(2, sizeof(char *));
    n->meta_values = lsql_calloc(2, sizeof(char *));
    n->meta_value_lens = lsql_calloc(2, sizeof(size_t));
    if (!n->meta_keys || !n->meta_values || !n->meta_value_lens) return lsql_err_oom(err);
    n->n_metadata = 2;
    n->meta_keys[0] = lsql_strdup("ARROW:extension:name");
    n->meta_values[0] = lsql_strdup("lance.bfloat16");
    n->meta_value_lens[0] = 14;
    n->meta_keys[1] = lsql_strdup("ARROW:extension:metadata");
    n->meta_values[1] = lsql_strdup("");
    for (int i = 0; i < 2; i++)
      if (!n->meta_keys[i] || !n->meta_values[i]) return lsql_err_oom(err);
    return LSQL_OK;
  }
  return lsql_logical_type_parse(lt, n, err);
}

static bool meta_true(const lsql_field *f, const char *key) {
  for (size_t i = 0; i < f->n_metadata; i++)
    if (!strcmp(f->meta_keys[i], key))
      return f->meta_value_lens[i] > 0 && strcmp(f->meta_values[i], "false") != 0;
  return false;
}

static int fill_field(const lsql_pb_field *pf, lsql_field *f, lsql_error *err) {
  memset(f, 0, sizeof *f);
  f->id = pf->id;
  f->parent_id = pf->parent_id;
  f->nullable = pf->nullable;
  if (!(f->name = lsql_strdup(pf->name ? pf->name : "")) ||
      !(f->logical_type = lsql_strdup(pf->logical_type ? pf->logical_type : "")))
    return lsql_err_oom(err);
  /* Field.extension_name becomes ARROW:extension:name unless the metadata already carries it. */
  bool add_ext = pf->extension_name && *pf->extension_name;
  for (size_t i = 0; add_ext && i < pf->n_metadata; i++)
    if (pf->meta_keys[i] && !strcmp(pf->meta_keys[i], "ARROW:extension:name")) add_ext = false;
  size_t nm = pf->n_metadata + (add_ext ? 1 : 0);
  if (nm) {
    f->meta_keys = lsql_calloc(nm, sizeof(char *));
    f->meta_values = lsql_calloc(nm, sizeof(char *));
    f->meta_value_lens = lsql_calloc(nm, sizeof(size_t));
    if (!f->meta_keys || !f->meta_values || !f->meta_value_lens) return lsql_err_oom(err);
    for (size_t i = 0; i < pf->n_metadata; i++) {
      f->meta_keys[i] = lsql_strdup(pf->meta_keys[i]);
      f->meta_values[i] = lsql_strndup((const char *)pf->meta_values[i], pf->meta_value_lens[i]);
      f->meta_value_lens[i] = pf->meta_value_lens[i];
      f->n_metadata++;
      if (!f->meta_keys[i] || !f->meta_values[i]) return lsql_err_oom(err);
    }
    if (nm > pf->n_metadata) {
      size_t i = f->n_metadata;
      f->meta_keys[i] = lsql_strdup("ARROW:extension:name");
      f->meta_values[i] = lsql_strdup(pf->extension_name);
      f->meta_value_lens[i] = strlen(pf->extension_name);
      f->n_metadata++;
      if (!f->meta_keys[i] || !f->meta_values[i]) return lsql_err_oom(err);
    }
  }
  f->packed = meta_true(f, "lance-encoding:packed") || meta_true(f, "packed");
  f->blob = meta_true(f, "lance-encoding:blob") || !strcmp(f->logical_type, "blob");
  return lsql_logical_type_parse(f->logical_type, f, err);
}

/* Looks a field up by id in the partially built tree. */
static lsql_field *find_id(lsql_field *fs, size_t n, int32_t id) {
  for (size_t i = 0; i < n; i++) {
    if (fs[i].id == id) return &fs[i];
    lsql_field *c = find_id(fs[i].children, fs[i].n_children, id);
    if (c) return c;
  }
  return NULL;
}

/* Checks child counts against the type once the tree is complete. */
static int check_field(const lsql_field *f, lsql_error *err) {
  size_t want = (size_t)-1;
  switch (f->type) {
    case LSQL_TYPE_LIST: case LSQL_TYPE_LARGE_LIST: case LSQL_TYPE_MAP:
    case LSQL_TYPE_FIXED_SIZE_LIST: case LSQL_TYPE_DICTIONARY: want = 1; break;
    case LSQL_TYPE_STRUCT: break;
    default: want = 0;
  }
  if (want != (size_t)-1 && f->n_children != want)
    return lsql_err_corrupt(err, "field \"%s\" (%s) has %zu children", f->name, f->logical_type,
                            f->n_children);
  if (f->type == LSQL_TYPE_MAP && (f->children[0].type != LSQL_TYPE_STRUCT ||
                                   f->children[0].n_children != 2))
    return lsql_err_corrupt(err, "map field \"%s\" needs an entries struct {key, value}", f->name);
  for (size_t i = 0; i < f->n_children; i++) LSQL_TRY(check_field(&f->children[i], err));
  return LSQL_OK;
}

static const char *meta_get(const lsql_field *f, const char *key) {
  for (size_t i = 0; i < f->n_metadata; i++)
    if (!strcmp(f->meta_keys[i], key)) return f->meta_values[i];
  return NULL;
}

/* Blob v2 columns (extension lance.blob.v2) are stored as one packed description column and read,
 * like pylance's to_table(), as struct<kind: uint8, position: uint64, size: uint64, blob_id: uint32,
 * blob_uri: utf8> (all non-null) with the blob/packed markers as field metadata. */
static int blob_v2_descriptions(lsql_field *f, lsql_error *err) {
  const char *ext = meta_get(f, "ARROW:extension:name");
  if (f->type != LSQL_TYPE_STRUCT || !ext || strcmp(ext, "lance.blob.v2") != 0) {
    for (size_t i = 0; i < f->n_children; i++) LSQL_TRY(blob_v2_descriptions(&f->children[i], err));
    return LSQL_OK;
  }
  static const char *names[] = {"kind", "position", "size", "blob_id", "blob_uri"};
  static const char *types[] = {"uint8", "uint64", "uint64", "uint32", "string"};
  /* Keep the declared field (children and metadata move over) for the declared schema. */
  lsql_field *d = lsql_calloc(1, sizeof *d);
  if (!d) return lsql_err_oom(err);
  *d = *f;
  d->declared = NULL;
  f->declared = d;
  f->name = f->logical_type = f->timezone = NULL;
  f->children = NULL;
  f->n_children = 0;
  f->meta_keys = f->meta_values = NULL;
  f->meta_value_lens = NULL;
  f->n_metadata = 0;
  if (!(f->name = lsql_strdup(d->name)) || !(f->logical_type = lsql_strdup(d->logical_type)))
    return lsql_err_oom(err);
  for (int i = 0; i < 5; i++) {
    LSQL_TRY(add_child(f, names[i], types[i], err));
    f->children[i].nullable = false;
  }
  f->n_metadata = 0;
  f->meta_keys = lsql_calloc(2, sizeof(char *));
  f->meta_values = lsql_calloc(2, sizeof(char *));
  f->meta_value_lens = lsql_calloc(2, sizeof(size_t));
  if (!f->meta_keys || !f->meta_values || !f->meta_value_lens) return lsql_err_oom(err);
  static const char *keys[] = {"lance-encoding:blob", "lance-encoding:packed"};
  for (int i = 0; i < 2; i++) {
    f->meta_keys[i] = lsql_strdup(keys[i]);
    f->meta_values[i] = lsql_strdup("true");
    f->meta_value_lens[i] = 4;
    f->n_metadata++;
    if (!f->meta_keys[i] || !f->meta_values[i]) return lsql_err_oom(err);
  }
  f->blob = true;
  f->packed = true;
  return LSQL_OK;
}

int lsql_schema_build(const lsql_pb_field *pfs, size_t n, lsql_schema *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  int rc = LSQL_OK;
  for (size_t i = 0; i < n; i++) {
    lsql_field nf;
    if ((rc = fill_field(&pfs[i], &nf, err)) != LSQL_OK) {
      field_clear(&nf);
      lsql_error_prefix(err, "field \"%s\": ", pfs[i].name ? pfs[i].name : "");
      goto fail;
    }
    if (nf.id >= 0 && find_id(out->fields, out->n_fields, nf.id)) {
      field_clear(&nf);
      rc = lsql_err_corrupt(err, "duplicate field id %d", (int)pfs[i].id);
      goto fail;
    }
    lsql_field **slot_arr;
    size_t *slot_n;
    lsql_field *parent = NULL;
    /* Readers size id-indexed arrays by the largest id, so an id read from a corrupt file must
     * not size an allocation: 2^24 is far beyond any real schema's history of fields. */
    if (nf.id > (1 << 24) || nf.parent_id > (1 << 24)) {
      field_clear(&nf);
      rc = lsql_err_corrupt(err, "field \"%s\": field id %d / parent id %d exceeds the limit of %d",
                            pfs[i].name, (int)pfs[i].id, (int)pfs[i].parent_id, 1 << 24);
      goto fail;
    }
    if (nf.parent_id < -1) { /* -1 marks a top-level field; anything lower is dangling */
      field_clear(&nf);
      rc = lsql_err_corrupt(err, "field \"%s\": invalid parent id %d", pfs[i].name, (int)pfs[i].parent_id);
      goto fail;
    }
    if (nf.parent_id < 0) {
      slot_arr = &out->fields;
      slot_n = &out->n_fields;
    } else {
      parent = find_id(out->fields, out->n_fields, nf.parent_id);
      if (!parent) {
        field_clear(&nf);
        rc = lsql_err_corrupt(err, "field \"%s\": unknown parent id %d", pfs[i].name, (int)pfs[i].parent_id);
        goto fail;
      }
      if (parent->type == LSQL_TYPE_FIXED_SIZE_LIST && parent->n_children == 1 &&
          parent->children[0].id == -1) {
        /* A stored child replaces the synthesized FSL item. */
        field_clear(&parent->children[0]);
        parent->n_children = 0;
      }
      slot_arr = &parent->children;
      slot_n = &parent->n_children;
    }
    lsql_field *grown = lsql_realloc(*slot_arr, (*slot_n + 1) * sizeof *grown);
    if (!grown) {
      field_clear(&nf);
      rc = lsql_err_oom(err);
      goto fail;
    }
    *slot_arr = grown;
    grown[(*slot_n)++] = nf;
  }
  for (size_t i = 0; i < out->n_fields; i++)
    if ((rc = blob_v2_descriptions(&out->fields[i], err)) != LSQL_OK || (rc = check_field(&out->fields[i], err)) != LSQL_OK)
      goto fail;
  return LSQL_OK;
fail:
  lsql_schema_free(out);
  return rc;
}

const lsql_field *lsql_schema_find(const lsql_schema *s, const char *name) {
  for (size_t i = 0; i < s->n_fields; i++)
    if (!strcmp(s->fields[i].name, name)) return &s->fields[i];
  return NULL;
}

const lsql_field *lsql_schema_find_id(const lsql_schema *s, int32_t id) {
  return find_id(s->fields, s->n_fields, id);
}

static int32_t max_id(const lsql_field *fs, size_t n) {
  int32_t m = -1;
  for (size_t i = 0; i < n; i++) {
    if (fs[i].id > m) m = fs[i].id;
    int32_t c = max_id(fs[i].children, fs[i].n_children);
    if (c > m) m = c;
  }
  return m;
}

int32_t lsql_schema_max_id(const lsql_schema *s) { return max_id(s->fields, s->n_fields); }

/* ---- Arrow export ---------------------------------------------------------------------------- */

static const char *unit_char(int u) { return u == LSQL_UNIT_S ? "s" : u == LSQL_UNIT_MS ? "m" : u == LSQL_UNIT_US ? "u" : "n"; }

static const char *simple_format(lsql_type t) {
  switch (t) {
    case LSQL_TYPE_NULL: return "n";
    case LSQL_TYPE_BOOL: return "b";
    case LSQL_TYPE_INT8: return "c";
    case LSQL_TYPE_UINT8: return "C";
    case LSQL_TYPE_INT16: return "s";
    case LSQL_TYPE_UINT16: return "S";
    case LSQL_TYPE_INT32: return "i";
    case LSQL_TYPE_UINT32: return "I";
    case LSQL_TYPE_INT64: return "l";
    case LSQL_TYPE_UINT64: return "L";
    case LSQL_TYPE_FLOAT16: return "e";
    case LSQL_TYPE_FLOAT32: return "f";
    case LSQL_TYPE_FLOAT64: return "g";
    case LSQL_TYPE_UTF8: return "u";
    case LSQL_TYPE_LARGE_UTF8: return "U";
    case LSQL_TYPE_BINARY: return "z";
    case LSQL_TYPE_LARGE_BINARY: return "Z";
    case LSQL_TYPE_DATE32: return "tdD";
    case LSQL_TYPE_DATE64: return "tdm";
    case LSQL_TYPE_STRUCT: return "+s";
    case LSQL_TYPE_LIST: return "+l";
    case LSQL_TYPE_LARGE_LIST: return "+L";
    case LSQL_TYPE_MAP: return "+m";
    default: return NULL;
  }
}

static int field_arrow(const lsql_field *f, bool declared, struct ArrowSchema *out, lsql_error *err) {
  char fmt[300];
  if (declared && f->declared) f = f->declared;
  if (!declared && f->blob && f->type != LSQL_TYPE_STRUCT) {
    /* Blob columns read as their descriptions, like pylance's to_table(). */
    if (lsql_arrow_schema_init(out, "+s", f->name, f->nullable ? ARROW_FLAG_NULLABLE : 0, 2) != LSQL_OK ||
        lsql_arrow_schema_init(out->children[0], "L", "position", ARROW_FLAG_NULLABLE, 0) != LSQL_OK ||
        lsql_arrow_schema_init(out->children[1], "L", "size", ARROW_FLAG_NULLABLE, 0) != LSQL_OK)
      return lsql_err_oom(err);
    if (f->n_metadata &&
        lsql_arrow_schema_set_metadata(out, f->n_metadata, (const char *const *)f->meta_keys,
                                       (const char *const *)f->meta_values, f->meta_value_lens) != LSQL_OK)
      return lsql_err_oom(err);
    return LSQL_OK;
  }
  const lsql_field *value = f;
  if (f->type == LSQL_TYPE_DICTIONARY) value = &f->children[0];
  const char *sf = simple_format(value->type);
  switch (value->type) {
    case LSQL_TYPE_TIME32: snprintf(fmt, sizeof fmt, "tt%s", unit_char(value->time_unit)); break;
    case LSQL_TYPE_TIME64: snprintf(fmt, sizeof fmt, "tt%s", unit_char(value->time_unit)); break;
    case LSQL_TYPE_DURATION: snprintf(fmt, sizeof fmt, "tD%s", unit_char(value->time_unit)); break;
    case LSQL_TYPE_TIMESTAMP:
      snprintf(fmt, sizeof fmt, "ts%s:%s", unit_char(value->time_unit),
               value->timezone ? value->timezone : "");
      break;
    case LSQL_TYPE_DECIMAL128: snprintf(fmt, sizeof fmt, "d:%d,%d", value->precision, value->scale); break;
    case LSQL_TYPE_DECIMAL256: snprintf(fmt, sizeof fmt, "d:%d,%d,256", value->precision, value->scale); break;
    case LSQL_TYPE_FIXED_SIZE_BINARY: snprintf(fmt, sizeof fmt, "w:%d", value->width); break;
    case LSQL_TYPE_FIXED_SIZE_LIST: snprintf(fmt, sizeof fmt, "+w:%d", value->width); break;
    default:
      if (!sf) return lsql_err(err, LSQL_EUNSUPPORTED, "field \"%s\": no Arrow type", f->name);
      snprintf(fmt, sizeof fmt, "%s", sf);
  }
  const char *ifmt = fmt;
  if (f->type == LSQL_TYPE_DICTIONARY) ifmt = simple_format(f->dict_index);
  size_t nch = value == f ? f->n_children : 0;
  int64_t flags = f->nullable ? ARROW_FLAG_NULLABLE : 0;
  if (lsql_arrow_schema_init(out, ifmt, f->name, flags, (int64_t)nch) != LSQL_OK) return lsql_err_oom(err);
  if (f->n_metadata &&
      lsql_arrow_schema_set_metadata(out, f->n_metadata, (const char *const *)f->meta_keys,
                                     (const char *const *)f->meta_values, f->meta_value_lens) != LSQL_OK)
    return lsql_err_oom(err);
  for (size_t i = 0; i < nch; i++) LSQL_TRY(field_arrow(&f->children[i], declared, out->children[i], err));
  if (f->type == LSQL_TYPE_DICTIONARY) {
    struct ArrowSchema *d = lsql_arrow_schema_alloc_dictionary(out);
    if (!d) return lsql_err_oom(err);
    if (lsql_arrow_schema_init(d, fmt, NULL, ARROW_FLAG_NULLABLE, (int64_t)value->n_children) != LSQL_OK)
      return lsql_err_oom(err);
    for (size_t i = 0; i < value->n_children; i++)
      LSQL_TRY(field_arrow(&value->children[i], declared, d->children[i], err));
  }
  return LSQL_OK;
}

int lsql_field_to_arrow(const lsql_field *f, struct ArrowSchema *out, lsql_error *err) {
  int rc = field_arrow(f, false, out, err);
  if (rc != LSQL_OK) lsql_arrow_schema_reset(out);
  return rc;
}

int lsql_field_to_arrow_declared(const lsql_field *f, struct ArrowSchema *out, lsql_error *err) {
  int rc = field_arrow(f, true, out, err);
  if (rc != LSQL_OK) lsql_arrow_schema_reset(out);
  return rc;
}

static int schema_arrow(const lsql_schema *s, bool declared, struct ArrowSchema *out, lsql_error *err) {
  if (lsql_arrow_schema_init(out, "+s", "", 0, (int64_t)s->n_fields) != LSQL_OK) return lsql_err_oom(err);
  int rc = LSQL_OK;
  for (size_t i = 0; i < s->n_fields && rc == LSQL_OK; i++)
    rc = field_arrow(&s->fields[i], declared, out->children[i], err);
  if (rc == LSQL_OK && s->n_metadata &&
      lsql_arrow_schema_set_metadata(out, s->n_metadata, (const char *const *)s->meta_keys,
                                     (const char *const *)s->meta_values, s->meta_value_lens) != LSQL_OK)
    rc = lsql_err_oom(err);
  if (rc != LSQL_OK) lsql_arrow_schema_reset(out);
  return rc;
}

int lsql_schema_to_arrow(const lsql_schema *s, struct ArrowSchema *out, lsql_error *err) {
  return schema_arrow(s, false, out, err);
}

int lsql_schema_to_arrow_declared(const lsql_schema *s, struct ArrowSchema *out, lsql_error *err) {
  return schema_arrow(s, true, out, err);
}
