/* Internal declarations shared by the lancesql command-line tool's source files. The CLI uses
 * only the public API (include/lancesql.h). */
#ifndef LSQL_CLI_H
#define LSQL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lancesql.h"

enum cli_format { CLI_FMT_TABLE, CLI_FMT_CSV, CLI_FMT_JSON, CLI_FMT_MARKDOWN, CLI_FMT_ARROW };

typedef struct cli_catalog {
  char *name;  /* SQL catalog name */
  char *impl;  /* "dir" or "rest" */
  char *location;
  char **path; /* namespace path to mount (levels) */
  size_t path_len;
} cli_catalog;

typedef struct cli_nsopt {
  char *target; /* "root" or a catalog name */
  char *key;
  char *value;
} cli_nsopt;

typedef struct cli_opts {
  char *root;          /* as given: PATH, dir:PATH or rest:URL */
  cli_catalog *catalogs;
  size_t n_catalogs;
  cli_nsopt *nsopts;
  size_t n_nsopts;
  char *default_catalog, *default_schema;
  char **settings;     /* --set KEY=VALUE, flattened key/value pairs */
  size_t n_settings;
  enum cli_format format;
  char **commands;     /* -c SQL, in order */
  size_t n_commands;
  char *file;          /* -f FILE */
  int timer;
  int no_progress;
  int json_raw;        /* inspect --json */
  int help, version;
  char *subcommand;    /* "inspect" or "inspect-file" */
  char *sub_path;
} cli_opts;

/* args.c */
int cli_parse_args(int argc, char **argv, cli_opts *o);
void cli_opts_free(cli_opts *o);
void cli_usage(FILE *f);
int cli_parse_format(const char *s, enum cli_format *out);
const char *cli_format_name(enum cli_format f);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets err (code and formatted message, truncated to fit); returns code. */
int cli_err_set(lsql_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *cli_xmalloc(size_t n);
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);

/* Growable string buffer. */
typedef struct cli_buf {
  char *data;
  size_t len, cap;
} cli_buf;
void cli_buf_putn(cli_buf *b, const char *s, size_t n);
void cli_buf_puts(cli_buf *b, const char *s);
void cli_buf_putc(cli_buf *b, char c);
void cli_buf_printf(cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_buf_clear(cli_buf *b);
void cli_buf_free(cli_buf *b);

/* session.c: the open session and helpers around queries. */
typedef struct cli_ctx {
  cli_opts *opts;
  lsql_session *session;
  lsql_namespace *root;         /* may be NULL */
  lsql_namespace **cat_ns;      /* one per opts->catalogs */
  enum cli_format format;
  int timer;
  int interactive;              /* REPL: errors do not end the program */
} cli_ctx;
int cli_session_open(cli_ctx *c, lsql_error *err);
void cli_session_close(cli_ctx *c);
/* Runs one piece of SQL and prints its result to `out`. Returns 0 or an lsql_status; on failure
 * err holds the message. Shows a progress bar when stderr is a terminal. */
int cli_run_sql(cli_ctx *c, const char *sql, FILE *out, lsql_error *err);
/* Splits SQL text into statements on ';' outside quotes and comments. Returns a NULL-terminated
 * array of trimmed, non-empty statements (free with cli_strv_free). `complete` (may be NULL) is
 * set to 1 when the text ends at a statement boundary (for the REPL's continuation prompt). */
char **cli_split_sql(const char *text, int *complete);
void cli_strv_free(char **v);
/* Set by the SIGINT machinery while a query runs. */
extern volatile int cli_interrupted;
void cli_signals_init(cli_ctx *c);

/* render.c */
typedef struct cli_render_opts {
  enum cli_format format;
  int term_width;  /* columns; 0 = unlimited */
  int max_rows;    /* table format: rows shown before truncating the middle (0 = all) */
  int show_footer; /* table format: "N rows" */
} cli_render_opts;
int cli_render_stream(struct ArrowArrayStream *s, const cli_render_opts *ro, FILE *out,
                      lsql_error *err);
int cli_terminal_width(int fd);
/* Formats one value (row i of array a with schema s) as DuckDB's VARCHAR cast would. Appends to
 * b; returns 0 when the value is NULL (nothing appended), 1 otherwise. */
int cli_format_value(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, cli_buf *b);
/* JSON forms (value.c). */
void cli_json_string(cli_buf *b, const char *p, size_t n);
void cli_json_value(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, cli_buf *b);
/* Called by the renderers before the first byte of a result is written (stops the progress bar). */
void cli_output_begin(void);
/* A DuckDB-style type name for an Arrow format string. */
const char *cli_type_name(const struct ArrowSchema *s, char *buf, size_t cap);

/* ipc.c: Arrow IPC stream writer. */
int cli_write_ipc(struct ArrowArrayStream *s, FILE *out, lsql_error *err);

/* repl.c */
int cli_repl(cli_ctx *c);
/* Dot commands (shared by the REPL and -c ".tables"). Returns 0, or 1 on error (printed). */
int cli_dot_command(cli_ctx *c, const char *line, int *quit);

/* inspect.c */
int cli_inspect_dataset(const char *path, int raw_json, FILE *out, lsql_error *err);
int cli_inspect_file(const char *path, int raw_json, FILE *out, lsql_error *err);

#endif
