/* tg.h — the pure C ABI of libtgshim.so, the only header the Go package sees.
 *
 * Rules (see torch/shim/tg_internal.h for the C++ side):
 *   - Handles are opaque; every function that yields a tensor writes a fresh handle the caller owns
 *     and frees with tg_free / tg_free_n. NULL stands for an undefined tensor.
 *   - Fallible functions return tg_error (NULL on success). No C++ exception crosses this boundary.
 *   - In-place functions (trailing underscore) mint no new handle.
 *   - Inputs first, outputs last. Int lists are (pointer, length) pairs.
 */
#ifndef TG_H
#define TG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_ABI_VERSION 4
#define TG_API __attribute__((visibility("default")))

typedef struct tg_tensor_s *tg_tensor;
typedef struct tg_error_s *tg_error;
typedef struct tg_generator_s *tg_generator;

/* dtypes (project numbering, translated explicitly in the shim) */
enum { TG_U8 = 0, TG_I32 = 1, TG_I64 = 2, TG_F16 = 3, TG_BF16 = 4, TG_F32 = 5, TG_F64 = 6, TG_BOOL = 7 };
/* devices: -1 = CPU, i >= 0 = CUDA device i */
#define TG_CPU (-1)
/* error kinds */
enum { TG_ERR_OTHER = 0, TG_ERR_OOM = 1, TG_ERR_INDEX = 2, TG_ERR_VALUE = 3, TG_ERR_NOTIMPL = 4 };

/* identity of the loaded shim */
TG_API int tg_abi_version(void);
TG_API const char *tg_torch_version(void); /* TORCH_VERSION of the headers the shim was built with */

/* errors */
TG_API int tg_error_kind(tg_error e);
TG_API const char *tg_error_msg(tg_error e);
TG_API void tg_error_free(tg_error e);

/* lifetime */
TG_API void tg_free(tg_tensor t);
TG_API void tg_free_n(const tg_tensor *ts, int n);
TG_API int64_t tg_live_tensors(void);

/* metadata in one call */
#define TG_MAX_DIMS 8
typedef struct {
  int32_t ndim, dtype, device, requires_grad, is_leaf, channels_last;
  int64_t shape[TG_MAX_DIMS];
} tg_meta;
TG_API tg_error tg_meta_of(tg_tensor t, tg_meta *out);

/* creation and host transfer (always copies; never aliases Go memory) */
TG_API tg_error tg_from_host(const void *src, int dtype, const int64_t *shape, int nd, int device, tg_tensor *out);
TG_API tg_error tg_to_host(tg_tensor t, void *dst, size_t nbytes);
TG_API tg_error tg_full(const int64_t *shape, int nd, double value, int dtype, int device, tg_tensor *out);
TG_API tg_error tg_arange(double start, double end, double step, int dtype, int device, tg_tensor *out);
TG_API tg_error tg_eye(int64_t n, int dtype, int device, tg_tensor *out);
TG_API tg_error tg_item(tg_tensor t, double *out);

/* random generators: seeded, one per stream; state for exact resume */
TG_API tg_error tg_generator_new(int device, uint64_t seed, tg_generator *out);
TG_API void tg_generator_free(tg_generator g);
TG_API tg_error tg_generator_get_state(tg_generator g, tg_tensor *out);
TG_API tg_error tg_generator_set_state(tg_generator g, tg_tensor state);
TG_API tg_error tg_manual_seed(uint64_t seed);
enum { TG_RAND_NORMAL = 0, TG_RAND_UNIFORM = 1 };
/* g may be NULL (global generator). normal: (a=mean, b=std); uniform: [a, b). */
TG_API tg_error tg_rand(int kind, const int64_t *shape, int nd, double a, double b, tg_generator g, int dtype,
                        int device, tg_tensor *out);
TG_API tg_error tg_randint(int64_t low, int64_t high, const int64_t *shape, int nd, tg_generator g, int device,
                           tg_tensor *out);
TG_API tg_error tg_randperm(int64_t n, tg_generator g, int device, tg_tensor *out);
TG_API tg_error tg_bernoulli(tg_tensor probs, tg_generator g, tg_tensor *out);
TG_API tg_error tg_rand_(int kind, tg_tensor t, double a, double b, tg_generator g); /* in place */

