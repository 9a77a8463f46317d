/* lancesql: the command-line tool. One-shot (-c, -f, stdin), interactive shell, and the inspect
 * subcommands. Exit status: 0 success, 1 error, 2 usage error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static char *read_all(FILE *f) {
  cli_buf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) cli_buf_putn(&b, chunk, n);
  if (!b.data) cli_buf_puts(&b, "");
  return b.data;
}

static void report(const lsql_error *err) {
  cli_error("%s", err->message[0] ? err->message : lsql_status_name(err->code));
}

/* Runs every statement of `text` in order, printing each result; stops at the first error. */
static int run_text(cli_ctx *c, const char *text) {
  char **stmts = cli_split_sql(text, NULL);
  int rc = 0;
  for (char **s = stmts; *s && !rc; s++) {
    if ((*s)[0] == '.') {
      /* A dot command must be alone on its line; the splitter may have glued following text. */
      char *nl = strchr(*s, '\n');
      if (nl) {
        *nl = 0;
        int quit = 0;
        if (cli_dot_command(c, *s, &quit)) {
          rc = 1;
          break;
        }
        rc = run_text(c, nl + 1);
        continue;
      }
      int quit = 0;
      rc = cli_dot_command(c, *s, &quit) ? 1 : 0;
      if (quit) break;
      continue;
    }
    lsql_error err;
    memset(&err, 0, sizeof err);
    if (cli_run_sql(c, *s, stdout, &err)) {
      fflush(stdout);
      report(&err);
      rc = 1;
    }
  }
  cli_strv_free(stmts);
  fflush(stdout);
  return rc;
}

int main(int argc, char **argv) {
  cli_opts o;
  int rc = cli_parse_args(argc, argv, &o);
  if (rc) {
    cli_opts_free(&o);
    return rc;
  }
  if (o.help) {
    cli_usage(stdout);
    cli_opts_free(&o);
    return 0;
  }
  if (o.version) {
    printf("lancesql %s (library %s)\n", LSQL_VERSION_STRING, lsql_version());
    cli_opts_free(&o);
    return 0;
  }
  lsql_error err;
  memset(&err, 0, sizeof err);
  if (o.subcommand) {
    int r = strcmp(o.subcommand, "inspect") == 0
                ? cli_inspect_dataset(o.sub_path, o.json_raw, stdout, &err)
                : cli_inspect_file(o.sub_path, o.json_raw, stdout, &err);
    fflush(stdout);
    if (r) report(&err);
    cli_opts_free(&o);
    return r ? 1 : 0;
  }

  FILE *script = NULL;
  if (o.file) {
    script = strcmp(o.file, "-") == 0 ? stdin : fopen(o.file, "rb");
    if (!script) {
      cli_error("cannot open %s: %s", o.file, strerror(errno));
      cli_opts_free(&o);
      return 1;
    }
  }

  cli_ctx c;
  memset(&c, 0, sizeof c);
  c.opts = &o;
  c.format = o.format;
  c.timer = o.timer;
  if (cli_session_open(&c, &err)) {
    report(&err);
    cli_session_close(&c);
    if (script && script != stdin) fclose(script);
    cli_opts_free(&o);
    return 1;
  }
  cli_signals_init(&c);

  rc = 0;
  if (o.n_commands) {
    for (size_t i = 0; i < o.n_commands && !rc; i++) rc = run_text(&c, o.commands[i]);
  }
  if (!rc && script) {
    char *text = read_all(script);
    rc = run_text(&c, text);
    free(text);
  }
  if (!o.n_commands && !script) {
    if (isatty(STDIN_FILENO)) {
      c.interactive = 1;
      rc = cli_repl(&c);
    } else {
      char *text = read_all(stdin);
      rc = run_text(&c, text);
      free(text);
    }
  }
  if (script && script != stdin) fclose(script);
  cli_session_close(&c);
  cli_opts_free(&o);
  return rc ? 1 : 0;
}
