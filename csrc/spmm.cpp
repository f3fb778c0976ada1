// spmm: out = REDUCE_j w_ij * x_j over the CSR rows, with autograd.
//
// Backward for x, without atomics: sum/mean as another CSR-style spmm over
// the cached CSC (transpose) with permuted weights; max/min through the saved
// arg indices (on CPU a scatter with threads owning feature ranges, on CUDA a
// walk over the CSC). The forward writes arg only when a backward can follow. The gradient for edge weights is
// an SDDMM (one dot product per edge), never an E x F tensor.
//
// Double backward: when the backward pass is itself recorded
// (create_graph=True, so grad mode is on inside backward), the gradients are
// built from differentiable pieces instead of the raw kernels: sum/mean as
// graphcl::spmm over the transpose and graphcl::sddmm (both with autograd, so
// derivatives of any order work), max/min as ATen gathers and index_add over
// the saved arg indices (the selection itself is piecewise constant).
#include <ATen/core/grad_mode.h>
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
// when e = arg[i, f]. Only N x F values are touched; entries of empty rows
// (arg == E) land in a spare slot that is dropped. Differentiable in
// grad_out and x.
at::Tensor arg_weight_grad(const at::Tensor& grad_out, const at::Tensor& arg, const at::Tensor& col,
                           const at::Tensor& x, int64_t num_edges) {
  if (num_edges == 0 || arg.numel() == 0) return at::zeros({num_edges}, grad_out.options());
  const int64_t F = x.size(1);
  auto flat_arg = arg.to(at::kLong).reshape({-1});
  auto src_row = col.to(at::kLong).index_select(0, flat_arg.clamp_max(num_edges - 1));
  auto feature = at::arange(F, arg.options()).repeat({arg.size(0)});
  auto x_val = x.reshape({-1}).index_select(0, src_row * F + feature);
  return at::zeros({num_edges + 1}, grad_out.options())
      .index_add(0, flat_arg, grad_out.reshape({-1}) * x_val)
      .narrow(0, 0, num_edges);
}

// Gradient of max/min for x as differentiable ATen ops (the create_graph
// path; the kernel spmm_arg_backward computes the same without them):
// grad_x[col[e], f] += w[e] * grad_out[i, f] for e = arg[i, f].
at::Tensor arg_x_grad(const at::Tensor& grad_out, const at::Tensor& arg, const at::Tensor& col,
                      const at::Tensor& weight, int64_t num_cols, int64_t num_edges) {
  const int64_t F = grad_out.size(1);
  if (num_edges == 0 || arg.numel() == 0) return at::zeros({num_cols, F}, grad_out.options());
  auto flat_arg = arg.to(at::kLong).reshape({-1});
  auto e = flat_arg.clamp_max(num_edges - 1);
  auto feature = at::arange(F, arg.options()).repeat({arg.size(0)});
  // Empty rows (arg == E) send their entries to spare row num_cols.
  auto target =
      at::where(flat_arg < num_edges, col.to(at::kLong).index_select(0, e), num_cols) * F + feature;
  auto val = grad_out.reshape({-1});
  if (weight.defined()) val = val * weight.index_select(0, e);
  return at::zeros({(num_cols + 1) * F}, grad_out.options())
      .index_add(0, target, val)
      .narrow(0, 0, num_cols * F)
      .view({num_cols, F});
}

at::Tensor row_degrees(const at::Tensor& rowptr, at::ScalarType dtype) {
  return (rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1))
      .to(dtype)
      .clamp_min(1);
}

struct SpmmSaved {
  at::Tensor rowptr, col, weight, colptr, csc_row, csc_perm, x, arg;
  Reduce reduce;
  bool x_grad, w_grad;
};

