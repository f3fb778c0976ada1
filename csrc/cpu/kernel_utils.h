// Shared pieces of the CPU kernels: prefetching and work splitting.
//
// Work splitting over CSR rows:
//
// Power-law graphs concentrate edges in a few hub rows, so splitting by row
// count leaves one thread with most of the work. We cut the row range into
// chunks of roughly equal cost (edges + rows) and let at::parallel_for hand
// chunks to threads.
#pragma once
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace graphcl {
namespace cpu {

// Every kernel here receives CSR pointers that prepare_*() in ../utils.h
// already checked (start at 0, non-decreasing, last = number of entries) and
// made contiguous: the loops below trust them.

// Gathers read rows of a dense matrix in data-dependent order, which the
// hardware prefetcher cannot predict. Kernels take edges in blocks of
// kEdgeBlock: a block's columns are checked, and the rows the next block
// will gather are prefetched, before the block is reduced, so those rows'
// cache lines arrive while this block is being reduced. 16 edges: measured
// on N = 100k, E = 1M, F = 128 (2 threads), the max forward took 122-126
// ms with blocks of 16 against 145-165 with 32 and 160-185 with 64; sum and
// SDDMM were the same within noise. Prefetching into L1 or with the
// non-temporal hint instead of L2 was no better.
constexpr int64_t kEdgeBlock = 16;

// 16-byte vectors (GCC/Clang vector extensions, lowered to whatever SIMD the
// target has) of values and of same-width integer offsets.
template <typename scalar_t>
struct Lanes;
template <>
struct Lanes<float> {
  typedef float value __attribute__((vector_size(16)));
  typedef int32_t offset __attribute__((vector_size(16)));
  static constexpr int64_t n = 4;
};
template <>
struct Lanes<double> {
  typedef double value __attribute__((vector_size(16)));
  typedef int64_t offset __attribute__((vector_size(16)));
  static constexpr int64_t n = 2;
};

template <typename scalar_t>
__attribute__((always_inline)) inline void prefetch_row(const scalar_t* row, int64_t F) {
  const char* p = reinterpret_cast<const char*>(row);
  const int64_t bytes = F * static_cast<int64_t>(sizeof(scalar_t));
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 1);
}

// Prefetches the x row that edge e + kEdgeBlock gathers (the next block's
// edge at the same place), if there is one; a column out of range is skipped
// here and reported where it is read. spmm calls it for every edge while it
// checks a block's columns, sddmm for every edge of a block before its dot
// products. Forced inline: GCC kept an out-of-line copy and called it per
// edge from the large max/min row loop, and the max forward (N = 100k,
// E = 1M, F = 128, 2 threads) took 170-230 ms against 130 ms with the
// prefetch written in place.
template <typename scalar_t, typename index_t>
__attribute__((always_inline)) inline void prefetch_edge_ahead(const index_t* col, int64_t e,
                                                               int64_t num_edges,
                                                               const scalar_t* x,
                                                               int64_t num_x_rows, int64_t F) {
  if (e + kEdgeBlock >= num_edges) return;
  const int64_t j = static_cast<int64_t>(col[e + kEdgeBlock]);
  if (j >= 0 && j < num_x_rows) prefetch_row(x + j * F, F);
}

template <typename index_t, typename Body>
void parallel_over_rows(const index_t* ptr, int64_t num_rows, int64_t feature_work, Body body) {
  if (num_rows == 0) return;
  const int64_t num_edges = static_cast<int64_t>(ptr[num_rows]);
  const int64_t total = (num_edges + num_rows) * std::max<int64_t>(feature_work, 1);
  // Below ~32k scalar operations threading costs more than it saves.
  const int64_t threads = at::get_num_threads();
  const int64_t chunks = total < 32768 ? 1 : std::min<int64_t>(num_rows, threads * 8);
  std::vector<int64_t> bounds(chunks + 1, num_rows);
  bounds[0] = 0;
  const double per_chunk = static_cast<double>(num_edges + num_rows) / chunks;
  for (int64_t c = 1; c < chunks; ++c) {
    // First row whose cumulative cost (ptr[i] + i) reaches c * per_chunk.
    int64_t lo = bounds[c - 1], hi = num_rows;
    const double target = c * per_chunk;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      if (static_cast<double>(ptr[mid]) + mid < target) lo = mid + 1; else hi = mid;
    }
    bounds[c] = lo;
  }
  at::parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) body(bounds[c], bounds[c + 1]);
  });
}

}  // namespace cpu
}  // namespace graphcl
