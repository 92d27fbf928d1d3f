// Small-batch score kernels: see include/CEngramKernels.h for the contract.
//
// Why not sgemm: a GEMM packs its operands into cache-sized panels on every call, which for a
// bank of N x d rows is a full copy of the bank. These kernels read the bank in place, in
// blocks of rows small enough to stay in L2, each block scored against every query.
//
// Groups of eight or sixteen queries are transposed once per call, so that a vector holds one
// component of eight queries: each bank value is broadcast and multiplied into eight scores at
// once, with no horizontal sums at all (a tile of eight rows is transposed back at the end).
// That runs near the core's multiply-add peak. The at most six queries left over take dot
// products along the row, summed across lanes at the end: a quarter of those tiles' time goes
// to the lane sums, but a group padded with zero queries would cost more than that.

#include "CEngramKernels.h"

#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Rows per block: 64 KiB of a 64-dimensional bank, well within a 512 KiB L2.
static size_t block_rows(size_t d) {
    size_t rows = (64 * 1024) / (d * sizeof(float));
    return rows < 8 ? 8 : rows;
}

/// sum of r[m] * x[m] for m in from..<d, in order: the tail past the last whole vector.
static float tail_dot(const float *r, const float *x, size_t from, size_t d) {
    float t = 0;
    for (size_t m = from; m < d; m++) t += r[m] * x[m];
    return t;
}

// MARK: - Portable

/// <r, x> with eight partial sums, in the same order as the vector code's lanes, then the
/// remainder; the compiler vectorizes the inner loop where it can.
static float dot_portable(const float *r, const float *x, size_t d) {
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = 0;
    for (; j + 8 <= d; j += 8) {
        for (int k = 0; k < 8; k++) lanes[k] += r[j + k] * x[j + k];
    }
    float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    return sum + tail_dot(r, x, j, d);
}

static void scores_portable(const float *bank, size_t rows, size_t d, const float *queries,
                            size_t count, float *scores, size_t ldc) {
    size_t block = block_rows(d);
    for (size_t first = 0; first < rows; first += block) {
        size_t end = first + block < rows ? first + block : rows;
        for (size_t i = 0; i < count; i++) {
            const float *x = queries + i * d;
            for (size_t r = first; r < end; r++) {
                scores[i * ldc + r] = dot_portable(bank + r * d, x, d);
            }
        }
    }
}

// MARK: - AVX2 and FMA

#if defined(__x86_64__)

/// The sum of each of a[0..7]'s lanes, as one vector: ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))
/// for every accumulator alike, so a score's rounding does not depend on its slot.
__attribute__((target("avx2,fma"))) static __m256 sum_lanes(const __m256 a[8]) {
    __m256 h01 = _mm256_hadd_ps(a[0], a[1]);
    __m256 h23 = _mm256_hadd_ps(a[2], a[3]);
    __m256 h45 = _mm256_hadd_ps(a[4], a[5]);
    __m256 h67 = _mm256_hadd_ps(a[6], a[7]);
    __m256 h0123 = _mm256_hadd_ps(h01, h23);
    __m256 h4567 = _mm256_hadd_ps(h45, h67);
    __m128 low = _mm_add_ps(_mm256_castps256_ps128(h0123), _mm256_extractf128_ps(h0123, 1));
    __m128 high = _mm_add_ps(_mm256_castps256_ps128(h4567), _mm256_extractf128_ps(h4567, 1));
    return _mm256_set_m128(high, low);
}

/// Two rows against four queries: out[k] for k = 4 * row + query. A missing second row (at
/// the end of a block) is given as a repeat of the first; the caller drops its scores.
__attribute__((target("avx2,fma"))) static void tile_2x4(const float *r0, const float *r1,
                                                         const float *const x[4], size_t d,
                                                         float out[8]) {
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= d; j += 8) {
        _mm_prefetch((const char *)(r0 + 8 * d + j), _MM_HINT_T0);
        _mm_prefetch((const char *)(r0 + 9 * d + j), _MM_HINT_T0);
        __m256 v0 = _mm256_loadu_ps(r0 + j);
        __m256 v1 = _mm256_loadu_ps(r1 + j);
        for (int q = 0; q < 4; q++) {
            __m256 xv = _mm256_loadu_ps(x[q] + j);
            a[q] = _mm256_fmadd_ps(v0, xv, a[q]);
            a[4 + q] = _mm256_fmadd_ps(v1, xv, a[4 + q]);
        }
    }
    _mm256_storeu_ps(out, sum_lanes(a));
    if (j == d) return;
    for (int q = 0; q < 4; q++) {
        out[q] += tail_dot(r0, x[q], j, d);
        out[4 + q] += tail_dot(r1, x[q], j, d);
    }
}

