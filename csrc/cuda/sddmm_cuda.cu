// CUDA kernel of sddmm: out[e] = <a[i], b[col[e]]> for every CSR edge e of
// row i.
//
// A group of lanes owns a row (fl feature lanes x es edge slots, as in spmm):
// a[i] is read once into registers, each edge's b row is gathered with
// 16-byte loads, the per-lane partial dot products are summed with xor
// shuffles inside the slot, and the results of a chunk of edges are handed
// back to the lane that loaded the chunk's col entry so the store is
// coalesced. Rows with very many edges are split over the block's 8 warps;
// every edge has its own output, so nothing needs merging and no atomics.
#include "cuda_utils.cuh"
#include "sddmm_cuda.h"

namespace graphcl {
namespace cuda {
namespace {

using namespace detail;

// Edges of row `row` in [eb, ee), chunks chunk0, chunk0 + chunk_step, ... of
// `group` edges each.
template <typename scalar_t, typename index_t, int VEC, int NV>
__device__ __forceinline__ void sddmm_row(const index_t* __restrict__ col,
                                          const scalar_t* __restrict__ a,
                                          const scalar_t* __restrict__ b,
                                          scalar_t* __restrict__ out, int64_t row, int64_t eb,
                                          int64_t ee, int64_t chunk0, int64_t chunk_step, int64_t F,
                                          int64_t nvec, int lane_in_group, int group_base,
                                          int group_log2, int fl_log2, unsigned mask) {
  using acc_t = acc_type<scalar_t>;
  using IO = VecIO<scalar_t, VEC>;
  constexpr int U = kUnroll / NV;
  const int group = 1 << group_log2;
  const int fl = 1 << fl_log2;
  const int es_log2 = group_log2 - fl_log2;
  const int g = lane_in_group & (fl - 1);
  const int s = lane_in_group >> fl_log2;

  int64_t base = eb + (chunk0 << group_log2);
  if (base >= ee) return;  // group-uniform

  // This lane's share of a[row]: vectors k*fl + g (zero past the row end).
  const scalar_t* __restrict__ arow = a + row * F;
  int64_t vidx[NV];
  bool vok[NV];
  acc_t av[NV][VEC];
#pragma unroll
  for (int k = 0; k < NV; ++k) {
    vidx[k] = (int64_t(k) << fl_log2) + g;
    vok[k] = vidx[k] < nvec;
    if (vok[k]) {
      IO::unpack(IO::load(arow + vidx[k] * VEC), av[k]);
    } else {
#pragma unroll
      for (int t = 0; t < VEC; ++t) av[k][t] = acc_t(0);
    }
  }
  // Vectors beyond the register tile (F > 256 fp32) are read from a again per
  // edge; a's row stays in L1, b's gather dominates anyway.
  const int64_t reg_vecs = int64_t(NV) << fl_log2;

  const int64_t step = chunk_step << group_log2;
  index_t next = 0;
  if (base + lane_in_group < ee) next = static_cast<index_t>(load_index(col + base + lane_in_group));
  for (; base < ee; base += step) {
    const index_t mine = next;
    if (base + step + lane_in_group < ee)
      next = static_cast<index_t>(load_index(col + base + step + lane_in_group));
    const int cnt = static_cast<int>(ee - base < group ? ee - base : group);
    const int steps = (cnt + (1 << es_log2) - 1) >> es_log2;
    // Result for the chunk's edge `lane_in_group`, stored once per chunk.
    acc_t result = acc_t(0);
    for (int q0 = 0; q0 < steps; q0 += U) {
      index_t j[U];
      int local[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        local[u] = ((q0 + u) << es_log2) + s;
        j[u] = shfl(mask, mine, group_base + (local[u] & (group - 1)));
      }
      typename IO::raw_t rb[U][NV];
#pragma unroll
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int k = 0; k < NV; ++k)
          if (local[u] < cnt && vok[k])
            rb[u][k] = IO::load(b + static_cast<int64_t>(j[u]) * F + vidx[k] * VEC);
      acc_t dot[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        dot[u] = acc_t(0);
        if (local[u] >= cnt) continue;
#pragma unroll
        for (int k = 0; k < NV; ++k) {
          if (!vok[k]) continue;
          acc_t bv[VEC];
          IO::unpack(rb[u][k], bv);
#pragma unroll
          for (int t = 0; t < VEC; ++t) dot[u] += av[k][t] * bv[t];
        }
        if (reg_vecs < nvec) {
          const scalar_t* __restrict__ brow = b + static_cast<int64_t>(j[u]) * F;
          for (int64_t v = reg_vecs + g; v < nvec; v += fl) {
            acc_t x[VEC], y[VEC];
            IO::unpack(IO::load(arow + v * VEC), x);
            IO::unpack(IO::load(brow + v * VEC), y);
#pragma unroll
            for (int t = 0; t < VEC; ++t) dot[u] += x[t] * y[t];
          }
        }
      }
      // Sum over the fl feature lanes of each slot (they are contiguous and
      // fl-aligned, so xor offsets < fl stay inside the slot).
#pragma unroll
      for (int u = 0; u < U; ++u)
        for (int off = fl >> 1; off > 0; off >>= 1) dot[u] += shfl_xor(mask, dot[u], off);
      // Chunk edge l was done at sub-step l >> es_log2 by slot l & (es - 1);
      // every lane of that slot holds it, take the slot's first lane.
      const int src = group_base + ((lane_in_group & ((1 << es_log2) - 1)) << fl_log2);
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const acc_t r = shfl(mask, dot[u], src);
        if ((lane_in_group >> es_log2) == q0 + u) result = r;
      }
    }
    if (lane_in_group < cnt) store_acc(out + base + lane_in_group, result);
  }
}

template <typename scalar_t, typename index_t, int VEC, int NV>
__global__ void __launch_bounds__(kBlockThreads, kMinBlocksPerSM)
    sddmm_kernel(const index_t* __restrict__ rowptr, const index_t* __restrict__ col,
                 const scalar_t* __restrict__ a, const scalar_t* __restrict__ b,
                 scalar_t* __restrict__ out, int64_t num_rows, int64_t F, int64_t nvec, int fl_log2,
                 int es_log2, int64_t heavy_threshold) {
  __shared__ int s_count[kBlockWarps];
  __shared__ int s_list[kBlockThreads];
  const int lane = threadIdx.x & (kWarpSize - 1);
  const int warp = threadIdx.x / kWarpSize;
  const int group_log2 = fl_log2 + es_log2;
  const int group = 1 << group_log2;
  const int lane_in_group = lane & (group - 1);
  const int group_in_block = threadIdx.x >> group_log2;
  const unsigned mask = group_mask(group, lane);
  const int64_t per_block = kBlockThreads >> group_log2;

  for (int64_t first = blockIdx.x * per_block; first < num_rows;
       first += static_cast<int64_t>(gridDim.x) * per_block) {
    const int64_t row = first + group_in_block;
    bool heavy = false;
    if (row < num_rows) {
      const int64_t eb = load_index(rowptr + row), ee = load_index(rowptr + row + 1);
      heavy = ee - eb > heavy_threshold;
      if (!heavy)
        sddmm_row<scalar_t, index_t, VEC, NV>(col, a, b, out, row, eb, ee, 0, 1, F, nvec,
                                              lane_in_group, lane - lane_in_group, group_log2,
                                              fl_log2, mask);
    }
    const int num_heavy = collect_heavy(heavy && lane_in_group == 0, group_in_block, s_count, s_list);
    for (int h = 0; h < num_heavy; ++h) {
      const int64_t hrow = first + s_list[h];
      const int64_t eb = load_index(rowptr + hrow), ee = load_index(rowptr + hrow + 1);
      sddmm_row<scalar_t, index_t, VEC, NV>(col, a, b, out, hrow, eb, ee, warp, kBlockWarps, F, nvec,
                                            lane, 0, 5, fl_log2, kFullMask);
    }
  }
}

template <typename scalar_t, typename index_t, int VEC, int NV>
int launch(const void* rowptr, const void* col, const void* a, const void* b, void* out,
           int64_t num_rows, int64_t F, const Layout& l, cudaStream_t stream) {
  const int group_log2 = l.fl_log2 + l.es_log2;
  const int64_t heavy_threshold = kHeavyStepsPerSlot << l.es_log2;
  const unsigned grid = grid_for(num_rows, kBlockThreads >> group_log2);
  sddmm_kernel<scalar_t, index_t, VEC, NV><<<grid, kBlockThreads, 0, stream>>>(
      static_cast<const index_t*>(rowptr), static_cast<const index_t*>(col),
      static_cast<const scalar_t*>(a), static_cast<const scalar_t*>(b), static_cast<scalar_t*>(out),
      num_rows, F, l.nvec, l.fl_log2, l.es_log2, heavy_threshold);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int sddmm_forward(ScalarKind kind, bool index64, const void* rowptr, const void* col, const void* a,
                  const void* b, void* out, int64_t num_rows, int64_t num_edges,
                  int64_t num_features, void* stream) {
  if (num_rows <= 0 || num_edges <= 0) return 0;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  return dispatch_scalar(kind, [&](auto stag) {
    using scalar_t = typename decltype(stag)::type;
    if (num_features <= 0) {
      // An empty dot product is 0, and the output is not pre-filled; all
      // supported dtypes encode 0 as all-zero bits.
      cudaMemsetAsync(out, 0, static_cast<size_t>(num_edges) * sizeof(scalar_t), st);
      return static_cast<int>(cudaGetLastError());
    }
    return dispatch_index(index64, [&](auto itag) {
      using index_t = typename decltype(itag)::type;
      constexpr int V = ScalarTraits<scalar_t>::kVec;
      const bool vectorized = num_features % V == 0 && aligned16(a) && aligned16(b);
      const Layout l = choose_layout(vectorized, V, num_features, num_edges / num_rows);
      if (l.vectorized)
        return l.nv == 2 ? launch<scalar_t, index_t, V, 2>(rowptr, col, a, b, out, num_rows,
                                                            num_features, l, st)
                         : launch<scalar_t, index_t, V, 1>(rowptr, col, a, b, out, num_rows,
                                                            num_features, l, st);
      return l.nv == 2 ? launch<scalar_t, index_t, 1, 2>(rowptr, col, a, b, out, num_rows,
                                                          num_features, l, st)
                       : launch<scalar_t, index_t, 1, 1>(rowptr, col, a, b, out, num_rows,
                                                          num_features, l, st);
    });
  });
}

}  // namespace cuda
}  // namespace graphcl
