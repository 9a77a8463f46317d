// Micro-benchmark of the compression kernels (not built by default); from the repo root:
//   gcc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc bench/kernels.c
//       src/format/encoding/*.c src/util/*.c -lzstd -llz4 -o /tmp/bench_kernels
// Prints values (or bytes) per second for FastLanes unpack at a few (T, W), plain bit
// unpacking and FSST decoding. The data stays cache resident (a few blocks, repeated).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "format/encoding/kernels.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t sink;

static void bench_fastlanes(unsigned t, unsigned w) {
  static uint8_t src[128 * 64 * 16];
  static uint64_t dst[1024 * 16];
  for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 131 + 7);
  const int blocks = 16; /* 16 blocks in flight: still cache resident */
  long iters = 0;
  double t0 = now_s(), el;
  do {
    for (int r = 0; r < 200; r++)
      for (int b = 0; b < blocks; b++)
        lsql_fastlanes_unpack(t, w, src + (size_t)b * 128 * w,
                              (uint8_t *)dst + (size_t)b * 1024 * (t / 8));
    iters += 200 * blocks;
    sink += dst[iters % 1024];
    el = now_s() - t0;
  } while (el < 0.3);
  printf("fastlanes unpack  T=%-2u W=%-2u  %7.2f Gvalues/s  (%.1f ns/block)\n", t, w,
         iters * 1024.0 / el / 1e9, el / iters * 1e9);
}

static void bench_bitunpack(unsigned t, unsigned w) {
  const size_t n = 64 * 1024;
  uint8_t *src = malloc(n * 8 + 16);
  uint8_t *dst = malloc(n * 8);
  for (size_t i = 0; i < n * 8 + 16; i++) src[i] = (uint8_t)(i * 131 + 7);
  long iters = 0;
  double t0 = now_s(), el;
  do {
    lsql_bitunpack_decode(t, w, true, src, n * 8 + 16, n, dst, NULL);
    iters++;
    el = now_s() - t0;
  } while (el < 0.3);
  sink += dst[5];
  printf("bitunpack (2.0)   T=%-2u W=%-2u  %7.2f Gvalues/s\n", t, w, iters * (double)n / el / 1e9);
  free(src);
  free(dst);
}

static void bench_fsst(void) {
  /* 200 symbols of lengths 1..8, random codes with 1% escapes */
  uint8_t tab[2312] = {0};
  unsigned ns = 200;
  uint64_t hdr = (UINT64_C(0x46535354) << 32) | (UINT64_C(1) << 24) | ns;
  memcpy(tab, &hdr, 8);
  for (unsigned i = 0; i < ns; i++) {
    uint64_t s = 0x0101010101010101ull * (uint64_t)(i + 1);
    memcpy(tab + 8 + 8 * i, &s, 8);
    tab[8 + 8 * ns + i] = (uint8_t)(i % 8 + 1);
  }
  lsql_fsst_table t;
  lsql_fsst_table_parse(tab, sizeof tab, &t, NULL);
  const size_t n = 4096, per = 64;
  uint8_t *in = malloc(n * per);
  uint32_t *offs = malloc((n + 1) * 4);
  uint64_t *oo = malloc((n + 1) * 8);
  uint64_t s = 1;
  for (size_t i = 0; i < n * per; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    in[i] = (uint8_t)((s >> 33) % ns);
    if ((s >> 20) % 100 == 0 && i % per != per - 1) { in[i] = 255; in[++i] = 'x'; }
  }
  for (size_t i = 0; i <= n; i++) offs[i] = (uint32_t)(i * per);
  lsql_buf out = LSQL_BUF_INIT;
  long iters = 0;
  size_t produced = 0;
  double t0 = now_s(), el;
  do {
    out.len = 0;
    lsql_fsst_decode(&t, 32, offs, in, n * per, n, &out, oo, NULL);
    produced += out.len;
    iters++;
    el = now_s() - t0;
  } while (el < 0.3);
  printf("fsst decode       %7.2f GB/s out, %.2f GB/s in\n", produced / el / 1e9,
         iters * (double)(n * per) / el / 1e9);
  lsql_buf_free(&out);
  free(in);
  free(offs);
  free(oo);
}

int main(void) {
  static const unsigned cases[][2] = {{8, 3},   {16, 11}, {32, 1},  {32, 3},  {32, 7},
                                      {32, 13}, {32, 31}, {32, 32}, {64, 17}, {64, 50}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    bench_fastlanes(cases[i][0], cases[i][1]);
  bench_bitunpack(32, 13);
  bench_bitunpack(64, 50);
  bench_fsst();
  return (int)(sink & 0);
}
