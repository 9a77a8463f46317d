/* Compression kernels of the Lance file format: pure functions from bytes to bytes, with no
 * knowledge of pages, protobufs or Arrow. Each one validates its input once (sizes, widths,
 * counts; overflow-checked), then runs a tight loop. On bad input they return LSQL_ECORRUPT with
 * a message naming the problem ("bitpacked width 70 > 64"); the caller prefixes the file, column
 * and page. Output buffers are caller-provided with the documented sizes unless stated. */
#ifndef LSQL_FORMAT_KERNELS_H
#define LSQL_FORMAT_KERNELS_H

#include "util/util.h"

/* ---- FastLanes bit packing (1024-value blocks, transposed "FL_ORDER" layout) -------------- */

/* Unpacks one 1024-value FastLanes block of `t_bits`-wide unsigned integers (8, 16, 32, 64)
 * packed at `w_bits` (0..t_bits) bits. `src` holds 1024*w_bits/8 bytes; `dst` receives 1024
 * values of t_bits/8 bytes each (little-endian). No validation: callers check sizes first. */
void lsql_fastlanes_unpack(unsigned t_bits, unsigned w_bits, const uint8_t *src, void *dst);

/* Decodes an InlineBitpacking buffer: consecutive chunks, each = one t_bits-wide word holding the
 * chunk's bit width W, then 1024*W/8 bytes of FastLanes data. Writes `n_values` values of
 * t_bits/8 bytes to dst (the last chunk may be partial). Used for one mini-block chunk
 * (n_values <= 1024) and for block buffers (several chunks). */
int lsql_inline_bitpack_decode(unsigned t_bits, const uint8_t *src, size_t src_len,
                               uint64_t n_values, void *dst, lsql_error *err);

/* Decodes an OutOfLineBitpacking buffer: full 1024-value FastLanes blocks at width w_bits, and a
 * final partial block either packed (zero-padded) or stored raw as t_bits-wide values (the
 * writer's choice, recognised from the buffer length). */
int lsql_out_of_line_bitpack_decode(unsigned t_bits, unsigned w_bits, const uint8_t *src,
                                    size_t src_len, uint64_t n_values, void *dst, lsql_error *err);

/* Decodes a 2.0 BitpackedForNonNeg buffer: ceil(n_values/1024) FastLanes blocks at w_bits, the
 * last one zero-padded (never raw, unlike OutOfLineBitpacking). Bytes after them are ignored. */
int lsql_bitpack_for_non_neg_decode(unsigned t_bits, unsigned w_bits, const uint8_t *src,
                                    size_t src_len, uint64_t n_values, void *dst, lsql_error *err);

/* Plain LSB-first bit unpacking (Lance 2.0 `Bitpacked`; NOT `BitpackedForNonNeg`, which is
 * FastLanes, see lsql_bitpack_for_non_neg_decode): n_values values of
 * w_bits each, packed back to back, expanded to t_bits-wide little-endian integers; when
 * `sign_extend` the top bit of each w_bits value is the sign. */
int lsql_bitunpack_decode(unsigned t_bits, unsigned w_bits, bool sign_extend, const uint8_t *src,
                          size_t src_len, uint64_t n_values, void *dst, lsql_error *err);

/* ---- run-length encoding (Lance `Rle`: values + u8 run lengths) ----------------------------- */

/* Expands runs: `values` holds n_runs values of t_bits (8/16/32/64) bits, `lengths` n_runs u8
 * run lengths (n_runs = lengths_len). Writes exactly n_values values; the runs must cover at
 * least n_values (mini-block semantics: a chunk's runs may overshoot, the excess is dropped). */
int lsql_rle_decode(unsigned t_bits, const uint8_t *values, size_t values_len,
                    const uint8_t *lengths, size_t lengths_len, uint64_t n_values, void *dst,
                    lsql_error *err);

/* General form: run lengths of `len_bits` (8, 16, 32; 2026 writers may widen them) and, with
 * clamp_overflow, runs may cover more than n_values (mini-block chunks of older writers do;
 * the excess is dropped). Block-context RLE is strict (clamp_overflow = false).
 * lsql_rle_decode = lsql_rle_decode_ex(..., 8, true, ...). Zero-length runs are corrupt. */
int lsql_rle_decode_ex(unsigned t_bits, const uint8_t *values, size_t values_len,
                       const uint8_t *lengths, size_t lengths_len, unsigned len_bits,
                       bool clamp_overflow, uint64_t n_values, void *dst, lsql_error *err);
/* Splits a block-context RLE buffer: [u64 LE values_size][values][run lengths]. */
int lsql_rle_block_split(const uint8_t *src, size_t src_len, const uint8_t **values,
                         size_t *values_len, const uint8_t **lengths, size_t *lengths_len,
                         lsql_error *err);

/* ---- byte stream split ------------------------------------------------------------------- */

/* Re-interleaves n_values values of `width` bytes from `width` byte streams of n_values bytes. */
int lsql_bss_decode(unsigned width, const uint8_t *src, size_t src_len, uint64_t n_values,
                    void *dst, lsql_error *err);

/* ---- FSST -------------------------------------------------------------------------------- */

typedef struct lsql_fsst_table {
  uint64_t symbols[256];  /* symbol bytes, first byte lowest */
  uint8_t lens[256];      /* 1..8 */
  unsigned n_symbols;
  bool compressed;        /* false: strings were stored verbatim */
  uint64_t size_tab[256]; /* output bytes of code c: lens[c]; 0 for the escape (its literal
                           * adds 1); 1 << 40 for non-symbols (flags corrupt input) */
} lsql_fsst_table;

/* Parses Lance's serialized FSST symbol table (2312 bytes: u64 header with magic "FSST",
 * n_symbols, then symbols and lengths). */
int lsql_fsst_table_parse(const uint8_t *src, size_t src_len, lsql_fsst_table *out,
                          lsql_error *err);
/* Decompresses n strings. Input offsets (n+1 values, 32- or 64-bit per `in_offset_bits`) index
 * `in_bytes`; output is appended to out_bytes, with n+1 offsets (64-bit, starting at
 * out_bytes->len before the call) written to out_offsets. Whole groups of strings are decoded in
 * one pass ignoring string boundaries (8 KiB of stack scratch). On failure out_bytes->len is
 * unchanged (its capacity may have grown). */
int lsql_fsst_decode(const lsql_fsst_table *t, unsigned in_offset_bits, const void *in_offsets,
                     const uint8_t *in_bytes, size_t in_bytes_len, uint64_t n, lsql_buf *out_bytes,
                     uint64_t *out_offsets, lsql_error *err);

/* ---- general-purpose compression (Lance "General" / 2.0 Flat compression) ------------------- */

enum lsql_codec { LSQL_CODEC_NONE = 0, LSQL_CODEC_LZ4 = 1, LSQL_CODEC_ZSTD = 2 };

/* Decompresses one Lance compressed buffer and appends the result to `out`:
 *  zstd: u64 LE uncompressed length + one zstd frame, or a bare zstd frame;
 *  lz4:  u32 LE uncompressed length + one LZ4 block;
 *  none: copied.
 * `max_out` bounds the decompressed size (untrusted lengths). */
int lsql_decompress(enum lsql_codec codec, const uint8_t *src, size_t src_len, size_t max_out,
                    lsql_buf *out, lsql_error *err);
/* Maps 2.0 scheme names ("zstd", "lz4", "none", "") to a codec; -1 if unknown. */
int lsql_codec_from_name(const char *name);

#endif
