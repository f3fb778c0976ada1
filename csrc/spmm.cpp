// spmm: out = REDUCE_j w_ij * x_j over the CSR rows, with autograd.
//
// Backward for x runs over the cached CSC (transpose) of the graph: sum/mean
// as another CSR-style spmm with permuted weights, max/min through the saved
// arg indices, in both cases without atomics. The gradient for edge weights is
// an SDDMM (one dot product per edge), never an E x F tensor.
#include <torch/autograd.h>
#include <torch/library.h>

#include "ops.h"
#include "utils.h"
#ifdef WITH_CUDA
#include "cuda/spmm_cuda.h"
#endif

namespace graphcl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Gradient of max/min for the edge weights: d out[i,f] / d w[e] = x[col[e], f]
// when e = arg[i, f]. Only N x F values are touched.
at::Tensor arg_weight_grad(const at::Tensor& grad_out, const at::Tensor& arg, const at::Tensor& col,
                           const at::Tensor& x, int64_t num_edges) {
  auto grad_w = at::zeros({num_edges + 1}, grad_out.options());
  if (num_edges == 0 || arg.numel() == 0) return grad_w.narrow(0, 0, num_edges);
  const int64_t F = x.size(1);
  auto flat_arg = arg.reshape({-1});
  auto src_row = col.to(at::kLong).index_select(0, flat_arg.clamp_max(num_edges - 1));
  auto feature = at::arange(F, arg.options()).repeat({arg.size(0)});
  auto x_val = x.reshape({-1}).index_select(0, src_row * F + feature);
  grad_w.index_add_(0, flat_arg, grad_out.reshape({-1}) * x_val);
  return grad_w.narrow(0, 0, num_edges);
}

class SpMMFunction : public torch::autograd::Function<SpMMFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rowptr,
                               const at::Tensor& col,
                               const c10::optional<at::Tensor>& weight_opt,
                               const at::Tensor& colptr, const at::Tensor& csc_row,
                               const at::Tensor& csc_perm, const at::Tensor& x,
                               const std::string& reduce) {
    at::AutoDispatchBelowADInplaceOrView guard;
    // Optional (not undefined) tensors: autograd records metadata of every
    // tensor argument, which an undefined tensor cannot provide.
    const at::Tensor weight = weight_opt.value_or(at::Tensor());
    auto [out, arg] = ops::spmm_forward(rowptr, col, weight_opt, x, reduce);
    ctx->saved_data["reduce"] = reduce;
    ctx->saved_data["x_grad"] = x.requires_grad();
    ctx->saved_data["w_grad"] = weight.defined() && weight.requires_grad();
    ctx->save_for_backward({rowptr, col, weight, colptr, csc_row, csc_perm, x, arg});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &rowptr = saved[0], &col = saved[1], &weight = saved[2], &colptr = saved[3],
               &csc_row = saved[4], &csc_perm = saved[5], &x = saved[6], &arg = saved[7];
    const auto reduce_name = ctx->saved_data["reduce"].toStringRef();
    const Reduce reduce = parse_reduce(reduce_name);
    auto grad_out = grads[0].contiguous();
    at::Tensor grad_x, grad_w;
    if (ctx->saved_data["x_grad"].toBool()) {
      if (is_arg_reduce(reduce)) {
        grad_x = ops::spmm_arg_backward(colptr, csc_row, csc_perm, optional_if_defined(weight), arg,
                                        grad_out);
      } else {
        at::Tensor csc_weight;
        if (weight.defined()) csc_weight = weight.index_select(0, csc_perm);
        if (reduce == Reduce::Mean) {
          auto scale = inverse_degree_per_edge(rowptr, csc_row, grad_out.scalar_type());
          csc_weight = csc_weight.defined() ? csc_weight * scale : scale;
        }
        grad_x = std::get<0>(
            ops::spmm_forward(colptr, csc_row, optional_if_defined(csc_weight), grad_out, "sum"));
      }
    }
    if (ctx->saved_data["w_grad"].toBool()) {
      if (reduce == Reduce::Sum) {
        grad_w = ops::sddmm_forward(rowptr, col, grad_out, x);
      } else if (reduce == Reduce::Mean) {
        auto deg = (rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1))
                       .to(grad_out.scalar_type())
                       .clamp_min(1);
        grad_w = ops::sddmm_forward(rowptr, col, grad_out / deg.unsqueeze(1), x);
      } else {
        grad_w = arg_weight_grad(grad_out, arg, col, x.contiguous(), col.numel());
      }
    }
    return {at::Tensor(), at::Tensor(), grad_w, at::Tensor(), at::Tensor(), at::Tensor(), grad_x,
            at::Tensor()};
  }
};

