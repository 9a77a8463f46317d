/* Formats Arrow values as text the way DuckDB casts them to VARCHAR (and so writes them to CSV),
 * and as JSON values. Only reads Arrow C data interface structures. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

/* ---- Arrow access helpers --------------------------------------------------------------- */

static int is_null(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i) {
  if (s->format[0] == 'n' && s->format[1] == 0) return 1;
  if (s->format[0] == '+' && (s->format[1] == 'u' || s->format[1] == 'r')) return 0;
  if (a->null_count == 0 || a->n_buffers < 1 || !a->buffers[0]) return 0;
  const uint8_t *v = a->buffers[0];
  int64_t p = a->offset + i;
  return !((v[p >> 3] >> (p & 7)) & 1);
}

static const void *buf(const struct ArrowArray *a, int64_t k) {
  return k < a->n_buffers ? a->buffers[k] : NULL;
}

/* Returns a pointer/length for string-like values (utf8, binary, views, fixed binary). */
static int get_bytes(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i,
                     const char **p, int64_t *n) {
  const char *f = s->format;
  int64_t k = a->offset + i;
  if ((f[0] == 'u' || f[0] == 'z') && f[1] == 0) {
    const int32_t *off = buf(a, 1);
    const char *data = buf(a, 2);
    if (!off) return -1;
    *p = data ? data + off[k] : "";
    *n = off[k + 1] - off[k];
    return 0;
  }
  if ((f[0] == 'U' || f[0] == 'Z') && f[1] == 0) {
    const int64_t *off = buf(a, 1);
    const char *data = buf(a, 2);
    if (!off) return -1;
    *p = data ? data + off[k] : "";
    *n = off[k + 1] - off[k];
    return 0;
  }
  if (f[0] == 'v' && (f[1] == 'u' || f[1] == 'z')) {
    const uint8_t *view = (const uint8_t *)buf(a, 1) + 16 * k;
    int32_t len, bi, off;
    memcpy(&len, view, 4);
    *n = len;
    if (len <= 12) {
      *p = (const char *)view + 4;
    } else {
      memcpy(&bi, view + 8, 4);
      memcpy(&off, view + 12, 4);
      const char *data = buf(a, 2 + bi);
      *p = data ? data + off : "";
    }
    return 0;
  }
  if (f[0] == 'w' && f[1] == ':') {
    int64_t w = atoll(f + 2);
    *p = (const char *)buf(a, 1) + w * k;
    *n = w;
    return 0;
  }
  return -1;
}

static int64_t get_int(const char *f, const void *data, int64_t k) {
  switch (f[0]) {
    case 'c': return ((const int8_t *)data)[k];
    case 'C': return ((const uint8_t *)data)[k];
    case 's': return ((const int16_t *)data)[k];
    case 'S': return ((const uint16_t *)data)[k];
    case 'i': return ((const int32_t *)data)[k];
    case 'I': return ((const uint32_t *)data)[k];
    case 'l': return ((const int64_t *)data)[k];
    case 'L': return (int64_t)((const uint64_t *)data)[k];
  }
  return 0;
}

static int is_int_format(const char *f) { return f[1] == 0 && strchr("cCsSiIlL", f[0]) != NULL; }

/* ---- numbers ---------------------------------------------------------------------------- */

/* Shortest round-trip representation, then DuckDB's layout: fixed notation for decimal exponents
 * in [-5, 15] ("1.0", "0.0001"), otherwise "1e+16" / "2.5e-07". */
