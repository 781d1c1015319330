// Fine-tuning from a Hugging Face directory end to end (init_from: hf:DIR, imported once and then
// taken from the cache), generation from an imported run, and a missing directory refused.
#include <catch2/catch.hpp>

#include "hf_fixtures.h"

using namespace hf_test;

TEST_CASE("fine-tuning from hf:DIR imports once and loads every pretrained tensor; imported runs generate", "[cli]") {
  test::ScratchDir dir("hf-finetune");
  write_gpt2(dir / "gpt2", false, 21);
  write_bert(dir / "bert", false, 0, 22);
  for (const auto& [experiment, hf, tensors] : {std::tuple<std::string, std::string, int>{"gpt2-finetune-paraphrase-tiny", "gpt2", 28},
                                                {"bert-rte-tiny", "bert", 36}}) {
    CAPTURE(experiment);
    const std::string args = fmt::format("train experiments/{}.yaml --set init_from=hf:{} --set output={}", experiment, dir / hf,
                                         dir / experiment);
    const auto r = test::run_qkv(args);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("importing " + dir / hf) && Catch::Contains(fmt::format("loaded {} tensors", tensors)));
    const auto again = test::run_qkv(args + " --set output=" + dir / (experiment + "-again"));
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.output, !Catch::Contains("importing"));  // the cached import
  }
  REQUIRE(test::run_qkv("import hf " + dir / "gpt2" + " --output " + dir / "gpt2-run").exit_code == 0);
  const auto g = test::run_qkv("generate " + dir / "gpt2-run/config.yaml" + " --prompt 'the' --greedy -n 5");
  INFO(g.output);
  CHECK(g.exit_code == 0);
  const auto bad = test::run_qkv("train experiments/bert-rte-tiny.yaml --set init_from=hf:" + dir / "nothing-here");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("init_from: no Hugging Face model directory at " + dir / "nothing-here"));
}
