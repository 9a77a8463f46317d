/* The interactive shell: readline line editing and history, multi-line statements ended by ';',
 * dot commands, Ctrl-C handling (clears the line at the prompt, cancels a running query). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli.h"

extern int cli_sigint_pipe[2];
void cli_set_repl_mode(int on);

/* ---- a small Arrow stream of string columns, for dot-command output ------------------------- */

typedef struct strtab {
  int64_t ncols, nrows;
  char **names;
  char **cells; /* nrows * ncols, row-major; NULL = NULL */
  int done;
} strtab;

static void strtab_add(strtab *t, const char *const *row) {
  t->cells = cli_xrealloc(t->cells, (size_t)((t->nrows + 1) * t->ncols) * sizeof(char *));
  for (int64_t c = 0; c < t->ncols; c++)
    t->cells[t->nrows * t->ncols + c] = row[c] ? cli_xstrdup(row[c]) : NULL;
  t->nrows++;
}

static void strtab_free(strtab *t) {
  for (int64_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
  free(t->cells);
  for (int64_t c = 0; c < t->ncols; c++) free(t->names[c]);
  free(t->names);
}

static void schema_release(struct ArrowSchema *s) {
  for (int64_t i = 0; i < s->n_children; i++) {
    free((void *)s->children[i]->name);
    free(s->children[i]);
  }
  free(s->children);
  s->release = NULL;
}

static int st_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  strtab *t = st->private_data;
  memset(out, 0, sizeof *out);
  out->format = "+s";
  out->n_children = t->ncols;
  out->children = cli_xmalloc((size_t)t->ncols * sizeof(void *) + 1);
  for (int64_t c = 0; c < t->ncols; c++) {
    struct ArrowSchema *ch = calloc(1, sizeof *ch);
    ch->format = "u";
    ch->name = cli_xstrdup(t->names[c]);
    ch->flags = ARROW_FLAG_NULLABLE;
    ch->release = schema_release;
    out->children[c] = ch;
  }
  out->release = schema_release;
  return 0;
}

typedef struct col_priv {
  const void *bufs[3];
} col_priv;

static void array_release(struct ArrowArray *a) {
  for (int64_t i = 0; i < a->n_children; i++) {
    struct ArrowArray *ch = a->children[i];
    col_priv *p = ch->private_data;
    free((void *)p->bufs[0]);
    free((void *)p->bufs[1]);
    free((void *)p->bufs[2]);
    free(p);
    free(ch);
  }
  free(a->children);
  free(a->buffers);
  a->release = NULL;
}

static int st_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  strtab *t = st->private_data;
  memset(out, 0, sizeof *out);
  if (t->done) return 0;
  t->done = 1;
  out->length = t->nrows;
  out->n_buffers = 1;
  out->buffers = calloc(1, sizeof(void *));
  out->n_children = t->ncols;
  out->children = cli_xmalloc((size_t)t->ncols * sizeof(void *) + 1);
  for (int64_t c = 0; c < t->ncols; c++) {
    struct ArrowArray *ch = calloc(1, sizeof *ch);
    col_priv *p = calloc(1, sizeof *p);
    uint8_t *valid = calloc((size_t)(t->nrows / 8 + 1), 1);
    int32_t *off = cli_xmalloc((size_t)(t->nrows + 1) * 4);
    cli_buf data = {0};
    int64_t nulls = 0;
    off[0] = 0;
    for (int64_t r = 0; r < t->nrows; r++) {
      const char *v = t->cells[r * t->ncols + c];
      if (v) {
        valid[r >> 3] |= (uint8_t)(1u << (r & 7));
        cli_buf_puts(&data, v);
      } else {
        nulls++;
      }
      off[r + 1] = (int32_t)data.len;
    }
    if (!data.data) cli_buf_puts(&data, "");
    p->bufs[0] = valid;
    p->bufs[1] = off;
    p->bufs[2] = data.data;
    ch->length = t->nrows;
    ch->null_count = nulls;
    ch->n_buffers = 3;
    ch->buffers = p->bufs;
    ch->private_data = p;
    ch->release = NULL; /* owned by the parent */
    out->children[c] = ch;
  }
  out->release = array_release;
  return 0;
}

static const char *st_last_error(struct ArrowArrayStream *st) { return NULL; }
static void st_release(struct ArrowArrayStream *st) { st->release = NULL; }

static int print_strtab(cli_ctx *c, strtab *t) {
  struct ArrowArrayStream st = {st_get_schema, st_get_next, st_last_error, st_release, t};
  cli_render_opts ro = {c->format, cli_terminal_width(STDOUT_FILENO), 0, 1};
  lsql_error err;
  memset(&err, 0, sizeof err);
  int rc = cli_render_stream(&st, &ro, stdout, &err);
  fflush(stdout);
  return rc;
}