static void fmt_float(cli_buf *b, double v, int is_single) {
  if (isnan(v)) {
    cli_buf_puts(b, "nan");
    return;
  }
  if (isinf(v)) {
    cli_buf_puts(b, v < 0 ? "-inf" : "inf");
    return;
  }
  char tmp[64];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    if (is_single ? (strtof(tmp, NULL) == (float)v) : (strtod(tmp, NULL) == v)) break;
  }
  /* tmp = [-]d[.ddd]e[+-]XX */
  char digits[32];
  int nd = 0, neg = 0;
  const char *p = tmp;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  for (; *p && *p != 'e'; p++)
    if (isdigit((unsigned char)*p)) digits[nd++] = *p;
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  if (neg) cli_buf_putc(b, '-');
  if (exp10 < -4 || exp10 >= 16) {
    cli_buf_putc(b, digits[0]);
    if (nd > 1) {
      cli_buf_putc(b, '.');
      cli_buf_putn(b, digits + 1, (size_t)nd - 1);
    }
    cli_buf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
  } else if (exp10 < 0) {
    cli_buf_puts(b, "0.");
    for (int z = 0; z < -exp10 - 1; z++) cli_buf_putc(b, '0');
    cli_buf_putn(b, digits, (size_t)nd);
  } else {
    int intd = exp10 + 1;
    for (int d = 0; d < intd; d++) cli_buf_putc(b, d < nd ? digits[d] : '0');
    cli_buf_putc(b, '.');
    if (nd > intd)
      cli_buf_putn(b, digits + intd, (size_t)(nd - intd));
    else
      cli_buf_putc(b, '0');
  }
}

static void fmt_u128(cli_buf *b, unsigned __int128 u, int neg, int scale) {
  char tmp[64];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  while (n <= scale) tmp[n++] = '0';
  if (neg) cli_buf_putc(b, '-');
  for (int d = n - 1; d >= 0; d--) {
    cli_buf_putc(b, tmp[d]);
    if (d == scale && scale > 0) cli_buf_putc(b, '.');
  }
}

static void fmt_decimal(cli_buf *b, const char *f, const struct ArrowArray *a, int64_t k) {
  int prec = 0, scale = 0, bw = 128;
  sscanf(f + 2, "%d,%d,%d", &prec, &scale, &bw);
  __int128 v = 0;
  if (bw == 32) {
    v = ((const int32_t *)buf(a, 1))[k];
  } else if (bw == 64) {
    v = ((const int64_t *)buf(a, 1))[k];
  } else if (bw == 128) {
    memcpy(&v, (const uint8_t *)buf(a, 1) + 16 * k, 16);
  } else {
    /* decimal256: show the low 128 bits when the value fits */
    memcpy(&v, (const uint8_t *)buf(a, 1) + 32 * k, 16);
  }
  int neg = v < 0;
  unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
  fmt_u128(b, u, neg, scale);
}

/* ---- dates and times -------------------------------------------------------------------- */

/* Civil date from days since 1970-01-01 (proleptic Gregorian; year 0 = 1 BC). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yy + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

static void fmt_date(cli_buf *b, int64_t days, int *bc) {
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  if (y <= 0) {
    *bc = 1;
    y = 1 - y;
  }
  cli_buf_printf(b, "%04" PRId64 "-%02d-%02d", y, m, d);
}

/* Time of day from sub-second units; fraction digits trimmed of trailing zeros like DuckDB. */
static void fmt_time(cli_buf *b, int64_t v, int64_t per_sec, int frac_digits) {
  int64_t secs = v / per_sec, frac = v % per_sec;
  cli_buf_printf(b, "%02" PRId64 ":%02" PRId64 ":%02" PRId64, secs / 3600, (secs / 60) % 60,
                 secs % 60);
  if (frac) {
    char t[16];
    snprintf(t, sizeof t, "%0*" PRId64, frac_digits, frac);
    int n = frac_digits;
    while (n > 0 && t[n - 1] == '0') n--;
    cli_buf_putc(b, '.');
    cli_buf_putn(b, t, (size_t)n);
  }
}

static int64_t unit_per_sec(char u) {
  switch (u) {
    case 's': return 1;
    case 'm': return 1000;
    case 'u': return 1000000;
    default: return 1000000000;
  }
}
static int unit_digits(char u) { return u == 's' ? 0 : u == 'm' ? 3 : u == 'u' ? 6 : 9; }

