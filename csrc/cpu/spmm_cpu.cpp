// CPU kernels of the spmm family: the fused CSR gather-reduce and the
// scatter backward of max/min. No E x F message tensor is built.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <type_traits>
#include <limits>

#include "../utils.h"
#include "kernel_utils.h"

namespace graphcl {
namespace cpu {
namespace {


// Max/min of a CSR row.
//
// The select "keep the first NaN, else the larger value, ties to the first"
// has ordered compares that GCC will not if-convert, so the plain loop runs
// as scalar code with unpredictable branches (4x slower than sum, measured).
// The vector path spells the select with GCC/Clang vector extensions: 16-byte
// vectors of values and of same-width integer edge offsets, lowered to
// whatever SIMD the target has. The running best and its offset live in
// those vectors for a tile of features and are loaded and stored once per
// tile and edge block, not once per edge.
//
// Edges are taken in blocks of kEdgeBlock, and every feature tile of a block
// is reduced before the next block starts: the x rows a block gathers stay
// in L1/L2 across its tiles even for hub rows with thousands of edges.

// One tile of V vectors (V * Lanes::n features starting at f0) over the
// edges [e_begin, e_end) of the row that starts at edge e_row.
template <typename scalar_t, typename index_t, typename arg_t, bool kArg, Reduce R, int V>
inline void argreduce_vector_tile(const index_t* __restrict__ col,
                                  const scalar_t* __restrict__ weight,
                                  const scalar_t* __restrict__ x, int64_t F, int64_t f0,
                                  int64_t e_row, int64_t e_begin, int64_t e_end,
                                  scalar_t* __restrict__ o, arg_t* __restrict__ a) {
  using L = Lanes<scalar_t>;
  using value_t = typename L::value;
  using offset_t = typename L::offset;
  using offset_scalar = std::remove_reference_t<decltype(offset_t{}[0])>;
  constexpr int64_t n = L::n;
  value_t best[V];
  offset_t where[V];
  int64_t e = e_begin;
  if (e == e_row) {  // the row's first edge initialises the tile
    const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
    const scalar_t w = weight ? weight[e] : scalar_t(1);
    for (int v = 0; v < V; ++v) {
      __builtin_memcpy(&best[v], x + j * F + f0 + v * n, sizeof(value_t));
      best[v] = best[v] * w;
      where[v] = offset_t{} + offset_scalar(0);
    }
    ++e;
  } else {
    for (int v = 0; v < V; ++v) {
      __builtin_memcpy(&best[v], o + f0 + v * n, sizeof(value_t));
      if constexpr (kArg) {
        for (int64_t l = 0; l < n; ++l)
          where[v][l] = static_cast<offset_scalar>(a[f0 + v * n + l] - e_row);
      }
    }
  }
  for (; e < e_end; ++e) {
    const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
    const scalar_t w = weight ? weight[e] : scalar_t(1);
    const scalar_t* __restrict__ xj = x + j * F + f0;
    const offset_t k = offset_t{} + static_cast<offset_scalar>(e - e_row);
    for (int v = 0; v < V; ++v) {
      value_t val;
      __builtin_memcpy(&val, xj + v * n, sizeof(value_t));
      val = val * w;
      // NaN propagates as in torch.amax/amin: a NaN beats every number
      // (`!(val <= best)` holds for val = NaN) and, once held, is never
      // replaced (`best == best` fails), so the first NaN of the row is the
      // selected entry. Ties keep the first entry.
      const offset_t better = (R == Reduce::Max ? ~(val <= best[v]) : ~(val >= best[v])) &
                              (best[v] == best[v]);
      best[v] = better ? val : best[v];
      if constexpr (kArg) where[v] = better ? k : where[v];
    }
  }
  for (int v = 0; v < V; ++v) {
    __builtin_memcpy(o + f0 + v * n, &best[v], sizeof(value_t));
    if constexpr (kArg) {
      for (int64_t l = 0; l < n; ++l)
        a[f0 + v * n + l] = static_cast<arg_t>(e_row + static_cast<int64_t>(where[v][l]));
    }
  }
}

// Features [f0, F) (fewer than one vector) over edges [e_begin, e_end): scalar.
template <typename scalar_t, typename index_t, typename arg_t, bool kArg, Reduce R>
inline void argreduce_scalar_tail(const index_t* __restrict__ col,
                                  const scalar_t* __restrict__ weight,
                                  const scalar_t* __restrict__ x, int64_t F, int64_t f0,
                                  int64_t e_row, int64_t e_begin, int64_t e_end,
                                  scalar_t* __restrict__ o, arg_t* __restrict__ a) {
  for (int64_t e = e_begin; e < e_end; ++e) {
    const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
    const scalar_t w = weight ? weight[e] : scalar_t(1);
    for (int64_t f = f0; f < F; ++f) {
      const scalar_t val = w * x[j * F + f];
      const bool better = e == e_row ||
          ((R == Reduce::Max ? !(val <= o[f]) : !(val >= o[f])) && o[f] == o[f]);
      if (better) {
        o[f] = val;
        if constexpr (kArg) a[f] = static_cast<arg_t>(e);
      }
    }
  }
}

// One tile of V vectors of a sum/mean row over edges [e_begin, e_end): the
// running sums stay in registers for the block instead of being loaded and
// stored once per edge. Each feature still adds its edges in edge order, so
// the result is the same as the edge-by-edge loop, bit for bit.
template <typename scalar_t, typename index_t, int V>
inline void sum_vector_tile(const index_t* __restrict__ col, const scalar_t* __restrict__ weight,
                            const scalar_t* __restrict__ x, int64_t F, int64_t f0, int64_t e_row,
                            int64_t e_begin, int64_t e_end, scalar_t* __restrict__ o) {
  using value_t = typename Lanes<scalar_t>::value;
  constexpr int64_t n = Lanes<scalar_t>::n;
  value_t acc[V];
  int64_t e = e_begin;
  if (e == e_row) {  // the row's first edge initialises the tile
    const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
    const scalar_t w = weight ? weight[e] : scalar_t(1);
    for (int v = 0; v < V; ++v) {
      __builtin_memcpy(&acc[v], x + j * F + f0 + v * n, sizeof(value_t));
      acc[v] = acc[v] * w;
    }
    ++e;
  } else {
    for (int v = 0; v < V; ++v) __builtin_memcpy(&acc[v], o + f0 + v * n, sizeof(value_t));
  }
  for (; e < e_end; ++e) {
    const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
    const scalar_t* __restrict__ xj = x + j * F + f0;
    if (weight) {
      const scalar_t w = weight[e];
      for (int v = 0; v < V; ++v) {
        value_t val;
        __builtin_memcpy(&val, xj + v * n, sizeof(value_t));
        acc[v] += val * w;
      }
    } else {
      for (int v = 0; v < V; ++v) {
        value_t val;
        __builtin_memcpy(&val, xj + v * n, sizeof(value_t));
        acc[v] += val;
      }
    }
  }
  for (int v = 0; v < V; ++v) __builtin_memcpy(o + f0 + v * n, &acc[v], sizeof(value_t));
}

// Features [f0, F) (fewer than one vector) of a sum/mean row: scalar.
template <typename scalar_t, typename index_t>
inline void sum_scalar_tail(const index_t* __restrict__ col, const scalar_t* __restrict__ weight,
                            const scalar_t* __restrict__ x, int64_t F, int64_t f0, int64_t e_row,
                            int64_t e_begin, int64_t e_end, scalar_t* __restrict__ o) {
  for (int64_t e = e_begin; e < e_end; ++e) {
    const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
    const scalar_t w = weight ? weight[e] : scalar_t(1);
    for (int64_t f = f0; f < F; ++f) o[f] = e == e_row ? w * x[j * F + f] : o[f] + w * x[j * F + f];
  }
}

// One row, every reduction; false if the row holds an out-of-range column.
template <typename scalar_t, typename index_t, typename arg_t, bool kArg, Reduce R>
bool reduce_row(const index_t* __restrict__ col, const scalar_t* __restrict__ weight,
                const scalar_t* __restrict__ x, int64_t num_edges, int64_t num_x_rows, int64_t F,
                int64_t e_row, int64_t e_end, scalar_t* __restrict__ o, arg_t* __restrict__ a) {
  constexpr int64_t n = Lanes<scalar_t>::n;
  constexpr int kTileVectors = 8;
  constexpr bool kArgReduce = R == Reduce::Max || R == Reduce::Min;
  // float offsets are int32: a row of 2^31 or more edges takes the scalar path.
  const bool vector_ok = !kArgReduce || sizeof(scalar_t) == 8 || e_end - e_row <= INT32_MAX;
  for (int64_t b = e_row; b < e_end; b += kEdgeBlock) {
    const int64_t b_end = std::min(b + kEdgeBlock, e_end);
    // Check the block's columns, and prefetch the rows of the next block,
    // before any tile reads them.
    for (int64_t e = b; e < b_end; ++e) {
      const int64_t j = col ? static_cast<int64_t>(col[e]) : e;
      if (j < 0 || j >= num_x_rows) return false;
      if (col) prefetch_edge_ahead(col, e, num_edges, x, num_x_rows, F);
    }
    int64_t f0 = 0;
    if (vector_ok) {
      if constexpr (kArgReduce) {
        for (; f0 + kTileVectors * n <= F; f0 += kTileVectors * n)
          argreduce_vector_tile<scalar_t, index_t, arg_t, kArg, R, kTileVectors>(
              col, weight, x, F, f0, e_row, b, b_end, o, a);
        for (; f0 + n <= F; f0 += n)
          argreduce_vector_tile<scalar_t, index_t, arg_t, kArg, R, 1>(col, weight, x, F, f0,
                                                                      e_row, b, b_end, o, a);
      } else {
        for (; f0 + kTileVectors * n <= F; f0 += kTileVectors * n)
          sum_vector_tile<scalar_t, index_t, kTileVectors>(col, weight, x, F, f0, e_row, b, b_end,
                                                           o);
        for (; f0 + n <= F; f0 += n)
          sum_vector_tile<scalar_t, index_t, 1>(col, weight, x, F, f0, e_row, b, b_end, o);
      }
    }
    if (f0 < F) {
      if constexpr (kArgReduce)
        argreduce_scalar_tail<scalar_t, index_t, arg_t, kArg, R>(col, weight, x, F, f0, e_row, b,
                                                                 b_end, o, a);
      else
        sum_scalar_tail<scalar_t, index_t>(col, weight, x, F, f0, e_row, b, b_end, o);
    }
  }
  if constexpr (R == Reduce::Mean) {
    const scalar_t inv = scalar_t(1) / static_cast<scalar_t>(e_end - e_row);
    for (int64_t f = 0; f < F; ++f) o[f] *= inv;
  }
  return true;
}

template <typename scalar_t, typename index_t, Reduce R, typename arg_t = int64_t,
          bool kArg = false>
void spmm_rows(const index_t* __restrict__ rowptr, const index_t* __restrict__ col,
               const scalar_t* __restrict__ weight, const scalar_t* __restrict__ x,
               scalar_t* __restrict__ out, arg_t* __restrict__ arg, int64_t num_rows,
               int64_t num_x_rows, int64_t F, std::atomic<bool>& bad_index) {
  const int64_t num_edges = rowptr[num_rows];
  parallel_over_rows(rowptr, num_rows, F, [&](int64_t row_begin, int64_t row_end) {
    for (int64_t i = row_begin; i < row_end; ++i) {
      scalar_t* __restrict__ o = out + i * F;
      const int64_t e_begin = rowptr[i], e_end = rowptr[i + 1];
      if (e_begin == e_end) {
        for (int64_t f = 0; f < F; ++f) o[f] = scalar_t(0);
        if constexpr (kArg)
          for (int64_t f = 0; f < F; ++f) arg[i * F + f] = static_cast<arg_t>(num_edges);
        continue;
      }
      if (!reduce_row<scalar_t, index_t, arg_t, kArg, R>(col, weight, x, num_edges, num_x_rows, F,
                                                         e_begin, e_end, o,
                                                         kArg ? arg + i * F : nullptr))
        bad_index.store(true, std::memory_order_relaxed);
    }
  });
}

// max/min forward: arg of arg_t, or none when no backward can follow.
template <typename scalar_t, typename index_t, Reduce R>
void argreduce_rows(const index_t* rp, const index_t* c, const scalar_t* wp, const scalar_t* xp,
                    scalar_t* op, at::Tensor& arg, bool with_arg, int64_t num_rows,
                    int64_t num_x_rows, int64_t F, std::atomic<bool>& bad_index) {
  if (!with_arg)
    spmm_rows<scalar_t, index_t, R>(rp, c, wp, xp, op, static_cast<int64_t*>(nullptr), num_rows,
                                    num_x_rows, F, bad_index);
  else if (arg.scalar_type() == at::kInt)
    spmm_rows<scalar_t, index_t, R, int32_t, true>(rp, c, wp, xp, op, arg.data_ptr<int32_t>(),
                                                   num_rows, num_x_rows, F, bad_index);
  else
    spmm_rows<scalar_t, index_t, R, int64_t, true>(rp, c, wp, xp, op, arg.data_ptr<int64_t>(),
                                                   num_rows, num_x_rows, F, bad_index);
}

std::tuple<at::Tensor, at::Tensor> spmm_forward_cpu(const at::Tensor& rowptr_in,
                                                    const c10::optional<at::Tensor>& col_in,
                                                    const c10::optional<at::Tensor>& weight_in,
                                                    const at::Tensor& x_in,
                                                    c10::string_view reduce_name, bool with_arg) {
  const Reduce reduce = parse_reduce(std::string(reduce_name));
  // col's range is checked inside the gather loop (bad_index below).
  const auto args = prepare_spmm_forward(rowptr_in, col_in, weight_in, x_in, /*check_col=*/false);
  const at::Tensor& x = args.x;
  const int64_t num_rows = args.num_rows, F = x.size(1);
  auto out = at::empty({num_rows, F}, x.options());
  // Every element of arg is written by the kernel (no zero fill). int32 when
  // the edge ids and the empty-row marker E fit: half the bytes to write here
  // and to read in the backward.
  const bool arg_wanted = with_arg && is_arg_reduce(reduce);
  auto arg = at::empty({arg_wanted ? num_rows : 0, F},
                       x.options().dtype(arg_dtype_for(args.num_edges)));
  std::atomic<bool> bad_index{false};
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spmm_forward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(args.rowptr.scalar_type(), "spmm_forward_cpu_index", [&] {
      const index_t* rp = args.rowptr.data_ptr<index_t>();
      const index_t* c = args.col.defined() ? args.col.data_ptr<index_t>() : nullptr;
      const scalar_t* wp = args.weight.defined() ? args.weight.data_ptr<scalar_t>() : nullptr;
      const scalar_t* xp = x.data_ptr<scalar_t>();
      scalar_t* op = out.data_ptr<scalar_t>();
      const int64_t nx = x.size(0);
      int64_t* none = nullptr;
      switch (reduce) {
        case Reduce::Sum:
          spmm_rows<scalar_t, index_t, Reduce::Sum>(rp, c, wp, xp, op, none, num_rows, nx, F,
                                                   bad_index);
          break;
        case Reduce::Mean:
          spmm_rows<scalar_t, index_t, Reduce::Mean>(rp, c, wp, xp, op, none, num_rows, nx, F,
                                                    bad_index);
          break;
        case Reduce::Max:
          argreduce_rows<scalar_t, index_t, Reduce::Max>(rp, c, wp, xp, op, arg, arg_wanted,
                                                        num_rows, nx, F, bad_index);
          break;
        case Reduce::Min:
          argreduce_rows<scalar_t, index_t, Reduce::Min>(rp, c, wp, xp, op, arg, arg_wanted,
                                                        num_rows, nx, F, bad_index);
          break;
      }
    });
  });
  TORCH_CHECK_INDEX(!bad_index.load(), "col holds an index outside [0, ", x.size(0), ") (rows of x)");
  return {out, arg};
}

// The backward of max/min for x is a scatter over the selections:
// grad_x[col[e], f] += w[e] * grad_out[i, f] for e = arg[i, f]. It reads arg
// and grad_out once (N x F each), where a walk over the transpose reads them
// once per edge (E x F). Race-free without atomics: every thread owns a range
// of features (whole cache lines of a row) and walks all rows, so no two
// threads write the same element of grad_x.
template <typename scalar_t, typename index_t, typename arg_t>
bool scatter_selected(const index_t* __restrict__ col, const scalar_t* __restrict__ weight,
                      const arg_t* __restrict__ arg, const scalar_t* __restrict__ grad_out,
                      scalar_t* __restrict__ grad_x, int64_t num_rows, int64_t num_edges,
                      int64_t F) {
  const int64_t line = 64 / static_cast<int64_t>(sizeof(scalar_t));
  const int64_t blocks = (F + line - 1) / line;
  const int64_t parts =
      num_rows * F < 32768 ? 1 : std::min<int64_t>(at::get_num_threads(), blocks);
  std::atomic<bool> bad{false};
  at::parallel_for(0, parts, 1, [&](int64_t p_begin, int64_t p_end) {
    for (int64_t p = p_begin; p < p_end; ++p) {
      const int64_t f_begin = std::min(F, blocks * p / parts * line);
      const int64_t f_end = std::min(F, blocks * (p + 1) / parts * line);
      for (int64_t i = 0; i < num_rows; ++i) {
        const arg_t* __restrict__ ai = arg + i * F;
        const scalar_t* __restrict__ gi = grad_out + i * F;
        for (int64_t f = f_begin; f < f_end; ++f) {
          const int64_t e = static_cast<int64_t>(ai[f]);
          if (e == num_edges) continue;  // empty row
          if (e < 0 || e > num_edges) {
            bad.store(true, std::memory_order_relaxed);
            continue;
          }
          const scalar_t w = weight ? weight[e] : scalar_t(1);
          grad_x[static_cast<int64_t>(col[e]) * F + f] += w * gi[f];
        }
      }
    }
  });
  return !bad.load();
}

at::Tensor spmm_arg_backward_cpu(const at::Tensor& colptr_in, const at::Tensor& csc_row_in,
                                 const at::Tensor& csc_perm_in,
                                 const c10::optional<at::Tensor>& weight_in,
                                 const at::Tensor& arg_in, const at::Tensor& grad_out_in) {
  const auto args = prepare_spmm_arg_backward(colptr_in, csc_row_in, csc_perm_in, weight_in, arg_in,
                                              grad_out_in);
  const int64_t num_cols = args.num_cols, num_edges = args.num_edges;
  const int64_t num_rows = args.grad_out.size(0), F = args.grad_out.size(1);
  auto grad_x = at::zeros({num_cols, F}, args.grad_out.options());
  bool ok = true;
  AT_DISPATCH_FLOATING_TYPES(args.grad_out.scalar_type(), "spmm_arg_backward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(args.colptr.scalar_type(), "spmm_arg_backward_cpu_index", [&] {
      const index_t* cp = args.colptr.data_ptr<index_t>();
      const index_t* perm = args.csc_perm.data_ptr<index_t>();
      // The source of every CSR edge, col[e], from the CSC (csc_perm is a
      // permutation, checked, so the writes never collide).
      auto col_t = at::empty({num_edges}, args.colptr.options());
      index_t* col = col_t.data_ptr<index_t>();
      parallel_over_rows(cp, num_cols, 1, [&](int64_t j_begin, int64_t j_end) {
        for (int64_t j = j_begin; j < j_end; ++j)
          for (int64_t k = cp[j]; k < cp[j + 1]; ++k) col[perm[k]] = static_cast<index_t>(j);
      });
      const scalar_t* wp = args.weight.defined() ? args.weight.data_ptr<scalar_t>() : nullptr;
      const scalar_t* g = args.grad_out.data_ptr<scalar_t>();
      scalar_t* gx = grad_x.data_ptr<scalar_t>();
      ok = args.arg.scalar_type() == at::kInt
               ? scatter_selected(col, wp, args.arg.data_ptr<int32_t>(), g, gx, num_rows,
                                  num_edges, F)
               : scatter_selected(col, wp, args.arg.data_ptr<int64_t>(), g, gx, num_rows,
                                  num_edges, F);
    });
  });
  TORCH_CHECK_INDEX(ok, "arg holds an edge id outside [0, ", num_edges, "] (edges, or ", num_edges,
                    " for an empty row)");
  return grad_x;
}

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, CPU, m) {
  m.impl("spmm_forward", &spmm_forward_cpu);
  m.impl("spmm_arg_backward", &spmm_arg_backward_cpu);
}

}  // namespace cpu
}  // namespace graphcl
