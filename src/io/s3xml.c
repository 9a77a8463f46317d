/* A minimal, bounds-checked reader for the two XML bodies S3 sends us: ListObjectsV2 results and
 * <Error> documents. It finds elements by name inside a byte range (never past it), which is
 * enough for these flat, machine-written documents; element text is entity-decoded. */
#include <stdlib.h>

#include "s3_internal.h"

/* Bounded search for needle in [p, end). */
static const char *find(const char *p, const char *end, const char *needle) {
  size_t nl = strlen(needle);
  while (p < end && (size_t)(end - p) >= nl) {
    const char *q = memchr(p, needle[0], (size_t)(end - p) - nl + 1);
    if (!q) return NULL;
    if (memcmp(q, needle, nl) == 0) return q;
    p = q + 1;
  }
  return NULL;
}

/* Finds the next element <tag> in [p, end): sets its content range and the position after the
 * closing tag. Returns 1 found, 0 absent, -1 malformed (an opening tag without its close). */
static int next_elem(const char *p, const char *end, const char *tag, const char **cs,
                     const char **ce, const char **after) {
  size_t tl = strlen(tag);
  for (;;) {
    const char *o = find(p, end, "<");
    if (!o) return 0;
    const char *name = o + 1;
    if ((size_t)(end - name) < tl + 1 || memcmp(name, tag, tl) != 0) {
      p = o + 1;
      continue;
    }
    char c = name[tl];
    if (c != '>' && c != ' ' && c != '/' && c != '\t' && c != '\r' && c != '\n') {
      p = o + 1;
      continue;
    }
    const char *gt = find(name + tl, end, ">");
    if (!gt) return -1;
    if (gt[-1] == '/') { /* <Tag/> */
      *cs = *ce = gt + 1;
      *after = gt + 1;
      return 1;
    }
    char close[64];
    if (tl + 4 > sizeof close) return -1;
    close[0] = '<';
    close[1] = '/';
    memcpy(close + 2, tag, tl);
    close[tl + 2] = '>';
    close[tl + 3] = '\0';
    const char *cl = find(gt + 1, end, close);
    if (!cl) return -1;
    *cs = gt + 1;
    *ce = cl;
    *after = cl + tl + 3;
    return 1;
  }
}

static int put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

int lsql_xml_decode(const char *s, size_t n, char **out, lsql_error *err) {
  *out = NULL;
  /* decoded text is never longer than the source (the longest UTF-8 sequence, 4 bytes, comes
   * from a reference of at least 4 bytes, e.g. "&#1;" -> 1 byte) */
  char *o = lsql_malloc(n + 1);
  if (!o) return lsql_err_oom(err);
  size_t j = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] != '&') {
      if (s[i] == '\0') goto bad;
      o[j++] = s[i++];
      continue;
    }
    const char *semi = memchr(s + i, ';', n - i);
    if (!semi || semi - (s + i) > 12) goto bad;
    const char *e = s + i + 1;
    size_t el = (size_t)(semi - e);
    if (el == 3 && memcmp(e, "amp", 3) == 0) o[j++] = '&';
    else if (el == 2 && memcmp(e, "lt", 2) == 0) o[j++] = '<';
    else if (el == 2 && memcmp(e, "gt", 2) == 0) o[j++] = '>';
    else if (el == 4 && memcmp(e, "quot", 4) == 0) o[j++] = '"';
    else if (el == 4 && memcmp(e, "apos", 4) == 0) o[j++] = '\'';
    else if (el >= 2 && e[0] == '#') {
      uint32_t cp = 0;
      bool hex = e[1] == 'x' || e[1] == 'X';
      size_t k = hex ? 2 : 1;
      if (k >= el) goto bad;
      for (; k < el; k++) {
        char c = e[k];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else goto bad;
        cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
        if (cp > 0x10FFFF) goto bad;
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
      j += (size_t)put_utf8(o + j, cp);
    } else {
      goto bad;
    }
    i = (size_t)(semi - s) + 1;
  }
  o[j] = '\0';
  *out = o;
  return LSQL_OK;
bad:
  lsql_free(o);
  return lsql_err(err, LSQL_ECORRUPT, "S3 XML: invalid character reference or NUL in text");
}

void lsql_s3_xml_text(const char *xml, size_t n, const char *tag, char *out, size_t cap) {
  if (cap) out[0] = '\0';
  if (!xml || cap == 0) return;
  const char *cs, *ce, *after;
  if (next_elem(xml, xml + n, tag, &cs, &ce, &after) != 1) return;
  char *t;
  if (lsql_xml_decode(cs, (size_t)(ce - cs), &t, NULL) != LSQL_OK) return;
  size_t l = strlen(t);
  if (l >= cap) l = cap - 1;
  memcpy(out, t, l);
  out[l] = '\0';
  lsql_free(t);
}