/* ---- namespace listings ------------------------------------------------------------------------ */

typedef int (*list_fn)(lsql_namespace *, const char *const *, size_t, const char *, int32_t,
                       lsql_string_list *, lsql_error *);

/* Collects all pages of a listing into a NULL-terminated array (cli_strv_free). */
static int list_all(list_fn fn, lsql_namespace *ns, char **path, size_t len, char ***out,
                    lsql_error *err) {
  char **v = NULL;
  size_t n = 0;
  char *token = NULL;
  for (;;) {
    lsql_string_list l;
    memset(&l, 0, sizeof l);
    int rc = fn(ns, (const char *const *)path, len, token, 0, &l, err);
    free(token);
    token = NULL;
    if (rc) {
      for (size_t i = 0; i < n; i++) free(v[i]);
      free(v);
      return rc;
    }
    v = cli_xrealloc(v, (n + l.n_items + 1) * sizeof *v);
    for (size_t i = 0; i < l.n_items; i++) v[n++] = cli_xstrdup(l.items[i]);
    if (l.next_page_token && *l.next_page_token) token = cli_xstrdup(l.next_page_token);
    lsql_string_list_free(&l);
    if (!token) break;
  }
  if (!v) v = cli_xmalloc(sizeof *v);
  v[n] = NULL;
  *out = v;
  return 0;
}

/* Resolves catalog name -> namespace and the path of its namespace (caller frees *path array
 * itself but not its strings when borrowed: we always copy). */
static int catalog_ns(cli_ctx *c, const char *name, lsql_namespace **ns, char ***path, size_t *len) {
  for (size_t i = 0; i < c->opts->n_catalogs; i++)
    if (strcmp(c->opts->catalogs[i].name, name) == 0) {
      *ns = c->cat_ns[i];
      *len = c->opts->catalogs[i].path_len;
      *path = cli_xmalloc((*len + 2) * sizeof(char *));
      for (size_t j = 0; j < *len; j++) (*path)[j] = cli_xstrdup(c->opts->catalogs[i].path[j]);
      return 0;
    }
  if (!c->root) return -1;
  *ns = c->root;
  *len = 1;
  *path = cli_xmalloc(3 * sizeof(char *));
  (*path)[0] = cli_xstrdup(name);
  return 0;
}

static void free_path(char **p, size_t len) {
  for (size_t i = 0; i < len; i++) free(p[i]);
  free(p);
}

static char **all_catalogs(cli_ctx *c, lsql_error *err) {
  char **v = NULL;
  if (c->root) {
    if (list_all(lsql_namespace_list_namespaces, c->root, NULL, 0, &v, err)) return NULL;
  } else {
    v = cli_xmalloc(sizeof *v);
    v[0] = NULL;
  }
  size_t n = 0;
  while (v[n]) n++;
  for (size_t i = 0; i < c->opts->n_catalogs; i++) {
    v = cli_xrealloc(v, (n + 2) * sizeof *v);
    v[n++] = cli_xstrdup(c->opts->catalogs[i].name);
    v[n] = NULL;
  }
  return v;
}

static int list_schemas(cli_ctx *c, const char *cat, strtab *t, lsql_error *err) {
  lsql_namespace *ns;
  char **path;
  size_t len;
  if (catalog_ns(c, cat, &ns, &path, &len)) {
    err->code = LSQL_ENOTFOUND;
    snprintf(err->message, sizeof err->message, "catalog not found: %s", cat);
    return 1;
  }
  char **schemas;
  int rc = list_all(lsql_namespace_list_namespaces, ns, path, len, &schemas, err);
  free_path(path, len);
  if (rc) return rc;
  for (char **s = schemas; *s; s++) {
    const char *row[2] = {cat, *s};
    strtab_add(t, row);
  }
  cli_strv_free(schemas);
  return 0;
}

static int list_tables(cli_ctx *c, const char *cat, const char *schema, strtab *t, lsql_error *err) {
  lsql_namespace *ns;
  char **path;
  size_t len;
  if (catalog_ns(c, cat, &ns, &path, &len)) {
    err->code = LSQL_ENOTFOUND;
    snprintf(err->message, sizeof err->message, "catalog not found: %s", cat);
    return 1;
  }
  path[len++] = cli_xstrdup(schema);
  char **tables;
  int rc = list_all(lsql_namespace_list_tables, ns, path, len, &tables, err);
  free_path(path, len);
  if (rc) return rc;
  for (char **s = tables; *s; s++) {
    const char *row[3] = {cat, schema, *s};
    strtab_add(t, row);
  }
  cli_strv_free(tables);
  return 0;
}

