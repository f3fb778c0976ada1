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
              // NaN propagates as in torch.amax/amin: a NaN beats every
              // number (`!(v <= o)` is true for v = NaN) and, once held,
              // is never replaced (`o == o` is false), so the first NaN of
              // the row is the selected entry. Ties keep the first entry.
              // `&`, not `&&`: no short-circuit branch, so the loop stays a
              // branch-free select (one compare more per element).
              const bool better =
                  (R == Reduce::Max ? !(v <= o[f]) : !(v >= o[f])) & (o[f] == o[f]);
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

std::tuple<at::Tensor, at::Tensor> spmm_forward_cpu(const at::Tensor& rowptr_in,
                                                    const c10::optional<at::Tensor>& col_in,
                                                    const c10::optional<at::Tensor>& weight_in,
                                                    const at::Tensor& x_in,
                                                    c10::string_view reduce_name) {
  const Reduce reduce = parse_reduce(std::string(reduce_name));
  // col's range is checked inside the gather loop (bad_index below).
  const auto args = prepare_spmm_forward(rowptr_in, col_in, weight_in, x_in, /*check_col=*/false);
  const at::Tensor& x = args.x;
  const int64_t num_rows = args.num_rows, F = x.size(1);
  auto out = at::empty({num_rows, F}, x.options());
  auto arg = at::empty({is_arg_reduce(reduce) ? num_rows : 0, F}, x.options().dtype(at::kLong));
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spmm_forward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(args.rowptr.scalar_type(), "spmm_forward_cpu_index", [&] {
      const index_t* rp = args.rowptr.data_ptr<index_t>();
      const index_t* c = args.col.defined() ? args.col.data_ptr<index_t>() : nullptr;
      const scalar_t* wp = args.weight.defined() ? args.weight.data_ptr<scalar_t>() : nullptr;
      int64_t* ap = is_arg_reduce(reduce) ? arg.data_ptr<int64_t>() : nullptr;
      const scalar_t* xp = x.data_ptr<scalar_t>();
      scalar_t* op = out.data_ptr<scalar_t>();
      switch (reduce) {
        case Reduce::Sum:
          spmm_rows<scalar_t, index_t, Reduce::Sum>(rp, c, wp, xp, op, ap, num_rows, x.size(0), F,
                                                   bad_index);
          break;
        case Reduce::Mean:
          spmm_rows<scalar_t, index_t, Reduce::Mean>(rp, c, wp, xp, op, ap, num_rows, x.size(0), F,
                                                    bad_index);
          break;
        case Reduce::Max:
          spmm_rows<scalar_t, index_t, Reduce::Max>(rp, c, wp, xp, op, ap, num_rows, x.size(0), F,
                                                   bad_index);
          break;
        case Reduce::Min:
          spmm_rows<scalar_t, index_t, Reduce::Min>(rp, c, wp, xp, op, ap, num_rows, x.size(0), F,
                                                   bad_index);
          break;
      }
    });
  });
  TORCH_CHECK_INDEX(!bad_index.load(), "col holds an index outside [0, ", x.size(0), ") (rows of x)");
  return {out, arg};
}

at::Tensor spmm_arg_backward_cpu(const at::Tensor& colptr_in, const at::Tensor& csc_row_in,
                                 const at::Tensor& csc_perm_in,
                                 const c10::optional<at::Tensor>& weight_in,
                                 const at::Tensor& arg_in, const at::Tensor& grad_out_in) {
  const auto args = prepare_spmm_arg_backward(colptr_in, csc_row_in, csc_perm_in, weight_in, arg_in,
                                              grad_out_in);
  const int64_t num_cols = args.num_cols, F = args.grad_out.size(1);
  auto grad_x = at::zeros({num_cols, F}, args.grad_out.options());
  AT_DISPATCH_FLOATING_TYPES(args.grad_out.scalar_type(), "spmm_arg_backward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(args.colptr.scalar_type(), "spmm_arg_backward_cpu_index", [&] {
      const index_t* cp = args.colptr.data_ptr<index_t>();
      const index_t* rows = args.csc_row.data_ptr<index_t>();
      const index_t* perm = args.csc_perm.data_ptr<index_t>();
      const scalar_t* wp = args.weight.defined() ? args.weight.data_ptr<scalar_t>() : nullptr;
      const int64_t* a = args.arg.data_ptr<int64_t>();
      const scalar_t* g = args.grad_out.data_ptr<scalar_t>();
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