void lsql_s3_list_page_free(lsql_s3_list_page *pg) {
  if (!pg) return;
  for (size_t i = 0; i < pg->n_keys; i++) lsql_free(pg->keys[i]);
  for (size_t i = 0; i < pg->n_prefixes; i++) lsql_free(pg->prefixes[i]);
  lsql_free(pg->keys);
  lsql_free(pg->sizes);
  lsql_free(pg->prefixes);
  lsql_free(pg->next_token);
  memset(pg, 0, sizeof *pg);
}

static int parse_u64(const char *s, const char *e, uint64_t *v) {
  while (s < e && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t')) e--;
  if (s == e) return -1;
  uint64_t x = 0;
  for (; s < e; s++) {
    if (*s < '0' || *s > '9') return -1;
    if (lsql_mul_overflow_u64(x, 10, &x) || lsql_add_overflow_u64(x, (uint64_t)(*s - '0'), &x))
      return -1;
  }
  *v = x;
  return 0;
}

static int grow(void **arr, size_t n, size_t elem) {
  /* capacity is 16, then doubles whenever the count reaches a power of two */
  if (n != 0 && (n < 16 || (n & (n - 1)))) return 0;
  void *p = lsql_realloc(*arr, (n ? n * 2 : 16) * elem);
  if (!p) return -1;
  *arr = p;
  return 0;
}

int lsql_s3_parse_list(const char *xml, size_t n, lsql_s3_list_page *pg, lsql_error *err) {
  memset(pg, 0, sizeof *pg);
  const char *end = xml + n, *cs, *ce, *after, *rs, *re, *ra;
  if (next_elem(xml, end, "ListBucketResult", &rs, &re, &ra) != 1)
    return lsql_err(err, LSQL_ECORRUPT, "S3 list response: no <ListBucketResult> element");
  int rc = LSQL_OK, r;
  /* Objects. */
  for (const char *p = rs; rc == LSQL_OK && (r = next_elem(p, re, "Contents", &cs, &ce, &after)) == 1;
       p = after) {
    const char *ks, *ke, *ka, *ss, *se, *sa;
    uint64_t size = 0;
    if (next_elem(cs, ce, "Key", &ks, &ke, &ka) != 1 || next_elem(cs, ce, "Size", &ss, &se, &sa) != 1 ||
        parse_u64(ss, se, &size) != 0) {
      rc = lsql_err(err, LSQL_ECORRUPT, "S3 list response: <Contents> without a valid Key/Size");
      break;
    }
    if (grow((void **)&pg->keys, pg->n_keys, sizeof(char *)) ||
        grow((void **)&pg->sizes, pg->n_keys, sizeof(uint64_t))) {
      rc = lsql_err_oom(err);
      break;
    }
    rc = lsql_xml_decode(ks, (size_t)(ke - ks), &pg->keys[pg->n_keys], err);
    if (rc == LSQL_OK) pg->sizes[pg->n_keys++] = size;
  }
  if (rc == LSQL_OK && r < 0) rc = lsql_err(err, LSQL_ECORRUPT, "S3 list response: unterminated <Contents>");
  /* Common prefixes ("directories"). */
  for (const char *p = rs;
       rc == LSQL_OK && (r = next_elem(p, re, "CommonPrefixes", &cs, &ce, &after)) == 1; p = after) {
    const char *ps, *pe, *pa;
    if (next_elem(cs, ce, "Prefix", &ps, &pe, &pa) != 1) {
      rc = lsql_err(err, LSQL_ECORRUPT, "S3 list response: <CommonPrefixes> without <Prefix>");
      break;
    }
    if (grow((void **)&pg->prefixes, pg->n_prefixes, sizeof(char *))) {
      rc = lsql_err_oom(err);
      break;
    }
    rc = lsql_xml_decode(ps, (size_t)(pe - ps), &pg->prefixes[pg->n_prefixes], err);
    if (rc == LSQL_OK) pg->n_prefixes++;
  }
  if (rc == LSQL_OK && r < 0)
    rc = lsql_err(err, LSQL_ECORRUPT, "S3 list response: unterminated <CommonPrefixes>");
  /* Paging. The top-level elements come outside Contents blocks; S3 puts them before or after
   * the entries, and neither name occurs inside an entry. */
  if (rc == LSQL_OK && (r = next_elem(rs, re, "IsTruncated", &cs, &ce, &after)) == 1) {
    size_t l = (size_t)(ce - cs);
    pg->truncated = l == 4 && memcmp(cs, "true", 4) == 0;
  }
  if (rc == LSQL_OK && pg->truncated) {
    if (next_elem(rs, re, "NextContinuationToken", &cs, &ce, &after) == 1 && ce > cs)
      rc = lsql_xml_decode(cs, (size_t)(ce - cs), &pg->next_token, err);
    else
      rc = lsql_err(err, LSQL_ECORRUPT, "S3 list response: truncated without a NextContinuationToken");
  }
  if (rc != LSQL_OK) lsql_s3_list_page_free(pg);
  return rc;
}
