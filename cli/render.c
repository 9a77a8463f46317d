/* Renders an Arrow stream as an aligned table, CSV, JSON or Markdown. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

int cli_terminal_width(int fd) {
  struct winsize ws;
  if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char *c = getenv("COLUMNS");
  if (c && atoi(c) > 0) return atoi(c);
  return 80;
}

static int stream_error(struct ArrowArrayStream *s, int rc, lsql_error *err) {
  const char *m = s->get_last_error ? s->get_last_error(s) : NULL;
  if (err) {
    /* The stream's error text carries the library's message; ECANCELLED maps from EINTR/ECANCELED. */
    err->code = (rc == 4 /* EINTR */ || rc == 125 /* ECANCELED */) ? LSQL_ECANCELLED : LSQL_ESQL;
    if (m && strstr(m, "nterrupt")) err->code = LSQL_ECANCELLED;
    snprintf(err->message, sizeof err->message, "%s", m && *m ? m : "query failed while reading results");
  }
  return err ? err->code : LSQL_ESQL;
}

/* ---- UTF-8 display helpers ---------------------------------------------------------------- */

static size_t disp_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

/* Byte length of the first `cols` display columns of s. */
static size_t prefix_bytes(const char *s, size_t cols) {
  size_t w = 0, i = 0;
  for (; s[i]; i++) {
    if (((unsigned char)s[i] & 0xC0) != 0x80) {
      if (w == cols) break;
      w++;
    }
  }
  return i;
}

/* Copies a cell for the table: control characters become visible escapes. */
static char *table_cell(const char *s, size_t n) {
  cli_buf b = {0};
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\n') cli_buf_puts(&b, "\\n");
    else if (c == '\r') cli_buf_puts(&b, "\\r");
    else if (c == '\t') cli_buf_putc(&b, ' ');
    else cli_buf_putc(&b, c);
  }
  if (!b.data) cli_buf_puts(&b, "");
  return b.data;
}

/* ---- table ------------------------------------------------------------------------------- */

typedef struct trow {
  char **cells; /* NULL entry = SQL NULL */
} trow;

typedef struct tstate {
  int64_t ncols;
  char **names, **types;
  int *right;
  trow *head;
  int64_t nhead, head_cap;
  trow *tail; /* ring */
  int64_t tail_cap, tail_n, tail_pos;
  int64_t total;
} tstate;

static void row_free(trow *r, int64_t ncols) {
  if (!r->cells) return;
  for (int64_t c = 0; c < ncols; c++) free(r->cells[c]);
  free(r->cells);
  r->cells = NULL;
}

static int is_numeric(const char *f) {
  if (f[1] == 0 && strchr("cCsSiIlLefg", f[0])) return 1;
  return f[0] == 'd' && f[1] == ':';
}

static trow make_row(const struct ArrowSchema *sc, const struct ArrowArray *arr, int64_t i,
                     int64_t ncols, cli_buf *tmp) {
  trow r;
  r.cells = cli_xmalloc((size_t)ncols * sizeof(char *));
  for (int64_t c = 0; c < ncols; c++) {
    cli_buf_clear(tmp);
    if (cli_format_value(sc->children[c], arr->children[c], arr->offset + i, tmp))
      r.cells[c] = table_cell(tmp->data ? tmp->data : "", tmp->len);
    else
      r.cells[c] = NULL;
  }
  return r;
}

static void put_rep(FILE *out, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) fputs(s, out);
}

static void hline(FILE *out, const size_t *w, int64_t n, const char *l, const char *m,
                  const char *r) {
  fputs(l, out);
  for (int64_t c = 0; c < n; c++) {
    put_rep(out, "─", w[c] + 2);
    fputs(c + 1 < n ? m : r, out);
  }
  fputc('\n', out);
}

/* Prints a cell padded to width w (truncated with "…" when longer). align: 0 left, 1 right,
 * 2 center. */
