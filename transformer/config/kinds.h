// The kinds of parts the attention core and the blocks are built from, as plain enums without
// LibTorch, so that experiment files can be read and checked by a program that does not load it.
// Position schemes are not among them: each registers itself (config/position_scheme.h).
#pragma once

namespace qkv {

enum class NormKind { kLayerNorm, kRmsNorm };
// kGelu: x Phi(x) with the exact normal CDF; kGeluTanh: its tanh approximation (GPT-2, and
// Hugging Face's "gelu_new"); kSwiglu: the gated form (Shazeer 2020).
enum class Activation { kRelu, kGelu, kGeluTanh, kSwiglu };
// How attention is computed. kReference: qkv's own matmul-softmax-matmul (its causal softmax,
// dropout and Shaw kernels). kFused: at::scaled_dot_product_attention (LibTorch >= 2.0) wherever
// the scheme allows (not shaw, not when attention weights are asked for). kAuto: fused on a GPU,
// reference on the CPU, where LibTorch's fused CPU kernels measured several times slower.
enum class AttentionBackend { kAuto, kReference, kFused };

}  // namespace qkv