/// Eight rows against one query, for the query left over after the groups and the pair: the
/// same multiply-adds and lane sums per score as ``tile_2x4``.
__attribute__((target("avx2,fma"))) static void tile_8x1(const float *const r[8],
                                                         const float *x, size_t d,
                                                         float out[8]) {
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= d; j += 8) {
        __m256 xv = _mm256_loadu_ps(x + j);
        for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(_mm256_loadu_ps(r[k] + j), xv, a[k]);
    }
    _mm256_storeu_ps(out, sum_lanes(a));
    if (j == d) return;
    for (int k = 0; k < 8; k++) out[k] += tail_dot(r[k], x, j, d);
}

/// Four rows against two queries, for a pair of queries left over after the groups of four:
/// out[4 * query + row], with the same multiply-adds and lane sums per score as ``tile_2x4``.
__attribute__((target("avx2,fma"))) static void tile_4x2(const float *const r[4],
                                                         const float *x0, const float *x1,
                                                         size_t d, float out[8]) {
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= d; j += 8) {
        __m256 y0 = _mm256_loadu_ps(x0 + j);
        __m256 y1 = _mm256_loadu_ps(x1 + j);
        for (int k = 0; k < 4; k++) {
            __m256 v = _mm256_loadu_ps(r[k] + j);
            a[k] = _mm256_fmadd_ps(v, y0, a[k]);
            a[4 + k] = _mm256_fmadd_ps(v, y1, a[4 + k]);
        }
    }
    _mm256_storeu_ps(out, sum_lanes(a));
    if (j == d) return;
    for (int k = 0; k < 4; k++) {
        out[k] += tail_dot(r[k], x0, j, d);
        out[4 + k] += tail_dot(r[k], x1, j, d);
    }
}

/// Queries `i` and `i + 1` against rows `first ..< end`.
__attribute__((target("avx2,fma"))) static void pair(const float *bank, size_t first,
                                                     size_t end, size_t d, const float *queries,
                                                     size_t i, float *scores, size_t ldc) {
    const float *x0 = queries + i * d;
    const float *x1 = x0 + d;
    for (size_t r = first; r < end; r += 4) {
        size_t present = end - r < 4 ? end - r : 4;
        const float *rows[4];
        for (size_t k = 0; k < 4; k++) rows[k] = bank + (r + (k < present ? k : 0)) * d;
        float out[8];
        tile_4x2(rows, x0, x1, d, out);
        for (size_t k = 0; k < present; k++) {
            scores[i * ldc + r + k] = out[k];
            scores[(i + 1) * ldc + r + k] = out[4 + k];
        }
    }
}

/// Queries `i ..< i + 4` against rows `first ..< end`.
__attribute__((target("avx2,fma"))) static void group_of_four(const float *bank, size_t first,
                                                              size_t end, size_t d,
                                                              const float *queries, size_t i,
                                                              float *scores, size_t ldc) {
    const float *x[4];
    for (size_t q = 0; q < 4; q++) x[q] = queries + (i + q) * d;
    for (size_t r = first; r < end; r += 2) {
        int pair = r + 1 < end;
        const float *r0 = bank + r * d;
        const float *r1 = pair ? r0 + d : r0;
        float out[8];
        tile_2x4(r0, r1, x, d, out);
        for (size_t q = 0; q < 4; q++) {
            scores[(i + q) * ldc + r] = out[q];
            if (pair) scores[(i + q) * ldc + r + 1] = out[4 + q];
        }
    }
}

/// Query `i` alone against rows `first ..< end`.
__attribute__((target("avx2,fma"))) static void single(const float *bank, size_t first,
                                                       size_t end, size_t d, const float *x,
                                                       float *out) {
    for (size_t r = first; r < end; r += 8) {
        size_t present = end - r < 8 ? end - r : 8;
        const float *rows[8];
        for (size_t k = 0; k < 8; k++) rows[k] = bank + (r + (k < present ? k : 0)) * d;
        float sums[8];
        tile_8x1(rows, x, d, sums);
        for (size_t k = 0; k < present; k++) out[r + k] = sums[k];
    }
}

// MARK: Transposed groups

/// Queries `first ..< first + count` (count <= lanes) of `queries` as `d` vectors of `lanes`
/// floats, component-major; lanes past count are zero queries whose scores are dropped.
static void transpose_queries(const float *queries, size_t d, size_t first, size_t count,
                              size_t lanes, float *out) {
    for (size_t j = 0; j < d; j++) {
        for (size_t q = 0; q < lanes; q++) {
            out[j * lanes + q] = q < count ? queries[(first + q) * d + j] : 0;
        }
    }
}