static void put_cell(FILE *out, const char *s, size_t w, int align) {
  size_t dw = disp_width(s);
  fputc(' ', out);
  if (dw > w) {
    size_t nb = prefix_bytes(s, w - 1);
    fwrite(s, 1, nb, out);
    fputs("…", out);
  } else {
    size_t pad = w - dw, lp = align == 1 ? pad : align == 2 ? pad / 2 : 0;
    put_rep(out, " ", lp);
    fputs(s, out);
    put_rep(out, " ", pad - lp);
  }
  fputs(" │", out);
}

static void print_table(tstate *t, const cli_render_opts *ro, FILE *out) {
  int64_t n = t->ncols;
  size_t *w = cli_xmalloc((size_t)n * sizeof *w);
  int64_t nshow_tail = t->tail_n;
  for (int64_t c = 0; c < n; c++) {
    size_t m = disp_width(t->names[c]);
    if (disp_width(t->types[c]) > m) m = disp_width(t->types[c]);
    for (int64_t r = 0; r < t->nhead; r++) {
      size_t d = t->head[r].cells[c] ? disp_width(t->head[r].cells[c]) : 4;
      if (d > m) m = d;
    }
    for (int64_t r = 0; r < nshow_tail; r++) {
      size_t d = t->tail[r].cells[c] ? disp_width(t->tail[r].cells[c]) : 4;
      if (d > m) m = d;
    }
    w[c] = m;
  }
  /* Fit the terminal: first cap wide columns, then hide middle columns. */
  size_t avail = ro->term_width > 0 ? (size_t)ro->term_width : (size_t)-1;
  size_t total = 1;
  for (int64_t c = 0; c < n; c++) total += w[c] + 3;
  if (total > avail) {
    size_t cap = 0;
    for (int64_t c = 0; c < n; c++)
      if (w[c] > cap) cap = w[c];
    while (cap > 10) {
      size_t tt = 1;
      for (int64_t c = 0; c < n; c++) tt += (w[c] < cap ? w[c] : cap) + 3;
      if (tt <= avail) break;
      cap--;
    }
    for (int64_t c = 0; c < n; c++)
      if (w[c] > cap) w[c] = cap;
  }
  /* Choose visible columns alternating from the left and the right edge. */
  int *vis = calloc((size_t)n, sizeof *vis);
  total = 1;
  for (int64_t c = 0; c < n; c++) total += w[c] + 3;
  int64_t nvis = n;
  if (total > avail) {
    size_t used = 1 + 4; /* borders + the "…" column */
    int64_t lo = 0, hi = n - 1;
    nvis = 0;
    int left = 1;
    while (lo <= hi) {
      int64_t c = left ? lo : hi;
      if (used + w[c] + 3 > avail && nvis > 0) break;
      vis[c] = 1;
      used += w[c] + 3;
      nvis++;
      if (left) lo++; else hi--;
      left = !left;
    }
    if (nvis == 0) {
      vis[0] = 1;
      nvis = 1;
    }
  } else {
    for (int64_t c = 0; c < n; c++) vis[c] = 1;
  }
  /* Build the display column list: visible columns with a "…" gap column where hidden ones are. */
  int64_t *cols = cli_xmalloc((size_t)(n + 1) * sizeof *cols);
  size_t *cw = cli_xmalloc((size_t)(n + 1) * sizeof *cw);
  int64_t nd = 0;
  int gap_done = 0;
  for (int64_t c = 0; c < n; c++) {
    if (vis[c]) {
      cols[nd] = c;
      cw[nd++] = w[c];
    } else if (!gap_done) {
      cols[nd] = -1;
      cw[nd++] = 1;
      gap_done = 1;
    }
  }
  /* Give space left over after hiding columns back to columns that were capped. */
  size_t used = 1;
  for (int64_t d = 0; d < nd; d++) used += cw[d] + 3;
  for (int64_t d = 0; d < nd && used < avail; d++) {
    if (cols[d] < 0) continue;
    size_t natural = disp_width(t->names[cols[d]]);
    if (disp_width(t->types[cols[d]]) > natural) natural = disp_width(t->types[cols[d]]);
    for (int64_t r = 0; r < t->nhead + t->tail_n; r++) {
      trow *row = r < t->nhead ? &t->head[r] : &t->tail[r - t->nhead];
      size_t dd = row->cells[cols[d]] ? disp_width(row->cells[cols[d]]) : 4;
      if (dd > natural) natural = dd;
    }
    if (natural > cw[d]) {
      size_t add = natural - cw[d];
      if (add > avail - used) add = avail - used;
      cw[d] += add;
      used += add;
    }
  }
  hline(out, cw, nd, "┌", "┬", "┐");
  fputs("│", out);
  for (int64_t d = 0; d < nd; d++) put_cell(out, cols[d] < 0 ? "…" : t->names[cols[d]], cw[d], 2);
  fputc('\n', out);
  fputs("│", out);
  for (int64_t d = 0; d < nd; d++) put_cell(out, cols[d] < 0 ? "" : t->types[cols[d]], cw[d], 2);
  fputc('\n', out);
  hline(out, cw, nd, "├", "┼", "┤");
  int64_t shown = 0;
  for (int pass = 0; pass < 2; pass++) {
    int64_t cnt = pass == 0 ? t->nhead : t->tail_n;
    if (pass == 1 && t->total > t->nhead + t->tail_n) {
      for (int k = 0; k < 3; k++) {
        fputs("│", out);
        for (int64_t d = 0; d < nd; d++) put_cell(out, cols[d] < 0 ? "" : "·", cw[d], 2);
        fputc('\n', out);
      }
    }
    for (int64_t r = 0; r < cnt; r++) {
      trow *row = pass == 0 ? &t->head[r]
                            : &t->tail[(t->tail_pos - t->tail_n + r + t->tail_cap) % (t->tail_cap ? t->tail_cap : 1)];
      fputs("│", out);
      for (int64_t d = 0; d < nd; d++) {
        if (cols[d] < 0) {
          put_cell(out, "…", cw[d], 0);
          continue;
        }
        const char *v = row->cells[cols[d]];
        put_cell(out, v ? v : "NULL", cw[d], t->right[cols[d]]);
      }
      fputc('\n', out);
      shown++;
    }
  }
  hline(out, cw, nd, "└", "┴", "┘");
  if (ro->show_footer) {
    fprintf(out, "%lld row%s", (long long)t->total, t->total == 1 ? "" : "s");
    if (shown < t->total) fprintf(out, " (%lld shown)", (long long)shown);
    if (nvis < n) fprintf(out, "  %lld columns (%lld shown)", (long long)n, (long long)nvis);
    fputc('\n', out);
  }
  free(w);
  free(vis);
  free(cols);
  free(cw);
}

