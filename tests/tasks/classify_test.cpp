// Sentence and pair tasks: input layouts per family, a gpt similarity that does not depend on the
// order of the two sentences, choice scores that follow the candidates when they are reordered,
// predictions that do not depend on the other examples in the batch (padding), and a training
// subset (data.train_examples) that is the same for every seed.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "helpers.h"
#include "transformer/tasks/classify.h"

using namespace qkv;

namespace {

// A symbol vocabulary stands in for SentencePiece: each letter a piece.
Tokenizer letters() { return Tokenizer::symbols("abcdefghijklmnopqrstuvwxyz"); }

Experiment experiment(Family family, TaskKind kind, bool regression, const std::string& data_path) {
  Experiment e;
  e.seed = 3;
  e.model = test::small_config(family, "rope");
  e.task.kind = kind;
  e.task.regression = regression;
  e.data.format = DataFormat::kJsonl;
  e.data.columns.text = "a";
  if (kind == TaskKind::kPair) e.data.columns.text_b = "b";
  if (kind == TaskKind::kChoice) e.data.columns.choices = {"choices"};
  e.data.columns.label = "y";
  if (kind != TaskKind::kChoice && !regression) e.task.labels = {"no", "yes", "maybe"};
  e.model.num_classes = kind == TaskKind::kChoice || regression ? 1 : 3;
  e.train.seq_len = 24;
  e.data.valid = data_path;
  return e;
}

}  // namespace

TEST_CASE("input layouts: bert [CLS] a [SEP] b [SEP], gpt <s> a <sep> b <cls>, cut longest first", "[tasks]") {
  SpecialTokens s;
  s.cls = 5;
  s.sep = 6;
  const auto bert = encode_input(Family::kBert, {10, 11, 12}, {20, 21}, s, 16);
  CHECK(bert.ids == std::vector<int64_t>{5, 10, 11, 12, 6, 20, 21, 6});
  CHECK(bert.segments == std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1});
  const auto gpt = encode_input(Family::kGpt, {10, 11, 12}, {20, 21}, s, 16);
  CHECK(gpt.ids == std::vector<int64_t>{2, 10, 11, 12, 6, 20, 21, 5});
  const auto single = encode_input(Family::kGpt, {10, 11}, {}, s, 16);
  CHECK(single.ids == std::vector<int64_t>{2, 10, 11, 5});
  const auto cut = encode_input(Family::kBert, std::vector<int>(10, 10), std::vector<int>(4, 20), s, 11);
  CHECK(cut.ids.size() == 11u);  // 8 pieces left: a cut from 10 to 4, b keeps 4
  CHECK(std::count(cut.ids.begin(), cut.ids.end(), 10) == 4);
  CHECK(std::count(cut.ids.begin(), cut.ids.end(), 20) == 4);
}

TEST_CASE("gpt similarity reads both orders: the score of (a, b) equals that of (b, a)", "[tasks]") {
  test::ScratchDir dir("classify-sym");
  const std::string path = dir / "pairs.jsonl";
  std::ofstream(path) << R"({"a": "abcde", "b": "xyz", "y": 1.5})" "\n" R"({"a": "xyz", "b": "abcde", "y": 1.5})" "\n"
                      << R"({"a": "hello", "b": "worlds", "y": 3})" "\n" R"({"a": "worlds", "b": "hello", "y": 3})" "\n";
  auto e = experiment(Family::kGpt, TaskKind::kPair, true, path);
  ClassifyTask task(e);
  task.prepare(e, letters(), false);
  auto model = make_model(e.model, letters().vocab_size(), 3);
  model->eval();
  const auto examples = read_examples(path, e.data, e.task, true).examples;
  const auto p = task.predict(model, examples, 4);
  REQUIRE(p.size() == 4);
  CHECK(p[0].score == Approx(p[1].score).epsilon(1e-5));
  CHECK(p[2].score == Approx(p[3].score).epsilon(1e-5));
  CHECK(p[0].score != Approx(p[2].score).epsilon(1e-5));  // and it does depend on the sentences
  CHECK(std::isfinite(metric(task.evaluate(model, Split::kValid, 4, 0), "pearson")));
}

TEST_CASE("gpt paraphrase classification reads both orders too (GPT-1 3.3); entailment keeps its order", "[tasks]") {
  test::ScratchDir dir("classify-paraphrase");
  const std::string path = dir / "pairs.jsonl";
  std::ofstream(path) << R"({"a": "abcde", "b": "xyz", "y": "yes"})" "\n" R"({"a": "xyz", "b": "abcde", "y": "yes"})" "\n";
  for (const PairOrder order : {PairOrder::kBoth, PairOrder::kGiven}) {
    auto e = experiment(Family::kGpt, TaskKind::kPair, false, path);
    e.task.pair_order = order;
    ClassifyTask task(e);
    task.prepare(e, letters(), false);
    auto model = make_model(e.model, letters().vocab_size(), 3);
    model->eval();
    const auto p = task.predict(model, read_examples(path, e.data, e.task, true).examples, 4);
    REQUIRE(p.size() == 2);
    CAPTURE(order == PairOrder::kBoth);
    for (size_t c = 0; c < 3; ++c) {
      if (order == PairOrder::kBoth) CHECK(p[0].probabilities[c] == Approx(p[1].probabilities[c]).epsilon(1e-5));
    }
    if (order == PairOrder::kGiven) CHECK(std::abs(p[0].probabilities[0] - p[1].probabilities[0]) > 1e-6);
  }
  // auto: both for the paraphrase and similarity formats, the given order for entailment.
  auto mrpc = experiment(Family::kGpt, TaskKind::kPair, false, path);
  mrpc.data.format = DataFormat::kGlueMrpc;
  auto rte = mrpc;
  rte.data.format = DataFormat::kGlueRte;
  Example ex;
  ex.text = "abc";
  ex.text_b = "de";
  ClassifyTask mrpc_task(mrpc), rte_task(rte);
  mrpc_task.attach(letters());
  rte_task.attach(letters());
  CHECK(mrpc_task.encode(ex).rows.size() == 2);
  CHECK(rte_task.encode(ex).rows.size() == 1);
}

