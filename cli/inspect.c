/* `lancesql inspect DATASET` and `lancesql inspect-file FILE.lance`: a readable rendering of the
 * library's inspection JSON (or the raw JSON with --json). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

static void put_indent(FILE *out, int n) {
  for (int i = 0; i < n; i++) fputs("  ", out);
}

static void scalar(FILE *out, json_t *v) {
  switch (json_typeof(v)) {
    case JSON_STRING: fputs(json_string_value(v), out); break;
    case JSON_INTEGER: fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: fprintf(out, "%g", json_real_value(v)); break;
    case JSON_TRUE: fputs("true", out); break;
    case JSON_FALSE: fputs("false", out); break;
    case JSON_NULL: fputs("-", out); break;
    default: break;
  }
}

static int is_scalar(json_t *v) { return !json_is_object(v) && !json_is_array(v); }

/* An array of scalars fits on one line: "a, b, c". */
static int flat_array(json_t *v) {
  size_t i;
  json_t *e;
  if (!json_is_array(v)) return 0;
  json_array_foreach(v, i, e) if (!is_scalar(e)) return 0;
  return 1;
}

/* An object whose values are all scalars or flat arrays fits on one line: "k=v k2=v2". */
static int flat_object(json_t *v) {
  const char *k;
  json_t *e;
  if (!json_is_object(v) || json_object_size(v) > 8) return 0;
  json_object_foreach(v, k, e) if (!is_scalar(e) && !(flat_array(e) && json_array_size(e) <= 8)) return 0;
  return 1;
}

static void print_flat_array(FILE *out, json_t *v) {
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (i) fputs(", ", out);
    scalar(out, e);
  }
}

static void print_flat_object(FILE *out, json_t *v) {
  const char *k;
  json_t *e;
  int first = 1;
  json_object_foreach(v, k, e) {
    if (!first) fputs("  ", out);
    first = 0;
    fprintf(out, "%s=", k);
    if (json_is_array(e)) {
      fputc('[', out);
      print_flat_array(out, e);
      fputc(']', out);
    } else {
      scalar(out, e);
    }
  }
}

static void print_tree(FILE *out, json_t *v, int depth);

static void print_entry(FILE *out, const char *key, json_t *v, int depth) {
  put_indent(out, depth);
  if (key) fprintf(out, "%s:", key);
  if (is_scalar(v)) {
    fputc(' ', out);
    scalar(out, v);
    fputc('\n', out);
  } else if (flat_array(v)) {
    fputc(' ', out);
    if (json_array_size(v) == 0) fputs("(none)", out);
    print_flat_array(out, v);
    fputc('\n', out);
  } else if (flat_object(v)) {
    fputc(' ', out);
    print_flat_object(out, v);
    fputc('\n', out);
  } else {
    fputc('\n', out);
    print_tree(out, v, depth + 1);
  }
}

static void print_tree(FILE *out, json_t *v, int depth) {
  if (json_is_object(v)) {
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e) print_entry(out, k, e, depth);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (flat_object(e)) {
        put_indent(out, depth);
        fputs("- ", out);
        print_flat_object(out, e);
        fputc('\n', out);
      } else if (json_is_object(e)) {
        /* "- " then the object's entries indented under it */
        const char *k;
        json_t *f;
        int first = 1;
        json_object_foreach(e, k, f) {
          if (first) {
            put_indent(out, depth);
            fputs("- ", out);
            print_entry(out, k, f, 0);
            first = 0;
          } else {
            print_entry(out, k, f, depth + 1);
          }
        }
        if (first) {
          put_indent(out, depth);
          fputs("- {}\n", out);
        }
      } else {
        put_indent(out, depth);
        fputs("-", out);
        if (is_scalar(e)) {
          fputc(' ', out);
          scalar(out, e);
          fputc('\n', out);
        } else {
          fputc('\n', out);
          print_tree(out, e, depth + 1);
        }
      }
    }
  } else {
    put_indent(out, depth);
    scalar(out, v);
    fputc('\n', out);
  }
}

