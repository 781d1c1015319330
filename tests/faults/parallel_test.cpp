// Data parallel on c10d (Gloo over loopback): two ranks give the losses of one rank with the same
// global batch, and a run started with two ranks resumes with one.
#include <catch2/catch.hpp>

#include "faults.h"

using namespace qkv;

namespace {

// Trains `sets` with one rank into DIR/one and with two into DIR/two; the logged losses of each.
std::pair<std::vector<double>, std::vector<double>> one_and_two_ranks(const test::ScratchDir& dir, const std::string& sets) {
  auto one = test::run_qkv(fmt::format("train {} --set output='{}'", sets, dir / "one"));
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  auto two = test::run_qkv(fmt::format("train {} --set output='{}' --nproc 2", sets, dir / "two"));
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  return {test::train_losses(dir / "one"), test::train_losses(dir / "two")};
}

double largest_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST_CASE("two ranks equal one rank with the same global batch; resuming with another world size", "[faults]") {
  test::ScratchDir dir("dp");
  // float32 and no dropout: the ranks' shares then add up to the one-rank batch to rounding.
  const std::string sets = fmt::format(
      "experiments/quickstart-tiny.yaml -q --set tokenizer.model='{}' --set model.dropout=0 --set train.precision=fp32 "
      "--set train.steps=50 --set train.log_every=1 --set train.eval_every=0 --set train.save_every=10",
      dir / "spm.model");
  const auto [a, b] = one_and_two_ranks(dir, sets);
  REQUIRE(a.size() == 50);
  REQUIRE(b.size() == 50);
  INFO("largest difference " << largest_difference(a, b));
  CHECK(largest_difference(a, b) < 1e-5);
  CHECK(a.front() - a.back() > 0.5);  // and it trained

  // Two ranks to step 20, then one rank to the end: the same global batches in the same order.
  auto first = test::run_qkv(fmt::format("train {} --set output='{}' --nproc 2 --stop-at 20", sets, dir / "mixed"));
  REQUIRE(first.exit_code == 0);
  auto rest = test::run_qkv(fmt::format("train experiments/quickstart-tiny.yaml --resume {} --set output='{}'",
                                        sets.substr(sets.find(" -q")), dir / "mixed"));
  INFO(rest.output);
  REQUIRE(rest.exit_code == 0);
  const auto c = test::train_losses(dir / "mixed");
  REQUIRE(c.size() == 50);
  for (size_t i = 0; i < c.size(); ++i) CHECK(std::abs(c[i] - a[i]) < 1e-5);
}

TEST_CASE("--nproc refuses a batch it cannot share and a launcher inside a launcher", "[faults]") {
  auto small = test::run_qkv("train experiments/quickstart-tiny.yaml --set train.batch_size=2 --set train.accumulate=2 --nproc 2 --set output=/tmp/qkv-never");
  CHECK(small.exit_code == 2);
  CHECK_THAT(small.output, Catch::Contains("1 examples per micro-batch cannot be shared by 2 ranks"));
  auto nested = test::run_shell(fmt::format("WORLD_SIZE=2 '{}' train experiments/quickstart-tiny.yaml --nproc 2 --set output=/tmp/qkv-never", QKV_BINARY));
  CHECK(nested.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists("/tmp/qkv-never"));
}

TEST_CASE("two ranks equal one rank for masked LM with dropout and a batch that does not divide evenly", "[faults]") {
  test::ScratchDir dir("dp-mlm");
  // 7 examples: shares of 3 and 4. Dropout 0.1 as the experiment has it, the sentence objective
  // on: every loss term is divided by its units in the whole batch, and dropout hashes indices in
  // the whole batch, so the ranks' shares add up to the one-rank step.
  const std::string sets = fmt::format(
      "experiments/bert-pretrain-tiny.yaml -q --set tokenizer.model='{}' --set train.precision=fp32 "
      "--set train.batch_size=7 --set train.steps=20 --set train.log_every=1 --set train.eval_every=0",
      dir / "spm.model");
  const auto [a, b] = one_and_two_ranks(dir, sets);
  REQUIRE(a.size() == 20);
  REQUIRE(b.size() == 20);
  INFO("largest difference " << largest_difference(a, b));
  CHECK(largest_difference(a, b) < 1e-5);  // measured 7e-7 (bf16 autocast: 3e-4)
}
