// Score kernels for small batches of queries, in C because Swift cannot compile one function
// for AVX2 and FMA while the rest of the binary runs on any x86-64.

#ifndef CENGRAM_KERNELS_H
#define CENGRAM_KERNELS_H

#include <stddef.h>

/// scores[i * ldc + r] = <bank row r, query i> in Float32, for rows 0..<rows and queries
/// 0..<count; row r starts at bank + r * d, query i at queries + i * d.
///
/// Contract: each score is within d * 2^-24 * sum |bank_j * query_j| of the exact dot
/// product. Its last bits can depend on how many queries share the call and where the query
/// stands among them (groups of eight or sixteen sum along the components, the queries left
/// over across vector lanes), never on the other rows or on the other queries' values. One
/// small allocation per call (the transposed copy of the grouped queries; without it all
/// queries take the row-wise tiles); the bank is read in place, in blocks that stay in the
/// core's L2 cache while every query is scored against them. Uses AVX2 and FMA when the CPU has
/// them (checked once), portable C otherwise. Thread-safe; reads only its inputs.
void engram_scores(const float *bank, size_t rows, size_t d, const float *queries,
                   size_t count, float *scores, size_t ldc);

/// The index of the first of scores[0..<count] that is >= floor, or count if none is. NaN
/// entries never qualify. Vectorized like engram_scores; O(count).
size_t engram_first_at_least(const float *scores, size_t count, float floor);

/// 1 when every one of values[0..<count] is finite, 0 when one is NaN or infinite.
/// Vectorized like engram_scores; O(count).
int engram_all_finite(const float *values, size_t count);

/// 1 when engram_scores runs its AVX2 and FMA code, 0 when it runs the portable code.
int engram_scores_vectorized(void);

#endif
