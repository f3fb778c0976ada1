// CPU kernel of sddmm: one dot product per CSR edge, out[e] = <a[i], b[col[e]]>.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>

#include "../utils.h"
#include "kernel_utils.h"

namespace graphcl {
namespace cpu {
namespace {

// <a, b> over F features. A single scalar accumulator is a chain of dependent
// adds (GCC may not reorder float sums), so the dot runs at one add per add
// latency; four vector accumulators keep several adds in flight and use SIMD.
template <typename scalar_t>
inline scalar_t dot(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b, int64_t F) {
  using value_t = typename Lanes<scalar_t>::value;
  constexpr int64_t n = Lanes<scalar_t>::n;
  constexpr int V = 4;
  value_t acc[V] = {};
  int64_t f = 0;
  for (; f + V * n <= F; f += V * n) {
    for (int v = 0; v < V; ++v) {
      value_t va, vb;
      __builtin_memcpy(&va, a + f + v * n, sizeof(value_t));
      __builtin_memcpy(&vb, b + f + v * n, sizeof(value_t));
      acc[v] += va * vb;
    }
  }
  for (; f + n <= F; f += n) {
    value_t va, vb;
    __builtin_memcpy(&va, a + f, sizeof(value_t));
    __builtin_memcpy(&vb, b + f, sizeof(value_t));
    acc[0] += va * vb;
  }
  const value_t total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  scalar_t out = scalar_t(0);
  for (int64_t l = 0; l < n; ++l) out += total[l];
  for (; f < F; ++f) out += a[f] * b[f];
  return out;
}

at::Tensor sddmm_forward_cpu(const at::Tensor& rowptr_in, const at::Tensor& col_in,
                             const at::Tensor& a_in, const at::Tensor& b_in) {
  // col's range is checked inside the loop (bad_index below).
  const auto args = prepare_sddmm_forward(rowptr_in, col_in, a_in, b_in, /*check_col=*/false);
  const int64_t num_rows = args.num_rows, num_edges = args.num_edges;
  const int64_t F = args.a.size(1), num_b = args.b.size(0);
  auto out = at::empty({num_edges}, args.a.options());
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(args.a.scalar_type(), "sddmm_forward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(args.rowptr.scalar_type(), "sddmm_forward_cpu_index", [&] {
      const index_t* rp = args.rowptr.data_ptr<index_t>();
      const index_t* c = args.col.data_ptr<index_t>();
      const scalar_t* ap = args.a.data_ptr<scalar_t>();
      const scalar_t* bp = args.b.data_ptr<scalar_t>();
      scalar_t* o = out.data_ptr<scalar_t>();
      parallel_over_rows(rp, num_rows, F, [&](int64_t row_begin, int64_t row_end) {
        for (int64_t i = row_begin; i < row_end; ++i) {
          const scalar_t* __restrict__ ai = ap + i * F;
          // Blocks of edges as in spmm: check a block's columns and prefetch
          // the b rows of the next block before the dot products read them.
          for (int64_t blk = rp[i]; blk < rp[i + 1]; blk += kEdgeBlock) {
            const int64_t blk_end = std::min<int64_t>(blk + kEdgeBlock, rp[i + 1]);
            for (int64_t e = blk; e < blk_end; ++e)
              prefetch_edge_ahead(c, e, num_edges, bp, num_b, F);
            for (int64_t e = blk; e < blk_end; ++e) {
              const int64_t j = c[e];
              if (j < 0 || j >= num_b) {
                bad_index.store(true, std::memory_order_relaxed);
                o[e] = scalar_t(0);
                continue;
              }
              o[e] = dot(ai, bp + j * F, F);
            }
          }
        }
      });
    });
  });
  TORCH_CHECK_INDEX(!bad_index.load(), "col holds an index outside [0, ", num_b, ") (rows of b)");
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, CPU, m) { m.impl("sddmm_forward", &sddmm_forward_cpu); }

}  // namespace cpu
}  // namespace graphcl
