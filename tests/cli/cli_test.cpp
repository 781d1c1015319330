// The qkv command end to end on quickstart-tiny: train, eval, generate, info, help, refusal to
// overwrite an earlier run, and the choice of device.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include "helpers.h"

using namespace qkv;

TEST_CASE("quickstart-tiny: train, eval, generate and info", "[cli]") {
  test::ScratchDir dir("cli");
  const std::string sets = fmt::format("--set tokenizer.model='{}' --set output='{}'", dir / "spm.model", dir / "run");
  auto train = test::run_qkv("train experiments/quickstart-tiny.yaml " + sets);
  INFO(train.output);
  REQUIRE(train.exit_code == 0);
  CHECK_THAT(train.output, Catch::Contains("valid loss") && Catch::Contains("ppl"));
  CHECK(std::filesystem::exists(dir / "run/config.yaml"));
  CHECK(std::filesystem::exists(dir / "run/tokenizer.model"));
  CHECK(std::filesystem::exists(dir / "run/metrics.jsonl"));

  auto eval = test::run_qkv("eval experiments/quickstart-tiny.yaml --split test " + sets);
  REQUIRE(eval.exit_code == 0);
  auto line = nlohmann::json::parse(eval.output.substr(eval.output.find('{')));
  CHECK(line["split"] == "test");
  CHECK(line["step"] == 30);
  CHECK(line["ppl"].get<double>() > 1.0);
  CHECK(line["ppl"].get<double>() < 512.0);  // better than uniform over the vocabulary

  auto generated = test::run_qkv("generate experiments/quickstart-tiny.yaml --prompt 'In the beginning' -n 12 " + sets);
  REQUIRE(generated.exit_code == 0);
  CHECK_THAT(generated.output, Catch::StartsWith("In the beginning"));
  auto greedy_a = test::run_qkv("generate experiments/quickstart-tiny.yaml --greedy --prompt 'And' -n 8 " + sets);
  auto greedy_b = test::run_qkv("generate experiments/quickstart-tiny.yaml --greedy --no-cache --prompt 'And' -n 8 " + sets);
  CHECK(greedy_a.output == greedy_b.output);

  // Length extrapolation: one line per length, and the loss at every position of each.
  auto lengths = test::run_qkv("eval experiments/quickstart-tiny.yaml --lengths 32,128 " + sets);
  REQUIRE(lengths.exit_code == 0);
  CHECK_THAT(lengths.output, Catch::Contains("\"length\":32,\"applicable\":true") &&
                                 Catch::Contains("\"length\":128,\"applicable\":true"));
  std::ifstream csv(dir / "run/eval/loss_by_position-valid.csv");
  int64_t rows = 0;
  for (std::string row; std::getline(csv, row);) ++rows;
  CHECK(rows == 1 + 32 + 128);
  // Each block's band means (64 positions; 32 at length 32), averaged over the blocks, are the
  // per-position means averaged over the band: the two files agree.
  {
    std::ifstream positions(dir / "run/eval/loss_by_position-valid.csv"), blocks(dir / "run/eval/loss_by_block-valid.csv");
    std::string row;
    std::getline(positions, row);
    double position_band = 0;  // length 128, positions 64..127
    while (std::getline(positions, row))
      if (row.rfind("128,", 0) == 0 && std::stoi(row.substr(4)) >= 64)
        position_band += std::stod(row.substr(row.rfind(',') + 1)) / 64;
    std::getline(blocks, row);
    CHECK(row == "length,block,first_position,loss");
    double block_band = 0;
    int64_t count = 0, short_rows = 0;
    while (std::getline(blocks, row)) {
      std::vector<std::string> cells;  // length, block, first_position, loss
      std::stringstream in(row);
      for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
      REQUIRE(cells.size() == 4u);
      if (cells[0] == "32") ++short_rows;
      if (cells[0] == "128" && cells[2] == "64") block_band += std::stod(cells[3]), ++count;
    }
    REQUIRE(count > 0);
    CHECK(short_rows > count);  // one band per block at 32, more blocks of 32 than of 128
    CHECK(block_band / double(count) == Approx(position_band).margin(1e-5));
  }

  // Sliding windows beside the non-overlapping figure: at stride == length they are the same
  // evaluation; at a shorter stride every target sees more context, so the loss moves.
  auto by_length = [](const std::string& output) {
    std::map<int64_t, nlohmann::json> lines;
    std::istringstream in(output);
    for (std::string row; std::getline(in, row);)
      if (row.rfind("{", 0) == 0) {
        auto j = nlohmann::json::parse(row);
        lines[j["length"].get<int64_t>()] = j;
      }
    return lines;
  };
  auto sliding = test::run_qkv("eval experiments/quickstart-tiny.yaml --lengths 16,64 --stride 16 " + sets);
  INFO(sliding.output);
  REQUIRE(sliding.exit_code == 0);
  auto windows = by_length(sliding.output);
  REQUIRE(windows.count(16) == 1);
  REQUIRE(windows.count(64) == 1);
  CHECK(windows[16]["sliding_loss"].get<double>() == Approx(windows[16]["loss"].get<double>()).epsilon(1e-9));
  CHECK(windows[64]["stride"] == 16);
  CHECK(windows[64]["sliding_loss"].get<double>() != Approx(windows[64]["loss"].get<double>()).epsilon(1e-4));
  CHECK(test::run_qkv("eval experiments/quickstart-tiny.yaml --stride 16 " + sets).exit_code == 2);

  // RoPE extended at evaluation time, the trained weights unchanged: YaRN with s = 4 over the
  // training length 64 changes the loss at 256; s = 1 leaves it as it was.
  auto plain = by_length(test::run_qkv("eval experiments/quickstart-tiny.yaml --lengths 256 " + sets).output);
  const std::string yarn = " --set model.position.scaling=yarn --set model.position.original_len=64 --set model.position.scale=";
  auto extended = by_length(test::run_qkv("eval experiments/quickstart-tiny.yaml --lengths 256 " + sets + yarn + "4").output);
  auto unit = by_length(test::run_qkv("eval experiments/quickstart-tiny.yaml --lengths 256 " + sets + yarn + "1").output);
  REQUIRE(plain.count(256) == 1);
  REQUIRE(extended.count(256) == 1);
  REQUIRE(unit.count(256) == 1);
  // (30 steps teach the tiny model little position, so the change is small: 2e-5 when written.)
  CHECK(unit[256]["loss"].get<double>() == Approx(plain[256]["loss"].get<double>()).epsilon(1e-7));
  CHECK(std::abs(extended[256]["loss"].get<double>() - plain[256]["loss"].get<double>()) > 1e-6);

  auto info = test::run_qkv("info experiments/quickstart-tiny.yaml " + sets);
  REQUIRE(info.exit_code == 0);
  CHECK_THAT(info.output, Catch::Contains("# parameters:") && Catch::Contains("# FLOPs per token"));

  // Training again without --resume would overwrite the run: refused, the run left intact.
  auto again = test::run_qkv("train experiments/quickstart-tiny.yaml " + sets);
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.output, Catch::Contains("--resume"));
  CHECK(std::filesystem::exists(dir / "run/checkpoints/step-30/MANIFEST.json"));
}

