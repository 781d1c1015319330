// Randomized positions (Ruoss et al. 2023): a sequence of T tokens takes a sorted random sample of
// T distinct positions from [0, L), L past the training length, in training and evaluation alike,
// so that every position and distance an evaluation at up to L tokens reads has been trained.
// Any scheme: it is asked for its embedding table or signals over 0..P (P the last sampled
// position), and the rows, angles and biases of the sampled positions are gathered from them.
// Biasing schemes form (1, H, P+1, P+1) scores: O(P^2) once per forward, shared by the layers.
#include "transformer/core/position.h"

#include <stdexcept>

#include <fmt/format.h>

namespace qkv {

torch::Tensor random_positions(int64_t n, int64_t range, torch::Device device, at::Generator* generator) {
  if (n > range) {
    throw std::invalid_argument(fmt::format(
        "randomized positions: {} tokens need {} distinct positions, but model.position.randomize is {}", n, n, range));
  }
  auto sample = generator ? torch::randperm(range, *generator, torch::kLong) : torch::randperm(range, torch::kLong);
  sample = sample.narrow(0, 0, n);
  return std::get<0>(sample.sort()).to(device);
}

namespace {

int64_t span_of(const torch::Tensor& positions) { return positions[-1].item<int64_t>() + 1; }

torch::Tensor rows(const torch::Tensor& t, const torch::Tensor& positions) {
  return t.defined() ? t.index_select(0, positions) : t;
}

}  // namespace

torch::Tensor embed_at(PositionSchemeImpl& scheme, torch::Tensor x, const torch::Tensor& positions) {
  if (!(scheme.options().config.spec().acts & kAddsToEmbeddings)) return x;
  // The scheme adds its rows 0..P to zeros: its table, whatever the scheme.
  auto table = scheme.embed(torch::zeros({1, span_of(positions), x.size(2)}, x.options()), 0);  // (1, P+1, C)
  return x + table.index_select(1, positions);
}

PositionSignals signals_at(PositionSchemeImpl& scheme, const torch::Tensor& positions, torch::Device device) {
  const int64_t span = span_of(positions);
  PositionSignals out = scheme.signals(span, 0, span, 0, device);
  out.cos = rows(out.cos, positions);  // (T, R/2)
  out.sin = rows(out.sin, positions);
  // Every key is a query here, whether the keys' angles are the new keys' or all keys'.
  out.key_cos = rows(out.key_cos, positions);
  out.key_sin = rows(out.key_sin, positions);
  if (out.score_bias.defined()) out.score_bias = out.score_bias.index_select(2, positions).index_select(3, positions);
  if (out.rel_index.defined()) {
    out.rel_index = out.rel_index.index_select(0, positions).index_select(1, positions);  // (T, T)
    out.rel_clip = -1;  // distances no longer step by one along a row: the gathered path
    out.rel_shift = 0;
  }
  return out;
}

}  // namespace qkv