/// `in` is eight rows of eight floats `ldin` apart; writes its transpose to `out`, eight rows
/// of eight floats `ldout` apart.
__attribute__((target("avx2,fma"))) static void transpose_8x8(const float *in, size_t ldin,
                                                              float *out, size_t ldout) {
    __m256 r[8], t[8], s[8];
    for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(in + k * ldin);
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        s[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
        s[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE);
        s[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        s[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        _mm256_storeu_ps(out + k * ldout, _mm256_permute2f128_ps(s[k], s[k + 4], 0x20));
        _mm256_storeu_ps(out + (k + 4) * ldout, _mm256_permute2f128_ps(s[k], s[k + 4], 0x31));
    }
}

/// Four rows against sixteen transposed queries: out[16 * row + query]. Eight accumulators,
/// and per component two query loads and four broadcasts for eight multiply-adds.
__attribute__((target("avx2,fma"))) static void tile_4x16(const float *const r[4],
                                                          const float *qt, size_t d,
                                                          float *out) {
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    for (size_t j = 0; j < d; j++) {
        __m256 q0 = _mm256_loadu_ps(qt + j * 16);
        __m256 q1 = _mm256_loadu_ps(qt + j * 16 + 8);
        for (int k = 0; k < 4; k++) {
            __m256 b = _mm256_broadcast_ss(r[k] + j);
            a[2 * k] = _mm256_fmadd_ps(b, q0, a[2 * k]);
            a[2 * k + 1] = _mm256_fmadd_ps(b, q1, a[2 * k + 1]);
        }
    }
    for (int k = 0; k < 8; k++) _mm256_storeu_ps(out + 8 * k, a[k]);
}

/// Eight rows against eight transposed queries: out[8 * row + query].
__attribute__((target("avx2,fma"))) static void tile_8x8(const float *const r[8],
                                                         const float *qt, size_t d,
                                                         float *out) {
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    for (size_t j = 0; j < d; j++) {
        __m256 q = _mm256_loadu_ps(qt + j * 8);
        for (int k = 0; k < 8; k++) {
            a[k] = _mm256_fmadd_ps(_mm256_broadcast_ss(r[k] + j), q, a[k]);
        }
    }
    for (int k = 0; k < 8; k++) _mm256_storeu_ps(out + 8 * k, a[k]);
}

/// Transposed group of `count` queries (8 or 16 lanes) from query `first`, against rows
/// `begin ..< end`, eight rows at a time; a last partial tile repeats its first row and
/// drops those scores, as do padding lanes.
__attribute__((target("avx2,fma"))) static void transposed_group(
    const float *bank, size_t begin, size_t end, size_t d, const float *qt, size_t lanes,
    size_t first, size_t count, float *scores, size_t ldc) {
    float tile[8 * 16] __attribute__((aligned(32)));
    float back[16 * 8] __attribute__((aligned(32)));
    for (size_t r = begin; r < end; r += 8) {
        size_t present = end - r < 8 ? end - r : 8;
        const float *rows[8];
        for (size_t k = 0; k < 8; k++) rows[k] = bank + (r + (k < present ? k : 0)) * d;
        if (lanes == 16) {
            tile_4x16(rows, qt, d, tile);
            tile_4x16(rows + 4, qt, d, tile + 64);
        } else {
            tile_8x8(rows, qt, d, tile);
        }
        if (present == 8 && count == lanes) {
            for (size_t g = 0; g < lanes; g += 8) {
                transpose_8x8(tile + g, lanes, scores + (first + g) * ldc + r, ldc);
            }
            continue;
        }
        for (size_t g = 0; g < lanes; g += 8) transpose_8x8(tile + g, lanes, back + g * 8, 8);
        for (size_t q = 0; q < count; q++) {
            float *out = scores + (first + q) * ldc + r;
            for (size_t k = 0; k < present; k++) out[k] = back[q * 8 + k];
        }
    }
}

/// How a batch is split, by the cost per pass of each tile at d = 64 (sixteen lanes ~ 250,
/// eight ~ 165, four row-wise queries ~ 95, two ~ 50, one ~ 35): full groups of sixteen; then
/// eleven or more left are one group padded to sixteen; eight to ten, a group of eight; seven,
/// a group padded to eight. At most six are left to the row-wise tiles.
struct plan {
    size_t sixteens, eights, transposed;
};

static struct plan plan_for(size_t count) {
    struct plan p = {count / 16, 0, 0};
    size_t left = count % 16;
    if (left >= 11) {
        p.sixteens += 1;
        left = 0;
    } else if (left >= 8) {
        p.eights = 1;
        left -= 8;
    } else if (left == 7) {
        p.eights = 1;
        left = 0;
    }
    p.transposed = count - left;
    return p;
}

__attribute__((target("avx2,fma"))) static void scores_avx2(const float *bank, size_t rows,
                                                            size_t d, const float *queries,
                                                            size_t count, float *scores,
                                                            size_t ldc) {
    struct plan p = plan_for(count);
    size_t lanes_total = 16 * p.sixteens + 8 * p.eights;
    float *qt = NULL;
    if (lanes_total > 0) {
        qt = malloc(lanes_total * d * sizeof(float));
        if (qt == NULL) {
            // Out of memory for the transposed copy: every query takes the row-wise tiles.
            p = (struct plan){0, 0, 0};
            lanes_total = 0;
        }
    }
    for (size_t g = 0, q = 0; g < p.sixteens + p.eights; g++) {
        size_t lanes = g < p.sixteens ? 16 : 8;
        size_t members = q + lanes <= count ? lanes : count - q;
        transpose_queries(queries, d, q, members, lanes, qt + q * d);
        q += lanes;
    }
    size_t block = block_rows(d);
    for (size_t first = 0; first < rows; first += block) {
        size_t end = first + block < rows ? first + block : rows;
        for (size_t g = 0, q = 0; g < p.sixteens + p.eights; g++) {
            size_t lanes = g < p.sixteens ? 16 : 8;
            size_t members = q + lanes <= count ? lanes : count - q;
            transposed_group(bank, first, end, d, qt + q * d, lanes, q, members, scores, ldc);
            q += lanes;
        }
        size_t i = p.transposed;
        if (count - i >= 4) {
            group_of_four(bank, first, end, d, queries, i, scores, ldc);
            i += 4;
        }
        if (count - i >= 2) {
            pair(bank, first, end, d, queries, i, scores, ldc);
            i += 2;
        }
        if (i < count) single(bank, first, end, d, queries + i * d, scores + i * ldc);
    }
    free(qt);
}

__attribute__((target("avx2,fma"))) static size_t first_at_least_avx2(const float *scores,
                                                                     size_t count,
                                                                     float floor) {
    __m256 limit = _mm256_set1_ps(floor);
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m256 a = _mm256_cmp_ps(_mm256_loadu_ps(scores + i), limit, _CMP_GE_OQ);
        __m256 b = _mm256_cmp_ps(_mm256_loadu_ps(scores + i + 8), limit, _CMP_GE_OQ);
        __m256 c = _mm256_cmp_ps(_mm256_loadu_ps(scores + i + 16), limit, _CMP_GE_OQ);
        __m256 e = _mm256_cmp_ps(_mm256_loadu_ps(scores + i + 24), limit, _CMP_GE_OQ);
        if (_mm256_movemask_ps(_mm256_or_ps(_mm256_or_ps(a, b), _mm256_or_ps(c, e)))) break;
    }
    for (; i < count; i++) {
        if (scores[i] >= floor) return i;
    }
    return count;
}

/// 1 when every one of values[0..<count] is finite: v * 0 is 0 for finite v and NaN for
/// infinities and NaN, summed in four independent vectors.
__attribute__((target("avx2,fma"))) static int all_finite_avx2(const float *values,
                                                               size_t count) {
    __m256 zero = _mm256_setzero_ps();
    __m256 a = zero, b = zero, c = zero, e = zero;
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(values + i), zero));
        b = _mm256_add_ps(b, _mm256_mul_ps(_mm256_loadu_ps(values + i + 8), zero));
        c = _mm256_add_ps(c, _mm256_mul_ps(_mm256_loadu_ps(values + i + 16), zero));
        e = _mm256_add_ps(e, _mm256_mul_ps(_mm256_loadu_ps(values + i + 24), zero));
    }
    __m256 sum = _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, e));
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    float poison = 0;
    for (int k = 0; k < 8; k++) poison += lanes[k];
    for (; i < count; i++) poison += values[i] * 0;
    return poison == 0;
}