TEST_CASE("choice: reordering the candidates reorders their probabilities", "[tasks]") {
  test::ScratchDir dir("classify-choice");
  const std::string path = dir / "choice.jsonl";
  std::ofstream(path) << R"({"a": "once upon", "choices": ["a time", "the moon", "mice"], "y": 0})" "\n"
                      << R"({"a": "once upon", "choices": ["mice", "a time", "the moon"], "y": 1})" "\n"
                      << R"({"a": "ab", "choices": ["c", "d"], "y": 1})" "\n";  // fewer candidates than the others
  for (Family family : {Family::kGpt, Family::kBert}) {
    auto e = experiment(family, TaskKind::kChoice, false, path);
    ClassifyTask task(e);
    task.prepare(e, letters(), false);
    auto model = make_model(e.model, letters().vocab_size(), 3);
    model->eval();
    const auto p = task.predict(model, read_examples(path, e.data, e.task, true).examples, 3);
    REQUIRE(p[0].probabilities.size() == 3);
    CHECK(p[1].probabilities[1] == Approx(p[0].probabilities[0]).epsilon(1e-4));
    CHECK(p[1].probabilities[2] == Approx(p[0].probabilities[1]).epsilon(1e-4));
    CHECK(p[1].probabilities[0] == Approx(p[0].probabilities[2]).epsilon(1e-4));
    CHECK(p[2].probabilities[2] == 0.0);  // a missing candidate gets nothing
    CHECK(p[2].probabilities[0] + p[2].probabilities[1] == Approx(1.0));
  }
}

TEST_CASE("a prediction does not depend on the other examples of its batch", "[tasks]") {
  test::ScratchDir dir("classify-pad");
  const std::string path = dir / "c.jsonl";
  std::ofstream(path) << R"({"a": "ab", "b": "c", "y": "yes"})" "\n" R"({"a": "abcdefghijklmnop", "b": "qrstuvw", "y": "no"})" "\n";
  for (Family family : {Family::kGpt, Family::kBert}) {
    auto e = experiment(family, TaskKind::kPair, false, path);
    ClassifyTask task(e);
    task.prepare(e, letters(), false);
    auto model = make_model(e.model, letters().vocab_size(), 3);
    model->eval();
    const auto examples = read_examples(path, e.data, e.task, true).examples;
    const auto together = task.predict(model, examples, 2);  // the short one padded
    const auto alone = task.predict(model, {examples[0]}, 1);
    for (size_t k = 0; k < 3; ++k) CHECK(together[0].probabilities[k] == Approx(alone[0].probabilities[k]).epsilon(1e-5));
    const Metrics m = task.evaluate(model, Split::kValid, 2, 0);
    CHECK(metric(m, "examples") == 2.0);
    CHECK(metric(m, "accuracy") >= 0.0);
  }
}

TEST_CASE("data.train_examples: the same fixed subset for every seed, of the size asked for", "[tasks]") {
  test::ScratchDir dir("classify-subset");
  const std::string path = dir / "train.jsonl";
  {
    std::ofstream out(path);
    for (int i = 0; i < 20; ++i) out << fmt::format(R"({{"a": "{}z", "y": "yes"}})", char('a' + i)) << "\n";
  }
  // The rows of one epoch: every training example exactly once.
  auto epoch_rows = [&](int64_t seed, int64_t n) {
    auto e = experiment(Family::kBert, TaskKind::kClassify, false, path);
    e.seed = seed;
    e.data.train = path;
    e.data.train_examples = n;
    ClassifyTask task(e);
    task.prepare(e, letters(), true);
    const TaskBatch batch = task.train_batch(0, n);
    std::set<std::vector<int64_t>> rows;
    for (int64_t r = 0; r < n; ++r) {
      const auto row = batch.tokens[r].contiguous();
      rows.insert(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()));
    }
    return rows;
  };
  const auto seven = epoch_rows(3, 7);
  CHECK(seven.size() == 7u);  // seven distinct examples
  CHECK(epoch_rows(9, 7) == seven);
  CHECK(epoch_rows(3, 20).size() == 20u);
  auto e = experiment(Family::kBert, TaskKind::kClassify, false, path);
  e.data.train = path;
  e.data.train_examples = 21;
  ClassifyTask task(e);
  CHECK_THROWS_WITH(task.prepare(e, letters(), true), Catch::Contains("data.train_examples: asks for 21 examples") &&
                                                           Catch::Contains("holds 20"));
}