/* pointwise unary ops */
enum {
  TG_U_NEG, TG_U_EXP, TG_U_LOG, TG_U_SQRT, TG_U_RSQRT, TG_U_ABS, TG_U_RELU, TG_U_SIGMOID, TG_U_TANH,
  TG_U_SQUARE, TG_U_SIN, TG_U_COS, TG_U_SIGN, TG_U_FLOOR, TG_U_ROUND, TG_U_RECIPROCAL, TG_U_LOGICAL_NOT,
  TG_U_ISFINITE, TG_U_LOG1P
};
TG_API tg_error tg_unary(int op, tg_tensor a, tg_tensor *out);
TG_API tg_error tg_unary_(int op, tg_tensor a);

/* pointwise binary ops with broadcasting; alpha scales b for ADD/SUB */
enum {
  TG_B_ADD, TG_B_SUB, TG_B_MUL, TG_B_DIV, TG_B_POW, TG_B_MAXIMUM, TG_B_MINIMUM, TG_B_EQ, TG_B_NE, TG_B_LT,
  TG_B_LE, TG_B_GT, TG_B_GE, TG_B_LOGICAL_AND, TG_B_LOGICAL_OR, TG_B_ATAN2, TG_B_REMAINDER
};
TG_API tg_error tg_binary(int op, tg_tensor a, tg_tensor b, double alpha, tg_tensor *out);
TG_API tg_error tg_binary_(int op, tg_tensor a, tg_tensor b, double alpha);
/* tensor ∘ scalar, and for SUB/DIV/POW with swap=1 the scalar on the left */
TG_API tg_error tg_binary_scalar(int op, tg_tensor a, double s, int swap, tg_tensor *out);
TG_API tg_error tg_binary_scalar_(int op, tg_tensor a, double s);

TG_API tg_error tg_clamp(tg_tensor a, double lo, double hi, int has_lo, int has_hi, tg_tensor *out);
TG_API tg_error tg_where(tg_tensor cond, tg_tensor a, tg_tensor b, tg_tensor *out);
TG_API tg_error tg_masked_fill(tg_tensor a, tg_tensor mask, double value, tg_tensor *out);
TG_API tg_error tg_lerp(tg_tensor a, tg_tensor b, tg_tensor w, tg_tensor *out);

/* linear algebra */
TG_API tg_error tg_matmul(tg_tensor a, tg_tensor b, tg_tensor *out);

/* reductions over dims (nd == 0 means all dims) */
enum { TG_R_SUM, TG_R_MEAN, TG_R_AMAX, TG_R_AMIN, TG_R_LOGSUMEXP, TG_R_NORM2, TG_R_VAR, TG_R_STD, TG_R_ARGMAX, TG_R_PROD };
/* correction applies to VAR/STD (0 = population, 1 = unbiased). ARGMAX takes exactly one dim. */
TG_API tg_error tg_reduce(int op, tg_tensor a, const int64_t *dims, int nd, int keepdim, int64_t correction,
                          tg_tensor *out);

/* shape and indexing */
TG_API tg_error tg_reshape(tg_tensor a, const int64_t *shape, int nd, tg_tensor *out);
TG_API tg_error tg_permute(tg_tensor a, const int64_t *dims, int nd, tg_tensor *out);
TG_API tg_error tg_transpose(tg_tensor a, int64_t d0, int64_t d1, tg_tensor *out);
TG_API tg_error tg_expand(tg_tensor a, const int64_t *shape, int nd, tg_tensor *out);
TG_API tg_error tg_repeat(tg_tensor a, const int64_t *reps, int nd, tg_tensor *out);
TG_API tg_error tg_squeeze(tg_tensor a, int64_t dim, tg_tensor *out);
TG_API tg_error tg_unsqueeze(tg_tensor a, int64_t dim, tg_tensor *out);
TG_API tg_error tg_flatten(tg_tensor a, int64_t start, int64_t end, tg_tensor *out);
TG_API tg_error tg_narrow(tg_tensor a, int64_t dim, int64_t start, int64_t length, tg_tensor *out);
TG_API tg_error tg_slice(tg_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step, tg_tensor *out);
TG_API tg_error tg_select(tg_tensor a, int64_t dim, int64_t index, tg_tensor *out);
TG_API tg_error tg_index_select(tg_tensor a, int64_t dim, tg_tensor index, tg_tensor *out);
TG_API tg_error tg_gather(tg_tensor a, int64_t dim, tg_tensor index, tg_tensor *out);
TG_API tg_error tg_cat(const tg_tensor *ts, int n, int64_t dim, tg_tensor *out);
TG_API tg_error tg_stack(const tg_tensor *ts, int n, int64_t dim, tg_tensor *out);
TG_API tg_error tg_flip(tg_tensor a, const int64_t *dims, int nd, tg_tensor *out);
TG_API tg_error tg_diagonal(tg_tensor a, int64_t offset, int64_t d0, int64_t d1, tg_tensor *out);
TG_API tg_error tg_diag_embed(tg_tensor a, tg_tensor *out);
TG_API tg_error tg_contiguous(tg_tensor a, int channels_last, tg_tensor *out);
TG_API tg_error tg_clone(tg_tensor a, tg_tensor *out);
TG_API tg_error tg_to(tg_tensor a, int device, int dtype, int non_blocking, tg_tensor *out);

