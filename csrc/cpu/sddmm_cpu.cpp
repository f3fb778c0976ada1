// CPU kernel of sddmm: one dot product per CSR edge, out[e] = <a[i], b[col[e]]>.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <atomic>

#include "../utils.h"
#include "kernel_utils.h"

namespace graphcl {
namespace cpu {
namespace {

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
          for (int64_t e = rp[i]; e < rp[i + 1]; ++e) {
            const int64_t j = c[e];
            if (e + kPrefetchDistance < num_edges) {
              const int64_t jn = c[e + kPrefetchDistance];
              if (jn >= 0 && jn < num_b) prefetch_row(bp + jn * F, F);
            }
            if (j < 0 || j >= num_b) {
              bad_index.store(true, std::memory_order_relaxed);
              o[e] = scalar_t(0);
              continue;
            }
            const scalar_t* __restrict__ bj = bp + j * F;
            scalar_t acc = 0;
            for (int64_t f = 0; f < F; ++f) acc += ai[f] * bj[f];
            o[e] = acc;
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
