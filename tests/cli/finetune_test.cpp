// Pretraining then fine-tuning end to end on the tiny twins: masked-LM pretraining, a pair task
// initialised from it (body and pooler loaded, sentence head left, classifier new, listed),
// task-adaptive pretraining in between, a frozen body that stays equal to the
// pretrained one, the best checkpoint, early stopping, predictions one per input line, and
// init_from mistakes refused before any work.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "transformer/config/experiment.h"
#include "transformer/train/checkpoint.h"

using namespace qkv;

namespace {

std::map<std::string, torch::Tensor> weights(const std::string& experiment, const std::vector<std::string>& sets,
                                             const std::string& checkpoint, int64_t vocab) {
  auto e = load_experiment(test::source_path(experiment), sets, ValidateOptions{false}).experiment;
  auto model = make_model(e.model, vocab);
  load_checkpoint(checkpoint, model, nullptr, "");
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model->named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

int64_t count_lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

}  // namespace

TEST_CASE("masked-LM pretraining, then fine-tuning a pair task from it", "[cli]") {
  test::ScratchDir dir("finetune");
  const std::string tok = fmt::format("--set tokenizer.model='{}'", dir / "spm.model");
  const std::string pre = dir / "pre";
  auto pretrain = test::run_qkv(fmt::format("train experiments/bert-pretrain-tiny.yaml -q {} --set output='{}'", tok, pre));
  INFO(pretrain.output);
  REQUIRE(pretrain.exit_code == 0);
  CHECK_THAT(pretrain.output, Catch::Contains("accuracy"));

  // Frozen body: only the new head trains, so the body must equal the pretrained weights.
  const std::vector<std::string> sets{"tokenizer.model=" + dir / "spm.model", "init_from=" + pre, "output=" + dir / "ft",
                                      "train.freeze_body=true", "train.head_lr=0.01"};
  std::string set_args;
  for (const auto& s : sets) set_args += fmt::format(" --set '{}'", s);
  auto finetune = test::run_qkv("train experiments/bert-paraphrase-tiny.yaml" + set_args);
  INFO(finetune.output);
  REQUIRE(finetune.exit_code == 0);
  CHECK_THAT(finetune.output, Catch::Contains("init_from " + pre + "/checkpoints/step-20: loaded") &&
                                  Catch::Contains("newly initialised 2 (classifier.weight, classifier.bias)") &&
                                  Catch::Contains("best accuracy"));
  const auto init = nlohmann::json::parse(std::ifstream(dir / "ft/init.json"));
  CHECK(init["initialised"] == nlohmann::json::array({"classifier.weight", "classifier.bias"}));
  CHECK(init["loaded"].size() > 10u);

  const int64_t vocab = 512;
  const auto before = weights("experiments/bert-pretrain-tiny.yaml", {}, pre + "/checkpoints/step-20", vocab);
  const auto after = weights("experiments/bert-paraphrase-tiny.yaml", sets, dir / "ft/checkpoints/step-12", vocab);
  int64_t body = 0;
  for (const auto& [name, value] : before) {
    CAPTURE(name);
    if (name.rfind("sentence_head.", 0) == 0) {  // pretraining's own head stays behind
      CHECK_FALSE(after.count(name));
      CHECK_THAT(init["skipped"].dump(), Catch::Contains(name + " (not in this model)"));
      continue;
    }
    REQUIRE(after.count(name));
    CHECK(torch::equal(value, after.at(name)));
    ++body;
  }
  CHECK(body == int64_t(init["loaded"].size()));
  CHECK(after.count("classifier.weight"));

  // Predictions: a header, then one line per example of the input, from the best checkpoint.
  auto predicted = test::run_qkv("predict experiments/bert-paraphrase-tiny.yaml --checkpoint best" + set_args +
                                 " --output '" + dir / "pred.tsv" + "'");
  INFO(predicted.output);
  REQUIRE(predicted.exit_code == 0);
  std::ifstream pred_file(dir / "pred.tsv");
  std::stringstream pred;
  pred << pred_file.rdbuf();
  CHECK_THAT(pred.str(), Catch::StartsWith("line\tlabel\tprobability\n"));
  std::ifstream input(test::source_path("data/paraphrase/test.tsv"));
  std::stringstream in;
  in << input.rdbuf();
  CHECK(count_lines(pred.str()) == count_lines(in.str()));  // header for header
  CHECK_THAT(predicted.output, Catch::Contains("\"accuracy\":") && Catch::Contains("\"f1\":"));

  // The same model from scratch trains too, and starts elsewhere.
  auto scratch = test::run_qkv(fmt::format("train experiments/bert-paraphrase-tiny.yaml -q {} --set init_from= --set output='{}'",
                                           tok, dir / "scratch"));
  INFO(scratch.output);
  REQUIRE(scratch.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(dir / "scratch/init.json"));
}

TEST_CASE("early stopping, resuming a stopped run, and init_from mistakes", "[cli]") {
  test::ScratchDir dir("finetune-stop");
  const std::string tok = fmt::format("--set tokenizer.model='{}'", dir / "spm.model");
  auto pretrain = test::run_qkv(fmt::format("train experiments/bert-pretrain-tiny.yaml -q {} --set train.steps=4 --set output='{}'", tok, dir / "pre"));
  REQUIRE(pretrain.exit_code == 0);

  // lr 0: nothing improves after the first evaluation, so patience 2 stops at the third.
  const std::string sets = fmt::format("{} --set init_from='{}' --set output='{}' --set train.lr=0 --set train.warmup=0 "
                                       "--set train.eval_every=2 --set train.patience=2 --set train.steps=40",
                                       tok, dir / "pre", dir / "ft");
  auto stopped = test::run_qkv("train experiments/bert-spam-tiny.yaml " + sets);
  INFO(stopped.output);
  REQUIRE(stopped.exit_code == 0);
  CHECK_THAT(stopped.output, Catch::Contains("stopped early") && Catch::Contains("step 6/40"));
  CHECK(std::filesystem::exists(dir / "ft/checkpoints/step-6/MANIFEST.json"));
  CHECK(std::filesystem::exists(dir / "ft/best/step-2/MANIFEST.json"));
  auto resumed = test::run_qkv("train experiments/bert-spam-tiny.yaml --resume " + sets);
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.output, Catch::Contains("stopped early at step 6"));

