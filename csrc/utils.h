// Helpers shared by the C++ bindings and CPU kernels: argument checks,
// reduction names, and the bridge from tensors to the plain CUDA launchers.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "cuda/launch_types.h"

namespace graphcl {

using cuda::Reduce;

inline Reduce parse_reduce(const std::string& reduce) {
  if (reduce == "sum" || reduce == "add") return Reduce::Sum;
  if (reduce == "mean") return Reduce::Mean;
  if (reduce == "max" || reduce == "amax") return Reduce::Max;
  if (reduce == "min" || reduce == "amin") return Reduce::Min;
  TORCH_CHECK_VALUE(false, "reduce must be one of 'sum', 'mean', 'max', 'min', got '", reduce, "'");
}

inline bool is_arg_reduce(Reduce r) { return r == Reduce::Max || r == Reduce::Min; }

// dtype of max/min's arg on CPU: int32 while every edge id and the empty-row
// marker (num_edges) fit, else int64. (CUDA's arg is always int64.)
inline at::ScalarType arg_dtype_for(int64_t num_edges) {
  return num_edges <= INT32_MAX ? at::kInt : at::kLong;
}

// ---------------------------------------------------------------------------
// Argument checks. Every registered op runs them (the raw *_forward/*_backward
// ops too), so that no call of torch.ops.graphcl.* can read outside an array:
// messages name the argument, and the exception types are the ones Python
// users expect (TypeError for dtypes, ValueError for shapes and CSR
// structure, IndexError for indices out of range).
// ---------------------------------------------------------------------------

// The kernels take one index type for all index tensors of an op.
inline void check_index(const at::Tensor& t, const char* name, at::ScalarType index_type) {
  TORCH_CHECK_TYPE(t.defined(), name, " must be a tensor, got None");
  TORCH_CHECK_TYPE(t.scalar_type() == at::kLong || t.scalar_type() == at::kInt, name,
                   " must be int32 or int64, got ", t.scalar_type());
  TORCH_CHECK_TYPE(t.scalar_type() == index_type, name, " has dtype ", t.scalar_type(),
                   " but the other index tensors have ", index_type);
  TORCH_CHECK_VALUE(t.dim() == 1, name, " must be 1-D, got shape ", t.sizes());
}

// A CSR pointer: 1-D, of the op's index type, with at least one entry.
inline void check_ptr_shape(const at::Tensor& ptr, const char* name, at::ScalarType index_type) {
  check_index(ptr, name, index_type);
  TORCH_CHECK_VALUE(ptr.numel() >= 1, name,
                    " must have at least one entry (number of segments + 1), got shape ",
                    ptr.sizes());
}

inline void check_same_device(const at::Tensor& t, const char* name, const at::Tensor& ref) {
  TORCH_CHECK_VALUE(t.device() == ref.device(), name, " is on ", t.device(), " but expected ",
                    ref.device());
}

inline void check_features(const at::Tensor& t, const char* name) {
  TORCH_CHECK_TYPE(t.defined(), name, " must be a tensor, got None");
  TORCH_CHECK_VALUE(t.dim() == 2, name, " must be 2-D [rows, features], got shape ", t.sizes());
  TORCH_CHECK_TYPE(at::isFloatingType(t.scalar_type()), name, " must be floating point, got ",
                   t.scalar_type());
  // The CPU kernels are instantiated for float32 and float64 only.
  TORCH_CHECK_TYPE(!t.is_cpu() || t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble,
                   name, " must be float32 or float64 on CPU, got ", t.scalar_type(),
                   " (the 'torch' backend handles other dtypes)");
}

inline void check_same_dtype(const at::Tensor& t, const char* name, const at::Tensor& ref,
                             const char* ref_name) {
  TORCH_CHECK_TYPE(t.scalar_type() == ref.scalar_type(), name, " has dtype ", t.scalar_type(),
                   " but ", ref_name, " has ", ref.scalar_type());
}

// Checks of index values: CSR pointers (start at 0, never decrease, end at
// the number of entries) and index ranges. CPU tensors are checked on the
// spot. Tensors on other devices are reduced there and the few scalars come
// back in one copy at run(), so an op pays one synchronisation, not one per
// check. The caller must run() before any kernel reads the indices.
class ValueChecks {
 public:
  // ptr (shape already checked) must describe segments over num_entries
  // entries; `entries` completes "there are N ..." in the message.
  void ptr(const at::Tensor& ptr, const char* name, int64_t num_entries, const char* entries) {
    const int64_t n = ptr.numel();
    if (ptr.is_cpu()) {
      auto p = ptr.contiguous();
      AT_DISPATCH_INDEX_TYPES(p.scalar_type(), "graphcl_check_ptr", [&] {
        const index_t* d = p.data_ptr<index_t>();
        fail_ptr_first(name, static_cast<int64_t>(d[0]));
        for (int64_t i = 0; i + 1 < n; ++i)
          TORCH_CHECK_VALUE(d[i] <= d[i + 1], name, " must be non-decreasing (row ", i, ": ",
                            static_cast<int64_t>(d[i]), " > ", static_cast<int64_t>(d[i + 1]), ")");
        fail_ptr_last(name, static_cast<int64_t>(d[n - 1]), num_entries, entries);
      });
      return;
    }
    auto first = ptr.narrow(0, 0, 1).to(at::kLong);
    auto last = ptr.narrow(0, n - 1, 1).to(at::kLong);
    auto decreasing = n > 1 ? (ptr.narrow(0, 1, n - 1) < ptr.narrow(0, 0, n - 1)).any().reshape({1})
                                  .to(at::kLong)
                            : at::zeros({1}, ptr.options().dtype(at::kLong));
    defer({Kind::Ptr, name, num_entries, entries}, {first, decreasing, last});
  }

