// Sharing a step's batch changes nothing: for every task, the gradients and the weights after
// several steps are the same whether one process trains on the whole batch, two or three ranks
// share it (one rank's shares per rank, their gradients summed as the all-reduce sums them), or it
// is accumulated over micro-batches; with dropout on and off, and with batches that do not divide
// evenly. Each loss term is divided by its units in the whole batch (tokens, sentence pairs,
// examples), and dropout hashes each element's index in the whole batch.
//
// The steps are plain SGD at lr 0.01 (stable here): AdamW divides each gradient by its own root-mean-square, so where the
// true gradient is zero (the choice head's bias: a constant added to every candidate's score
// leaves their softmax alone) it turns float32 rounding noise of about 1e-9 into steps of +-lr,
// whatever the batch split (measured: weights 1.3e-2 apart after 3 AdamW steps at lr 1e-2 whose
// gradients agreed to 4.5e-8). The gradients themselves are compared before any optimizer.
#include <catch2/catch.hpp>

#include <fstream>

#include "helpers.h"
#include "transformer/tasks/task.h"
#include "transformer/train/step.h"

using namespace qkv;

namespace {

// A symbol vocabulary stands in for SentencePiece: each letter a piece.
Tokenizer letters() { return Tokenizer::symbols("abcdefghijklmnopqrstuvwxyz"); }

// Lines of letters of varied lengths, so padded batches have rows of different lengths.
std::string letter_line(int64_t i, int64_t min_length) {
  std::string line;
  for (int64_t k = 0; k < min_length + (i * 7) % 9; ++k) line += char('a' + (i * 5 + k * 3) % 26);
  return line;
}

struct Setup {
  const char* name;
  Family family;
  TaskKind kind;
};

// A tiny experiment of each kind with its data in `dir`.
Experiment experiment(const Setup& s, double dropout, const test::ScratchDir& dir) {
  Experiment e;
  e.seed = 3;
  e.model = test::small_config(s.family, "rope");
  e.model.dropout = dropout;
  e.task.kind = s.kind;
  e.train.seq_len = 24;
  e.train.precision = Precision::kFp32;
  e.train.lr = 1e-2;
  e.train.warmup = 0;
  e.train.clip = 0;
  const std::string path = dir / (std::string(s.name) + ".data");
  std::ofstream out(path);
  if (s.kind == TaskKind::kCausalLm || s.kind == TaskKind::kMaskedLm) {
    e.data.format = DataFormat::kText;
    for (int64_t i = 0; i < 200; ++i) out << letter_line(i, 3) << "\n";
    if (s.kind == TaskKind::kMaskedLm) {
      e.task.sentence_objective = SentenceObjective::kNext;  // with the 80/10/10 masking
      e.model.sentence_head = true;
    }
  } else {
    e.data.format = DataFormat::kJsonl;
    e.data.columns.text = "a";
    for (int64_t i = 0; i < 200; ++i) {
      out << R"({"a": ")" << letter_line(i, 2) << R"(", "b": ")" << letter_line(i + 11, 2) << R"(", "y": )";
      if (s.kind == TaskKind::kChoice) {
        out << i % 3 << R"(, "c": [")" << letter_line(i, 1) << R"(", ")" << letter_line(i + 1, 2) << R"(", ")"
            << letter_line(i + 2, 4) << R"("]})" << "\n";
      } else if (s.kind == TaskKind::kPair) {
        out << double(i % 5) / 2 << "}\n";  // similarity scores: gpt reads both orders
      } else {
        out << R"(")" << (i % 2 ? "yes" : "no") << R"("})" << "\n";
      }
    }
    if (s.kind == TaskKind::kPair || s.kind == TaskKind::kTranslate) e.data.columns.text_b = "b";
    if (s.kind == TaskKind::kChoice) e.data.columns.choices = {"c"};
    if (s.kind != TaskKind::kTranslate) e.data.columns.label = "y";
    if (s.kind == TaskKind::kClassify) e.task.labels = {"no", "yes"}, e.task.lm_weight = 0.5;
    if (s.kind == TaskKind::kPair) e.task.regression = true;
    e.model.num_classes = s.kind == TaskKind::kClassify ? 2 : s.kind == TaskKind::kTranslate ? 0 : 1;
  }
  e.data.train = path;
  e.data.cache = dir / "cache";
  return e;
}

// The parameters' gradients, cloned (zeros where a parameter got none).
std::vector<torch::Tensor> gradients(Model& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return out;
}