// The backward with the raw kernels (nothing recorded).
std::pair<at::Tensor, at::Tensor> spmm_backward_kernels(const SpmmSaved& s, const at::Tensor& grad) {
  auto grad_out = grad.contiguous();
  at::Tensor grad_x, grad_w;
  if (s.x_grad) {
    if (is_arg_reduce(s.reduce)) {
      grad_x = ops::spmm_arg_backward(s.colptr, s.csc_row, s.csc_perm, optional_if_defined(s.weight),
                                      s.arg, grad_out);
    } else {
      at::Tensor csc_weight;
      if (s.weight.defined()) csc_weight = s.weight.index_select(0, s.csc_perm);
      if (s.reduce == Reduce::Mean) {
        auto scale = inverse_degree_per_edge(s.rowptr, s.csc_row, grad_out.scalar_type());
        csc_weight = csc_weight.defined() ? csc_weight * scale : scale;
      }
      grad_x = std::get<0>(ops::spmm_forward(s.colptr, s.csc_row, optional_if_defined(csc_weight),
                                             grad_out, "sum"));
    }
  }
  if (s.w_grad) {
    if (s.reduce == Reduce::Sum) {
      grad_w = ops::sddmm_forward(s.rowptr, s.col, grad_out, s.x);
    } else if (s.reduce == Reduce::Mean) {
      auto deg = row_degrees(s.rowptr, grad_out.scalar_type());
      grad_w = ops::sddmm_forward(s.rowptr, s.col, grad_out / deg.unsqueeze(1), s.x);
    } else {
      grad_w = arg_weight_grad(grad_out, s.arg, s.col, s.x, s.col.numel());
    }
  }
  return {grad_x, grad_w};
}

// The same gradients from differentiable ops (create_graph=True).
std::pair<at::Tensor, at::Tensor> spmm_backward_differentiable(const SpmmSaved& s,
                                                               const at::Tensor& grad_out) {
  at::Tensor grad_x, grad_w;
  const int64_t num_edges = s.col.numel();
  if (is_arg_reduce(s.reduce)) {
    if (s.x_grad) grad_x = arg_x_grad(grad_out, s.arg, s.col, s.weight, s.x.size(0), num_edges);
    if (s.w_grad) grad_w = arg_weight_grad(grad_out, s.arg, s.col, s.x, num_edges);
    return {grad_x, grad_w};
  }
  const bool mean = s.reduce == Reduce::Mean;
  if (s.x_grad) {
    // The transposed graph: its CSR is our CSC, its CSC our CSR.
    at::Tensor csc_weight;
    if (s.weight.defined()) csc_weight = s.weight.index_select(0, s.csc_perm);
    if (mean) {
      auto scale = inverse_degree_per_edge(s.rowptr, s.csc_row, grad_out.scalar_type());
      csc_weight = csc_weight.defined() ? csc_weight * scale : scale;
    }
    grad_x = ops::spmm(s.colptr, s.csc_row, optional_if_defined(csc_weight), s.rowptr, s.col,
                       ops::inverse_permutation(s.csc_perm), grad_out, "sum");
  }
  if (s.w_grad) {
    auto g = mean ? grad_out / row_degrees(s.rowptr, grad_out.scalar_type()).unsqueeze(1) : grad_out;
    grad_w = ops::sddmm(s.rowptr, s.col, s.colptr, s.csc_row, s.csc_perm, g, s.x);
  }
  return {grad_x, grad_w};
}

class SpMMFunction : public torch::autograd::Function<SpMMFunction> {
 public:
  // check_transpose: a backward may follow, so the CSC it reads is checked
  // now (under no_grad the Python side passes placeholders instead).
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rowptr,
                               const at::Tensor& col,
                               const c10::optional<at::Tensor>& weight_opt,
                               const at::Tensor& colptr, const at::Tensor& csc_row,
                               const at::Tensor& csc_perm, const at::Tensor& x,
                               const std::string& reduce, bool check_transpose) {
    at::AutoDispatchBelowADInplaceOrView guard;
    // Optional (not undefined) tensors: autograd records metadata of every
    // tensor argument, which an undefined tensor cannot provide.
    const at::Tensor weight = weight_opt.value_or(at::Tensor());
    // arg only when a backward can follow (check_transpose).
    auto [out, arg] = ops::spmm_forward(rowptr, col, weight_opt, x, reduce, check_transpose);
    if (check_transpose) check_csc(colptr, csc_row, csc_perm, rowptr, x.size(0), col.numel(), "x");
    ctx->saved_data["reduce"] = reduce;
    ctx->saved_data["x_grad"] = x.requires_grad();
    ctx->saved_data["w_grad"] = weight.defined() && weight.requires_grad();
    ctx->save_for_backward({rowptr, col, weight, colptr, csc_row, csc_perm, x, arg});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const SpmmSaved s{saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6],
                      saved[7], parse_reduce(ctx->saved_data["reduce"].toStringRef()),
                      ctx->saved_data["x_grad"].toBool(), ctx->saved_data["w_grad"].toBool()};
    // Grad mode is on inside backward exactly when create_graph=True.
    auto [grad_x, grad_w] = at::GradMode::is_enabled() ? spmm_backward_differentiable(s, grads[0])
                                                       : spmm_backward_kernels(s, grads[0]);
    return {at::Tensor(), at::Tensor(), grad_w, at::Tensor(), at::Tensor(), at::Tensor(), grad_x,
            at::Tensor(), at::Tensor()};
  }
};