static void fmt_timestamp(cli_buf *b, const char *f, int64_t v) {
  char u = f[2];
  int64_t ps = unit_per_sec(u);
  int64_t day_units = 86400 * ps;
  int64_t days = floordiv(v, day_units);
  int64_t rem = v - days * day_units;
  int bc = 0;
  fmt_date(b, days, &bc);
  cli_buf_putc(b, ' ');
  fmt_time(b, rem, ps, unit_digits(u));
  if (f[4] != 0) cli_buf_puts(b, "+00"); /* with time zone: instants are rendered in UTC */
  if (bc) cli_buf_puts(b, " (BC)");
}

static void fmt_interval(cli_buf *b, int32_t months, int32_t days, int64_t micros) {
  int any = 0;
  int32_t years = months / 12;
  months %= 12;
  if (years) {
    cli_buf_printf(b, "%d year%s", years, (years == 1 || years == -1) ? "" : "s");
    any = 1;
  }
  if (months) {
    cli_buf_printf(b, "%s%d month%s", any ? " " : "", months, (months == 1 || months == -1) ? "" : "s");
    any = 1;
  }
  if (days) {
    cli_buf_printf(b, "%s%d day%s", any ? " " : "", days, (days == 1 || days == -1) ? "" : "s");
    any = 1;
  }
  if (micros || !any) {
    if (any) cli_buf_putc(b, ' ');
    if (micros < 0) {
      cli_buf_putc(b, '-');
      micros = -micros;
    }
    fmt_time(b, micros, 1000000, 6);
  }
}

/* ---- strings inside nested values ---------------------------------------------------------- */

static void put_nested_string(cli_buf *b, const char *p, int64_t n) {
  int quote = n == 0 || isspace((unsigned char)p[0]) || isspace((unsigned char)p[n - 1]) ||
              (n == 4 && strncasecmp(p, "null", 4) == 0);
  for (int64_t j = 0; j < n && !quote; j++)
    if (strchr(",'\"[]{}():=\\\n\r\t", p[j]) && p[j]) quote = 1;
  if (!quote) {
    cli_buf_putn(b, p, (size_t)n);
    return;
  }
  cli_buf_putc(b, '\'');
  for (int64_t j = 0; j < n; j++) {
    if (p[j] == '\'' || p[j] == '\\') cli_buf_putc(b, '\\');
    cli_buf_putc(b, p[j]);
  }
  cli_buf_putc(b, '\'');
}

static void put_blob(cli_buf *b, const char *p, int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    unsigned char c = (unsigned char)p[j];
    if (c >= 32 && c < 127 && c != '\\' && c != '\'' && c != '"')
      cli_buf_putc(b, (char)c);
    else
      cli_buf_printf(b, "\\x%02X", c);
  }
}

/* ---- the VARCHAR cast ----------------------------------------------------------------------- */

static int fmt_value(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, cli_buf *b,
                     int nested);

static void fmt_child(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, cli_buf *b) {
  if (!fmt_value(s, a, i, b, 1)) cli_buf_puts(b, "NULL");
}

