// Killed runs: SIGKILL twenty times, half of them inside checkpoint writes (at each stage of the
// write), and SIGTERM ten times with one and with two ranks. After each, the newest complete
// checkpoint loads and the run, resumed, logs the loss curve of a run never interrupted, bit for
// bit. Damaged checkpoints (truncated, one bit flipped) are passed over for the previous one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <random>

#include "faults.h"
#include "transformer/train/checkpoint.h"

using namespace qkv;

namespace {

std::string run_args(const test::ScratchDir& dir, const std::string& out, int64_t steps) {
  return fmt::format(
      "train experiments/quickstart-tiny.yaml -q --resume --set tokenizer.model='{}' --set output='{}' --set train.steps={} "
      "--set train.log_every=1 --set train.eval_every=0 --set train.save_every=5 --set train.keep_checkpoints=2",
      dir / "spm.model", out, steps);
}

}  // namespace

TEST_CASE("SIGKILL 20 times, 10 during checkpoint writes: resumed runs equal an uninterrupted one", "[faults]") {
  test::ScratchDir dir("kill");
  const int64_t steps = 300;
  const auto started = std::chrono::steady_clock::now();
  auto reference = test::run_qkv(run_args(dir, dir / "ref", steps));
  const double reference_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);
  const auto expected = test::train_losses(dir / "ref");
  REQUIRE(int64_t(expected.size()) == steps);

  const std::string run = dir / "run";
  const char* stages[] = {"model", "optimizer", "trainer", "rename", "manifest", "latest"};
  int kills = 0;
  for (int i = 0; i < 10; ++i) {  // inside the writes of checkpoints 10, 15, ..., 55 (5 is complete)
    const std::string stage = stages[i % 6];
    CAPTURE(i, stage);
    auto killed = test::run_shell(fmt::format("QKV_FAULT_KILL={}@{} '{}' {} >/dev/null 2>&1; echo exit=$?", stage, 5 * (i + 2),
                                              QKV_BINARY, run_args(dir, run, steps)));
    CHECK(test::exit_of(killed) == 137);
    kills += test::exit_of(killed) == 137;
    auto newest = CheckpointStore(run, 2).newest_valid();
    REQUIRE(newest);
    CHECK_FALSE(verify_checkpoint(*newest));
  }
  std::mt19937 rng(20261121);
  // At random moments (start-up, a step, a write), drawn from up to an eighth of the uninterrupted
  // run's time so that, the start-up being repeated by each, ten kills leave the run unfinished
  // however fast this machine trains.
  const double latest = std::min(2.6, 0.1 + reference_s / 8);
  for (int i = 0; i < 10; ++i) {
    const double delay = 0.1 + (latest - 0.1) * std::uniform_real_distribution<double>(0, 1)(rng);
    CAPTURE(i, delay, reference_s);
    auto killed = test::run_and_signal("", run_args(dir, run, steps), delay, "KILL");
    if (test::exit_of(killed) == 0) break;  // the run finished first
    CHECK(test::exit_of(killed) == 137);
    kills += test::exit_of(killed) == 137;
    if (auto newest = CheckpointStore(run, 2).newest_valid()) CHECK_FALSE(verify_checkpoint(*newest));
  }
  CHECK(kills >= 15);
  auto finish = test::run_qkv(run_args(dir, run, steps));
  INFO(finish.output);
  REQUIRE(finish.exit_code == 0);
  const auto got = test::train_losses(run);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == expected[i]);  // bit for bit
  }
  const auto manifest = [&](const std::string& r) {
    return nlohmann::json::parse(std::ifstream(r + "/checkpoints/step-300/MANIFEST.json"))["files"]["model.safetensors"];
  };
  CHECK(manifest(run) == manifest(dir / "ref"));  // the same weights, byte for byte
}

TEST_CASE("SIGTERM 10 times with 1 rank and with 2: saved, exit 143, resumed exactly", "[faults]") {
  test::ScratchDir dir("term");
  for (const int ranks : {1, 2}) {
    CAPTURE(ranks);
    const int64_t steps = 120;
    const std::string nproc = ranks > 1 ? " --nproc 2" : "";
    const std::string tag = fmt::format("r{}", ranks);
    auto reference = test::run_qkv(run_args(dir, dir / (tag + "-ref"), steps) + nproc);
    INFO(reference.output);
    REQUIRE(reference.exit_code == 0);
    const auto expected = test::train_losses(dir / (tag + "-ref"));
    const std::string run = dir / tag;
    std::mt19937 rng(143 + ranks);
    int saved = 0;
    int64_t target = 0;
    for (int i = 0; i < 10; ++i) {
      // SIGTERM once the run has logged a random number of further steps: somewhere mid-run.
      target += 3 + int64_t(rng() % 8);
      auto stopped = test::run_shell(fmt::format(
          "'{}' {} >/dev/null 2>&1 & pid=$!; until [ \"$(grep -c '\"train\"' '{}/metrics.jsonl' 2>/dev/null)\" -ge {} ] || "
          "! kill -0 $pid 2>/dev/null; do sleep 0.02; done; kill -TERM $pid 2>/dev/null; wait $pid; echo exit=$?",
          QKV_BINARY, run_args(dir, run, steps) + nproc, run, target));
      CAPTURE(i, target);
      CHECK(test::exit_of(stopped) == 143);
      saved += test::exit_of(stopped) == 143;
    }
    CHECK(saved == 10);
    auto finish = test::run_qkv(run_args(dir, run, steps) + nproc);
    REQUIRE(finish.exit_code == 0);
    const auto got = test::train_losses(run);
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == expected[i]);
  }
}

TEST_CASE("truncated and bit-flipped checkpoints are passed over for the previous one", "[faults]") {
  test::ScratchDir dir("damaged");
  auto reference = test::run_qkv(run_args(dir, dir / "ref", 30));
  REQUIRE(reference.exit_code == 0);
  for (const char* damage : {"truncate", "flip"}) {
    CAPTURE(damage);
    const std::string run = dir / damage;
    auto part = test::run_qkv(run_args(dir, run, 30) + " --stop-at 20");
    REQUIRE(part.exit_code == 0);
    const std::string model = run + "/checkpoints/step-20/model.safetensors";
    if (std::string(damage) == "truncate") {
      std::filesystem::resize_file(model, std::filesystem::file_size(model) / 2);
    } else {
      std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(1000);
      char c;
      f.get(c);
      f.seekp(1000);
      f.put(char(c ^ 0x10));
    }
    std::string loud = run_args(dir, run, 30);
    loud.replace(loud.find(" -q"), 3, "");
    auto resumed = test::run_qkv(loud);
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK_THAT(resumed.output, Catch::Contains("skipping checkpoint " + run + "/checkpoints/step-20: model.safetensors") &&
                                   Catch::Contains("resuming from " + run + "/checkpoints/step-15"));
    CHECK(test::train_losses(run) == test::train_losses(dir / "ref"));
  }
}