// `steps` SGD steps on batches 0.. of `batch` examples, shared by `world` ranks that each
// accumulate over `accumulate` micro-batches; returns the first step's gradients and the final weights.
std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> run(const Experiment& e, Task& task, int64_t world,
                                                                      int64_t accumulate, int64_t steps) {
  TrainConfig t = e.train;
  t.accumulate = accumulate;
  auto model = make_model(e.model, letters().vocab_size(), uint64_t(e.seed));
  model->train();
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01));
  std::vector<torch::Tensor> first;
  for (int64_t step = 0; step < steps; ++step) {
    const TaskBatch whole = task.train_batch(step, t.batch_size);
    const auto counts = task.loss_counts(whole);
    std::vector<torch::Tensor> summed;  // the all-reduce: every rank's gradients added
    for (int64_t rank = 0; rank < world; ++rank) {
      for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
      backward_shares(model, task, whole, counts, t, rank, world, /*dropout_seed=*/100 + uint64_t(step), step);
      const auto g = gradients(model);
      if (summed.empty()) summed = g;
      else for (size_t i = 0; i < g.size(); ++i) summed[i] += g[i];
    }
    auto params = model->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = summed[i];
    if (first.empty())
      for (const auto& g : summed) first.push_back(g.clone());
    optimizer.step();
  }
  std::vector<torch::Tensor> weights;
  for (const auto& p : model->parameters()) weights.push_back(p.detach().clone());
  return {first, weights};
}

double largest_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

double largest(const std::vector<torch::Tensor>& a) {
  double most = 0;
  for (const auto& t : a) most = std::max(most, t.abs().max().item<double>());
  return most;
}

}  // namespace

TEST_CASE("ranks and micro-batches that share a batch train as one process on it, every task", "[train]") {
  const Setup setup = GENERATE(Setup{"causal_lm", Family::kGpt, TaskKind::kCausalLm},
                               Setup{"masked_lm", Family::kBert, TaskKind::kMaskedLm},
                               Setup{"classify", Family::kGpt, TaskKind::kClassify},
                               Setup{"pair", Family::kGpt, TaskKind::kPair},
                               Setup{"choice", Family::kGpt, TaskKind::kChoice},
                               Setup{"translate", Family::kSeq2Seq, TaskKind::kTranslate});
  const double dropout = GENERATE(0.0, 0.1);
  CAPTURE(setup.name, dropout);
  test::ScratchDir dir(std::string("sharing-") + setup.name);
  Experiment e = experiment(setup, dropout, dir);
  const Tokenizer tokenizer = letters();
  // 32 examples: 2 ranks of 16, 4 micro-batches of 8, 2 ranks x 4 micro-batches of 4; 7: shares of 3 and 4.
  for (const int64_t batch : {int64_t(32), int64_t(7)}) {
    CAPTURE(batch);
    e.train.batch_size = batch;
    auto task = make_task(e);
    task->prepare(e, tokenizer, /*need_train=*/true);
    const auto one = run(e, *task, 1, 1, 3);
    for (const auto& [world, accumulate] : {std::pair<int64_t, int64_t>{2, 1}, {1, 4}, {2, 4}, {3, 2}}) {
      if (batch / accumulate < world) continue;
      CAPTURE(world, accumulate);
      const auto shared = run(e, *task, world, accumulate, 3);
      // float32 sums in another order: the gradients agree to rounding of their largest entry
      // (measured: at most 2e-6 of it).
      const double gradient_error = largest_difference(one.first, shared.first) / largest(one.first);
      const double weight_error = largest_difference(one.second, shared.second);
      CAPTURE(gradient_error, weight_error);
      CHECK(gradient_error < 1e-5);
      CHECK(weight_error < 1e-6);  // measured: at most 3e-8
    }
  }
}

TEST_CASE("a step's shares cover the whole batch once, in order, at most one example apart", "[train]") {
  TaskBatch whole;
  whole.labels = torch::arange(11);
  whole.tokens = torch::arange(22).view({11, 2});
  for (const auto& [world, accumulate] : {std::pair<int64_t, int64_t>{1, 1}, {2, 1}, {3, 2}, {4, 3}, {11, 1}}) {
    CAPTURE(world, accumulate);
    std::vector<int64_t> seen;
    for (int64_t rank = 0; rank < world; ++rank) {
      for (const auto& share : rank_batches(whole, accumulate, rank, world)) {
        CHECK(share.examples() >= 11 / (world * accumulate));
        CHECK(share.examples() <= 11 / (world * accumulate) + 2);
        for (int64_t i = 0; i < share.examples(); ++i) {
          CHECK(share.labels[i].item<int64_t>() == share.first_example + i);  // first_example names the rows
          seen.push_back(share.labels[i].item<int64_t>());
        }
      }
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  }
}