at::Tensor spmm_autograd(const at::Tensor& rowptr, const at::Tensor& col,
                         const c10::optional<at::Tensor>& weight, const at::Tensor& colptr,
                         const at::Tensor& csc_row, const at::Tensor& csc_perm, const at::Tensor& x,
                         c10::string_view reduce) {
  const bool may_backward = at::GradMode::is_enabled() &&
                            (x.requires_grad() || (has_tensor(weight) && weight->requires_grad()));
  return SpMMFunction::apply(rowptr, col, weight, colptr, csc_row, csc_perm, x, std::string(reduce),
                             may_backward)[0];
}

// Used when autograd is off for the call (inference mode): no CSC needed.
at::Tensor spmm_no_grad(const at::Tensor& rowptr, const at::Tensor& col,
                        const c10::optional<at::Tensor>& weight, const at::Tensor&, const at::Tensor&,
                        const at::Tensor&, const at::Tensor& x, c10::string_view reduce) {
  return std::get<0>(ops::spmm_forward(rowptr, col, weight, x, reduce, /*with_arg=*/false));
}

#ifdef WITH_CUDA
std::tuple<at::Tensor, at::Tensor> spmm_forward_cuda(const at::Tensor& rowptr,
                                                     const c10::optional<at::Tensor>& col,
                                                     const c10::optional<at::Tensor>& weight,
                                                     const at::Tensor& x_in,
                                                     c10::string_view reduce_name, bool with_arg) {
  const Reduce reduce = parse_reduce(std::string(reduce_name));
  c10::DeviceGuard device_guard(x_in.device());
  const auto args = prepare_spmm_forward(rowptr, col, weight, x_in, /*check_col=*/true);
  const at::Tensor& x = args.x;
  const int64_t num_rows = args.num_rows, F = x.size(1);
  auto out = at::empty({num_rows, F}, x.options());
  const bool arg_wanted = with_arg && is_arg_reduce(reduce);
  auto arg = at::empty({arg_wanted ? num_rows : 0, F}, x.options().dtype(at::kLong));
  check_launch(cuda::spmm_forward(scalar_kind(x.scalar_type()), args.rowptr.scalar_type() == at::kLong,
                                  reduce, args.rowptr.data_ptr(),
                                  args.col.defined() ? args.col.data_ptr() : nullptr,
                                  args.weight.defined() ? args.weight.data_ptr() : nullptr,
                                  x.data_ptr(), out.data_ptr(),
                                  arg_wanted ? arg.data_ptr<int64_t>() : nullptr, num_rows,
                                  args.num_edges, F, current_stream(x.device())),
               "spmm_forward");
  return {out, arg};
}

at::Tensor spmm_arg_backward_cuda(const at::Tensor& colptr, const at::Tensor& csc_row,
                                  const at::Tensor& csc_perm, const c10::optional<at::Tensor>& weight,
                                  const at::Tensor& arg_in, const at::Tensor& grad_out_in) {
  c10::DeviceGuard device_guard(grad_out_in.device());
  const auto args =
      prepare_spmm_arg_backward(colptr, csc_row, csc_perm, weight, arg_in, grad_out_in);
  const int64_t num_cols = args.num_cols, F = args.grad_out.size(1);
  auto grad_x = at::empty({num_cols, F}, args.grad_out.options());
  const auto arg64 = args.arg.to(at::kLong);  // a CPU-made int32 arg moved here
  check_launch(cuda::spmm_arg_backward(scalar_kind(args.grad_out.scalar_type()),
                                       args.colptr.scalar_type() == at::kLong, args.colptr.data_ptr(),
                                       args.csc_row.data_ptr(), args.csc_perm.data_ptr(),
                                       args.weight.defined() ? args.weight.data_ptr() : nullptr,
                                       arg64.data_ptr<int64_t>(), args.grad_out.data_ptr(),
                                       grad_x.data_ptr(), num_cols, F,
                                       current_stream(args.grad_out.device())),
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
