// Learning-rate schedules against values worked out by hand, AdamW's decay groups, and a training
// step's gradients being its own.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "transformer/train/optimizer.h"
#include "transformer/tasks/causal_lm.h"
#include "transformer/train/schedule.h"
#include "transformer/train/trainer.h"

using namespace qkv;

TEST_CASE("warmup then cosine, linear, inverse-sqrt and constant", "[train]") {
  TrainConfig t;
  t.lr = 1.0;
  t.min_lr = 0.1;
  t.warmup = 10;
  t.steps = 110;
  t.schedule = Schedule::kCosine;
  CHECK(learning_rate(t, 0) == Approx(0.1));
  CHECK(learning_rate(t, 4) == Approx(0.5));
  CHECK(learning_rate(t, 9) == Approx(1.0));
  CHECK(learning_rate(t, 10) == Approx(1.0));
  CHECK(learning_rate(t, 60) == Approx(0.55));  // halfway: (1 + 0.1) / 2
  CHECK(learning_rate(t, 110) == Approx(0.1));
  t.schedule = Schedule::kLinear;
  CHECK(learning_rate(t, 35) == Approx(1.0 - 0.9 * 0.25));
  CHECK(learning_rate(t, 110) == Approx(0.1));
  t.schedule = Schedule::kInverseSqrt;
  CHECK(learning_rate(t, 9) == Approx(1.0));
  CHECK(learning_rate(t, 39) == Approx(std::sqrt(10.0 / 40.0)));
  t.schedule = Schedule::kConstant;
  CHECK(learning_rate(t, 100) == Approx(1.0));
}

TEST_CASE("AdamW decays matrices only: not norms, biases, embeddings or position tables", "[train]") {
  auto config = test::small_config(Family::kGpt, "learned");
  auto model = make_model(config, 50);
  TrainConfig t;
  t.weight_decay = 0.1;
  auto optimizer = make_optimizer(model, t);
  REQUIRE(optimizer->param_groups().size() == 2);
  int64_t decayed = 0;
  for (const auto& p : model->named_parameters()) {
    CAPTURE(p.key());
    const bool expect = p.key().find(".weight") != std::string::npos && p.key().find("norm") == std::string::npos &&
                        p.key().find("embedding") == std::string::npos && p.key().find("position") == std::string::npos;
    CHECK(decays(p.key(), p.value()) == expect);
    decayed += expect;
  }
  CHECK(int64_t(optimizer->param_groups()[0].params().size()) == decayed);
  CHECK(static_cast<torch::optim::AdamWOptions&>(optimizer->param_groups()[1].options()).weight_decay() == 0.0);
}

TEST_CASE("a training step's gradients are its own, not added to the previous step's", "[train]") {
  auto model = make_model(test::small_config(Family::kGpt, "learned"), 50);
  model->train();  // dropout is 0 in the small config, so two passes over one batch agree
  TrainConfig t;
  t.lr = 0;  // the weights stay put, so the second step sees the same model
  t.clip = 0;
  t.precision = Precision::kFp32;
  t.batch_size = 4;
  SyntheticLmTask task(50, 16, 3);
  auto optimizer = make_optimizer(model, t);
  const auto params = model->parameters();
  auto gradients = [&] {
    train_step(model, task, *optimizer, t, params, /*batch_index=*/0, /*dropout_seed=*/1, nullptr);
    std::vector<torch::Tensor> out;
    for (const auto& p : params) out.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    return out;
  };
  const auto first = gradients();
  const auto second = gradients();  // the same batch again
  for (size_t i = 0; i < params.size(); ++i) {
    CAPTURE(i);
    REQUIRE(first[i].defined());
    REQUIRE(second[i].defined());
    CHECK(first[i].abs().sum().item<double>() > 0);
    CHECK(torch::allclose(second[i], first[i], 1e-5, 1e-7));  // twice the first when they accumulate
  }
}