TEST_CASE("learned positions past max_len are reported as not applicable", "[cli]") {
  test::ScratchDir dir("cli-learned");
  const std::string sets = fmt::format(
      "--set tokenizer.model='{}' --set output='{}' --set model.position.scheme=learned --set model.max_len=64 "
      "--set train.steps=6 --set train.eval_every=0",
      dir / "spm.model", dir / "run");
  REQUIRE(test::run_qkv("train experiments/quickstart-tiny.yaml -q " + sets).exit_code == 0);
  auto result = test::run_qkv("eval experiments/quickstart-tiny.yaml --lengths 64,65 " + sets);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("\"length\":64,\"applicable\":true"));
  CHECK_THAT(result.output, Catch::Contains("\"length\":65,\"applicable\":false,\"reason\":\"learned positions cover 64"));
}

TEST_CASE("bench prints one JSON line of measured figures, synthetic data needing no corpus", "[cli]") {
  auto result = test::run_qkv(
      "bench experiments/quickstart-tiny.yaml --synthetic 300 --steps 3 --warmup 1 --generate 16 "
      "--set data.train=does/not/matter.txt --set tokenizer.model=none.model");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  auto line = nlohmann::json::parse(result.output.substr(result.output.find('{')));
  CHECK(line["batch_tokens"] == 8 * 64);
  CHECK(line["tokens_per_s"].get<double>() > 0);
  CHECK(line["step_ms_min"].get<double>() <= line["step_ms"].get<double>());
  CHECK(line["step_ms"].get<double>() <= line["step_ms_max"].get<double>());
  CHECK(line["mfu"].get<double>() > 0);
  CHECK(line["generate_tokens"] == 16);
  CHECK(line["peak_rss_mib"].get<double>() > 10);
  // The estimates of what the peak holds: AdamW's 16 bytes a parameter, activations that fit in it.
  const double mib = 1024.0 * 1024.0;
  CHECK(line["state_mib"].get<double>() == Approx(16.0 * line["parameters"].get<double>() / mib));
  CHECK(line["activation_estimate_mib"].get<double>() > 0);
  CHECK(line["activation_estimate_mib"].get<double>() + line["state_mib"].get<double>() <
        line["peak_rss_mib"].get<double>());
}

