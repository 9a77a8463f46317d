/* Command-line parsing and small shared helpers (allocation, buffers, error output). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Errors are one line on stderr: engine messages often continue with a caret diagram. */
void cli_error(const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *nl = strchr(msg, '\n');
  if (nl) *nl = 0;
  fprintf(stderr, "lancesql: error: %s\n", msg);
  fflush(stderr);
}

int cli_err_set(lsql_error *err, int code, const char *fmt, ...) {
  if (!err) return code;
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  err->code = code;
  size_t n = strlen(tmp);
  if (n >= sizeof err->message) n = sizeof err->message - 1;
  memcpy(err->message, tmp, n);
  err->message[n] = 0;
  return code;
}

void *cli_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    cli_error("out of memory");
    exit(1);
  }
  return p;
}

void *cli_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    cli_error("out of memory");
    exit(1);
  }
  return q;
}

char *cli_xstrdup(const char *s) {
  size_t n = strlen(s);
  char *d = cli_xmalloc(n + 1);
  memcpy(d, s, n + 1);
  return d;
}

static char *xstrndup(const char *s, size_t n) {
  char *d = cli_xmalloc(n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

void cli_buf_putn(cli_buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + n + 1) cap *= 2;
    b->data = cli_xrealloc(b->data, cap);
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}
void cli_buf_puts(cli_buf *b, const char *s) { cli_buf_putn(b, s, strlen(s)); }
void cli_buf_putc(cli_buf *b, char c) { cli_buf_putn(b, &c, 1); }
void cli_buf_printf(cli_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    cli_buf_putn(b, tmp, (size_t)n);
    return;
  }
  char *big = cli_xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  cli_buf_putn(b, big, (size_t)n);
  free(big);
}
void cli_buf_clear(cli_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = 0;
}
void cli_buf_free(cli_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void cli_strv_free(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

static const char *const format_names[] = {"table", "csv", "json", "markdown", "arrow"};

int cli_parse_format(const char *s, enum cli_format *out) {
  for (int i = 0; i < 5; i++)
    if (strcmp(s, format_names[i]) == 0) {
      *out = (enum cli_format)i;
      return 0;
    }
  if (strcmp(s, "md") == 0) {
    *out = CLI_FMT_MARKDOWN;
    return 0;
  }
  return -1;
}
const char *cli_format_name(enum cli_format f) { return format_names[f]; }

void cli_usage(FILE *f) {
  fputs(
      "Usage: lancesql [OPTIONS] [-c SQL]... [-f FILE]\n"
      "       lancesql inspect DATASET_PATH [--json]\n"
      "       lancesql inspect-file FILE.lance [--json]\n"
      "\n"
      "Runs SQL over Lance datasets organised in Lance Namespaces. Without -c or -f, SQL is\n"
      "read from standard input, or an interactive shell starts when stdin is a terminal.\n"
      "\n"
      "Options:\n"
      "  --root URI                  root namespace: a directory PATH, dir:PATH or rest:URL;\n"
      "                              its child namespaces become catalogs\n"
      "  --catalog NAME=IMPL:LOC[#a.b]\n"
      "                              mount namespace a.b (default: the root) of a dir or rest\n"
      "                              namespace as catalog NAME (repeatable)\n"
      "  --ns-opt NAME.KEY=VALUE     namespace property for NAME (\"root\" or a catalog), e.g.\n"
      "                              crm.header.Authorization=env:CRM_TOKEN (env:VAR reads $VAR)\n"
      "  --default CATALOG[.SCHEMA]  default catalog and schema for short table names\n"
      "  --set KEY=VALUE             session option (threads, memory_limit, batch_size)\n"
      "  --format FMT                table (default), csv, json, markdown or arrow (IPC stream)\n"
      "  --csv, --json, --markdown   shorthands for --format\n"
      "  -c SQL                      run SQL and exit (repeatable; dot commands allowed)\n"
      "  -f FILE                     run the statements in FILE and print each result\n"
      "  --timer                     print each query's run time on stderr\n"
      "  --no-progress               never show the progress bar\n"
      "  -h, --help                  show this help\n"
      "  -V, --version               show the version\n"
      "\n"
      "Exit status: 0 on success, 1 on any error (one line on stderr), 2 on bad usage.\n"
      "See docs/cli.md for details.\n",
      f);
}

static void push_str(char ***v, size_t *n, const char *s) {
  *v = cli_xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = cli_xstrdup(s);
}

/* Splits "a.b.c" into levels; returns count. Empty string: 0 levels. */
static size_t split_path(const char *s, char ***out) {
  *out = NULL;
  size_t n = 0;
  if (!*s) return 0;
  const char *p = s;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    *out = cli_xrealloc(*out, (n + 1) * sizeof **out);
    (*out)[n++] = xstrndup(p, len);
    if (!dot) break;
    p = dot + 1;
  }
  return n;
}

/* Splits "IMPL:LOCATION" into impl and location; bare paths and http(s) URLs are inferred. */
static int parse_ns_uri(const char *s, char **impl, char **loc) {
  if (strncmp(s, "dir:", 4) == 0) {
    *impl = cli_xstrdup("dir");
    *loc = cli_xstrdup(s + 4);
  } else if (strncmp(s, "rest:", 5) == 0) {
    *impl = cli_xstrdup("rest");
    *loc = cli_xstrdup(s + 5);
  } else if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
    *impl = cli_xstrdup("rest");
    *loc = cli_xstrdup(s);
  } else {
    *impl = cli_xstrdup("dir");
    *loc = cli_xstrdup(s);
  }
  if (!**loc) {
    cli_error("empty namespace location in '%s'", s);
    return -1;
  }
  return 0;
}