static int fmt_value(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, cli_buf *b,
                     int nested) {
  if (is_null(s, a, i)) return 0;
  const char *f = s->format;
  int64_t k = a->offset + i;
  if (s->dictionary && a->dictionary) {
    int64_t idx = get_int(f, buf(a, 1), k);
    return fmt_value(s->dictionary, a->dictionary, idx, b, nested);
  }
  if (is_int_format(f)) {
    if (f[0] == 'L')
      cli_buf_printf(b, "%" PRIu64, ((const uint64_t *)buf(a, 1))[k]);
    else
      cli_buf_printf(b, "%" PRId64, get_int(f, buf(a, 1), k));
    return 1;
  }
  const char *p;
  int64_t n;
  switch (f[0]) {
    case 'b': {
      const uint8_t *bits = buf(a, 1);
      cli_buf_puts(b, ((bits[k >> 3] >> (k & 7)) & 1) ? "true" : "false");
      return 1;
    }
    case 'f': fmt_float(b, ((const float *)buf(a, 1))[k], 1); return 1;
    case 'g': fmt_float(b, ((const double *)buf(a, 1))[k], 0); return 1;
    case 'e': {
      /* half float: widen */
      uint16_t h = ((const uint16_t *)buf(a, 1))[k];
      int e = (h >> 10) & 31, m = h & 1023;
      double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
      fmt_float(b, (h & 0x8000) ? -v : v, 1);
      return 1;
    }
    case 'd':
      if (f[1] == ':') {
        fmt_decimal(b, f, a, k);
        return 1;
      }
      break;
    case 'u': case 'U':
      if (get_bytes(s, a, i, &p, &n) == 0) {
        if (nested) put_nested_string(b, p, n);
        else cli_buf_putn(b, p, (size_t)n);
        return 1;
      }
      break;
    case 'v':
      if (get_bytes(s, a, i, &p, &n) == 0) {
        if (f[1] == 'z') put_blob(b, p, n);
        else if (nested) put_nested_string(b, p, n);
        else cli_buf_putn(b, p, (size_t)n);
        return 1;
      }
      break;
    case 'z': case 'Z': case 'w':
      if (get_bytes(s, a, i, &p, &n) == 0) {
        put_blob(b, p, n);
        return 1;
      }
      break;
    case 't':
      if (f[1] == 'd') {
        int64_t days = f[2] == 'D' ? ((const int32_t *)buf(a, 1))[k]
                                   : floordiv(((const int64_t *)buf(a, 1))[k], 86400000);
        int bc = 0;
        fmt_date(b, days, &bc);
        if (bc) cli_buf_puts(b, " (BC)");
        return 1;
      }
      if (f[1] == 't') {
        int64_t v = (f[2] == 's' || f[2] == 'm') ? ((const int32_t *)buf(a, 1))[k]
                                                 : ((const int64_t *)buf(a, 1))[k];
        fmt_time(b, v, unit_per_sec(f[2]), unit_digits(f[2]));
        return 1;
      }
      if (f[1] == 's') {
        fmt_timestamp(b, f, ((const int64_t *)buf(a, 1))[k]);
        return 1;
      }
      if (f[1] == 'D') {
        int64_t v = ((const int64_t *)buf(a, 1))[k];
        int64_t us = f[2] == 's' ? v * 1000000 : f[2] == 'm' ? v * 1000 : f[2] == 'u' ? v : v / 1000;
        fmt_interval(b, 0, 0, us);
        return 1;
      }
      if (f[1] == 'i') {
        const uint8_t *base = buf(a, 1);
        if (f[2] == 'M') {
          fmt_interval(b, ((const int32_t *)base)[k], 0, 0);
        } else if (f[2] == 'D') {
          int32_t dm[2];
          memcpy(dm, base + 8 * k, 8);
          fmt_interval(b, 0, dm[0], (int64_t)dm[1] * 1000);
        } else {
          int32_t md[2];
          int64_t ns;
          memcpy(md, base + 16 * k, 8);
          memcpy(&ns, base + 16 * k + 8, 8);
          fmt_interval(b, md[0], md[1], ns / 1000);
        }
        return 1;
      }
      break;
    case '+':
      if (f[1] == 'l' || f[1] == 'L' || (f[1] == 'w' && f[2] == ':')) {
        int64_t start, end;
        if (f[1] == 'l') {
          const int32_t *off = buf(a, 1);
          start = off[k];
          end = off[k + 1];
        } else if (f[1] == 'L') {
          const int64_t *off = buf(a, 1);
          start = off[k];
          end = off[k + 1];
        } else {
          int64_t w = atoll(f + 3);
          start = k * w;
          end = start + w;
        }
        cli_buf_putc(b, '[');
        for (int64_t j = start; j < end; j++) {
          if (j > start) cli_buf_puts(b, ", ");
          fmt_child(s->children[0], a->children[0], j, b);
        }
        cli_buf_putc(b, ']');
        return 1;
      }
      if (f[1] == 'm') {
        const int32_t *off = buf(a, 1);
        const struct ArrowSchema *es = s->children[0];
        const struct ArrowArray *ea = a->children[0];
        cli_buf_putc(b, '{');
        for (int64_t j = off[k]; j < off[k + 1]; j++) {
          if (j > off[k]) cli_buf_puts(b, ", ");
          int64_t ej = ea->offset + j;
          fmt_child(es->children[0], ea->children[0], ej, b);
          cli_buf_putc(b, '=');
          fmt_child(es->children[1], ea->children[1], ej, b);
        }
        cli_buf_putc(b, '}');
        return 1;
      }
      if (f[1] == 's') {
        cli_buf_putc(b, '{');
        for (int64_t c = 0; c < s->n_children; c++) {
          if (c) cli_buf_puts(b, ", ");
          cli_buf_putc(b, '\'');
          cli_buf_puts(b, s->children[c]->name ? s->children[c]->name : "");
          cli_buf_puts(b, "': ");
          fmt_child(s->children[c], a->children[c], k, b);
        }
        cli_buf_putc(b, '}');
        return 1;
      }
      break;
  }
  cli_buf_printf(b, "<%s>", f);
  return 1;
}