static int render_table(struct ArrowArrayStream *s, struct ArrowSchema *sc,
                        const cli_render_opts *ro, FILE *out, lsql_error *err) {
  tstate t;
  memset(&t, 0, sizeof t);
  t.ncols = sc->n_children;
  t.names = cli_xmalloc((size_t)t.ncols * sizeof(char *) + 1);
  t.types = cli_xmalloc((size_t)t.ncols * sizeof(char *) + 1);
  t.right = cli_xmalloc((size_t)t.ncols * sizeof(int) + 1);
  for (int64_t c = 0; c < t.ncols; c++) {
    char tb[128];
    const struct ArrowSchema *ch = sc->children[c];
    t.names[c] = table_cell(ch->name ? ch->name : "", ch->name ? strlen(ch->name) : 0);
    t.types[c] = cli_xstrdup(cli_type_name(ch, tb, sizeof tb));
    t.right[c] = is_numeric(ch->dictionary ? ch->dictionary->format : ch->format);
  }
  int64_t head_max = ro->max_rows > 0 ? (ro->max_rows + 1) / 2 : INT64_MAX;
  t.tail_cap = ro->max_rows > 0 ? ro->max_rows / 2 : 0;
  if (t.tail_cap) t.tail = calloc((size_t)t.tail_cap, sizeof(trow));
  cli_buf tmp = {0};
  int rc = 0;
  for (;;) {
    struct ArrowArray arr;
    memset(&arr, 0, sizeof arr);
    int e = s->get_next(s, &arr);
    if (e) {
      rc = stream_error(s, e, err);
      break;
    }
    if (!arr.release) break;
    for (int64_t i = 0; i < arr.length; i++) {
      if (t.nhead < head_max) {
        if (t.nhead == t.head_cap) {
          t.head_cap = t.head_cap ? t.head_cap * 2 : 64;
          t.head = cli_xrealloc(t.head, (size_t)t.head_cap * sizeof(trow));
        }
        t.head[t.nhead++] = make_row(sc, &arr, i, t.ncols, &tmp);
      } else if (t.tail_cap && i >= arr.length - t.tail_cap) {
        trow *slot = &t.tail[t.tail_pos];
        row_free(slot, t.ncols);
        *slot = make_row(sc, &arr, i, t.ncols, &tmp);
        t.tail_pos = (t.tail_pos + 1) % t.tail_cap;
        if (t.tail_n < t.tail_cap) t.tail_n++;
      }
      t.total++;
    }
    arr.release(&arr);
  }
  /* When the result fits max_rows there's no gap to show; the ring already holds the rest. */
  if (rc == 0) {
    cli_output_begin();
    print_table(&t, ro, out);
  }
  cli_buf_free(&tmp);
  for (int64_t r = 0; r < t.nhead; r++) row_free(&t.head[r], t.ncols);
  for (int64_t r = 0; r < t.tail_cap; r++) row_free(&t.tail[r], t.ncols);
  free(t.head);
  free(t.tail);
  for (int64_t c = 0; c < t.ncols; c++) {
    free(t.names[c]);
    free(t.types[c]);
  }
  free(t.names);
  free(t.types);
  free(t.right);
  return rc;
}

