// sddmm: out[e] = <a[row(e)], b[col(e)]> for every CSR edge, with autograd.
// Both gradients are spmm's over the same sparsity pattern: grad_a uses the
// CSR, grad_b the cached CSC, with the incoming edge gradients as weights.
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
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rowptr,
                               const at::Tensor& col, const at::Tensor& colptr,
                               const at::Tensor& csc_row, const at::Tensor& csc_perm,
                               const at::Tensor& a, const at::Tensor& b) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto out = ops::sddmm_forward(rowptr, col, a, b);
    ctx->saved_data["a_grad"] = a.requires_grad();
    ctx->saved_data["b_grad"] = b.requires_grad();
    ctx->save_for_backward({rowptr, col, colptr, csc_row, csc_perm, a, b});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &rowptr = saved[0], &col = saved[1], &colptr = saved[2], &csc_row = saved[3],
               &csc_perm = saved[4], &a = saved[5], &b = saved[6];
    auto grad_e = grads[0].contiguous();
    at::Tensor grad_a, grad_b;
    if (ctx->saved_data["a_grad"].toBool())
      grad_a = std::get<0>(ops::spmm_forward(rowptr, col, grad_e, b, "sum"));
    if (ctx->saved_data["b_grad"].toBool())
      grad_b = std::get<0>(
          ops::spmm_forward(colptr, csc_row, grad_e.index_select(0, csc_perm), a, "sum"));
    return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), grad_a, grad_b};
  }
};

at::Tensor sddmm_autograd(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& colptr,
                          const at::Tensor& csc_row, const at::Tensor& csc_perm, const at::Tensor& a,
                          const at::Tensor& b) {
  return SDDMMFunction::apply(rowptr, col, colptr, csc_row, csc_perm, a, b)[0];
}

at::Tensor sddmm_no_grad(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor&,
                         const at::Tensor&, const at::Tensor&, const at::Tensor& a,
                         const at::Tensor& b) {
  return ops::sddmm_forward(rowptr, col, a, b);
}

#ifdef WITH_CUDA
at::Tensor sddmm_forward_cuda(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& a_in,
                              const at::Tensor& b_in) {
  check_index(rowptr, "rowptr", rowptr.scalar_type());
  check_index(col, "col", rowptr.scalar_type());
  check_features(a_in, "a");
  check_features(b_in, "b");
  TORCH_CHECK_VALUE(a_in.size(1) == b_in.size(1), "a and b must have the same number of features");
  TORCH_CHECK_TYPE(a_in.scalar_type() == b_in.scalar_type(), "a and b dtypes differ");
  TORCH_CHECK_VALUE(a_in.size(0) == rowptr.numel() - 1, "a must have one row per CSR row");
  c10::DeviceGuard device_guard(a_in.device());
  auto a = a_in.contiguous();
  auto b = b_in.contiguous();
  auto out = at::empty({col.numel()}, a.options());
  check_launch(cuda::sddmm_forward(scalar_kind(a.scalar_type()), rowptr.scalar_type() == at::kLong,
                                   rowptr.contiguous().data_ptr(), col.contiguous().data_ptr(),
                                   a.data_ptr(), b.data_ptr(), out.data_ptr(), rowptr.numel() - 1,
                                   col.numel(), a.size(1), current_stream(a.device())),
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