int cli_format_value(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, cli_buf *b) {
  return fmt_value(s, a, i, b, 0);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

void cli_json_string(cli_buf *b, const char *p, size_t n) {
  cli_buf_putc(b, '"');
  for (size_t j = 0; j < n; j++) {
    unsigned char c = (unsigned char)p[j];
    switch (c) {
      case '"': cli_buf_puts(b, "\\\""); break;
      case '\\': cli_buf_puts(b, "\\\\"); break;
      case '\n': cli_buf_puts(b, "\\n"); break;
      case '\r': cli_buf_puts(b, "\\r"); break;
      case '\t': cli_buf_puts(b, "\\t"); break;
      default:
        if (c < 0x20)
          cli_buf_printf(b, "\\u%04x", c);
        else
          cli_buf_putc(b, (char)c);
    }
  }
  cli_buf_putc(b, '"');
}

void cli_json_value(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, cli_buf *b) {
  if (is_null(s, a, i)) {
    cli_buf_puts(b, "null");
    return;
  }
  const char *f = s->format;
  int64_t k = a->offset + i;
  if (s->dictionary && a->dictionary) {
    cli_json_value(s->dictionary, a->dictionary, get_int(f, buf(a, 1), k), b);
    return;
  }
  const char *p;
  int64_t n;
  if (is_int_format(f) || (f[0] == 'b' && f[1] == 0) || (f[0] == 'd' && f[1] == ':')) {
    fmt_value(s, a, i, b, 0);
    return;
  }
  if ((f[0] == 'f' || f[0] == 'g' || f[0] == 'e') && f[1] == 0) {
    double v = f[0] == 'f' ? ((const float *)buf(a, 1))[k] : f[0] == 'g' ? ((const double *)buf(a, 1))[k] : 0;
    if (!isfinite(v)) {
      cli_buf_puts(b, isnan(v) ? "\"nan\"" : v < 0 ? "\"-inf\"" : "\"inf\"");
      return;
    }
    fmt_value(s, a, i, b, 0);
    return;
  }
  if (((f[0] == 'u' || f[0] == 'U') && f[1] == 0) || (f[0] == 'v' && f[1] == 'u')) {
    if (get_bytes(s, a, i, &p, &n) == 0) {
      cli_json_string(b, p, (size_t)n);
      return;
    }
  }
  if (f[0] == '+' && (f[1] == 'l' || f[1] == 'L' || f[1] == 'w')) {
    int64_t start, end;
    if (f[1] == 'l') {
      start = ((const int32_t *)buf(a, 1))[k];
      end = ((const int32_t *)buf(a, 1))[k + 1];
    } else if (f[1] == 'L') {
      start = ((const int64_t *)buf(a, 1))[k];
      end = ((const int64_t *)buf(a, 1))[k + 1];
    } else {
      int64_t w = atoll(f + 3);
      start = k * w;
      end = start + w;
    }
    cli_buf_putc(b, '[');
    for (int64_t j = start; j < end; j++) {
      if (j > start) cli_buf_putc(b, ',');
      cli_json_value(s->children[0], a->children[0], j, b);
    }
    cli_buf_putc(b, ']');
    return;
  }
  if (f[0] == '+' && f[1] == 's') {
    cli_buf_putc(b, '{');
    for (int64_t c = 0; c < s->n_children; c++) {
      if (c) cli_buf_putc(b, ',');
      const char *nm = s->children[c]->name ? s->children[c]->name : "";
      cli_json_string(b, nm, strlen(nm));
      cli_buf_putc(b, ':');
      cli_json_value(s->children[c], a->children[c], k, b);
    }
    cli_buf_putc(b, '}');
    return;
  }
  if (f[0] == '+' && f[1] == 'm') {
    const int32_t *off = buf(a, 1);
    const struct ArrowSchema *es = s->children[0];
    const struct ArrowArray *ea = a->children[0];
    cli_buf t = {0};
    cli_buf_putc(b, '{');
    for (int64_t j = off[k]; j < off[k + 1]; j++) {
      if (j > off[k]) cli_buf_putc(b, ',');
      int64_t ej = ea->offset + j;
      cli_buf_clear(&t);
      if (!fmt_value(es->children[0], ea->children[0], ej, &t, 0)) cli_buf_puts(&t, "NULL");
      cli_json_string(b, t.data, t.len);
      cli_buf_putc(b, ':');
      cli_json_value(es->children[1], ea->children[1], ej, b);
    }
    cli_buf_putc(b, '}');
    cli_buf_free(&t);
    return;
  }
  /* everything else: its text form as a JSON string */
  cli_buf t = {0};
  fmt_value(s, a, i, &t, 0);
  cli_json_string(b, t.data ? t.data : "", t.len);
  cli_buf_free(&t);
}

/* ---- type names ---------------------------------------------------------------------------- */

const char *cli_type_name(const struct ArrowSchema *s, char *out, size_t cap) {
  const char *f = s->format;
  const struct ArrowSchema *t = s->dictionary ? s->dictionary : s;
  f = t->format;
  const char *n = NULL;
  if (f[1] == 0) {
    switch (f[0]) {
      case 'n': n = "null"; break;
      case 'b': n = "boolean"; break;
      case 'c': n = "tinyint"; break;
      case 'C': n = "utinyint"; break;
      case 's': n = "smallint"; break;
      case 'S': n = "usmallint"; break;
      case 'i': n = "integer"; break;
      case 'I': n = "uinteger"; break;
      case 'l': n = "bigint"; break;
      case 'L': n = "ubigint"; break;
      case 'e': n = "half"; break;
      case 'f': n = "float"; break;
      case 'g': n = "double"; break;
      case 'u': case 'U': n = "varchar"; break;
      case 'z': case 'Z': n = "blob"; break;
    }
  } else if (f[0] == 'v') {
    n = f[1] == 'u' ? "varchar" : "blob";
  } else if (f[0] == 'w') {
    n = "blob";
  } else if (f[0] == 'd' && f[1] == ':') {
    int p = 0, sc = 0;
    sscanf(f + 2, "%d,%d", &p, &sc);
    snprintf(out, cap, "decimal(%d,%d)", p, sc);
    return out;
  } else if (f[0] == 't') {
    if (f[1] == 'd') n = "date";
    else if (f[1] == 't') n = "time";
    else if (f[1] == 's') n = f[4] ? "timestamp with time zone" : f[2] == 'u' ? "timestamp" : f[2] == 'n' ? "timestamp_ns" : f[2] == 'm' ? "timestamp_ms" : "timestamp_s";
    else if (f[1] == 'D' || f[1] == 'i') n = "interval";
  } else if (f[0] == '+') {
    if (f[1] == 'l' || f[1] == 'L' || f[1] == 'w') {
      char inner[96];
      cli_type_name(t->children[0], inner, sizeof inner);
      snprintf(out, cap, "%s[]", inner);
      return out;
    }
    if (f[1] == 's') n = "struct";
    if (f[1] == 'm') n = "map";
  }
  snprintf(out, cap, "%s", n ? n : f);
  return out;
}
