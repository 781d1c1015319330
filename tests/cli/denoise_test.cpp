// Denoising pretraining end to end on the tiny twin: it trains and reports reconstruction
// accuracy; qkv translate fills in masks; a run killed and resumed logs the losses of one never
// interrupted (the noise is a function of seed and batch); translation fine-tuned from it loads
// every tensor; a reduced translation set, misconfigured denoise experiments and a tokenizer file
// asked for another normalisation rule are refused with the key named.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "faults/faults.h"
#include "helpers.h"

using namespace qkv;

TEST_CASE("denoise-es-en-tiny: pretrain, resume exactly, fine-tune translation from it", "[cli]") {
  test::ScratchDir dir("denoise");
  const std::string tok = fmt::format("--set tokenizer.model='{}'", dir / "spm.model");
  auto args = [&](const std::string& out) {
    return fmt::format("train experiments/denoise-es-en-tiny.yaml -q --resume {} --set output='{}' --set train.steps=12 "
                       "--set train.log_every=1 --set train.save_every=4",
                       tok, out);
  };
  auto reference = test::run_qkv(args(dir / "ref"));
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);
  CHECK_THAT(reference.output, Catch::Contains("accuracy"));
  const auto expected = test::train_losses(dir / "ref");
  REQUIRE(expected.size() == 12u);

  // qkv translate writes a denoise run's input lines back, masks filled in: one line for each.
  std::ofstream(dir / "masked.txt") << "En el principio <mask> los cielos y la tierra.\n";
  auto filled = test::run_qkv(fmt::format("translate experiments/denoise-es-en-tiny.yaml {} --set output='{}' --greedy --input '{}' "
                                          "2>/dev/null | wc -l",
                                          tok, dir / "ref", dir / "masked.txt"));
  CHECK(filled.exit_code == 0);
  CHECK(std::stoi(filled.output) == 1);

  // Killed while writing checkpoint 8, resumed from step 4: the same corruptions, the same losses.
  auto killed = test::run_shell(fmt::format("QKV_FAULT_KILL=model@8 '{}' {} >/dev/null 2>&1; echo exit=$?", QKV_BINARY, args(dir / "run")));
  CHECK(test::exit_of(killed) == 137);
  auto resumed = test::run_qkv(args(dir / "run"));
  REQUIRE(resumed.exit_code == 0);
  CHECK(test::train_losses(dir / "run") == expected);

  // Translation from the pretrained run: the same model section, so every tensor is loaded.
  auto finetune = test::run_qkv(fmt::format("train experiments/translate-es-en-tiny.yaml {} --set init_from='{}' --set output='{}' "
                                            "--set data.train_examples=100",
                                            tok, dir / "ref", dir / "ft"));
  INFO(finetune.output);
  REQUIRE(finetune.exit_code == 0);
  CHECK_THAT(finetune.output, Catch::Contains("skipped 0; newly initialised 0"));
  const auto init = nlohmann::json::parse(std::ifstream(dir / "ft/init.json"));
  CHECK(init["loaded"].size() > 10u);

  // Bad configurations stop before any work, naming the key.
  auto too_many = test::run_qkv(fmt::format("train experiments/translate-es-en-tiny.yaml -q {} --set output='{}' --set data.train_examples=5000",
                                            tok, dir / "many"));
  CHECK(too_many.exit_code == 2);
  CHECK_THAT(too_many.output, Catch::Contains("data.train_examples: asks for 5000 pairs"));
  auto gpt = test::run_qkv(fmt::format("train experiments/denoise-es-en-tiny.yaml -q {} --set model.family=gpt --set output='{}'", tok,
                                       dir / "gpt"));
  CHECK(gpt.exit_code == 2);
  CHECK_THAT(gpt.output, Catch::Contains("task.kind") && Catch::Contains("expected seq2seq"));
  auto lambda = test::run_qkv(fmt::format("train experiments/denoise-es-en-tiny.yaml -q {} --set task.span_lambda=0 --set output='{}'", tok,
                                          dir / "lambda"));
  CHECK(lambda.exit_code == 2);
  CHECK_THAT(lambda.output, Catch::Contains("task.span_lambda"));
  // The tokenizer file was trained with nmt_nfkc: asking it for another rule is refused, not ignored.
  auto rule = test::run_qkv(fmt::format("train experiments/denoise-es-en-tiny.yaml -q {} --set tokenizer.normalization=identity "
                                        "--set output='{}'", tok, dir / "rule"));
  CHECK(rule.exit_code == 2);
  CHECK_THAT(rule.output, Catch::Contains("tokenizer.normalization: the experiment asks for identity, but") &&
                              Catch::Contains("was trained with nmt_nfkc"));
  auto beam = test::run_qkv(fmt::format("train experiments/denoise-es-en-tiny.yaml -q {} --set task.beam=2 --set output='{}'", tok,
                                        dir / "beam"));
  CHECK(beam.exit_code == 2);
  CHECK_THAT(beam.output, Catch::Contains("task.beam: applies to task translate only"));
}