TEST_CASE("train.device: cuda runs on the GPU where LibTorch sees one, and is refused by name where it does not", "[cli]") {
  auto result = test::run_qkv(
      "bench experiments/quickstart-tiny.yaml --synthetic 300 --steps 2 --warmup 1 --set train.device=cuda "
      "--set data.train=does/not/matter.txt --set tokenizer.model=none.model");
  INFO(result.output);
  if (torch::cuda::is_available()) {
    REQUIRE(result.exit_code == 0);
    auto line = nlohmann::json::parse(result.output.substr(result.output.find('{')));
    CHECK(line["device"].get<std::string>().rfind("cuda", 0) == 0);
  } else {
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Contains("train.device: cuda: LibTorch sees no GPU"));
  }
  auto cpu = test::run_qkv(
      "bench experiments/quickstart-tiny.yaml --synthetic 300 --steps 2 --warmup 1 --set train.device=cpu "
      "--set data.train=does/not/matter.txt --set tokenizer.model=none.model");
  REQUIRE(cpu.exit_code == 0);
  CHECK_THAT(cpu.output, Catch::Contains(R"("device":"cpu")"));
}

TEST_CASE("help for the command and every verb", "[cli]") {
  for (const char* verb : {"", "train", "eval", "generate", "info", "bench"}) {
    CAPTURE(verb);
    auto help = test::run_qkv(std::string(verb) + " --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.output, Catch::Contains("Usage"));
  }
  CHECK(test::run_qkv("fly").exit_code == 2);
  CHECK(test::run_qkv("train").exit_code == 2);
  CHECK(test::run_qkv("eval experiments/quickstart-tiny.yaml --set output=/nonexistent/run").exit_code == 2);
}

TEST_CASE("word2vec writes vectors of data.train's words and stops on a missing corpus", "[cli]") {
  test::ScratchDir dir("cli-word2vec");
  auto result = test::run_qkv(fmt::format(
      "word2vec experiments/quickstart-tiny.yaml --dim 8 --min-count 5 --output '{}' --similar god --set data.train=data/web/valid.txt",
      dir / "v.txt"));
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  auto line = nlohmann::json::parse(result.output.substr(result.output.rfind("{\"output\"")));
  std::ifstream vectors(dir / "v.txt");
  std::string header;
  std::getline(vectors, header);
  CHECK(header == fmt::format("{} 8", line["words"].get<int64_t>()));
  CHECK(line["similar"]["god"].size() == 8);
  auto missing = test::run_qkv("word2vec experiments/quickstart-tiny.yaml --set data.train=no/such/file.txt");
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("no/such/file.txt"));
}

TEST_CASE("model.embedding_init starts training from word vectors, and refuses init_from beside it", "[cli]") {
  test::ScratchDir dir("cli-embedding-init");
  {
    std::ofstream vectors(dir / "v.txt");
    vectors << "3 4\nthe 0.1 0.2 0.3 0.4\nlord -0.5 0.2 0.1 0.0\ngod 0.3 -0.1 0.2 0.9\n";
  }
  const std::string sets = fmt::format(
      "--set tokenizer.model='{}' --set output='{}' --set train.steps=6 --set train.eval_every=0 --set train.save_every=0 "
      "--set model.embedding_init='{}' --set model.embedding_freeze=true",
      dir / "spm.model", dir / "run", dir / "v.txt");
  auto trained = test::run_qkv("train experiments/quickstart-tiny.yaml " + sets);
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  CHECK_THAT(trained.output, Catch::Contains("pieces matched") && Catch::Contains("frozen"));
  auto both = test::run_qkv("train experiments/quickstart-tiny.yaml " + sets + fmt::format(" --set init_from='{}' --set output='{}'", dir / "run", dir / "run2"));
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.output, Catch::Contains("model.embedding_init: init_from"));
  {
    std::ofstream bad(dir / "bad.txt");
    bad << "the 0.1 0.2\nlord 0.3\n";
  }
  auto broken = test::run_qkv("train experiments/quickstart-tiny.yaml " + sets +
                              fmt::format(" --set model.embedding_init='{}' --set output='{}'", dir / "bad.txt", dir / "run3"));
  CHECK(broken.exit_code == 2);
  CHECK_THAT(broken.output, Catch::Contains("bad.txt:2: vector"));
  CHECK_FALSE(std::filesystem::exists(dir / "run3/checkpoints"));
}