  // Every value of idx (1-D) must lie in [0, upper); `what` says what upper
  // counts, for the message.
  void range(const at::Tensor& idx, const char* name, int64_t upper, const char* what) {
    if (idx.numel() == 0) return;
    auto [lo, hi] = at::aminmax(idx);
    if (idx.is_cpu()) {
      fail_range(name, lo.item<int64_t>(), hi.item<int64_t>(), upper, what);
      return;
    }
    defer({Kind::Range, name, upper, what}, {lo.to(at::kLong).reshape({1}), hi.to(at::kLong).reshape({1})});
  }

  void run() {
    if (deferred_.empty()) return;
    auto host = at::cat(scalars_).to(at::kCPU);
    const int64_t* v = host.data_ptr<int64_t>();
    for (const auto& d : deferred_) {
      if (d.kind == Kind::Ptr) {
        fail_ptr_first(d.name, v[0]);
        TORCH_CHECK_VALUE(v[1] == 0, d.name, " must be non-decreasing");
        fail_ptr_last(d.name, v[2], d.bound, d.what);
        v += 3;
      } else {
        fail_range(d.name, v[0], v[1], d.bound, d.what);
        v += 2;
      }
    }
    deferred_.clear();
    scalars_.clear();
  }

 private:
  enum class Kind { Ptr, Range };
  struct Deferred {
    Kind kind;
    const char* name;
    int64_t bound;
    const char* what;
  };

  void defer(Deferred d, std::initializer_list<at::Tensor> scalars) {
    deferred_.push_back(d);
    for (const auto& s : scalars) scalars_.push_back(s);
  }

  static void fail_ptr_first(const char* name, int64_t first) {
    TORCH_CHECK_VALUE(first == 0, name, "[0] must be 0, got ", first);
  }
  static void fail_ptr_last(const char* name, int64_t last, int64_t num_entries,
                            const char* entries) {
    TORCH_CHECK_VALUE(last == num_entries, name, "[-1] = ", last, " but there are ", num_entries,
                      " ", entries);
  }
  static void fail_range(const char* name, int64_t lo, int64_t hi, int64_t upper,
                         const char* what) {
    TORCH_CHECK_INDEX(lo >= 0 && hi < upper, name, " holds an index outside [0, ", upper, ") (",
                      what, "): its values span [", lo, ", ", hi, "]");
  }