/* in-place helpers */
TG_API tg_error tg_copy_(tg_tensor dst, tg_tensor src);
TG_API tg_error tg_fill_(tg_tensor t, double value);
TG_API tg_error tg_set_data(tg_tensor t, tg_tensor data);

/* neural-network functional ops */
TG_API tg_error tg_conv2d(tg_tensor x, tg_tensor w, tg_tensor b, const int64_t stride[2], const int64_t pad[2],
                          const int64_t dil[2], int64_t groups, tg_tensor *out);
TG_API tg_error tg_batch_norm(tg_tensor x, tg_tensor w, tg_tensor b, tg_tensor rm, tg_tensor rv, int training,
                              double momentum, double eps, tg_tensor *out);
TG_API tg_error tg_max_pool2d(tg_tensor x, const int64_t k[2], const int64_t stride[2], const int64_t pad[2],
                              tg_tensor *out);
TG_API tg_error tg_avg_pool2d(tg_tensor x, const int64_t k[2], const int64_t stride[2], const int64_t pad[2],
                              tg_tensor *out);
TG_API tg_error tg_adaptive_avg_pool2d(tg_tensor x, int64_t oh, int64_t ow, tg_tensor *out);
TG_API tg_error tg_linear(tg_tensor x, tg_tensor w, tg_tensor b, tg_tensor *out);
TG_API tg_error tg_softmax(tg_tensor x, int64_t dim, int log, tg_tensor *out);
/* reduction: 0 none, 1 mean, 2 sum */
TG_API tg_error tg_cross_entropy(tg_tensor logits, tg_tensor target, int reduction, double label_smoothing,
                                 tg_tensor *out);
TG_API tg_error tg_upsample_bilinear(tg_tensor x, int64_t oh, int64_t ow, int align_corners, tg_tensor *out);
TG_API tg_error tg_affine_grid(tg_tensor theta, const int64_t *size, int nd, int align_corners, tg_tensor *out);
/* mode 0 bilinear, 1 nearest; padding 0 zeros, 1 border, 2 reflection */
TG_API tg_error tg_grid_sample(tg_tensor x, tg_tensor grid, int mode, int padding, int align_corners,
                               tg_tensor *out);

/* autograd and thread-local modes */
TG_API tg_error tg_requires_grad_(tg_tensor t, int on);
TG_API tg_error tg_backward(tg_tensor loss, tg_tensor grad_or_null);
TG_API tg_error tg_grad(tg_tensor t, tg_tensor *out); /* *out = NULL if undefined */
TG_API tg_error tg_set_grad(tg_tensor t, tg_tensor grad_or_null);
TG_API tg_error tg_detach(tg_tensor t, tg_tensor *out);
TG_API int tg_set_grad_enabled(int on); /* returns the previous state */
TG_API int tg_grad_enabled(void);
/* autocast for device type 0 = CPU, 1 = CUDA; returns an opaque previous-state token for tg_autocast_exit */
TG_API tg_error tg_autocast_enter(int device_type, int dtype, int64_t *prev);
TG_API tg_error tg_autocast_exit(int device_type, int64_t prev);
TG_API int tg_autocast_enabled(int device_type);

/* optimizers: Go owns parameters and state; one call per step. Gradients that are undefined are skipped. */
TG_API tg_error tg_sgd_step(const tg_tensor *params, const tg_tensor *bufs, int n, double lr, double momentum,
                            double dampening, double weight_decay, int nesterov, int first);
/* LARS as in Barlow Twins: params with lars_mask[i]==0 (biases, BN) skip weight decay and adaptation */
TG_API tg_error tg_lars_step(const tg_tensor *params, const tg_tensor *bufs, const uint8_t *lars_mask, int n,
                             double lr, double momentum, double weight_decay, double eta);
