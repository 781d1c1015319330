// RoPE's context extensions (model.position.scaling) against their papers' formulas by hand, and
// inside whole models: cached decoding equals the full pass (dynamic scaling included, whose
// angles change with the length), no causal leak, padding invariance; and per-layer mixing
// (nope_every) against its limits.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "transformer/core/position.h"

using namespace qkv;

namespace {

constexpr double kPi = 3.14159265358979323846;

PositionOptions rope_options(RopeScaling scaling, double scale, int64_t original_len) {
  PositionOptions o;
  o.config.scheme = "rope";
  o.d_model = 64;
  o.heads = 2;  // Dh = 32: R/2 = 16 frequencies
  o.layers = 1;
  o.config.set("scaling", double(scaling));
  o.config.set("scale", scale);
  o.config.set("original_len", double(original_len));
  return o;
}

std::vector<double> base_theta(double base, int64_t half) {
  std::vector<double> theta;
  for (int64_t i = 0; i < half; ++i) theta.push_back(std::pow(base, -2.0 * double(i) / double(2 * half)));
  return theta;
}

// cos of the signals at position m against cos(m theta_i) * magnitude, every frequency.
void check_angles(const PositionSignals& s, int64_t row, int64_t m, const std::vector<double>& theta, double magnitude) {
  for (size_t i = 0; i < theta.size(); ++i) {
    CAPTURE(m, i);
    CHECK(s.cos[row][int64_t(i)].item<double>() == Approx(std::cos(double(m) * theta[i]) * magnitude).margin(1e-5));
    CHECK(s.sin[row][int64_t(i)].item<double>() == Approx(std::sin(double(m) * theta[i]) * magnitude).margin(1e-5));
  }
}

ModelConfig extended_config(Family family, RopeScaling scaling, int64_t nope_every = 0) {
  ModelConfig c = test::small_config(family, "rope");
  c.position.set("scaling", double(scaling));
  c.position.set("scale", 4.0);
  c.position.set("original_len", 6.0);  // shorter than the test sequences: dynamic's scale changes while decoding
  c.position.set("nope_every", double(nope_every));
  return c;
}

Model model_of(const ModelConfig& c) {
  torch::manual_seed(7);
  auto model = make_model(c, 50, 7);
  model->eval();
  return model;
}

}  // namespace

TEST_CASE("RoPE scaling: linear, ntk and yarn frequencies are the papers' formulas", "[core]") {
  const double base = 10000.0, s = 4.0;
  const int64_t half = 16, original_len = 128;
  const auto theta = base_theta(base, half);
  const double R = 2.0 * double(half);

  SECTION("linear: position interpolation, every angle divided by s (Chen et al. 2023)") {
    std::vector<double> want;
    for (double t : theta) want.push_back(t / s);
    auto scheme = make_position_scheme(rope_options(kRopeLinear, s, 0));
    check_angles(scheme->signals(8, 300, 8, 300, torch::kCPU), 5, 305, want, 1.0);
  }
  SECTION("ntk: base * s^(R/(R-2)); the highest frequency kept, the lowest divided by exactly s") {
    auto scheme = make_position_scheme(rope_options(kRopeNtk, s, 0));
    const auto want = base_theta(base * std::pow(s, R / (R - 2.0)), half);
    check_angles(scheme->signals(4, 1000, 4, 1000, torch::kCPU), 3, 1003, want, 1.0);
    CHECK(want.front() == Approx(theta.front()));
    CHECK(want.back() == Approx(theta.back() / s).epsilon(1e-12));
  }
  SECTION("yarn: fast dims kept, slow dims interpolated, a ramp between, and magnitude 0.1 ln s + 1") {
    const int64_t original_len = 1024;  // R = 32: the fastest dim turns 163 times, the slowest 0.2
    auto scheme = make_position_scheme(rope_options(kRopeYarn, s, original_len));
    const double magnitude = 0.1 * std::log(s) + 1.0;
    std::vector<double> want;
    int64_t kept = 0, interpolated = 0, ramped = 0;
    for (double t : theta) {
      const double turns = double(original_len) * t / (2.0 * kPi);  // r = L / lambda
      const double gamma = std::min(1.0, std::max(0.0, (turns - 1.0) / (32.0 - 1.0)));
      want.push_back((1.0 - gamma) * t / s + gamma * t);
      kept += gamma == 1.0;
      interpolated += gamma == 0.0;
      ramped += gamma > 0.0 && gamma < 1.0;
    }
    REQUIRE(kept > 0);  // the three regimes all occur at L = 128, R = 32
    REQUIRE(interpolated > 0);
    REQUIRE(ramped > 0);
    auto signals = scheme->signals(6, 500, 6, 500, torch::kCPU);
    check_angles(signals, 2, 502, want, magnitude);
    // The temperature: q and k each scaled by sqrt(1/t), so every rotated pair's norm grows by it.
    auto norm = (signals.cos.pow(2) + signals.sin.pow(2)).sqrt();
    CHECK(torch::allclose(norm, torch::full_like(norm, magnitude), 1e-5, 1e-6));
  }
  SECTION("none, and every method at s = 1, is plain RoPE") {
    for (auto scaling : {kRopeUnscaled, kRopeLinear, kRopeNtk, kRopeYarn}) {
      CAPTURE(int(scaling));
      auto scheme = make_position_scheme(rope_options(scaling, 1.0, original_len));
      check_angles(scheme->signals(4, 77, 4, 77, torch::kCPU), 1, 78, theta, 1.0);
    }
  }
}