  std::vector<Deferred> deferred_;
  std::vector<at::Tensor> scalars_;
};

// Per-CSR-edge inverse degree of its row, used by the mean reduction.
inline at::Tensor inverse_degree_per_edge(const at::Tensor& rowptr, const at::Tensor& rows_of_edges,
                                          at::ScalarType dtype) {
  auto deg = (rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1))
                 .to(dtype)
                 .clamp_min(1);
  return deg.reciprocal().index_select(0, rows_of_edges);
}

// Row id of every CSR edge (E entries), from rowptr.
inline at::Tensor rows_from_rowptr(const at::Tensor& rowptr, int64_t num_edges) {
  auto counts = rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1);
  auto rows = at::arange(rowptr.numel() - 1, rowptr.options());
  return rows.repeat_interleave(counts, /*dim=*/0, /*output_size=*/num_edges);
}

#ifdef WITH_CUDA
inline cuda::ScalarKind scalar_kind(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return cuda::ScalarKind::Float32;
    case at::kDouble: return cuda::ScalarKind::Float64;
    case at::kHalf: return cuda::ScalarKind::Float16;
    case at::kBFloat16: return cuda::ScalarKind::BFloat16;
    default: TORCH_CHECK_TYPE(false, "unsupported dtype on CUDA: ", t);
  }
}

// The current CUDA stream of `device` as an opaque handle, obtained through
// c10's device-generic interface so that no CUDA header of torch is needed.
inline void* current_stream(const at::Device& device) {
  c10::impl::VirtualGuardImpl impl(device.type());
  return impl.getStream(device).native_handle();
}

inline void check_launch(int code, const char* what) {
  TORCH_CHECK(code == 0, "graphcl CUDA kernel ", what, " failed: ", cuda::error_string(code));
}

inline const void* ptr_or_null(const c10::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() ? t->data_ptr() : nullptr;
}
#endif

}  // namespace graphcl

