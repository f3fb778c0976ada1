// sddmm: out[e] = <a[row(e)], b[col(e)]> for every CSR edge, with autograd.
// Both gradients are spmm's over the same sparsity pattern: grad_a uses the
// CSR, grad_b the cached CSC, with the incoming edge gradients as weights.
// With create_graph=True they are the graphcl::spmm ops with autograd, so the
// backward is differentiable too.
#include <ATen/core/grad_mode.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include "ops.h"
#include "utils.h"
#ifdef WITH_CUDA
#include "cuda/sddmm_cuda.h"
#endif

namespace graphcl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class SDDMMFunction : public torch::autograd::Function<SDDMMFunction> {
 public:
  // check_transpose: a backward may follow, so the CSC it reads is checked.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rowptr,
                               const at::Tensor& col, const at::Tensor& colptr,
                               const at::Tensor& csc_row, const at::Tensor& csc_perm,
                               const at::Tensor& a, const at::Tensor& b, bool check_transpose) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto out = ops::sddmm_forward(rowptr, col, a, b);
    if (check_transpose) check_csc(colptr, csc_row, csc_perm, rowptr, b.size(0), col.numel(), "b");
    ctx->saved_data["a_grad"] = a.requires_grad();
    ctx->saved_data["b_grad"] = b.requires_grad();
    ctx->save_for_backward({rowptr, col, colptr, csc_row, csc_perm, a, b});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &rowptr = saved[0], &col = saved[1], &colptr = saved[2], &csc_row = saved[3],
               &csc_perm = saved[4], &a = saved[5], &b = saved[6];
    at::Tensor grad_a, grad_b;
    const bool a_grad = ctx->saved_data["a_grad"].toBool(), b_grad = ctx->saved_data["b_grad"].toBool();
    if (at::GradMode::is_enabled()) {
      // create_graph=True: the graphcl::spmm ops with autograd record their
      // own backward, which makes this one differentiable (double backward).
      const auto& grad_e = grads[0];
      if (a_grad) grad_a = ops::spmm(rowptr, col, grad_e, colptr, csc_row, csc_perm, b, "sum");
      if (b_grad)
        grad_b = ops::spmm(colptr, csc_row, grad_e.index_select(0, csc_perm), rowptr, col,
                           ops::inverse_permutation(csc_perm), a, "sum");
    } else {
      auto grad_e = grads[0].contiguous();
      if (a_grad) grad_a = std::get<0>(ops::spmm_forward(rowptr, col, grad_e, b, "sum"));
      if (b_grad)
        grad_b = std::get<0>(
            ops::spmm_forward(colptr, csc_row, grad_e.index_select(0, csc_perm), a, "sum"));
    }
    return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), grad_a, grad_b,
            at::Tensor()};
  }
};

at::Tensor sddmm_autograd(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& colptr,
                          const at::Tensor& csc_row, const at::Tensor& csc_perm, const at::Tensor& a,
                          const at::Tensor& b) {
  const bool may_backward = at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  return SDDMMFunction::apply(rowptr, col, colptr, csc_row, csc_perm, a, b, may_backward)[0];
}

at::Tensor sddmm_no_grad(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor&,
                         const at::Tensor&, const at::Tensor&, const at::Tensor& a,
                         const at::Tensor& b) {
  return ops::sddmm_forward(rowptr, col, a, b);
}

#ifdef WITH_CUDA
at::Tensor sddmm_forward_cuda(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& a_in,
                              const at::Tensor& b_in) {
  c10::DeviceGuard device_guard(a_in.device());
  const auto args = prepare_sddmm_forward(rowptr, col, a_in, b_in, /*check_col=*/true);
  auto out = at::empty({args.num_edges}, args.a.options());
  check_launch(cuda::sddmm_forward(scalar_kind(args.a.scalar_type()),
                                   args.rowptr.scalar_type() == at::kLong, args.rowptr.data_ptr(),
                                   args.col.data_ptr(), args.a.data_ptr(), args.b.data_ptr(),
                                   out.data_ptr(), args.num_rows, args.num_edges, args.a.size(1),
                                   current_stream(args.a.device())),
               "sddmm_forward");
  return out;
}
#endif

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, Autograd, m) { m.impl("sddmm", &sddmm_autograd); }
TORCH_LIBRARY_IMPL(graphcl, CompositeExplicitAutograd, m) { m.impl("sddmm", &sddmm_no_grad); }
#ifdef WITH_CUDA
TORCH_LIBRARY_IMPL(graphcl, CUDA, m) { m.impl("sddmm_forward", &sddmm_forward_cuda); }
#endif

}  // namespace graphcl