static void strtab_init(strtab *t, int64_t ncols, const char *const *names) {
  memset(t, 0, sizeof *t);
  t->ncols = ncols;
  t->names = cli_xmalloc((size_t)ncols * sizeof(char *));
  for (int64_t i = 0; i < ncols; i++) t->names[i] = cli_xstrdup(names[i]);
}

static int dot_help(void) {
  fputs(".catalogs                 list catalogs\n"
        ".schemas [CATALOG]        list schemas\n"
        ".tables [CATALOG[.SCHEMA]] list tables\n"
        ".describe TABLE           show a table's columns\n"
        ".format table|csv|json|markdown   set the output format (also .mode)\n"
        ".timer on|off             show each query's run time\n"
        ".help                     show this help\n"
        ".quit                     exit (also .exit or Ctrl-D)\n"
        "SQL statements end with ';' and may span several lines. Ctrl-C cancels a running\n"
        "query or clears the current line.\n",
        stdout);
  return 0;
}

int cli_dot_command(cli_ctx *c, const char *line, int *quit) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", line);
  /* trim trailing spaces and an optional ';' */
  size_t L = strlen(buf);
  while (L && (buf[L - 1] == ' ' || buf[L - 1] == '\t' || buf[L - 1] == ';' || buf[L - 1] == '\r')) buf[--L] = 0;
  char *save = NULL;
  char *cmd = strtok_r(buf, " \t", &save);
  char *arg = strtok_r(NULL, " \t", &save);
  lsql_error err;
  memset(&err, 0, sizeof err);
  int rc = 0;
  if (!cmd) return 0;
  if (strcmp(cmd, ".quit") == 0 || strcmp(cmd, ".exit") == 0 || strcmp(cmd, ".q") == 0) {
    *quit = 1;
    return 0;
  }
  if (strcmp(cmd, ".help") == 0) return dot_help();
  if (strcmp(cmd, ".format") == 0 || strcmp(cmd, ".mode") == 0) {
    if (!arg) {
      printf("%s\n", cli_format_name(c->format));
      return 0;
    }
    if (cli_parse_format(arg, &c->format)) {
      cli_error("unknown format '%s' (expected table, csv, json, markdown or arrow)", arg);
      return 1;
    }
    return 0;
  }
  if (strcmp(cmd, ".timer") == 0) {
    if (arg && strcmp(arg, "on") == 0) c->timer = 1;
    else if (arg && strcmp(arg, "off") == 0) c->timer = 0;
    else {
      cli_error(".timer expects on or off");
      return 1;
    }
    return 0;
  }
  strtab t;
  if (strcmp(cmd, ".catalogs") == 0 || strcmp(cmd, ".databases") == 0) {
    const char *names[] = {"catalog"};
    strtab_init(&t, 1, names);
    char **cats = all_catalogs(c, &err);
    if (!cats) rc = 1;
    for (char **s = cats; s && *s; s++) {
      const char *row[1] = {*s};
      strtab_add(&t, row);
    }
    cli_strv_free(cats);
  } else if (strcmp(cmd, ".schemas") == 0) {
    const char *names[] = {"catalog", "schema"};
    strtab_init(&t, 2, names);
    if (arg) {
      rc = list_schemas(c, arg, &t, &err);
    } else {
      char **cats = all_catalogs(c, &err);
      if (!cats) rc = 1;
      for (char **s = cats; s && *s && !rc; s++) rc = list_schemas(c, *s, &t, &err);
      cli_strv_free(cats);
    }
  } else if (strcmp(cmd, ".tables") == 0) {
    const char *names[] = {"catalog", "schema", "table"};
    strtab_init(&t, 3, names);
    char *dot = arg ? strchr(arg, '.') : NULL;
    if (dot) {
      *dot = 0;
      rc = list_tables(c, arg, dot + 1, &t, &err);
    } else {
      char **cats = NULL;
      if (arg) {
        cats = cli_xmalloc(2 * sizeof *cats);
        cats[0] = cli_xstrdup(arg);
        cats[1] = NULL;
      } else {
        cats = all_catalogs(c, &err);
        if (!cats) rc = 1;
      }
      for (char **s = cats; s && *s && !rc; s++) {
        strtab sch;
        const char *sn[] = {"catalog", "schema"};
        strtab_init(&sch, 2, sn);
        rc = list_schemas(c, *s, &sch, &err);
        for (int64_t r = 0; r < sch.nrows && !rc; r++) rc = list_tables(c, *s, sch.cells[r * 2 + 1], &t, &err);
        strtab_free(&sch);
      }
      cli_strv_free(cats);
    }
  } else if (strcmp(cmd, ".describe") == 0 || strcmp(cmd, ".schema") == 0) {
    if (!arg) {
      cli_error(".describe expects a table name");
      return 1;
    }
    char sql[1200];
    snprintf(sql, sizeof sql, "DESCRIBE %s", arg);
    if (cli_run_sql(c, sql, stdout, &err)) {
      fflush(stdout);
      cli_error("%s", err.message);
      return 1;
    }
    return 0;
  } else {
    cli_error("unknown command %s (try .help)", cmd);
    return 1;
  }
  if (rc) {
    cli_error("%s", err.message[0] ? err.message : "listing failed");
  } else {
    print_strtab(c, &t);
  }
  strtab_free(&t);
  return rc ? 1 : 0;
}

