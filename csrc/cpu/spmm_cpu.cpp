// CPU kernels of the spmm family: the fused CSR gather-reduce and the
// transpose-traversal backward of max/min. No E x F message tensor is built.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <atomic>
#include <limits>

#include "../utils.h"
#include "kernel_utils.h"

namespace graphcl {
namespace cpu {
namespace {

template <typename scalar_t, typename index_t, Reduce R>
void spmm_rows(const index_t* __restrict__ rowptr, const index_t* __restrict__ col,
               const scalar_t* __restrict__ weight, const scalar_t* __restrict__ x,
               scalar_t* __restrict__ out, int64_t* __restrict__ arg, int64_t num_rows,
               int64_t num_x_rows, int64_t F, std::atomic<bool>& bad_index) {
  const int64_t num_edges = rowptr[num_rows];
  parallel_over_rows(rowptr, num_rows, F, [&](int64_t row_begin, int64_t row_end) {
    for (int64_t i = row_begin; i < row_end; ++i) {
      scalar_t* __restrict__ o = out + i * F;
      const int64_t e_begin = rowptr[i], e_end = rowptr[i + 1];
      if (e_begin == e_end) {
        for (int64_t f = 0; f < F; ++f) o[f] = scalar_t(0);
        if (R == Reduce::Max || R == Reduce::Min)
          for (int64_t f = 0; f < F; ++f) arg[i * F + f] = num_edges;
        continue;
      }
      for (int64_t e = e_begin; e < e_end; ++e) {
        const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
        // Rows of x are gathered in random order; ask for the row a few edges
        // ahead so its cache lines arrive while this one is being reduced.
        if (col && e + kPrefetchDistance < num_edges) {
          const int64_t jn = static_cast<int64_t>(col[e + kPrefetchDistance]);
          if (jn >= 0 && jn < num_x_rows) prefetch_row(x + jn * F, F);
        }
        if (j < 0 || j >= num_x_rows) {
          bad_index.store(true, std::memory_order_relaxed);
          break;
        }
        const scalar_t w = weight ? weight[e] : scalar_t(1);
        const scalar_t* __restrict__ xj = x + j * F;
        if (R == Reduce::Sum || R == Reduce::Mean) {
          if (e == e_begin) {
            for (int64_t f = 0; f < F; ++f) o[f] = w * xj[f];
          } else {
            for (int64_t f = 0; f < F; ++f) o[f] += w * xj[f];
          }
        } else {
          int64_t* __restrict__ a = arg + i * F;
          if (e == e_begin) {
            for (int64_t f = 0; f < F; ++f) { o[f] = w * xj[f]; a[f] = e; }
          } else {
            for (int64_t f = 0; f < F; ++f) {
              const scalar_t v = w * xj[f];
              const bool better = R == Reduce::Max ? v > o[f] : v < o[f];
              o[f] = better ? v : o[f];
              a[f] = better ? e : a[f];
            }
          }
        }
      }
      if (R == Reduce::Mean) {
        const scalar_t inv = scalar_t(1) / static_cast<scalar_t>(e_end - e_begin);
        for (int64_t f = 0; f < F; ++f) o[f] *= inv;
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> spmm_forward_cpu(const at::Tensor& rowptr,
                                                    const c10::optional<at::Tensor>& col,
                                                    const c10::optional<at::Tensor>& weight,
                                                    const at::Tensor& x_in,
                                                    c10::string_view reduce_name) {
  const Reduce reduce = parse_reduce(std::string(reduce_name));
  const int64_t num_edges = check_spmm_forward_args(rowptr, col, weight, x_in);
  const bool has_col = col.has_value() && col->defined();
  const bool has_weight = weight.has_value() && weight->defined();
  const int64_t num_rows = rowptr.numel() - 1;
  auto x = x_in.contiguous();
  const int64_t F = x.size(1);
  auto w = has_weight ? weight->contiguous() : at::Tensor();
  auto out = at::empty({num_rows, F}, x.options());
  auto arg = is_arg_reduce(reduce) ? at::empty({num_rows, F}, rowptr.options().dtype(at::kLong))
                                   : at::empty({0}, rowptr.options().dtype(at::kLong));
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spmm_forward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "spmm_forward_cpu_index", [&] {
      const index_t* rp = rowptr.data_ptr<index_t>();
      check_rowptr(rp, num_rows, "rowptr");
      TORCH_CHECK_VALUE(static_cast<int64_t>(rp[num_rows]) == num_edges, "rowptr[-1] = ",
                        static_cast<int64_t>(rp[num_rows]), " but there are ", num_edges,
                        has_col ? " entries in col" : " rows in src");
      auto cp = has_col ? col->contiguous() : at::Tensor();
      const index_t* c = has_col ? cp.data_ptr<index_t>() : nullptr;
      const scalar_t* wp = has_weight ? w.data_ptr<scalar_t>() : nullptr;
      int64_t* ap = is_arg_reduce(reduce) ? arg.data_ptr<int64_t>() : nullptr;
      switch (reduce) {
        case Reduce::Sum:
          spmm_rows<scalar_t, index_t, Reduce::Sum>(rp, c, wp, x.data_ptr<scalar_t>(),
                                                   out.data_ptr<scalar_t>(), ap, num_rows,
                                                   x.size(0), F, bad_index);
          break;
        case Reduce::Mean:
          spmm_rows<scalar_t, index_t, Reduce::Mean>(rp, c, wp, x.data_ptr<scalar_t>(),
                                                    out.data_ptr<scalar_t>(), ap, num_rows,
                                                    x.size(0), F, bad_index);
          break;
        case Reduce::Max:
          spmm_rows<scalar_t, index_t, Reduce::Max>(rp, c, wp, x.data_ptr<scalar_t>(),
                                                   out.data_ptr<scalar_t>(), ap, num_rows,
                                                   x.size(0), F, bad_index);
          break;
        case Reduce::Min:
          spmm_rows<scalar_t, index_t, Reduce::Min>(rp, c, wp, x.data_ptr<scalar_t>(),
                                                   out.data_ptr<scalar_t>(), ap, num_rows,
                                                   x.size(0), F, bad_index);
          break;
      }
    });
  });
  TORCH_CHECK_INDEX(!bad_index.load(), "col holds an index outside [0, ", x.size(0), ")");
  return {out, arg};
}

at::Tensor spmm_arg_backward_cpu(const at::Tensor& colptr, const at::Tensor& csc_row,
                                 const at::Tensor& csc_perm,
                                 const c10::optional<at::Tensor>& weight, const at::Tensor& arg_in,
                                 const at::Tensor& grad_out_in) {
  check_index(colptr, "colptr", colptr.scalar_type());
  check_index(csc_row, "csc_row", colptr.scalar_type());
  check_index(csc_perm, "csc_perm", colptr.scalar_type());
  const int64_t num_cols = colptr.numel() - 1;
  auto grad_out = grad_out_in.contiguous();
  auto arg = arg_in.contiguous();
  const int64_t F = grad_out.size(1);
  TORCH_CHECK_VALUE(arg.sizes() == grad_out.sizes(), "arg and grad_out shapes differ");
  const bool has_weight = weight.has_value() && weight->defined();
  auto w = has_weight ? weight->contiguous() : at::Tensor();
  auto grad_x = at::zeros({num_cols, F}, grad_out.options());
  AT_DISPATCH_FLOATING_TYPES(grad_out.scalar_type(), "spmm_arg_backward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(colptr.scalar_type(), "spmm_arg_backward_cpu_index", [&] {
      const index_t* cp = colptr.data_ptr<index_t>();
      check_rowptr(cp, num_cols, "colptr");
      TORCH_CHECK_VALUE(csc_row.numel() == cp[num_cols] && csc_perm.numel() == cp[num_cols],
                        "csc_row/csc_perm must have colptr[-1] entries");
      const index_t* rows = csc_row.data_ptr<index_t>();
      const index_t* perm = csc_perm.data_ptr<index_t>();
      const scalar_t* wp = has_weight ? w.data_ptr<scalar_t>() : nullptr;
      const int64_t* a = arg.data_ptr<int64_t>();
      const scalar_t* g = grad_out.data_ptr<scalar_t>();
      scalar_t* gx = grad_x.data_ptr<scalar_t>();
      // Each column j owns grad_x[j]: threads never write the same row.
      parallel_over_rows(cp, num_cols, F, [&](int64_t j_begin, int64_t j_end) {
        for (int64_t j = j_begin; j < j_end; ++j) {
          scalar_t* __restrict__ out = gx + j * F;
          for (int64_t k = cp[j]; k < cp[j + 1]; ++k) {
            const int64_t e = perm[k], i = rows[k];
            const scalar_t w = wp ? wp[e] : scalar_t(1);
            const int64_t* __restrict__ ai = a + i * F;
            const scalar_t* __restrict__ gi = g + i * F;
            for (int64_t f = 0; f < F; ++f) out[f] += ai[f] == e ? w * gi[f] : scalar_t(0);
          }
        }
      });
    });
  });
  return grad_x;
}

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, CPU, m) {
  m.impl("spmm_forward", &spmm_forward_cpu);
  m.impl("spmm_arg_backward", &spmm_arg_backward_cpu);
}

}  // namespace cpu
}  // namespace graphcl
