/* Errors: fixed-size, caller-owned messages so that reporting never allocates (and so OOM can be
 * reported and tested). */
#include <stdio.h>

#include "util.h"

int lsql_verr(lsql_error *err, int code, const char *fmt, va_list ap) {
  if (err) {
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
  }
  return code;
}

int lsql_err(lsql_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lsql_verr(err, code, fmt, ap);
  va_end(ap);
  return code;
}

int lsql_error_prefix(lsql_error *err, const char *fmt, ...) {
  if (!err) return LSQL_OK;
  char prefix[LSQL_ERROR_MESSAGE_LEN];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0) return err->code;
  size_t plen = (size_t)n < sizeof prefix ? (size_t)n : sizeof prefix - 1;
  size_t mlen = strnlen(err->message, sizeof err->message);
  if (plen >= sizeof err->message - 1) plen = sizeof err->message - 1;
  size_t keep = LSQL_MIN(mlen, sizeof err->message - 1 - plen);
  memmove(err->message + plen, err->message, keep);
  memcpy(err->message, prefix, plen);
  err->message[plen + keep] = '\0';
  return err->code;
}

const char *lsql_status_name(int code) {
  static const char *const names[] = {"OK",         "EINVAL",    "ENOMEM",      "EIO",
                                      "ENOTFOUND",  "ECORRUPT",  "EUNSUPPORTED", "EREADONLY",
                                      "ESQL",       "ECANCELLED", "EPERM",       "EREMOTE",
                                      "ELIMIT"};
  if (code < 0 || (size_t)code >= LSQL_ARRAY_LEN(names)) return "EUNKNOWN";
  return names[code];
}

const char *lsql_version(void) { return LSQL_VERSION_STRING; }