/* ---- the read loop ---------------------------------------------------------------------------- */

static char *pending_line;
static int got_line, got_eof;

/* Removing the handler here keeps readline from printing a fresh prompt before the line's output. */
static void on_line(char *line) {
  rl_callback_handler_remove();
  if (!line) {
    got_eof = 1;
    return;
  }
  pending_line = line;
  got_line = 1;
}

static const char *history_path(char *buf, size_t cap) {
  const char *h = getenv("LANCESQL_HISTORY");
  if (h && *h) return h;
  const char *home = getenv("HOME");
  if (!home) return NULL;
  snprintf(buf, cap, "%s/.lancesql_history", home);
  return buf;
}

#define PROMPT "lancesql> "
#define PROMPT2 "     ...> "

int cli_repl(cli_ctx *c) {
  char hbuf[4096];
  const char *hist = history_path(hbuf, sizeof hbuf);
  using_history();
  if (hist) {
    int fd = open(hist, O_CREAT | O_WRONLY | O_APPEND, 0600); /* append_history needs the file */
    if (fd >= 0) close(fd);
    read_history(hist);
  }
  rl_catch_signals = 0; /* our SIGINT handler decides what Ctrl-C means */
  rl_readline_name = "lancesql";
  cli_set_repl_mode(1);
  printf("lancesql %s. Enter \".help\" for usage hints; end statements with ';'.\n", lsql_version());
  fflush(stdout);

  cli_buf stmt = {0};
  int quit = 0;
  rl_callback_handler_install(PROMPT, on_line);
  while (!quit) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(STDIN_FILENO, &fds);
    int maxfd = STDIN_FILENO;
    if (cli_sigint_pipe[0] >= 0) {
      FD_SET(cli_sigint_pipe[0], &fds);
      if (cli_sigint_pipe[0] > maxfd) maxfd = cli_sigint_pipe[0];
    }
    int r = select(maxfd + 1, &fds, NULL, NULL, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (cli_sigint_pipe[0] >= 0 && FD_ISSET(cli_sigint_pipe[0], &fds)) {
      char drain[16];
      ssize_t nr = read(cli_sigint_pipe[0], drain, sizeof drain);
      (void)nr;
      /* Ctrl-C at the prompt: drop the line and any unfinished statement. */
      cli_buf_clear(&stmt);
      rl_replace_line("", 0);
      rl_crlf();
      rl_callback_handler_remove();
      rl_callback_handler_install(PROMPT, on_line);
      continue;
    }
    if (!FD_ISSET(STDIN_FILENO, &fds)) continue;
    rl_callback_read_char();
    if (got_eof) {
      got_eof = 0;
      printf("\n");
      break;
    }
    if (!got_line) continue;
    got_line = 0;
    char *line = pending_line;
    pending_line = NULL;
    rl_callback_handler_remove();

    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (stmt.len == 0 && *p == '.') {
      add_history(p);
      if (hist) append_history(1, hist);
      cli_dot_command(c, p, &quit);
    } else if (stmt.len || *p) {
      if (stmt.len) cli_buf_putc(&stmt, '\n');
      cli_buf_puts(&stmt, line);
      int complete = 0;
      char **stmts = cli_split_sql(stmt.data, &complete);
      if (complete) {
        add_history(stmt.data);
        if (hist) append_history(1, hist);
        for (char **s = stmts; *s; s++) {
          lsql_error err;
          memset(&err, 0, sizeof err);
          if (cli_run_sql(c, *s, stdout, &err)) {
            fflush(stdout);
            if (err.code == LSQL_ECANCELLED) fprintf(stderr, "Interrupted\n");
            else cli_error("%s", err.message);
            break;
          }
          fflush(stdout);
        }
        cli_buf_clear(&stmt);
      }
      cli_strv_free(stmts);
    }
    free(line);
    if (!quit) rl_callback_handler_install(stmt.len ? PROMPT2 : PROMPT, on_line);
  }
  rl_callback_handler_remove();
  cli_set_repl_mode(0);
  cli_buf_free(&stmt);
  if (hist) history_truncate_file(hist, 5000);
  return 0;
}
