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

at::Tensor sddmm_forward_cpu(const at::Tensor& rowptr, const at::Tensor& col,
                             const at::Tensor& a_in, const at::Tensor& b_in) {
  check_index(rowptr, "rowptr", rowptr.scalar_type());
  check_index(col, "col", rowptr.scalar_type());
  check_features(a_in, "a");
  check_features(b_in, "b");
  TORCH_CHECK_VALUE(a_in.size(1) == b_in.size(1), "a and b must have the same number of features, got ",
                    a_in.size(1), " and ", b_in.size(1));
  TORCH_CHECK_TYPE(a_in.scalar_type() == b_in.scalar_type(), "a and b dtypes differ");
  const int64_t num_rows = rowptr.numel() - 1;
  TORCH_CHECK_VALUE(a_in.size(0) == num_rows, "a must have ", num_rows, " rows, got ", a_in.size(0));
  auto a = a_in.contiguous();
  auto b = b_in.contiguous();
  auto colc = col.contiguous();
  const int64_t F = a.size(1), num_b = b.size(0);
  auto out = at::empty({col.numel()}, a.options());
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "sddmm_forward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "sddmm_forward_cpu_index", [&] {
      const index_t* rp = rowptr.data_ptr<index_t>();
      check_rowptr(rp, num_rows, "rowptr");
      TORCH_CHECK_VALUE(rp[num_rows] == col.numel(), "rowptr[-1] must equal col.numel()");
      const index_t* c = colc.data_ptr<index_t>();
      const scalar_t* ap = a.data_ptr<scalar_t>();
      const scalar_t* bp = b.data_ptr<scalar_t>();
      scalar_t* o = out.data_ptr<scalar_t>();
      parallel_over_rows(rp, num_rows, F, [&](int64_t row_begin, int64_t row_end) {
        for (int64_t i = row_begin; i < row_end; ++i) {
          const scalar_t* __restrict__ ai = ap + i * F;
          for (int64_t e = rp[i]; e < rp[i + 1]; ++e) {
            const int64_t j = c[e];
            if (e + kPrefetchDistance < rp[num_rows]) {
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
  TORCH_CHECK_INDEX(!bad_index.load(), "col holds an index outside [0, ", num_b, ")");
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, CPU, m) { m.impl("sddmm_forward", &sddmm_forward_cpu); }

}  // namespace cpu
}  // namespace graphcl