namespace graphcl {

inline bool has_tensor(const c10::optional<at::Tensor>& t) { return t.has_value() && t->defined(); }

inline c10::optional<at::Tensor> optional_if_defined(const at::Tensor& t) {
  return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}

// ---------------------------------------------------------------------------
// Per-op argument preparation, shared by the CPU kernels and the CUDA
// bindings: every check of the op, then every tensor made contiguous (the
// kernels index raw pointers, so a strided, transposed or expanded view must
// never reach them as is).
// ---------------------------------------------------------------------------

// spmm_forward(rowptr, col?, weight?, x): without col the op is a segment
// reduction over x's rows (segment_csr, scatter).
struct SpmmForwardArgs {
  at::Tensor rowptr, col, weight, x;  // col, weight undefined when absent
  int64_t num_rows, num_edges;
};

// col's values are range-checked here only when check_col is set: the CPU
// kernel checks them inside its gather loop at no extra cost.
inline SpmmForwardArgs prepare_spmm_forward(const at::Tensor& rowptr,
                                            const c10::optional<at::Tensor>& col,
                                            const c10::optional<at::Tensor>& weight,
                                            const at::Tensor& x, bool check_col) {
  check_ptr_shape(rowptr, "rowptr", rowptr.scalar_type());
  check_features(x, "x");
  check_same_device(rowptr, "rowptr", x);
  const bool with_col = has_tensor(col), with_weight = has_tensor(weight);
  int64_t num_edges = x.size(0);
  if (with_col) {
    check_index(*col, "col", rowptr.scalar_type());
    check_same_device(*col, "col", x);
    num_edges = col->numel();
  }
  if (with_weight) {
    check_same_dtype(*weight, "edge_weight", x, "x");
    TORCH_CHECK_VALUE(weight->dim() == 1 && weight->numel() == num_edges,
                      "edge_weight must have shape [", num_edges, "], got ", weight->sizes());
    check_same_device(*weight, "edge_weight", x);
  }
  ValueChecks checks;
  checks.ptr(rowptr, "rowptr", num_edges, with_col ? "entries in col" : "rows in src");
  if (with_col && check_col) checks.range(*col, "col", x.size(0), "rows of x");
  checks.run();
  return {rowptr.contiguous(), with_col ? col->contiguous() : at::Tensor(),
          with_weight ? weight->contiguous() : at::Tensor(), x.contiguous(), rowptr.numel() - 1,
          num_edges};
}

// spmm_arg_backward(colptr, csc_row, csc_perm, weight?, arg, grad_out).
struct SpmmArgBackwardArgs {
  at::Tensor colptr, csc_row, csc_perm, weight, arg, grad_out;
  int64_t num_cols, num_edges;
};

inline SpmmArgBackwardArgs prepare_spmm_arg_backward(const at::Tensor& colptr,
                                                     const at::Tensor& csc_row,
                                                     const at::Tensor& csc_perm,
                                                     const c10::optional<at::Tensor>& weight,
                                                     const at::Tensor& arg,
                                                     const at::Tensor& grad_out) {
  check_ptr_shape(colptr, "colptr", colptr.scalar_type());
  check_index(csc_row, "csc_row", colptr.scalar_type());
  check_index(csc_perm, "csc_perm", colptr.scalar_type());
  check_features(grad_out, "grad_out");
  TORCH_CHECK_TYPE(arg.defined() && (arg.scalar_type() == at::kLong || arg.scalar_type() == at::kInt),
                   "arg must be int32 or int64, got ",
                   arg.defined() ? c10::toString(arg.scalar_type()) : "None");
  TORCH_CHECK_VALUE(arg.sizes() == grad_out.sizes(), "arg must have the shape of grad_out ",
                    grad_out.sizes(), ", got ", arg.sizes());
  for (const auto& [t, name] : {std::pair{&colptr, "colptr"}, std::pair{&csc_row, "csc_row"},
                                std::pair{&csc_perm, "csc_perm"}, std::pair{&arg, "arg"}})
    check_same_device(*t, name, grad_out);
  const int64_t num_edges = csc_row.numel();
  TORCH_CHECK_VALUE(csc_perm.numel() == num_edges, "csc_perm must have shape [", num_edges,
                    "] like csc_row, got ", csc_perm.sizes());
  const bool with_weight = has_tensor(weight);
  if (with_weight) {
    check_same_dtype(*weight, "edge_weight", grad_out, "grad_out");
    TORCH_CHECK_VALUE(weight->dim() == 1 && weight->numel() == num_edges,
                      "edge_weight must have shape [", num_edges, "], got ", weight->sizes());
    check_same_device(*weight, "edge_weight", grad_out);
  }
  ValueChecks checks;
  checks.ptr(colptr, "colptr", num_edges, "entries in csc_row");
  checks.range(csc_row, "csc_row", grad_out.size(0), "rows of grad_out");
  checks.range(csc_perm, "csc_perm", num_edges, "edges");
  checks.run();
  return {colptr.contiguous(), csc_row.contiguous(), csc_perm.contiguous(),
          with_weight ? weight->contiguous() : at::Tensor(), arg.contiguous(),
          grad_out.contiguous(), colptr.numel() - 1, num_edges};
}

// sddmm_forward(rowptr, col, a, b).
struct SddmmForwardArgs {
  at::Tensor rowptr, col, a, b;
  int64_t num_rows, num_edges;
};

inline SddmmForwardArgs prepare_sddmm_forward(const at::Tensor& rowptr, const at::Tensor& col,
                                              const at::Tensor& a, const at::Tensor& b,
                                              bool check_col) {
  check_ptr_shape(rowptr, "rowptr", rowptr.scalar_type());
  check_index(col, "col", rowptr.scalar_type());
  check_features(a, "a");
  check_features(b, "b");
  check_same_dtype(b, "b", a, "a");
  TORCH_CHECK_VALUE(a.size(1) == b.size(1), "a and b must have the same number of features, got ",
                    a.size(1), " and ", b.size(1));
  const int64_t num_rows = rowptr.numel() - 1;
  TORCH_CHECK_VALUE(a.size(0) == num_rows, "a must have ", num_rows,
                    " rows (one per CSR row), got ", a.size(0));
  check_same_device(rowptr, "rowptr", a);
  check_same_device(col, "col", a);
  check_same_device(b, "b", a);
  ValueChecks checks;
  checks.ptr(rowptr, "rowptr", col.numel(), "entries in col");
  if (check_col) checks.range(col, "col", b.size(0), "rows of b");
  checks.run();
  return {rowptr.contiguous(), col.contiguous(), a.contiguous(), b.contiguous(), num_rows,
          col.numel()};
}

// segment_softmax_forward(rowptr, scores) and _backward(rowptr, out, grad):
// `values` are the [E, H] tensors of the op, values[0] sets dtype, shape
// and device for the others.
inline at::Tensor prepare_segment_softmax(const at::Tensor& rowptr,
                                          std::initializer_list<std::pair<const at::Tensor*, const char*>> values) {
  const at::Tensor& ref = *values.begin()->first;
  const char* ref_name = values.begin()->second;
  check_ptr_shape(rowptr, "rowptr", rowptr.scalar_type());
  for (const auto& [t, name] : values) {
    check_features(*t, name);
    check_same_dtype(*t, name, ref, ref_name);
    TORCH_CHECK_VALUE(t->sizes() == ref.sizes(), name, " must have the shape of ", ref_name, " ",
                      ref.sizes(), ", got ", t->sizes());
    check_same_device(*t, name, ref);
  }
  check_same_device(rowptr, "rowptr", ref);
  ValueChecks checks;
  const std::string entries = std::string("rows in ") + ref_name;
  checks.ptr(rowptr, "rowptr", ref.size(0), entries.c_str());
  checks.run();
  return rowptr.contiguous();
}

// The cached transpose (CSC) of a CSR with num_rows rows, num_cols columns
// and num_edges entries, as the autograd ops receive it: colptr [num_cols + 1],
// csc_row (row of every CSC entry) and csc_perm (its CSR position).
inline void check_csc(const at::Tensor& colptr, const at::Tensor& csc_row, const at::Tensor& csc_perm,
                      const at::Tensor& rowptr, int64_t num_cols, int64_t num_edges,
                      const char* cols_of) {
  check_ptr_shape(colptr, "colptr", rowptr.scalar_type());
  check_index(csc_row, "csc_row", rowptr.scalar_type());
  check_index(csc_perm, "csc_perm", rowptr.scalar_type());
  TORCH_CHECK_VALUE(colptr.numel() == num_cols + 1, "colptr must have ", num_cols + 1,
                    " entries (one more than the rows of ", cols_of, "), got ", colptr.numel());
  for (const auto& [t, name] : {std::pair{&csc_row, "csc_row"}, std::pair{&csc_perm, "csc_perm"}}) {
    TORCH_CHECK_VALUE(t->numel() == num_edges, name, " must have shape [", num_edges,
                      "] (one entry per edge), got ", t->sizes());
  }
  for (const auto& [t, name] : {std::pair{&colptr, "colptr"}, std::pair{&csc_row, "csc_row"},
                                std::pair{&csc_perm, "csc_perm"}})
    check_same_device(*t, name, rowptr);
  ValueChecks checks;
  checks.ptr(colptr, "colptr", num_edges, "entries in csc_row");
  checks.range(csc_row, "csc_row", rowptr.numel() - 1, "CSR rows");
  checks.range(csc_perm, "csc_perm", num_edges, "edges");
  checks.run();
}

}  // namespace graphcl
