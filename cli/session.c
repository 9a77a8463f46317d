/* Building the session from the command line, running queries (timer, progress bar, Ctrl-C),
 * and splitting SQL text into statements. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- namespaces and session ----------------------------------------------------------------- */

static int connect_ns(cli_opts *o, const char *target, const char *impl, const char *loc,
                      lsql_namespace **out, lsql_error *err) {
  if (strcmp(impl, "dir") == 0 && !strstr(loc, "://")) {
    struct stat st;
    if (stat(loc, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return cli_err_set(err, LSQL_ENOTFOUND, "%s namespace directory not found: %s", target, loc);
    }
  }
  size_t n = 2 + 2 * o->n_nsopts + 1;
  const char **props = cli_xmalloc(n * sizeof *props);
  size_t k = 0;
  props[k++] = strcmp(impl, "rest") == 0 ? "uri" : "root";
  props[k++] = loc;
  for (size_t i = 0; i < o->n_nsopts; i++)
    if (strcmp(o->nsopts[i].target, target) == 0) {
      props[k++] = o->nsopts[i].key;
      props[k++] = o->nsopts[i].value;
    }
  props[k] = NULL;
  int rc = lsql_connect(impl, props, out, err);
  free(props);
  if (rc) {
    char tmp[LSQL_ERROR_MESSAGE_LEN];
    snprintf(tmp, sizeof tmp, "%s", err->message);
    cli_err_set(err, err->code, "%s namespace %s:%s: %s", target, impl, loc, tmp);
  }
  return rc;
}

int cli_session_open(cli_ctx *c, lsql_error *err) {
  cli_opts *o = c->opts;
  lsql_session_builder *b = lsql_session_builder_new();
  if (!b) {
    err->code = LSQL_ENOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return err->code;
  }
  int rc = 0;
  const char *root = o->root ? o->root : getenv("LANCESQL_ROOT");
  if (root && *root) {
    const char *impl = "dir", *loc = root;
    if (strncmp(root, "dir:", 4) == 0) loc = root + 4;
    else if (strncmp(root, "rest:", 5) == 0) impl = "rest", loc = root + 5;
    else if (strncmp(root, "http://", 7) == 0 || strncmp(root, "https://", 8) == 0) impl = "rest";
    rc = connect_ns(o, "root", impl, loc, &c->root, err);
    if (!rc) rc = lsql_session_builder_with_root(b, c->root, err);
  }
  c->cat_ns = calloc(o->n_catalogs + 1, sizeof *c->cat_ns);
  for (size_t i = 0; !rc && i < o->n_catalogs; i++) {
    cli_catalog *cat = &o->catalogs[i];
    rc = connect_ns(o, cat->name, cat->impl, cat->location, &c->cat_ns[i], err);
    if (!rc)
      rc = lsql_session_builder_add_catalog(b, cat->name, c->cat_ns[i], (const char *const *)cat->path,
                                            cat->path_len, err);
  }
  if (!rc && o->default_catalog)
    rc = lsql_session_builder_default(b, o->default_catalog, o->default_schema, err);
  for (size_t i = 0; !rc && i + 1 < o->n_settings; i += 2)
    rc = lsql_session_builder_set_option(b, o->settings[i], o->settings[i + 1], err);
  if (!rc) rc = lsql_session_builder_build(b, &c->session, err);
  lsql_session_builder_free(b);
  return rc;
}

void cli_session_close(cli_ctx *c) {
  lsql_session_free(c->session);
  c->session = NULL;
  lsql_namespace_free(c->root);
  c->root = NULL;
  if (c->cat_ns) {
    for (size_t i = 0; i < c->opts->n_catalogs; i++) lsql_namespace_free(c->cat_ns[i]);
    free(c->cat_ns);
    c->cat_ns = NULL;
  }
}

/* ---- Ctrl-C ------------------------------------------------------------------------------------
 * The handler only writes a byte to a pipe. While a query runs, a helper thread reads it and calls
 * lsql_session_interrupt; at the REPL prompt the REPL's select loop reads the other pipe. */

volatile int cli_interrupted;
static volatile sig_atomic_t query_running;
static volatile sig_atomic_t repl_mode;
int cli_sigint_pipe[2] = {-1, -1};  /* read by the REPL at the prompt */
static int interrupt_pipe[2] = {-1, -1};
static lsql_session *volatile sig_session;

static void on_sigint(int sig) {
  int saved = errno;
  char ch = 'i';
  if (query_running) {
    ssize_t r = write(interrupt_pipe[1], &ch, 1);
    (void)r;
  } else if (repl_mode) {
    ssize_t r = write(cli_sigint_pipe[1], &ch, 1);
    (void)r;
  } else {
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
  }
  errno = saved;
}

static void *interrupt_thread(void *arg) {
  (void)arg;
  char ch;
  for (;;) {
    ssize_t r = read(interrupt_pipe[0], &ch, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return NULL;
    if (query_running && sig_session) {
      cli_interrupted = 1;
      lsql_session_interrupt(sig_session);
    }
  }
}

void cli_set_repl_mode(int on) { repl_mode = on; }

void cli_signals_init(cli_ctx *c) {
  sig_session = c->session;
  if (pipe(interrupt_pipe) || pipe(cli_sigint_pipe)) return;
  for (int i = 0; i < 2; i++) {
    fcntl(interrupt_pipe[i], F_SETFD, FD_CLOEXEC);
    fcntl(cli_sigint_pipe[i], F_SETFD, FD_CLOEXEC);
  }
  fcntl(cli_sigint_pipe[1], F_SETFL, O_NONBLOCK);
  fcntl(interrupt_pipe[1], F_SETFL, O_NONBLOCK);
  /* Block SIGINT in the helper so the handler always runs on the main thread. */
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  pthread_t th;
  if (pthread_create(&th, NULL, interrupt_thread, NULL) == 0) pthread_detach(th);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
}

/* ---- progress bar ---------------------------------------------------------------------------- */

static pthread_mutex_t prog_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t prog_cv = PTHREAD_COND_INITIALIZER;
static int prog_stop, prog_drawn, prog_active;
static pthread_t prog_thread;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *progress_main(void *arg) {
  lsql_session *s = arg;
  double start = now_s();
  int spin = 0;
  pthread_mutex_lock(&prog_mu);
  while (!prog_stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&prog_cv, &prog_mu, &ts);
    if (prog_stop) break;
    double el = now_s() - start;
    if (el < 1.0) continue;
    double p = lsql_session_progress(s);
    char line[128];
    if (p >= 0 && p <= 1) {
      int w = 40, fill = (int)(p * w + 0.5);
      char bar[64];
      for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
      bar[w] = 0;
      snprintf(line, sizeof line, "\r %3d%% [%s] %.0fs ", (int)(p * 100 + 0.5), bar, el);
    } else {
      static const char sp[] = "|/-\\";
      snprintf(line, sizeof line, "\r %c running %.0fs (Ctrl-C to cancel) ", sp[spin++ & 3], el);
    }
    fputs(line, stderr);
    fflush(stderr);
    prog_drawn = 1;
  }
  if (prog_drawn) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
  }
  pthread_mutex_unlock(&prog_mu);
  return NULL;
}