static void fmt_time_us(char *buf, size_t cap, int64_t us) {
  time_t t = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void print_schema(FILE *out, struct ArrowSchema *s, int depth) {
  for (int64_t i = 0; i < s->n_children; i++) {
    char tb[128];
    struct ArrowSchema *ch = s->children[i];
    put_indent(out, depth);
    fprintf(out, "%s: %s%s\n", ch->name ? ch->name : "", cli_type_name(ch, tb, sizeof tb),
            (ch->flags & ARROW_FLAG_NULLABLE) ? "" : " not null");
    if (ch->format[0] == '+' && ch->format[1] == 's') print_schema(out, ch, depth + 1);
  }
}

int cli_inspect_dataset(const char *path, int raw_json, FILE *out, lsql_error *err) {
  lsql_dataset *ds = NULL;
  int rc = lsql_dataset_open(path, NULL, &ds, err);
  if (rc) return rc;
  char *js = NULL;
  rc = lsql_dataset_inspect(ds, &js, err);
  if (rc) goto done;
  if (raw_json) {
    fputs(js, out);
    if (js[0] && js[strlen(js) - 1] != '\n') fputc('\n', out);
    goto done;
  }
  fprintf(out, "dataset: %s\n", lsql_dataset_uri(ds));
  fprintf(out, "version: %" PRIu64 "\n", lsql_dataset_version(ds));
  uint64_t rows = 0;
  if (lsql_dataset_count_rows(ds, &rows, NULL) == LSQL_OK) fprintf(out, "rows: %" PRIu64 "\n", rows);
  lsql_version_info *vs = NULL;
  size_t nv = 0;
  if (lsql_dataset_versions(ds, &vs, &nv, NULL) == LSQL_OK) {
    fprintf(out, "versions (%zu):\n", nv);
    for (size_t i = 0; i < nv; i++) {
      char tb[64];
      fmt_time_us(tb, sizeof tb, vs[i].timestamp_us);
      fprintf(out, "  %" PRIu64 "  %s\n", vs[i].version, tb);
    }
    lsql_free(vs);
  }
  struct ArrowSchema sc;
  memset(&sc, 0, sizeof sc);
  if (lsql_dataset_schema(ds, &sc, NULL) == LSQL_OK) {
    fputs("schema:\n", out);
    print_schema(out, &sc, 1);
    if (sc.release) sc.release(&sc);
  }
  json_error_t je;
  json_t *root = json_loads(js, 0, &je);
  if (!root) {
    err->code = LSQL_ECORRUPT;
    snprintf(err->message, sizeof err->message, "inspect JSON: %s (line %d)", je.text, je.line);
    rc = err->code;
    goto done;
  }
  /* The header above already shows these. */
  static const char *const shown[] = {"uri", "version", "versions", "schema"};
  for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) json_object_del(root, shown[i]);
  fputs("details:\n", out);
  print_tree(out, root, 1);
  json_decref(root);
done:
  lsql_free(js);
  lsql_dataset_free(ds);
  return rc;
}

int cli_inspect_file(const char *path, int raw_json, FILE *out, lsql_error *err) {
  char *js = NULL;
  int rc = lsql_file_inspect(path, &js, err);
  if (rc) return rc;
  if (raw_json) {
    fputs(js, out);
    if (js[0] && js[strlen(js) - 1] != '\n') fputc('\n', out);
  } else {
    json_error_t je;
    json_t *root = json_loads(js, 0, &je);
    if (!root) {
      err->code = LSQL_ECORRUPT;
      snprintf(err->message, sizeof err->message, "inspect JSON: %s (line %d)", je.text, je.line);
      rc = err->code;
    } else {
      fprintf(out, "file: %s\n", path);
      print_tree(out, root, 0);
      json_decref(root);
    }
  }
  lsql_free(js);
  return rc;
}