static int parse_catalog(const char *spec, cli_catalog *c) {
  memset(c, 0, sizeof *c);
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec) {
    cli_error("--catalog expects NAME=IMPL:LOCATION[#ns.path], got '%s'", spec);
    return -1;
  }
  c->name = xstrndup(spec, (size_t)(eq - spec));
  const char *rest = eq + 1;
  const char *hash = strrchr(rest, '#');
  char *uri = hash ? xstrndup(rest, (size_t)(hash - rest)) : cli_xstrdup(rest);
  int rc = parse_ns_uri(uri, &c->impl, &c->location);
  free(uri);
  if (rc) return -1;
  if (hash) c->path_len = split_path(hash + 1, &c->path);
  for (size_t i = 0; i < c->path_len; i++)
    if (!c->path[i][0]) {
      cli_error("empty level in namespace path '%s'", hash + 1);
      return -1;
    }
  return 0;
}

static int parse_nsopt(const char *spec, cli_nsopt *o) {
  memset(o, 0, sizeof *o);
  const char *dot = strchr(spec, '.');
  const char *eq = strchr(spec, '=');
  if (!dot || !eq || dot > eq || dot == spec || eq == dot + 1) {
    cli_error("--ns-opt expects NAME.KEY=VALUE, got '%s'", spec);
    return -1;
  }
  o->target = xstrndup(spec, (size_t)(dot - spec));
  o->key = xstrndup(dot + 1, (size_t)(eq - dot - 1));
  const char *val = eq + 1;
  if (strncmp(val, "env:", 4) == 0) {
    const char *e = getenv(val + 4);
    if (!e) {
      cli_error("--ns-opt %s.%s: environment variable %s is not set", o->target, o->key, val + 4);
      return -1;
    }
    val = e;
  }
  o->value = cli_xstrdup(val);
  return 0;
}

/* Option value: "--opt=value" or "--opt value". */
static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) == 0 && a[n] == '=') return a + n + 1;
  if (*i + 1 >= argc) {
    cli_error("option %s needs a value", name);
    return NULL;
  }
  return argv[++*i];
}

static int is_opt(const char *a, const char *name) {
  size_t n = strlen(name);
  return strncmp(a, name, n) == 0 && (a[n] == 0 || (a[n] == '=' && name[1] == '-'));
}

