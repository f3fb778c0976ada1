// Typed dispatcher calls of the raw kernel ops, shared by the autograd
// functions (csrc/<op>.cpp): each goes through the dispatcher so that the
// CPU or CUDA kernel is picked by the tensors' device.
#pragma once
#include <ATen/core/dispatch/Dispatcher.h>

#include "utils.h"

namespace graphcl {
namespace ops {

inline std::tuple<at::Tensor, at::Tensor> spmm_forward(const at::Tensor& rowptr,
                                                       const c10::optional<at::Tensor>& col,
                                                       const c10::optional<at::Tensor>& weight,
                                                       const at::Tensor& x,
                                                       c10::string_view reduce,
                                                       bool with_arg = true) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::spmm_forward", "")
                       .typed<std::tuple<at::Tensor, at::Tensor>(
                           const at::Tensor&, const c10::optional<at::Tensor>&,
                           const c10::optional<at::Tensor>&, const at::Tensor&, c10::string_view,
                           bool)>();
  return op.call(rowptr, col, weight, x, reduce, with_arg);
}

inline at::Tensor spmm_arg_backward(const at::Tensor& colptr, const at::Tensor& csc_row,
                                    const at::Tensor& csc_perm,
                                    const c10::optional<at::Tensor>& weight, const at::Tensor& arg,
                                    const at::Tensor& grad_out) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::spmm_arg_backward", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const c10::optional<at::Tensor>&, const at::Tensor&,
                                         const at::Tensor&)>();
  return op.call(colptr, csc_row, csc_perm, weight, arg, grad_out);
}

inline at::Tensor sddmm_forward(const at::Tensor& rowptr, const at::Tensor& col,
                                const at::Tensor& a, const at::Tensor& b) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::sddmm_forward", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const at::Tensor&)>();
  return op.call(rowptr, col, a, b);
}

inline at::Tensor segment_softmax_forward(const at::Tensor& rowptr, const at::Tensor& scores) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::segment_softmax_forward", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  return op.call(rowptr, scores);
}

inline at::Tensor segment_softmax_backward(const at::Tensor& rowptr, const at::Tensor& out,
                                           const at::Tensor& grad) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::segment_softmax_backward", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)>();
  return op.call(rowptr, out, grad);
}

inline std::tuple<at::Tensor, at::Tensor> scatter_coo_forward(const at::Tensor& src,
                                                              const at::Tensor& index,
                                                              int64_t dim_size,
                                                              c10::string_view reduce) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::scatter_coo_forward", "")
                       .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                                 int64_t, c10::string_view)>();
  return op.call(src, index, dim_size, reduce);
}

// The ops with autograd, called from the backward passes when the backward
// itself must be differentiable (create_graph=True): a gradient computed
// with them records its own backward, so derivatives of any order work.
inline at::Tensor spmm(const at::Tensor& rowptr, const at::Tensor& col,
                       const c10::optional<at::Tensor>& weight, const at::Tensor& colptr,
                       const at::Tensor& csc_row, const at::Tensor& csc_perm, const at::Tensor& x,
                       c10::string_view reduce) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::spmm", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&,
                                         const c10::optional<at::Tensor>&, const at::Tensor&,
                                         const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         c10::string_view)>();
  return op.call(rowptr, col, weight, colptr, csc_row, csc_perm, x, reduce);
}

inline at::Tensor sddmm(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& colptr,
                        const at::Tensor& csc_row, const at::Tensor& csc_perm, const at::Tensor& a,
                        const at::Tensor& b) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::sddmm", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const at::Tensor&)>();
  return op.call(rowptr, col, colptr, csc_row, csc_perm, a, b);
}

inline at::Tensor segment_csr(const at::Tensor& src, const at::Tensor& rowptr,
                              c10::string_view reduce) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("graphcl::segment_csr", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, c10::string_view)>();
  return op.call(src, rowptr, reduce);
}

// CSR position -> CSC position: the csc_perm of the transposed graph, whose
// own transpose is the original CSR.
inline at::Tensor inverse_permutation(const at::Tensor& perm) {
  return at::empty_like(perm).scatter_(0, perm.to(at::kLong), at::arange(perm.numel(), perm.options()));
}

// Routes grad_out[i, f] to the src row arg[i, f] picked by max/min; arg == E
// (empty segment) lands in a spare row that is dropped. Each (e, f) is the
// winner of at most one segment, so scatter_ never collides.
inline at::Tensor route_to_arg(const at::Tensor& grad_out, const at::Tensor& arg, int64_t num_src) {
  auto grad_src = at::zeros({num_src + 1, grad_out.size(1)}, grad_out.options());
  grad_src.scatter_(0, arg.to(at::kLong), grad_out);  // scatter_ takes int64 only
  return grad_src.narrow(0, 0, num_src);
}

}  // namespace ops
}  // namespace graphcl