at::Tensor spmm_autograd(const at::Tensor& rowptr, const at::Tensor& col,
                         const c10::optional<at::Tensor>& weight, const at::Tensor& colptr,
                         const at::Tensor& csc_row, const at::Tensor& csc_perm, const at::Tensor& x,
                         c10::string_view reduce) {
  return SpMMFunction::apply(rowptr, col, weight, colptr, csc_row, csc_perm,
                             x, std::string(reduce))[0];
}

// Used when autograd is off for the call (inference mode): no CSC needed.
at::Tensor spmm_no_grad(const at::Tensor& rowptr, const at::Tensor& col,
                        const c10::optional<at::Tensor>& weight, const at::Tensor&, const at::Tensor&,
                        const at::Tensor&, const at::Tensor& x, c10::string_view reduce) {
  return std::get<0>(ops::spmm_forward(rowptr, col, weight, x, reduce));
}

#ifdef WITH_CUDA
std::tuple<at::Tensor, at::Tensor> spmm_forward_cuda(const at::Tensor& rowptr,
                                                     const c10::optional<at::Tensor>& col,
                                                     const c10::optional<at::Tensor>& weight,
                                                     const at::Tensor& x_in,
                                                     c10::string_view reduce_name) {
  const Reduce reduce = parse_reduce(std::string(reduce_name));
  const int64_t num_edges = check_spmm_forward_args(rowptr, col, weight, x_in);
  c10::DeviceGuard device_guard(x_in.device());
  auto x = x_in.contiguous();
  auto rp = rowptr.contiguous();
  const bool has_col = col.has_value() && col->defined();
  auto c = has_col ? col->contiguous() : at::Tensor();
  auto w = weight.has_value() && weight->defined() ? weight->contiguous() : at::Tensor();
  const int64_t num_rows = rowptr.numel() - 1, F = x.size(1);
  auto out = at::empty({num_rows, F}, x.options());
  auto arg = at::empty({is_arg_reduce(reduce) ? num_rows : 0, F}, x.options().dtype(at::kLong));
  check_launch(cuda::spmm_forward(scalar_kind(x.scalar_type()), rp.scalar_type() == at::kLong, reduce,
                                  rp.data_ptr(), has_col ? c.data_ptr() : nullptr,
                                  w.defined() ? w.data_ptr() : nullptr, x.data_ptr(), out.data_ptr(),
                                  is_arg_reduce(reduce) ? arg.data_ptr<int64_t>() : nullptr, num_rows,
                                  num_edges, F, current_stream(x.device())),
               "spmm_forward");
  return {out, arg};
}

at::Tensor spmm_arg_backward_cuda(const at::Tensor& colptr, const at::Tensor& csc_row,
                                  const at::Tensor& csc_perm, const c10::optional<at::Tensor>& weight,
                                  const at::Tensor& arg_in, const at::Tensor& grad_out_in) {
  check_index(colptr, "colptr", colptr.scalar_type());
  check_index(csc_row, "csc_row", colptr.scalar_type());
  check_index(csc_perm, "csc_perm", colptr.scalar_type());
  check_features(grad_out_in, "grad_out");
  TORCH_CHECK_VALUE(arg_in.sizes() == grad_out_in.sizes(), "arg and grad_out shapes differ");
  c10::DeviceGuard device_guard(grad_out_in.device());
  auto grad_out = grad_out_in.contiguous();
  auto arg = arg_in.contiguous();
  auto w = weight.has_value() && weight->defined() ? weight->contiguous() : at::Tensor();
  const int64_t num_cols = colptr.numel() - 1, F = grad_out.size(1);
  auto grad_x = at::empty({num_cols, F}, grad_out.options());
  check_launch(cuda::spmm_arg_backward(scalar_kind(grad_out.scalar_type()),
                                       colptr.scalar_type() == at::kLong, colptr.contiguous().data_ptr(),
                                       csc_row.contiguous().data_ptr(), csc_perm.contiguous().data_ptr(),
                                       w.defined() ? w.data_ptr() : nullptr, arg.data_ptr<int64_t>(),
                                       grad_out.data_ptr(), grad_x.data_ptr(), num_cols, F,
                                       current_stream(grad_out.device())),
               "spmm_arg_backward");
  return grad_x;
}
#endif

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, Autograd, m) { m.impl("spmm", &spmm_autograd); }
TORCH_LIBRARY_IMPL(graphcl, CompositeExplicitAutograd, m) { m.impl("spmm", &spmm_no_grad); }
#ifdef WITH_CUDA
TORCH_LIBRARY_IMPL(graphcl, CUDA, m) {
  m.impl("spmm_forward", &spmm_forward_cuda);
  m.impl("spmm_arg_backward", &spmm_arg_backward_cuda);
}
#endif

}  // namespace graphcl
