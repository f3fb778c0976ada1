// CUDA kernels of the spmm family: the fused CSR gather-reduce (sum, mean,
// max, min, with arg indices) and the CSC-traversal backward of max/min.
//
// Both are one "segment gather-reduce": for every segment (CSR row / CSC
// column) reduce one value vector per edge. A group of lanes owns a segment:
// `fl` feature lanes times `es` edge slots. Feature lanes cover the feature
// dimension with 16-byte vectors (several per lane for wide F), edge slots
// split short rows of narrow features across lanes. Edge indices are loaded
// once per chunk of `group` edges, coalesced, and broadcast with shuffles.
// Segments with very many edges go to the whole block (8 warps over
// interleaved chunks, merged through shared memory in a fixed order), so the
// result never depends on timing: no atomics.
#include "cuda_utils.cuh"
#include "spmm_cuda.h"

namespace graphcl {
namespace cuda {

const char* error_string(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

namespace {

using namespace detail;

// Sorts after every CSR position, so a real edge wins ties against "none".
template <typename pos_t>
__device__ __forceinline__ pos_t no_edge();
template <>
__device__ __forceinline__ int32_t no_edge<int32_t>() { return INT32_MAX; }
template <>
__device__ __forceinline__ int64_t no_edge<int64_t>() { return INT64_MAX; }

// Running reduction of NE output elements held by one lane. Positions are
// kept in the index type: int32 graphs have fewer than 2^31 edges, and the
// halved registers matter for wide half-precision tiles.
template <Reduce R, typename acc_t, typename pos_t, int NE>
struct Partial {
  acc_t v[NE];
  pos_t a[NE];  // CSR position of the selected edge (Max/Min only)

  __device__ __forceinline__ void init() {
#pragma unroll
    for (int i = 0; i < NE; ++i) {
      v[i] = R == Reduce::Max ? -pos_inf<acc_t>() : (R == Reduce::Min ? pos_inf<acc_t>() : acc_t(0));
      a[i] = no_edge<pos_t>();
    }
  }

  // The selection rule of the CPU kernel, made order-independent so that
  // partials over any split of a segment merge to the same result: NaN
  // propagates as in torch.amax/amin (a NaN beats every number, and of two
  // NaNs the earlier position wins, so the first NaN of the segment is
  // selected); among numbers, strictly better or equal and earlier wins (the
  // first of equal values). One `x != x` test per element on the NaN-free path.
  __device__ __forceinline__ static bool beats(acc_t x, pos_t e, acc_t best, pos_t best_e) {
    const bool x_nan = x != x, best_nan = best != best;
    if (x_nan || best_nan) return x_nan && (!best_nan || e < best_e);
    return (R == Reduce::Max ? x > best : x < best) || (x == best && e < best_e);
  }

  // Edges reach one lane in increasing CSR order; the initial partial
  // (+-inf, no_edge) loses to any real edge, -inf included (equal value,
  // earlier position).
  __device__ __forceinline__ void add(int i, acc_t x, pos_t e) {
    if constexpr (R == Reduce::Sum) {
      v[i] += x;
    } else {
      if (beats(x, e, v[i], a[i])) {
        v[i] = x;
        a[i] = e;
      }
    }
  }

  // Merge of a partial over other edges of the same segment.
  __device__ __forceinline__ void merge(int i, acc_t x, pos_t e) { add(i, x, e); }
};

// Forward: the value of CSR edge e is w[e] * x[col[e], :].
template <typename scalar_t_, typename index_t_, int VEC>
struct ForwardGather {
  using scalar_t = scalar_t_;
  using index_t = index_t_;
  using acc_t = acc_type<scalar_t>;
  using IO = VecIO<scalar_t, VEC>;
  struct Edge {
    index_t src;
    acc_t w;
  };
  struct Fetch {
    typename IO::raw_t raw;
  };

  const index_t* __restrict__ col;  // nullptr: col[e] = e
  const scalar_t* __restrict__ weight;
  const scalar_t* __restrict__ x;
  int64_t F;

  __device__ __forceinline__ Edge load_edge(int64_t e) const {
    Edge ed;
    ed.src = col != nullptr ? static_cast<index_t>(load_index(col + e)) : static_cast<index_t>(e);
    ed.w = weight != nullptr ? load_acc(weight + e) : acc_t(1);
    return ed;
  }
  __device__ __forceinline__ Edge bcast(const Edge& ed, int src_lane, unsigned mask) const {
    Edge o;
    o.src = detail::shfl(mask, ed.src, src_lane);
    o.w = weight != nullptr ? detail::shfl(mask, ed.w, src_lane) : acc_t(1);
    return o;
  }
  __device__ __forceinline__ void fetch(const Edge& ed, int64_t vec, Fetch& f) const {
    f.raw = IO::load(x + static_cast<int64_t>(ed.src) * F + vec * VEC);
  }
  __device__ __forceinline__ void value(const Edge& ed, const Fetch& f, acc_t (&o)[VEC]) const {
    IO::unpack(f.raw, o);
    if (weight != nullptr) {
#pragma unroll
      for (int t = 0; t < VEC; ++t) o[t] *= ed.w;
    }
  }
};

// Backward of max/min over the CSC: the value of CSC edge k (CSR position
// e = perm[k], row i = csc_row[k]) at feature f is w[e] * grad_out[i, f] when
// the forward selected e for (i, f), else 0.
template <typename scalar_t_, typename index_t_, int VEC>
struct ArgBackwardGather {
  using scalar_t = scalar_t_;
  using index_t = index_t_;
  using acc_t = acc_type<scalar_t>;
  using IO = VecIO<scalar_t, VEC>;
  struct Edge {
    index_t row;
    index_t pos;  // CSR position
    acc_t w;
  };
  // Bit t of `match`: the forward selected this edge for element t. Keeping
  // bits instead of the VEC int64 args keeps the batched fetches in registers.
  struct Fetch {
    unsigned match;
    typename IO::raw_t raw;
  };

  const index_t* __restrict__ csc_row;
  const index_t* __restrict__ csc_perm;
  const scalar_t* __restrict__ weight;
  const int64_t* __restrict__ arg;
  const scalar_t* __restrict__ grad_out;
  int64_t F;

  __device__ __forceinline__ Edge load_edge(int64_t k) const {
    Edge ed;
    ed.row = static_cast<index_t>(load_index(csc_row + k));
    ed.pos = static_cast<index_t>(load_index(csc_perm + k));
    ed.w = weight != nullptr ? load_acc(weight + static_cast<int64_t>(ed.pos)) : acc_t(1);
    return ed;
  }
  __device__ __forceinline__ Edge bcast(const Edge& ed, int src_lane, unsigned mask) const {
    Edge o;
    o.row = detail::shfl(mask, ed.row, src_lane);
    o.pos = detail::shfl(mask, ed.pos, src_lane);
    o.w = weight != nullptr ? detail::shfl(mask, ed.w, src_lane) : acc_t(1);
    return o;
  }
  __device__ __forceinline__ void fetch(const Edge& ed, int64_t vec, Fetch& f) const {
    const int64_t off = static_cast<int64_t>(ed.row) * F + vec * VEC;
    int64_t a[VEC];
    load_i64<VEC>(arg + off, a);
    f.match = 0;
#pragma unroll
    for (int t = 0; t < VEC; ++t)
      f.match |= static_cast<unsigned>(a[t] == static_cast<int64_t>(ed.pos)) << t;
    // Usually only a few in-edges of a column were selected: skip the
    // grad_out traffic of the others.
    f.raw = f.match != 0 ? IO::load(grad_out + off) : IO::zero();
  }
  __device__ __forceinline__ void value(const Edge& ed, const Fetch& f, acc_t (&o)[VEC]) const {
    IO::unpack(f.raw, o);
#pragma unroll
    for (int t = 0; t < VEC; ++t)
      o[t] = (f.match >> t) & 1u ? o[t] * ed.w : acc_t(0);
  }
};

// Reduces, into this lane's `part`, the edges of [eb, ee) that fall to its
// edge slot, for the NV vectors vec0 + k*fl + g it owns. The group walks
// chunks of `group` edges: chunk0, chunk0 + chunk_step, ... (the light path
// uses 0, 1; on the block path warp w takes chunks w, w + 8, ...).
template <class P, Reduce R, int VEC, int NV, class Part>
__device__ __forceinline__ void gather_tile(const P& p, int64_t eb, int64_t ee, int64_t chunk0,
                                            int64_t chunk_step, int64_t vec0, int64_t nvec,
                                            int lane_in_group, int group_base, int group_log2,
                                            int fl_log2, unsigned mask, Part& part) {
  using Edge = typename P::Edge;
  using Fetch = typename P::Fetch;
  using acc_t = typename P::acc_t;
  using pos_t = typename P::index_t;
  // Loads in flight per lane stay at kUnroll vectors whatever NV is.
  constexpr int U = kUnroll / NV;
  const int group = 1 << group_log2;
  const int es_log2 = group_log2 - fl_log2;
  const int g = lane_in_group & ((1 << fl_log2) - 1);
  const int s = lane_in_group >> fl_log2;
  int64_t vidx[NV];
  bool vok[NV];
#pragma unroll
  for (int k = 0; k < NV; ++k) {
    vidx[k] = vec0 + (int64_t(k) << fl_log2) + g;
    vok[k] = vidx[k] < nvec;
  }

  const int64_t step = chunk_step << group_log2;
  int64_t base = eb + (chunk0 << group_log2);
  // The next chunk's edge data is requested before the current chunk is
  // reduced, so its latency overlaps the gathers.
  Edge next{};
  if (base + lane_in_group < ee) next = p.load_edge(base + lane_in_group);
  for (; base < ee; base += step) {
    const Edge mine = next;
    if (base + step + lane_in_group < ee) next = p.load_edge(base + step + lane_in_group);
    const int cnt = static_cast<int>(ee - base < group ? ee - base : group);
    // Sub-step q gives slot s the chunk's edge q*es + s (held by that lane).
    const int steps = (cnt + (1 << es_log2) - 1) >> es_log2;
    for (int q0 = 0; q0 < steps; q0 += U) {
      Edge ed[U];
      int local[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        local[u] = ((q0 + u) << es_log2) + s;
        // Every lane of the group shuffles (trip counts are group-uniform);
        // past the chunk's end the source wraps and the result is unused.
        ed[u] = p.bcast(mine, group_base + (local[u] & (group - 1)), mask);
      }
      // All loads of the batch are issued before any is consumed.
      Fetch f[U][NV];
#pragma unroll
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int k = 0; k < NV; ++k)
          if (local[u] < cnt && vok[k]) p.fetch(ed[u], vidx[k], f[u][k]);
#pragma unroll
      for (int u = 0; u < U; ++u) {
        if (local[u] >= cnt) continue;
        const pos_t e = static_cast<pos_t>(base + local[u]);
#pragma unroll
        for (int k = 0; k < NV; ++k) {
          if (!vok[k]) continue;
          acc_t xv[VEC];
          p.value(ed[u], f[u][k], xv);
#pragma unroll
          for (int t = 0; t < VEC; ++t) part.add(k * VEC + t, xv[t], e);
        }
      }
    }
  }
}

// Butterfly merge over the edge slots of a group: slot lanes with the same
// feature lane differ by multiples of fl, so xor offsets fl..group/2 suffice.
template <Reduce R, int NE, class Part>
__device__ __forceinline__ void merge_slots(Part& part, int fl, int group, unsigned mask) {
  for (int off = fl; off < group; off <<= 1) {
#pragma unroll
    for (int i = 0; i < NE; ++i) {
      const auto ov = shfl_xor(mask, part.v[i], off);
      auto oa = part.a[i];
      if constexpr (R != Reduce::Sum) oa = shfl_xor(mask, part.a[i], off);
      part.merge(i, ov, oa);
    }
  }
}

template <Reduce R, int VEC, int NV, typename scalar_t, class Part>
__device__ __forceinline__ void write_tile(const Part& part, scalar_t* __restrict__ out,
                                           int64_t* __restrict__ arg, int64_t row, int64_t F,
                                           int64_t first_vec, int fl, int64_t nvec, int64_t deg,
                                           int64_t empty_arg, bool mean) {
  using acc_t = acc_type<scalar_t>;
  const acc_t scale = mean && deg > 0 ? acc_t(1) / static_cast<acc_t>(deg) : acc_t(1);
#pragma unroll
  for (int k = 0; k < NV; ++k) {
    const int64_t v = first_vec + int64_t(k) * fl;
    if (v >= nvec) break;
    acc_t o[VEC];
    int64_t a[VEC];
#pragma unroll
    for (int t = 0; t < VEC; ++t) {
      const int i = k * VEC + t;
      if constexpr (R == Reduce::Sum) {
        o[t] = mean ? part.v[i] * scale : part.v[i];
        a[t] = 0;
      } else {
        o[t] = deg > 0 ? part.v[i] : acc_t(0);
        a[t] = deg > 0 ? static_cast<int64_t>(part.a[i]) : empty_arg;
      }
    }
    const int64_t off = row * F + v * VEC;
    VecIO<scalar_t, VEC>::store(out + off, o);
    if constexpr (R != Reduce::Sum) {
      if (arg != nullptr) store_i64<VEC>(arg + off, a);
    }
  }
}

// One kernel for both ops. A block owns kBlockThreads >> group_log2
// consecutive segments per grid-stride step: light ones are done by their
// group, heavy ones afterwards by the whole block, one after the other.
template <class P, Reduce R, int VEC, int NV>
__global__ void __launch_bounds__(kBlockThreads, kMinBlocksPerSM)
    segment_gather_kernel(const P p, const typename P::index_t* __restrict__ ptr,
                          typename P::scalar_t* __restrict__ out, int64_t* __restrict__ arg,
                          int64_t num_segments, int64_t F, int64_t nvec, int64_t empty_arg,
                          int fl_log2, int es_log2, int64_t heavy_threshold, bool mean) {
  using acc_t = typename P::acc_t;
  constexpr int NE = NV * VEC;
  constexpr bool kArg = R != Reduce::Sum;
  using pos_t = typename P::index_t;
  using Part = Partial<R, acc_t, pos_t, NE>;
  // Block-path merge tree: at most kBlockWarps/2 warps publish at a time.
  __shared__ acc_t s_val[kBlockWarps / 2][NE][kWarpSize];
  __shared__ pos_t s_arg[kArg ? kBlockWarps / 2 : 1][kArg ? NE : 1][kWarpSize];
  __shared__ int s_count[kBlockWarps];
  __shared__ int s_list[kBlockThreads];

  const int lane = threadIdx.x & (kWarpSize - 1);
  const int warp = threadIdx.x / kWarpSize;
  const int fl = 1 << fl_log2;
  const int group_log2 = fl_log2 + es_log2;
  const int group = 1 << group_log2;
  const int lane_in_group = lane & (group - 1);
  const int group_in_block = threadIdx.x >> group_log2;
  const unsigned mask = group_mask(group, lane);
  const int64_t per_block = kBlockThreads >> group_log2;
  const int64_t tile = int64_t(NV) << fl_log2;

  for (int64_t first = blockIdx.x * per_block; first < num_segments;
       first += static_cast<int64_t>(gridDim.x) * per_block) {
    const int64_t seg = first + group_in_block;
    bool heavy = false;
    if (seg < num_segments) {
      const int64_t eb = load_index(ptr + seg), ee = load_index(ptr + seg + 1);
      heavy = ee - eb > heavy_threshold;
      if (!heavy) {
        for (int64_t vec0 = 0; vec0 < nvec; vec0 += tile) {
          Part part;
          part.init();
          gather_tile<P, R, VEC, NV>(p, eb, ee, 0, 1, vec0, nvec, lane_in_group,
                                     lane - lane_in_group, group_log2, fl_log2, mask, part);
          merge_slots<R, NE>(part, fl, group, mask);
          if (lane_in_group < fl)
            write_tile<R, VEC, NV>(part, out, arg, seg, F, vec0 + lane_in_group, fl, nvec, ee - eb,
                                   empty_arg, mean);
        }
      }
    }

    const int num_heavy = collect_heavy(heavy && lane_in_group == 0, group_in_block, s_count, s_list);
    for (int h = 0; h < num_heavy; ++h) {
      const int64_t hseg = first + s_list[h];
      const int64_t eb = load_index(ptr + hseg), ee = load_index(ptr + hseg + 1);
      for (int64_t vec0 = 0; vec0 < nvec; vec0 += tile) {
        Part part;
        part.init();
        // Whole warps here: es = 32 / fl slots per warp, 8 warps interleaved.
        gather_tile<P, R, VEC, NV>(p, eb, ee, warp, kBlockWarps, vec0, nvec, lane, 0, 5, fl_log2,
                                   kFullMask, part);
        merge_slots<R, NE>(part, fl, kWarpSize, kFullMask);
        // Lanes < fl (slot 0) now hold the warp's partial. Fold warps
        // [half, 2*half) onto [0, half): a fixed tree, so Sum is deterministic.
        for (int half = kBlockWarps / 2; half >= 1; half >>= 1) {
          if (warp >= half && warp < 2 * half && lane < fl) {
#pragma unroll
            for (int i = 0; i < NE; ++i) {
              s_val[warp - half][i][lane] = part.v[i];
              if constexpr (kArg) s_arg[warp - half][i][lane] = part.a[i];
            }
          }
          __syncthreads();
          if (warp < half && lane < fl) {
#pragma unroll
            for (int i = 0; i < NE; ++i) {
              pos_t oa = 0;
              if constexpr (kArg) oa = s_arg[warp][i][lane];
              part.merge(i, s_val[warp][i][lane], oa);
            }
          }
          __syncthreads();
        }
        if (warp == 0 && lane < fl)
          write_tile<R, VEC, NV>(part, out, arg, hseg, F, vec0 + lane, fl, nvec, ee - eb, empty_arg,
                                 mean);
      }
    }
  }
}

template <class P, Reduce R, int VEC, int NV>
int launch_gather(const P& p, const typename P::index_t* ptr, typename P::scalar_t* out,
                  int64_t* arg, int64_t num_segments, int64_t F, int64_t empty_arg, const Layout& l,
                  bool mean, cudaStream_t stream) {
  const int group_log2 = l.fl_log2 + l.es_log2;
  const int64_t heavy_threshold = kHeavyStepsPerSlot << l.es_log2;
  const unsigned grid = grid_for(num_segments, kBlockThreads >> group_log2);
  segment_gather_kernel<P, R, VEC, NV><<<grid, kBlockThreads, 0, stream>>>(
      p, ptr, out, arg, num_segments, F, l.nvec, empty_arg, l.fl_log2, l.es_log2, heavy_threshold,
      mean);
  return static_cast<int>(cudaGetLastError());
}

// Picks the vector width and lanes-per-lane count; P is a policy template.
template <template <typename, typename, int> class P, typename scalar_t, typename index_t,
          Reduce R, class MakePolicy>
int launch_any_width(MakePolicy make, const index_t* ptr, scalar_t* out, int64_t* arg,
                     int64_t num_segments, int64_t F, int64_t empty_arg, const Layout& l, bool mean,
                     cudaStream_t stream) {
  constexpr int V = ScalarTraits<scalar_t>::kVec;
  if (l.vectorized) {
    const P<scalar_t, index_t, V> p = make(P<scalar_t, index_t, V>{});
    return l.nv == 2 ? launch_gather<P<scalar_t, index_t, V>, R, V, 2>(p, ptr, out, arg, num_segments,
                                                                         F, empty_arg, l, mean, stream)
                     : launch_gather<P<scalar_t, index_t, V>, R, V, 1>(p, ptr, out, arg, num_segments,
                                                                         F, empty_arg, l, mean, stream);
  }
  const P<scalar_t, index_t, 1> p = make(P<scalar_t, index_t, 1>{});
  return l.nv == 2 ? launch_gather<P<scalar_t, index_t, 1>, R, 1, 2>(p, ptr, out, arg, num_segments, F,
                                                                      empty_arg, l, mean, stream)
                   : launch_gather<P<scalar_t, index_t, 1>, R, 1, 1>(p, ptr, out, arg, num_segments, F,
                                                                      empty_arg, l, mean, stream);
}

}  // namespace

int spmm_forward(ScalarKind kind, bool index64, Reduce reduce, const void* rowptr, const void* col,
                 const void* weight, const void* x, void* out, int64_t* arg, int64_t num_rows,
                 int64_t num_edges, int64_t num_features, void* stream) {
  if (num_rows <= 0 || num_features <= 0) return 0;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  return dispatch_scalar(kind, [&](auto stag) {
    using scalar_t = typename decltype(stag)::type;
    return dispatch_index(index64, [&](auto itag) {
      using index_t = typename decltype(itag)::type;
      constexpr int V = ScalarTraits<scalar_t>::kVec;
      const bool is_arg = reduce == Reduce::Max || reduce == Reduce::Min;
      const bool vectorized = num_features % V == 0 && aligned16(x) && aligned16(out) &&
                              (!is_arg || arg == nullptr || aligned16(arg));
      const Layout l = choose_layout(vectorized, V, num_features, num_edges / num_rows);
      auto make = [&](auto policy) {
        policy.col = static_cast<const index_t*>(col);
        policy.weight = static_cast<const scalar_t*>(weight);
        policy.x = static_cast<const scalar_t*>(x);
        policy.F = num_features;
        return policy;
      };
      const index_t* rp = static_cast<const index_t*>(rowptr);
      scalar_t* o = static_cast<scalar_t*>(out);
      switch (reduce) {
        case Reduce::Sum:
        case Reduce::Mean:
          return launch_any_width<ForwardGather, scalar_t, index_t, Reduce::Sum>(
              make, rp, o, nullptr, num_rows, num_features, num_edges, l, reduce == Reduce::Mean, st);
        case Reduce::Max:
          return launch_any_width<ForwardGather, scalar_t, index_t, Reduce::Max>(
              make, rp, o, arg, num_rows, num_features, num_edges, l, false, st);
        case Reduce::Min:
          return launch_any_width<ForwardGather, scalar_t, index_t, Reduce::Min>(
              make, rp, o, arg, num_rows, num_features, num_edges, l, false, st);
      }
      return static_cast<int>(cudaErrorInvalidValue);
    });
  });
}

int spmm_arg_backward(ScalarKind kind, bool index64, const void* colptr, const void* csc_row,
                      const void* csc_perm, const void* weight, const int64_t* arg,
                      const void* grad_out, void* grad_x, int64_t num_cols, int64_t num_features,
                      void* stream) {
  if (num_cols <= 0 || num_features <= 0) return 0;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  return dispatch_scalar(kind, [&](auto stag) {
    using scalar_t = typename decltype(stag)::type;
    return dispatch_index(index64, [&](auto itag) {
      using index_t = typename decltype(itag)::type;
      constexpr int V = ScalarTraits<scalar_t>::kVec;
      const bool vectorized = num_features % V == 0 && aligned16(grad_out) && aligned16(grad_x) &&
                              aligned16(arg);
      // The edge count is not passed: assume ~8 edges per column for the
      // narrow-feature layout (it only affects speed).
      const Layout l = choose_layout(vectorized, V, num_features, 8);
      auto make = [&](auto policy) {
        policy.csc_row = static_cast<const index_t*>(csc_row);
        policy.csc_perm = static_cast<const index_t*>(csc_perm);
        policy.weight = static_cast<const scalar_t*>(weight);
        policy.arg = arg;
        policy.grad_out = static_cast<const scalar_t*>(grad_out);
        policy.F = num_features;
        return policy;
      };
      return launch_any_width<ArgBackwardGather, scalar_t, index_t, Reduce::Sum>(
          make, static_cast<const index_t*>(colptr), static_cast<scalar_t*>(grad_x), nullptr, num_cols,
          num_features, 0, l, false, st);
    });
  });
}

}  // namespace cuda
}  // namespace graphcl