/* ---- CSV / JSON / Markdown (streaming) ------------------------------------------------------ */

static void csv_field(cli_buf *b, const char *p, size_t n) {
  int quote = n == 0;
  for (size_t i = 0; i < n && !quote; i++)
    if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r') quote = 1;
  if (!quote) {
    cli_buf_putn(b, p, n);
    return;
  }
  cli_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '"') cli_buf_putc(b, '"');
    cli_buf_putc(b, p[i]);
  }
  cli_buf_putc(b, '"');
}

static void md_field(cli_buf *b, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '|') cli_buf_puts(b, "\\|");
    else if (p[i] == '\n') cli_buf_puts(b, "<br>");
    else cli_buf_putc(b, p[i]);
  }
}

static int render_stream_rows(struct ArrowArrayStream *s, struct ArrowSchema *sc,
                              enum cli_format fmt, FILE *out, lsql_error *err) {
  cli_buf line = {0}, tmp = {0};
  int64_t ncols = sc->n_children, nrows = 0;
  int rc = 0;
  /* header */
  if (fmt == CLI_FMT_CSV || fmt == CLI_FMT_MARKDOWN) {
    if (fmt == CLI_FMT_MARKDOWN) cli_buf_puts(&line, "|");
    for (int64_t c = 0; c < ncols; c++) {
      const char *nm = sc->children[c]->name ? sc->children[c]->name : "";
      if (fmt == CLI_FMT_CSV) {
        if (c) cli_buf_putc(&line, ',');
        csv_field(&line, nm, strlen(nm));
      } else {
        cli_buf_putc(&line, ' ');
        md_field(&line, nm, strlen(nm));
        cli_buf_puts(&line, " |");
      }
    }
    cli_buf_putc(&line, '\n');
    if (fmt == CLI_FMT_MARKDOWN) {
      cli_buf_puts(&line, "|");
      for (int64_t c = 0; c < ncols; c++) {
        const struct ArrowSchema *ch = sc->children[c];
        cli_buf_puts(&line, is_numeric(ch->dictionary ? ch->dictionary->format : ch->format) ? "---:|" : "---|");
      }
      cli_buf_putc(&line, '\n');
    }
  } else {
    cli_buf_puts(&line, "[");
  }
  int started = 0;
  for (;;) {
    struct ArrowArray arr;
    memset(&arr, 0, sizeof arr);
    int e = s->get_next(s, &arr);
    if (e) {
      rc = stream_error(s, e, err);
      break;
    }
    if (!arr.release) break;
    for (int64_t i = 0; i < arr.length; i++) {
      int64_t k = arr.offset + i;
      if (fmt == CLI_FMT_JSON) cli_buf_puts(&line, nrows ? ",\n{" : "\n{");
      if (fmt == CLI_FMT_MARKDOWN) cli_buf_puts(&line, "|");
      for (int64_t c = 0; c < ncols; c++) {
        const struct ArrowSchema *cs = sc->children[c];
        const struct ArrowArray *ca = arr.children[c];
        if (fmt == CLI_FMT_JSON) {
          if (c) cli_buf_putc(&line, ',');
          const char *nm = cs->name ? cs->name : "";
          cli_json_string(&line, nm, strlen(nm));
          cli_buf_putc(&line, ':');
          cli_json_value(cs, ca, k, &line);
          continue;
        }
        cli_buf_clear(&tmp);
        int has = cli_format_value(cs, ca, k, &tmp);
        if (fmt == CLI_FMT_CSV) {
          if (c) cli_buf_putc(&line, ',');
          if (has) csv_field(&line, tmp.data ? tmp.data : "", tmp.len);
        } else {
          cli_buf_putc(&line, ' ');
          if (has) md_field(&line, tmp.data ? tmp.data : "", tmp.len);
          cli_buf_puts(&line, " |");
        }
      }
      if (fmt == CLI_FMT_JSON) cli_buf_putc(&line, '}');
      else cli_buf_putc(&line, '\n');
      nrows++;
      if (line.len > 1 << 16) {
        if (!started) cli_output_begin();
        started = 1;
        fwrite(line.data, 1, line.len, out);
        cli_buf_clear(&line);
      }
    }
    arr.release(&arr);
  }
  if (rc == 0) {
    if (fmt == CLI_FMT_JSON) cli_buf_puts(&line, "\n]\n");
    if (!started) cli_output_begin();
    if (line.len) fwrite(line.data, 1, line.len, out);
  }
  cli_buf_free(&line);
  cli_buf_free(&tmp);
  return rc;
}

int cli_render_stream(struct ArrowArrayStream *s, const cli_render_opts *ro, FILE *out,
                      lsql_error *err) {
  if (ro->format == CLI_FMT_ARROW) return cli_write_ipc(s, out, err);
  struct ArrowSchema sc;
  memset(&sc, 0, sizeof sc);
  int e = s->get_schema(s, &sc);
  if (e) return stream_error(s, e, err);
  int rc;
  if (sc.n_children == 0) {
    /* A statement without a result set: drain the stream. */
    rc = 0;
    for (;;) {
      struct ArrowArray arr;
      memset(&arr, 0, sizeof arr);
      int e2 = s->get_next(s, &arr);
      if (e2) {
        rc = stream_error(s, e2, err);
        break;
      }
      if (!arr.release) break;
      arr.release(&arr);
    }
  } else if (ro->format == CLI_FMT_TABLE) {
    rc = render_table(s, &sc, ro, out, err);
  } else {
    rc = render_stream_rows(s, &sc, ro->format, out, err);
  }
  if (sc.release) sc.release(&sc);
  fflush(out);
  return rc;
}
