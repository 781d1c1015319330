// Learning-rate schedules against values worked out by hand, and AdamW's decay groups.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "transformer/train/optimizer.h"
#include "transformer/train/schedule.h"

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
  auto config = test::small_config(Family::kGpt, PositionKind::kLearned);
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
