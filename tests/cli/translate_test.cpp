// Translation end to end on the tiny twins: training with token-sized batches, evaluation with
// BLEU and chrF (the last checkpoints averaged), qkv translate from standard input, the LSTM
// baseline through the same commands, and qkv score as sacreBLEU's command line.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "helpers.h"

using namespace qkv;

TEST_CASE("translate-es-en-tiny, its LSTM twin and transformer-base-tiny: train, eval, translate", "[cli]") {
  test::ScratchDir dir("translate");
  // Evaluation decodes every sentence: a 24-pair split keeps the test quick.
  for (const char* lang : {"es", "en"}) {
    std::ifstream in(test::source_path(std::string("data/es-en/test.") + lang));
    std::ofstream out(dir / (std::string("small.") + lang));
    std::string line;
    for (int i = 0; i < 24 && std::getline(in, line); ++i) out << line << "\n";
  }
  for (const char* experiment : {"experiments/translate-es-en-tiny.yaml", "experiments/translate-es-en-rnn-tiny.yaml",
                                 "experiments/transformer-base-tiny.yaml"}) {
    CAPTURE(experiment);
    const std::string name = std::string(experiment);
    const std::string out = dir / (name.find("rnn") != std::string::npos ? "rnn" : name.find("base") != std::string::npos ? "base" : "transformer");
    const std::string sets =
        fmt::format("--set tokenizer.model='{}' --set output='{}' --set data.valid='{}'", dir / "spm.model", out, dir / "small");
    auto train = test::run_qkv(fmt::format("train {} -q {}", experiment, sets));
    INFO(train.output);
    REQUIRE(train.exit_code == 0);
    CHECK_THAT(train.output, Catch::Contains("bleu") && Catch::Contains("chrf"));

    auto eval = test::run_qkv(fmt::format("eval {} {}", experiment, sets));
    INFO(eval.output);
    REQUIRE(eval.exit_code == 0);
    auto line = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
    CHECK(line["sentences"] == 24);
    CHECK(line["bleu"].get<double>() >= 0.0);
    CHECK(line["chrf"].get<double>() >= 0.0);  // an 8-step model may well say nothing

    auto translated = test::run_qkv(fmt::format("translate {} {} < '{}' 2>/dev/null | wc -l", experiment, sets, dir / "small.es"));
    CHECK(translated.exit_code == 0);
    CHECK(std::stoi(translated.output) == 24);
    auto greedy = test::run_qkv(fmt::format("translate {} {} --greedy --input '{}'", experiment, sets, dir / "small.es"));
    auto uncached = test::run_qkv(fmt::format("translate {} {} --greedy --no-cache --input '{}'", experiment, sets, dir / "small.es"));
    CHECK(greedy.exit_code == 0);
    CHECK(greedy.output.substr(0, greedy.output.rfind("sentences in")) == uncached.output.substr(0, uncached.output.rfind("sentences in")));
  }
  CHECK(std::filesystem::exists(dir / "transformer/checkpoints/step-8/MANIFEST.json"));
}

TEST_CASE("qkv score: BLEU and chrF of two files, as sacreBLEU prints them", "[cli]") {
  test::ScratchDir dir("score");
  std::ofstream(dir / "hyp.txt") << "the cat sat on\nhello world\n";
  std::ofstream(dir / "ref.txt") << "the cat sat on the mat\nhello world\n";
  auto scored = test::run_qkv(fmt::format("score --hyp '{}' --ref '{}'", dir / "hyp.txt", dir / "ref.txt"));
  INFO(scored.output);
  REQUIRE(scored.exit_code == 0);
  std::stringstream lines(scored.output);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  const auto bleu = nlohmann::json::parse(first);
  CHECK(bleu["name"] == "BLEU");
  // 1-grams 6/6, 2-grams 4/4, 3-grams 2/2, 4-grams 1/1; 6 tokens for 8: BP exp(1 - 8/6).
  CHECK(bleu["score"].get<double>() == Approx(std::round(100 * 100 * std::exp(1.0 - 8.0 / 6.0)) / 100));
  CHECK_THAT(bleu["verbose_score"].get<std::string>(), Catch::Contains("hyp_len = 6 ref_len = 8"));
  CHECK(nlohmann::json::parse(second)["name"] == "chrF2");
  // Two references, sacreBLEU's zh tokenizer, its signature; an unknown tokenizer is bad input.
  std::ofstream(dir / "ref2.txt") << "the cat sat on the mat\nhello there world\n";
  auto zh = test::run_qkv(fmt::format("score --hyp '{}' --ref '{}' --ref '{}' --tokenize zh --lowercase", dir / "hyp.txt",
                                      dir / "ref.txt", dir / "ref2.txt"));
  REQUIRE(zh.exit_code == 0);
  CHECK(nlohmann::json::parse(zh.output.substr(0, zh.output.find('\n')))["signature"] ==
        "nrefs:2|case:lc|eff:no|tok:zh|smooth:exp|version:qkv(sacrebleu-2.x)");
  CHECK_THAT(zh.output, Catch::Contains("\"chrF2++\""));
  auto unknown = test::run_qkv(fmt::format("score --hyp '{}' --ref '{}' --tokenize moses", dir / "hyp.txt", dir / "ref.txt"));
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("--tokenize: expected one of 13a, intl, zh, char, none, found 'moses'"));
  std::ofstream(dir / "short.txt") << "one line\n";
  auto mismatch = test::run_qkv(fmt::format("score --hyp '{}' --ref '{}'", dir / "short.txt", dir / "ref.txt"));
  CHECK(mismatch.exit_code == 2);
  CHECK_THAT(mismatch.output, Catch::Contains("1 lines") && Catch::Contains("2 lines"));
}