/* Returns 0 on success, 2 on a usage error (already reported). */
int cli_parse_args(int argc, char **argv, cli_opts *o) {
  memset(o, 0, sizeof *o);
  o->format = CLI_FMT_TABLE;
  const char *v;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_opt(a, "-h") || is_opt(a, "--help")) {
      o->help = 1;
    } else if (is_opt(a, "-V") || is_opt(a, "--version")) {
      o->version = 1;
    } else if (is_opt(a, "--root")) {
      if (!(v = opt_value(argc, argv, &i, "--root"))) return 2;
      free(o->root);
      o->root = cli_xstrdup(v);
    } else if (is_opt(a, "--catalog")) {
      if (!(v = opt_value(argc, argv, &i, "--catalog"))) return 2;
      o->catalogs = cli_xrealloc(o->catalogs, (o->n_catalogs + 1) * sizeof *o->catalogs);
      if (parse_catalog(v, &o->catalogs[o->n_catalogs++])) return 2;
    } else if (is_opt(a, "--ns-opt")) {
      if (!(v = opt_value(argc, argv, &i, "--ns-opt"))) return 2;
      o->nsopts = cli_xrealloc(o->nsopts, (o->n_nsopts + 1) * sizeof *o->nsopts);
      if (parse_nsopt(v, &o->nsopts[o->n_nsopts++])) return 2;
    } else if (is_opt(a, "--default")) {
      if (!(v = opt_value(argc, argv, &i, "--default"))) return 2;
      const char *dot = strchr(v, '.');
      free(o->default_catalog);
      free(o->default_schema);
      o->default_catalog = dot ? xstrndup(v, (size_t)(dot - v)) : cli_xstrdup(v);
      o->default_schema = dot ? cli_xstrdup(dot + 1) : NULL;
      if (!o->default_catalog[0]) {
        cli_error("--default expects CATALOG[.SCHEMA]");
        return 2;
      }
    } else if (is_opt(a, "--set")) {
      if (!(v = opt_value(argc, argv, &i, "--set"))) return 2;
      const char *eq = strchr(v, '=');
      if (!eq || eq == v) {
        cli_error("--set expects KEY=VALUE, got '%s'", v);
        return 2;
      }
      char *k = xstrndup(v, (size_t)(eq - v));
      push_str(&o->settings, &o->n_settings, k);
      push_str(&o->settings, &o->n_settings, eq + 1);
      free(k);
    } else if (is_opt(a, "--format") || is_opt(a, "-F")) {
      if (!(v = opt_value(argc, argv, &i, a[1] == '-' ? "--format" : "-F"))) return 2;
      if (cli_parse_format(v, &o->format)) {
        cli_error("unknown format '%s' (expected table, csv, json, markdown or arrow)", v);
        return 2;
      }
    } else if (is_opt(a, "--csv")) {
      o->format = CLI_FMT_CSV;
    } else if (is_opt(a, "--json")) {
      o->format = CLI_FMT_JSON;
      o->json_raw = 1;
    } else if (is_opt(a, "--markdown")) {
      o->format = CLI_FMT_MARKDOWN;
    } else if (is_opt(a, "-c") || is_opt(a, "--command")) {
      if (!(v = opt_value(argc, argv, &i, a[1] == '-' ? "--command" : "-c"))) return 2;
      push_str(&o->commands, &o->n_commands, v);
    } else if (is_opt(a, "-f") || is_opt(a, "--file")) {
      if (!(v = opt_value(argc, argv, &i, a[1] == '-' ? "--file" : "-f"))) return 2;
      free(o->file);
      o->file = cli_xstrdup(v);
    } else if (is_opt(a, "--timer")) {
      o->timer = 1;
    } else if (is_opt(a, "--no-progress")) {
      o->no_progress = 1;
    } else if (a[0] == '-' && a[1] != 0) {
      cli_error("unknown option '%s' (see lancesql --help)", a);
      return 2;
    } else if (!o->subcommand && (strcmp(a, "inspect") == 0 || strcmp(a, "inspect-file") == 0)) {
      o->subcommand = cli_xstrdup(a);
    } else if (o->subcommand && !o->sub_path) {
      o->sub_path = cli_xstrdup(a);
    } else {
      cli_error("unexpected argument '%s' (SQL goes after -c; see lancesql --help)", a);
      return 2;
    }
  }
  if (o->subcommand && !o->sub_path && !o->help) {
    cli_error("%s needs a path", o->subcommand);
    return 2;
  }
  for (size_t i = 0; i < o->n_nsopts; i++) {
    int found = strcmp(o->nsopts[i].target, "root") == 0;
    for (size_t j = 0; j < o->n_catalogs && !found; j++)
      found = strcmp(o->catalogs[j].name, o->nsopts[i].target) == 0;
    if (!found) {
      cli_error("--ns-opt %s.%s: no namespace named '%s' (use root or a --catalog name)",
                o->nsopts[i].target, o->nsopts[i].key, o->nsopts[i].target);
      return 2;
    }
  }
  return 0;
}

void cli_opts_free(cli_opts *o) {
  free(o->root);
  for (size_t i = 0; i < o->n_catalogs; i++) {
    cli_catalog *c = &o->catalogs[i];
    free(c->name);
    free(c->impl);
    free(c->location);
    for (size_t j = 0; j < c->path_len; j++) free(c->path[j]);
    free(c->path);
  }
  free(o->catalogs);
  for (size_t i = 0; i < o->n_nsopts; i++) {
    free(o->nsopts[i].target);
    free(o->nsopts[i].key);
    free(o->nsopts[i].value);
  }
  free(o->nsopts);
  free(o->default_catalog);
  free(o->default_schema);
  for (size_t i = 0; i < o->n_settings; i++) free(o->settings[i]);
  free(o->settings);
  for (size_t i = 0; i < o->n_commands; i++) free(o->commands[i]);
  free(o->commands);
  free(o->file);
  free(o->subcommand);
  free(o->sub_path);
  memset(o, 0, sizeof *o);
}
