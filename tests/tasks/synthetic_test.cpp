// The generated tasks: examples are right (sums checked as integers), batches are pure functions
// of their index, each family sees its layout, and the one-pass exact match equals greedy decoding.
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include "helpers.h"
#include "transformer/infer/generate.h"
#include "transformer/tasks/synthetic.h"

using namespace qkv;

namespace {

Experiment synthetic_experiment(TaskKind kind, Family family, std::string scheme = "rope") {
  Experiment e;
  e.seed = 5;
  e.model = test::small_config(family, scheme);
  e.task.kind = kind;
  e.task.min_length = 2;
  e.task.max_length = 6;
  e.task.eval_lengths = {4, 12};
  e.task.eval_examples = 20;
  return e;
}

std::vector<int64_t> row(const torch::Tensor& t, int64_t i) {
  auto r = t[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

// Digits of symbol ids (7 = '0') as a decimal string.
std::string digits(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += char('0' + (id - 7));
  return s;
}

}  // namespace

TEST_CASE("addition examples hold true sums, with n + 1 answer digits", "[tasks]") {
  const auto e = synthetic_experiment(TaskKind::kAddition, Family::kSeq2Seq);
  SyntheticTask task(e);
  auto generator = at::detail::createCPUGenerator(11);
  for (int64_t n : {1, 3, 9}) {
    const auto batch = task.make_batch(n, 32, generator);
    REQUIRE(batch.source.size(1) == 2 * n + 2);  // a + b eos
    REQUIRE(batch.targets.size(1) == n + 2);     // sum eos
    for (int64_t i = 0; i < 32; ++i) {
      const auto source = row(batch.source, i);
      REQUIRE(source[size_t(n)] == 7 + 10);  // '+'
      const auto a = std::stoull(digits({source.begin(), source.begin() + n}));
      const auto b = std::stoull(digits({source.begin() + n + 1, source.begin() + 2 * n + 1}));
      const auto target = row(batch.targets, i);
      CHECK(std::stoull(digits({target.begin(), target.begin() + n + 1})) == a + b);
      CHECK(target.back() == 3);  // eos
    }
  }
}

TEST_CASE("duplicate, sort, parity and reversed addition answers", "[tasks]") {
  auto generator = at::detail::createCPUGenerator(5);
  for (const TaskKind kind : {TaskKind::kDuplicate, TaskKind::kSort, TaskKind::kParity, TaskKind::kAdditionReversed}) {
    CAPTURE(int(kind));
    SyntheticTask task(synthetic_experiment(kind, Family::kSeq2Seq));
    for (int64_t n : {1, 4, 11}) {
      const auto batch = task.make_batch(n, 16, generator);
      REQUIRE(batch.source.size(1) == synthetic_input_length(kind, n) + 1);   // x eos
      REQUIRE(batch.targets.size(1) == synthetic_answer_length(kind, n) + 1);  // y eos
      for (int64_t i = 0; i < 16; ++i) {
        auto x = row(batch.source, i), y = row(batch.targets, i);
        x.pop_back(), y.pop_back();
        std::vector<int64_t> expected;
        if (kind == TaskKind::kDuplicate) {
          expected = x;
          expected.insert(expected.end(), x.begin(), x.end());
        } else if (kind == TaskKind::kSort) {
          expected = x;
          std::sort(expected.begin(), expected.end());
        } else if (kind == TaskKind::kParity) {
          int64_t ones = 0;
          for (int64_t id : x) {
            REQUIRE((id == 7 || id == 8));  // bits '0', '1'
            ones += id == 8;
          }
          expected = {7 + ones % 2};
        } else {  // a + b and the sum, each least significant digit first
          std::string a = digits({x.begin(), x.begin() + n}), b = digits({x.begin() + n + 1, x.end()}), sum = digits(y);
          std::reverse(a.begin(), a.end()), std::reverse(b.begin(), b.end()), std::reverse(sum.begin(), sum.end());
          CHECK(std::stoull(sum) == std::stoull(a) + std::stoull(b));
          expected = y;
        }
        CHECK(y == expected);
      }
    }
  }
  CHECK(SyntheticTask::alphabet(synthetic_experiment(TaskKind::kParity, Family::kGpt).task) == "01");
}

TEST_CASE("copy and reverse answers, and each family's layout", "[tasks]") {
  auto generator = at::detail::createCPUGenerator(3);
  {
    SyntheticTask task(synthetic_experiment(TaskKind::kReverse, Family::kGpt));
    const auto batch = task.make_batch(5, 4, generator);
    // bos x sep y eos: inputs are bos x sep y (12 positions), targets counted on y eos only.
    REQUIRE(batch.tokens.size(1) == 12);
    const auto tokens = row(batch.tokens, 0), targets = row(batch.targets, 0);
    CHECK(tokens[0] == 2);
    CHECK(tokens[6] == 6);
    for (int64_t j = 0; j <= 5; ++j) CHECK(targets[size_t(j)] == kIgnore);
    for (int64_t j = 0; j < 5; ++j) CHECK(targets[size_t(6 + j)] == tokens[size_t(5 - j)]);  // reversed
    CHECK(targets[11] == 3);
  }
  {
    SyntheticTask task(synthetic_experiment(TaskKind::kCopy, Family::kBert));
    const auto batch = task.make_batch(5, 4, generator);
    // cls x sep mask*5: the answer sits at the masks.
    REQUIRE(batch.tokens.size(1) == 12);
    const auto tokens = row(batch.tokens, 1), targets = row(batch.targets, 1);
    CHECK(tokens[0] == 5);
    CHECK(tokens[6] == 6);
    for (int64_t j = 0; j < 5; ++j) {
      CHECK(tokens[size_t(7 + j)] == 4);
      CHECK(targets[size_t(7 + j)] == tokens[size_t(1 + j)]);
    }
    CHECK(batch.targets.ne(kIgnore).sum().item<int64_t>() == 4 * 5);
  }
  CHECK(SyntheticTask::alphabet(synthetic_experiment(TaskKind::kCopy, Family::kGpt).task) == "0123456789");
}

TEST_CASE("a training batch is a function of its index alone", "[tasks]") {
  SyntheticTask a(synthetic_experiment(TaskKind::kCopy, Family::kGpt));
  SyntheticTask b(synthetic_experiment(TaskKind::kCopy, Family::kGpt));
  CHECK(torch::equal(a.train_batch(7, 8).tokens, b.train_batch(7, 8).tokens));
  CHECK(torch::equal(a.train_batch(7, 8).targets, a.train_batch(7, 8).targets));
  std::set<int64_t> lengths;
  for (int64_t i = 0; i < 40; ++i) lengths.insert(a.train_batch(i, 2).tokens.size(1));
  CHECK(lengths.size() == 5);  // lengths 2..6, each 2n + 2 positions
  CHECK(*lengths.begin() == 6);
  CHECK(*lengths.rbegin() == 14);
}

TEST_CASE("exact match needs every counted position right", "[tasks]") {
  // Two examples, three positions, vocabulary 4; the middle position is not counted.
  auto targets = torch::tensor(std::vector<int64_t>{1, kIgnore, 2, 3, kIgnore, 0}).view({2, 3});
  auto logits = torch::zeros({2, 3, 4});
  logits[0][0][1] = 5, logits[0][1][3] = 5, logits[0][2][2] = 5;  // all counted right
  logits[1][0][3] = 5, logits[1][1][1] = 5, logits[1][2][2] = 5;  // last one wrong
  const auto scores = score_batch(logits, targets);
  CHECK(scores.exact[0].item<bool>());
  CHECK_FALSE(scores.exact[1].item<bool>());
  CHECK(scores.correct_tokens == 3);
  CHECK(scores.counted_tokens == 4);
}

TEST_CASE("one-pass exact match agrees with greedy decoding", "[tasks]") {
  // Greedy decoding's own output is an exact match by construction; one changed token is not.
  auto e = synthetic_experiment(TaskKind::kCopy, Family::kGpt);
  auto model = test::small_model(Family::kGpt, "rope", 7 + 10, 4);
  SyntheticTask task(e);
  auto generator = at::detail::createCPUGenerator(8);
  const auto batch = task.make_batch(4, 6, generator);
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < 6; ++i) {
    const auto tokens = row(batch.tokens, i);
    std::vector<int64_t> prompt(tokens.begin(), tokens.begin() + 6);  // bos x sep
    GenerateOptions options;
    options.max_new_tokens = 5;
    options.sampling.temperature = 0.0;
    auto sampler = at::detail::createCPUGenerator(1);
    const auto greedy = generate(model, prompt, options, sampler);
    REQUIRE(greedy.size() == 5);
    auto sequence = prompt;
    sequence.insert(sequence.end(), greedy.begin(), greedy.end());
    auto input = torch::tensor(std::vector<int64_t>(sequence.begin(), sequence.end() - 1)).unsqueeze(0);
    auto targets = torch::full({1, 10}, kIgnore, torch::kLong);
    for (int64_t j = 0; j < 5; ++j) targets[0][5 + j] = greedy[size_t(j)];
    auto logits = model->token_logits(model->hidden(input));
    CHECK(score_batch(logits, targets).exact.item<bool>());
    targets[0][7] = (greedy[2] + 1) % 17;
    CHECK_FALSE(score_batch(logits, targets).exact.item<bool>());
  }
}

TEST_CASE("evaluation reports exact match per length and leaves out lengths past learned positions", "[tasks]") {
  for (Family family : {Family::kGpt, Family::kBert, Family::kSeq2Seq}) {
    auto e = synthetic_experiment(TaskKind::kAddition, family, "learned");
    e.model.max_len = 20;  // length 4 needs at most 15 positions, length 12 needs 39
    auto model = make_model(e.model, 7 + 11, 7);
    model->eval();
    SyntheticTask task(e);
    const Metrics m = task.evaluate(model, Split::kValid, 8, 0);
    CHECK(m[0].first == "loss");
    CHECK(std::isfinite(metric(m, "loss")));
    CHECK(metric(m, "exact") >= 0.0);
    CHECK(!std::isnan(metric(m, "exact@4")));
    CHECK(std::isnan(metric(m, "exact@12")));  // not applicable: left out
    const auto loss = task.mean_loss(model, task.train_batch(0, 4));
    CHECK(loss.requires_grad());
  }
}
