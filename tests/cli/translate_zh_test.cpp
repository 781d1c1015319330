// Chinese to English and back on the tiny twin of translate-zh-en.yaml: SentencePiece trained with
// character coverage 0.9995 leaves at most 0.05% of its text's characters <unk>, qkv translate reads Chinese
// on standard input, and the reverse direction trains and writes Chinese.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "transformer/text/tokenizer.h"

using namespace qkv;

TEST_CASE("translate-zh-en-tiny: both directions, Chinese coverage", "[cli]") {
  test::ScratchDir dir("translate-zh");
  for (const char* lang : {"zh", "en"}) {  // 16 held-out pairs keep evaluation quick
    std::ifstream in(test::source_path(std::string("data/zh-en/test.") + lang));
    std::ofstream out(dir / (std::string("small.") + lang));
    std::string line;
    for (int i = 0; i < 16 && std::getline(in, line); ++i) out << line << "\n";
  }
  const std::string sets = fmt::format("--set tokenizer.model='{}' --set data.valid='{}'", dir / "spm.model", dir / "small");
  auto train = test::run_qkv(fmt::format("train experiments/translate-zh-en-tiny.yaml -q {} --set output='{}'", sets, dir / "zh-en"));
  INFO(train.output);
  REQUIRE(train.exit_code == 0);

  // Coverage 0.9995: at most 0.05% of the characters of the text the joint tokenizer learned from
  // (both sides of the valid chapters here) fall outside its alphabet and become <unk>, all of
  // them rare Chinese characters.
  const Tokenizer tokenizer = Tokenizer::load(dir / "spm.model");
  int64_t characters = 0, unknown = 0;
  for (const char* lang : {"zh", "en"}) {
    std::ifstream seen(test::source_path(std::string("data/zh-en/valid.") + lang));
    for (std::string line; std::getline(seen, line);) {
      for (const char c : line) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      for (const int id : tokenizer.encode(line)) unknown += id == tokenizer.special().unk;
    }
  }
  CAPTURE(characters, unknown);
  CHECK(characters > 40000);
  CHECK(unknown > 0);  // the rarest characters are left out, as asked
  CHECK(double(unknown) <= 0.0005 * double(characters) + 1);

  auto translated = test::run_qkv(fmt::format("translate experiments/translate-zh-en-tiny.yaml {} --set output='{}' --greedy < '{}' "
                                              "2>/dev/null | wc -l", sets, dir / "zh-en", dir / "small.zh"));
  CHECK(translated.exit_code == 0);
  CHECK(std::stoi(translated.output) == 16);

  // en -> zh with the same joint tokenizer: the output is Chinese (multi-byte) text, and the
  // evaluation's BLEU under task.bleu_tokenize: zh is what qkv score --tokenize zh gives for the
  // same translations.
  const std::string reverse = sets + fmt::format(" --set data.source=en --set data.target=zh --set task.bleu_tokenize=zh "
                                                 "--set train.precision=fp32 --set output='{}'", dir / "en-zh");
  auto trained = test::run_qkv("train experiments/translate-zh-en-tiny.yaml -q --set train.steps=12 " + reverse);
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  auto zh = test::run_qkv(fmt::format("translate experiments/translate-zh-en-tiny.yaml {} --input '{}' --output '{}'", reverse,
                                      dir / "small.en", dir / "hyp.zh"));
  REQUIRE(zh.exit_code == 0);
  std::ifstream hyp_file(dir / "hyp.zh");
  const std::string hyp((std::istreambuf_iterator<char>(hyp_file)), std::istreambuf_iterator<char>());
  CHECK(std::count_if(hyp.begin(), hyp.end(), [](char c) { return static_cast<unsigned char>(c) >= 0xE4; }) > 0);
  auto eval = test::run_qkv("eval experiments/translate-zh-en-tiny.yaml " + reverse);
  INFO(eval.output);
  REQUIRE(eval.exit_code == 0);
  auto scored = test::run_qkv(fmt::format("score --hyp '{}' --ref '{}' --tokenize zh", dir / "hyp.zh", dir / "small.zh"));
  REQUIRE(scored.exit_code == 0);
  const double eval_bleu = nlohmann::json::parse(eval.output.substr(eval.output.find('{')))["bleu"].get<double>();
  const double score_bleu = nlohmann::json::parse(scored.output.substr(0, scored.output.find('\n')))["score"].get<double>();
  CHECK(score_bleu > 0.0);  // not two zeros agreeing
  CHECK(eval_bleu == Approx(score_bleu).margin(0.006));  // score prints two decimals
}
