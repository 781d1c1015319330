// SentencePiece tokenizer: training on text, the special tokens, and encode/decode round trips.
#include <catch2/catch.hpp>

#include <fstream>

#include "helpers.h"
#include "transformer/util/errors.h"
#include "transformer/text/tokenizer.h"

using namespace qkv;

TEST_CASE("a trained tokenizer has the special tokens and round-trips text", "[text]") {
  test::ScratchDir dir("tokenizer");
  const std::string corpus = dir / "corpus.txt";
  {
    std::ifstream in(test::source_path("data/web/valid.txt"));
    REQUIRE(in);  // scripts/prepare_data.sh builds it
    std::ofstream out(corpus);
    out << in.rdbuf();
  }
  TokenizerConfig config;
  config.vocab_size = 300;
  config.model = dir / "spm.model";
  Tokenizer::train(corpus, config.model, config, 1);
  auto tokenizer = Tokenizer::load(config.model);
  CHECK(tokenizer.vocab_size() == 300);
  const auto& s = tokenizer.special();
  CHECK(s.pad == 0);
  CHECK(s.unk == 1);
  CHECK(s.bos == 2);
  CHECK(s.eos == 3);
  CHECK(tokenizer.piece(s.mask) == "<mask>");
  CHECK(tokenizer.piece(s.cls) == "<cls>");
  CHECK(tokenizer.piece(s.sep) == "<sep>");
  const std::string text = "Naomi said to Ruth, “Go, return to your people.”";
  auto ids = tokenizer.encode(text);
  CHECK(ids.size() > 5);
  CHECK(std::find(ids.begin(), ids.end(), s.unk) == ids.end());
  CHECK(tokenizer.decode(ids) == text);
  // Special pieces are single tokens in text too.
  auto with_mask = tokenizer.encode("He went <mask> the city");
  CHECK(std::count(with_mask.begin(), with_mask.end(), s.mask) == 1);
  CHECK(tokenizer.checksum().size() == 16);
}

TEST_CASE("loading a file that is not a tokenizer is an input error", "[text]") {
  test::ScratchDir dir("badtok");
  std::ofstream(dir / "junk.model") << "not a model";
  CHECK_THROWS_AS(Tokenizer::load(dir / "junk.model"), InputError);
  CHECK_THROWS_WITH(Tokenizer::load(dir / "absent.model"), Catch::Contains("absent.model: cannot read the tokenizer model"));
}

TEST_CASE("tokenizer.normalization: nmt_nfkc folds full-width punctuation, identity keeps it", "[text]") {
  test::ScratchDir dir("tokenizer-normalization");
  const std::string corpus = test::source_path("data/zh-en/valid.zh");
  REQUIRE(std::filesystem::exists(corpus));  // scripts/prepare_data.sh builds it
  const std::string text = "一切赞颂，全归安拉！";
  for (const auto& [rule, expected] : {std::pair{Normalization::kNmtNfkc, std::string("一切赞颂,全归安拉!")},
                                       std::pair{Normalization::kIdentity, text}}) {
    TokenizerConfig config;
    config.vocab_size = 1200;
    config.character_coverage = 0.9995;
    config.normalization = rule;
    config.model = dir / (std::string(choice_name(normalization_choices(), rule)) + ".model");
    Tokenizer::train(corpus, config.model, config, 1);
    const auto tokenizer = Tokenizer::load(config.model);
    CAPTURE(config.model);
    CHECK(tokenizer.decode(tokenizer.encode(text)) == expected);
    CHECK(tokenizer.normalization_rule() == choice_name(normalization_choices(), rule));  // read back from the model
  }
  CHECK(Tokenizer::symbols("0123").normalization_rule().empty());
}