/// Whether the CPU runs AVX2 and FMA, asked once; racing first callers store the same answer.
static int has_avx2_fma(void) {
    static int cached = -1;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&cached, known, __ATOMIC_RELAXED);
    }
    return known;
}

#else

static int has_avx2_fma(void) { return 0; }

#endif

int engram_scores_vectorized(void) { return has_avx2_fma(); }

int engram_all_finite(const float *values, size_t count) {
#if defined(__x86_64__)
    if (has_avx2_fma()) return all_finite_avx2(values, count);
#endif
    float poison = 0;
    for (size_t i = 0; i < count; i++) poison += values[i] * 0;
    return poison == 0;
}

size_t engram_first_at_least(const float *scores, size_t count, float floor) {
#if defined(__x86_64__)
    if (has_avx2_fma()) return first_at_least_avx2(scores, count, floor);
#endif
    for (size_t i = 0; i < count; i++) {
        if (scores[i] >= floor) return i;
    }
    return count;
}

void engram_scores(const float *bank, size_t rows, size_t d, const float *queries,
                   size_t count, float *scores, size_t ldc) {
#if defined(__x86_64__)
    if (has_avx2_fma()) {
        scores_avx2(bank, rows, d, queries, count, scores, ldc);
        return;
    }
#endif
    scores_portable(bank, rows, d, queries, count, scores, ldc);
}