TG_API tg_error tg_adamw_step(const tg_tensor *params, const tg_tensor *exp_avg, const tg_tensor *exp_avg_sq, int n,
                              double lr, double beta1, double beta2, double eps, double weight_decay, int64_t step);
TG_API tg_error tg_zero_grad(const tg_tensor *params, int n); /* set_to_none in every libtorch version */
TG_API tg_error tg_grad_norm(const tg_tensor *params, int n, tg_tensor *out); /* total L2 norm of defined grads */
TG_API tg_error tg_clip_grad_(const tg_tensor *params, int n, tg_tensor total_norm, double max_norm);
/* Test reference: libtorch's own torch::optim optimiser (kind 0 SGD, 1 AdamW) for `steps` steps on the fixture loss
 * sum(0.1*p^3 + sin(p)); out receives n fresh tensors with the final parameters. */
TG_API tg_error tg_reference_optim(int kind, const tg_tensor *init, int n, int steps, double lr, double momentum,
                                   double dampening, double weight_decay, int nesterov, double beta1, double beta2,
                                   double eps, tg_tensor *out);

/* runtime */
TG_API void tg_set_num_threads(int n); /* also re-applies flush-denormal to the new thread pool */
/* Flush denormal floats to zero on the calling thread and every thread of its intra-op pool (CPU speed:
 * denormals can slow CPU kernels tenfold). Returns 0 where the CPU does not support it. */
TG_API int tg_set_flush_denormal(int on);
TG_API int tg_get_num_threads(void);
TG_API int tg_cuda_available(void);
TG_API int tg_cuda_device_count(void);
TG_API int tg_has_cuda_lib(void);
TG_API void tg_set_cudnn_benchmark(int on);
TG_API int tg_cudnn_benchmark(void);
TG_API void tg_set_deterministic(int on);
TG_API tg_error tg_cuda_synchronize(int device);

/* CUDA-only extras (tg_cuda.cc; the CPU stub returns TG_ERR_NOTIMPL). Bytes of the caching allocator. */
TG_API tg_error tg_cuda_memory(int device, int64_t *allocated, int64_t *reserved, int64_t *peak_allocated);
TG_API tg_error tg_cuda_reset_peak(int device);
/* CUDA sync debug mode, process-wide: 0 off, 1 warn, 2 error (any host-device synchronisation fails). */
TG_API tg_error tg_cuda_set_sync_debug(int mode);

/* Distributed (c10d): a process group over a TCPStore (tg_dist.cc where the shim is built with Gloo; the stub
 * otherwise returns TG_ERR_NOTIMPL). Every collective waits at most the group's timeout and fails with an
 * error, never hangs, when a peer is gone. */
typedef struct tg_dist_s *tg_dist;
enum { TG_DIST_GLOO = 1, TG_DIST_NCCL = 2 };
TG_API int tg_dist_backends(void); /* the TG_DIST_* bits this shim was built with */
TG_API tg_error tg_dist_init(const char *host, int port, int rank, int world, int64_t timeout_ms, int backend, tg_dist *out);
TG_API void tg_dist_free(tg_dist d);
TG_API tg_error tg_dist_all_reduce_sum(tg_dist d, tg_tensor t);              /* in place */
/* out = the sum over ranks of t, differentiable: its backward sums the incoming gradient over the ranks too */
TG_API tg_error tg_dist_all_reduce_sum_grad(tg_dist d, tg_tensor t, tg_tensor *out);
TG_API tg_error tg_dist_all_gather(tg_dist d, tg_tensor t, tg_tensor *out);  /* the ranks' tensors along dim 0 */
TG_API tg_error tg_dist_broadcast(tg_dist d, tg_tensor t, int root);        /* in place */
TG_API tg_error tg_dist_barrier(tg_dist d);
/* A gradient reducer (DDP's): buckets of at most bucket_bytes over params (leaves that require a gradient),
 * all-reduced from autograd hooks while the backward runs. After each backward, finish waits and leaves every
 * defined gradient averaged over the ranks. stats: buckets, launched (all steps), early (of which from a hook). */
typedef struct tg_reducer_s *tg_reducer;
TG_API tg_error tg_dist_reducer_new(tg_dist d, const tg_tensor *params, int n, int64_t bucket_bytes, tg_reducer *out);
TG_API tg_error tg_dist_reducer_finish(tg_reducer r);
TG_API void tg_dist_reducer_stats(tg_reducer r, int *buckets, int64_t *launched, int64_t *early);
TG_API void tg_dist_reducer_free(tg_reducer r);

#ifdef __cplusplus
}
#endif
#endif