TEST_CASE("RoPE dynamic scaling: the base of the current length for queries and every key", "[core]") {
  const int64_t original_len = 16, half = 16;
  auto scheme = make_position_scheme(rope_options(kRopeDynamic, 1.0, original_len));
  const double R = 2.0 * double(half);
  // At or below the training length: plain RoPE; the cache keeps raw keys all the same.
  auto short_signals = scheme->signals(1, 15, 16, 0, torch::kCPU);
  check_angles(short_signals, 0, 15, base_theta(10000.0, half), 1.0);
  CHECK(short_signals.keys_from_raw);
  REQUIRE(short_signals.key_cos.size(0) == 16);
  // At 40 positions: ntk with s = 40/16 for the new query and for all 40 keys.
  auto signals = scheme->signals(1, 39, 40, 0, torch::kCPU);
  const auto want = base_theta(10000.0 * std::pow(40.0 / 16.0, R / (R - 2.0)), half);
  check_angles(signals, 0, 39, want, 1.0);
  PositionSignals keys;
  keys.cos = signals.key_cos;
  keys.sin = signals.key_sin;
  REQUIRE(keys.cos.size(0) == 40);
  check_angles(keys, 3, 3, want, 1.0);
  check_angles(keys, 39, 39, want, 1.0);
}

TEST_CASE("RoPE extensions: cached decoding equals the full pass, no causal leak, padding ignored", "[core]") {
  const auto scaling = GENERATE(kRopeLinear, kRopeNtk, kRopeDynamic, kRopeYarn);
  const int64_t nope_every = GENERATE(0, 2);
  CAPTURE(int(scaling), nope_every);
  auto model = model_of(extended_config(Family::kGpt, scaling, nope_every));
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(4, 50, {2, 20});
  auto full = model->hidden(tokens);
  DecodeState state;
  int64_t at = 0;
  // Each step against the full pass over the text so far (dynamic scaling takes its scale from
  // that length, so the whole 20 tokens would rotate the first ones differently).
  for (int64_t len : {5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1}) {  // crosses original_len = 6 one token at a time
    auto piece = model->hidden(tokens.narrow(1, at, len), {}, {}, &state);
    auto prefix = model->hidden(tokens.narrow(1, 0, at + len)).narrow(1, at, len);
    CAPTURE(at, len);
    CHECK(torch::allclose(prefix, piece, 1e-5, 1e-5));
    at += len;
  }

  if (scaling != kRopeDynamic) {
    // Later tokens never change earlier outputs. (Dynamic scaling is causal when decoding, but a
    // full pass takes its scale from the whole length, as Hugging Face's does.)
    auto changed = tokens.clone();
    changed.narrow(1, 10, 10).random_(4, 50);
    CHECK(torch::equal(full.narrow(1, 0, 10), model->hidden(changed).narrow(1, 0, 10)));
  }
  for (const auto family : {Family::kGpt, Family::kBert}) {
    auto m = model_of(extended_config(family, scaling, nope_every));
    auto real = torch::randint(4, 50, {1, 5});  // within original_len, so dynamic's scale is the same padded or not
    auto padded = torch::cat({real, torch::zeros({1, 1}, torch::kLong)}, 1);
    auto keep = torch::cat({torch::ones({1, 5}, torch::kBool), torch::zeros({1, 1}, torch::kBool)}, 1);
    CHECK(torch::allclose(m->hidden(real), m->hidden(padded, keep).narrow(1, 0, 5), 1e-5, 1e-6));
  }
}

TEST_CASE("encoder-decoder with RoPE extensions: cached decoding equals the full pass", "[core]") {
  const auto scaling = GENERATE(kRopeDynamic, kRopeYarn);
  CAPTURE(int(scaling));
  auto model = model_of(extended_config(Family::kSeq2Seq, scaling));
  torch::NoGradGuard no_grad;
  auto source = torch::randint(4, 50, {2, 9});
  auto target = torch::randint(4, 50, {2, 11});
  DecodeState state;
  model->encode(source, {}, &state);
  for (int64_t t = 0; t < 11; ++t) {
    auto piece = model->hidden(target.narrow(1, t, 1), {}, {}, &state);
    DecodeState full_state;  // the full pass over the target so far
    full_state.incremental = false;
    model->encode(source, {}, &full_state);
    auto full = model->hidden(target.narrow(1, 0, t + 1), {}, {}, &full_state).narrow(1, t, 1);
    CAPTURE(t);
    CHECK(torch::allclose(full, piece, 1e-5, 1e-5));
  }
}

TEST_CASE("nope_every: N = 1 is no position at all, N = 2 mixes RoPE and none", "[core]") {
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(4, 50, {2, 12});
  auto rope = model_of(extended_config(Family::kGpt, kRopeUnscaled, 0))->hidden(tokens);
  auto none = model_of(test::small_config(Family::kGpt, "none"))->hidden(tokens);
  auto all_off = model_of(extended_config(Family::kGpt, kRopeUnscaled, 1))->hidden(tokens);
  auto mixed = model_of(extended_config(Family::kGpt, kRopeUnscaled, 2))->hidden(tokens);
  // Models of either scheme start from the same shared parameters (models/model.cpp).
  CHECK(torch::allclose(all_off, none, 1e-6, 1e-6));
  CHECK_FALSE(torch::allclose(mixed, none, 1e-4, 1e-4));
  CHECK_FALSE(torch::allclose(mixed, rope, 1e-4, 1e-4));
}