  // A pretrained run without checkpoints, and a tokenizer other than the pretrained run's.
  std::filesystem::create_directories(dir / "empty");
  auto empty = test::run_qkv(fmt::format("train experiments/bert-spam-tiny.yaml {} --set init_from='{}' --set output='{}'", tok,
                                         dir / "empty", dir / "x"));
  CHECK(empty.exit_code == 2);
  CHECK_THAT(empty.output, Catch::Contains("init_from: " + dir / "empty" + " holds no complete checkpoint"));
  CHECK_FALSE(std::filesystem::exists(dir / "x"));
  auto absent = test::run_qkv(fmt::format("train experiments/bert-spam-tiny.yaml --set tokenizer.model='{}' --set init_from='{}' "
                                          "--set output='{}'", dir / "absent.model", dir / "pre", dir / "y"));
  CHECK(absent.exit_code == 2);
  CHECK_THAT(absent.output, Catch::Contains("tokenizer.model: " + dir / "absent.model" + " does not exist; a fine-tuned run uses"));
  CHECK_FALSE(std::filesystem::exists(dir / "absent.model"));
  auto another = test::run_qkv(fmt::format("train experiments/bert-pretrain-tiny.yaml -q --set tokenizer.model='{}' --set "
                                           "data.train=data/web/test.txt --set train.steps=1 --set train.warmup=0 --set output='{}'",
                                           dir / "other.model", dir / "other"));
  REQUIRE(another.exit_code == 0);
  auto other = test::run_qkv(fmt::format("train experiments/bert-spam-tiny.yaml --set tokenizer.model='{}' --set init_from='{}' "
                                         "--set output='{}'", dir / "other.model", dir / "pre", dir / "y"));
  CHECK(other.exit_code == 2);
  CHECK_THAT(other.output, Catch::Contains("was trained with another tokenizer"));
  CHECK_FALSE(std::filesystem::exists(dir / "y"));
  auto missing = test::run_qkv(fmt::format("train experiments/bert-spam-tiny.yaml {} --set init_from='{}' --set output='{}'", tok,
                                           dir / "nowhere", dir / "z"));
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("init_from: no such run directory"));
}

TEST_CASE("next-sentence pretraining, task-adaptive pretraining, then fine-tuning: what each run loads", "[cli]") {
  test::ScratchDir dir("nsp");
  const std::string tok = fmt::format("--set tokenizer.model='{}'", dir / "spm.model");
  auto pretrain = test::run_qkv(fmt::format("train experiments/bert-pretrain-tiny.yaml {} --set train.steps=10 --set output='{}'",
                                            tok, dir / "pre"));
  INFO(pretrain.output);
  REQUIRE(pretrain.exit_code == 0);
  CHECK_THAT(pretrain.output, Catch::Contains("sentence_accuracy"));

  // Task-adaptive pretraining on the pairs continues every tensor, the sentence head included.
  auto tapt = test::run_qkv(fmt::format("train experiments/bert-tapt-tiny.yaml --set init_from='{}' --set output='{}'",
                                        dir / "pre", dir / "tapt"));
  INFO(tapt.output);
  REQUIRE(tapt.exit_code == 0);
  CHECK_THAT(tapt.output, Catch::Contains("sentence_accuracy"));
  const auto continued = nlohmann::json::parse(std::ifstream(dir / "tapt/init.json"));
  CHECK(continued["initialised"].empty());
  CHECK(continued["skipped"].empty());

  auto finetune = test::run_qkv(fmt::format("train experiments/bert-paraphrase-tiny.yaml {} --set init_from='{}' --set "
                                            "train.steps=2 --set output='{}'", tok, dir / "tapt", dir / "ft"));
  INFO(finetune.output);
  REQUIRE(finetune.exit_code == 0);
  const auto init = nlohmann::json::parse(std::ifstream(dir / "ft/init.json"));
  CHECK(init["initialised"] == nlohmann::json::array({"classifier.weight", "classifier.bias"}));
  const auto loaded = init["loaded"].get<std::vector<std::string>>();
  CHECK(std::count(loaded.begin(), loaded.end(), "pooler.weight") == 1);
  CHECK_THAT(init["skipped"].dump(), Catch::Contains("sentence_head.weight (not in this model)"));

  // A format without pairs has nothing for the objective to learn from.
  auto single = test::run_qkv(fmt::format("train experiments/bert-pretrain-tiny.yaml {} --set task.sentence_objective=order "
                                          "--set data.format=glue/sst2 --set data.train=data/glue-sample/SST-2/train.tsv "
                                          "--set data.valid= --set output='{}'", tok, dir / "single"));
  CHECK(single.exit_code == 2);
  CHECK_THAT(single.output, Catch::Contains("task.sentence_objective: order holds no sentence pairs"));
}