static void progress_start(cli_ctx *c) {
  if (c->opts->no_progress || !isatty(STDERR_FILENO) || getenv("LANCESQL_NO_PROGRESS")) return;
  prog_stop = 0;
  prog_drawn = 0;
  if (pthread_create(&prog_thread, NULL, progress_main, c->session) == 0) prog_active = 1;
}

void cli_output_begin(void) {
  if (!prog_active) return;
  pthread_mutex_lock(&prog_mu);
  prog_stop = 1;
  pthread_cond_signal(&prog_cv);
  pthread_mutex_unlock(&prog_mu);
  pthread_join(prog_thread, NULL);
  prog_active = 0;
}

/* ---- running a statement ---------------------------------------------------------------------- */

int cli_run_sql(cli_ctx *c, const char *sql, FILE *out, lsql_error *err) {
  struct ArrowArrayStream st;
  memset(&st, 0, sizeof st);
  cli_interrupted = 0;
  double t0 = now_s();
  query_running = 1;
  progress_start(c);
  int rc = lsql_session_sql(c->session, sql, &st, err);
  if (rc == 0) {
    cli_render_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.format = c->format;
    ro.term_width = cli_terminal_width(STDOUT_FILENO);
    ro.max_rows = 40;
    ro.show_footer = 1;
    rc = cli_render_stream(&st, &ro, out, err);
    if (st.release) st.release(&st);
  }
  cli_output_begin();
  query_running = 0;
  if (rc && cli_interrupted) {
    err->code = LSQL_ECANCELLED;
    snprintf(err->message, sizeof err->message, "query interrupted");
  }
  if (c->timer) fprintf(stderr, "Run Time: %.3f s\n", now_s() - t0);
  return rc;
}

/* ---- statement splitting ------------------------------------------------------------------ */

char **cli_split_sql(const char *text, int *complete) {
  char **v = NULL;
  size_t n = 0;
  const char *p = text, *start = text;
  int content = 0, open_comment = 0;
  for (;;) {
    char ch = *p;
    int end = ch == 0;
    if (!end && ch == '-' && p[1] == '-') {
      while (*p && *p != '\n') p++;
      continue;
    }
    if (!end && ch == '/' && p[1] == '*') {
      const char *q = strstr(p + 2, "*/");
      if (!q) {
        open_comment = 1;
        p += strlen(p);
        continue;
      }
      p = q + 2;
      continue;
    }
    if (!end && (ch == '\'' || ch == '"')) {
      content = 1;
      p++;
      for (;;) {
        if (!*p) break;
        if (*p == ch) {
          if (p[1] == ch) {
            p += 2;
            continue;
          }
          p++;
          break;
        }
        p++;
      }
      continue;
    }
    if (!end && ch == '$') {
      /* dollar-quoted string: $tag$ ... $tag$ */
      const char *q = p + 1;
      while (*q && (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'))) q++;
      if (*q == '$' && !(q > p + 1 && p[1] >= '0' && p[1] <= '9')) {
        size_t tl = (size_t)(q - p + 1);
        const char *close = q + 1;
        for (;;) {
          close = strchr(close, '$');
          if (!close || strncmp(close, p, tl) == 0) break;
          close++;
        }
        content = 1;
        p = close ? close + tl : p + strlen(p);
        continue;
      }
    }
    if (end || ch == ';') {
      if (content) {
        const char *a = start, *b = p;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r')) b--;
        char *s = cli_xmalloc((size_t)(b - a) + 1);
        memcpy(s, a, (size_t)(b - a));
        s[b - a] = 0;
        v = cli_xrealloc(v, (n + 2) * sizeof *v);
        v[n++] = s;
      }
      if (end) {
        if (complete) *complete = !content && !open_comment;
        break;
      }
      content = 0;
      start = ++p;
      continue;
    }
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') content = 1;
    p++;
  }
  if (!v) v = cli_xmalloc(sizeof *v);
  v[n] = NULL;
  return v;
}
