// Checkpoints: resuming is bit-for-bit the same as never stopping; loading refuses checkpoints
// whose tensors or tokenizer differ, listing every difference; damaged checkpoints are never loaded.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

#include "helpers.h"
#include "transformer/util/errors.h"
#include "transformer/util/checksum.h"
#include "transformer/io/safetensors.h"
#include "transformer/train/checkpoint.h"

using namespace qkv;

namespace {

std::vector<torch::Tensor> saved_tensors(const std::string& checkpoint) {
  const io::SafetensorsFile file(checkpoint + "/model.safetensors");
  std::vector<torch::Tensor> values;
  for (const auto& entry : file.entries()) values.push_back(file.get(entry.name).clone());
  return values;
}

std::vector<std::string> train_lines(const std::string& metrics) {
  std::ifstream in(metrics);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line.substr(0, line.find(",\"tokens_per_s\"")));
  return out;
}

}  // namespace

TEST_CASE("resume: N steps equal N/2 steps, checkpoint, resume, N/2 steps, bit for bit", "[train]") {
  const std::string precision = GENERATE("fp32", "bf16");
  CAPTURE(precision);
  test::ScratchDir dir("resume-" + precision);
  // Dropout on, so the restored random state matters; accumulation on, so the data position does.
  const std::string common = fmt::format(
      "experiments/quickstart-tiny.yaml -q --set tokenizer.model='{}' --set train.steps=8 --set train.eval_every=4 "
      "--set train.save_every=0 --set train.log_every=3 --set train.accumulate=2 --set train.precision={} "
      "--set model.dropout=0.2",
      dir / "spm.model", precision);
  auto whole = test::run_qkv(fmt::format("train {} --set output='{}'", common, dir / "whole"));
  REQUIRE(whole.exit_code == 0);
  auto first = test::run_qkv(fmt::format("train {} --set output='{}' --stop-at 4", common, dir / "split"));
  REQUIRE(first.exit_code == 0);
  CHECK(std::filesystem::exists(dir / "split/checkpoints/step-4/MANIFEST.json"));
  CHECK_FALSE(std::filesystem::exists(dir / "split/checkpoints/step-8"));
  auto second = test::run_qkv(fmt::format("train {} --set output='{}' --resume", common, dir / "split"));
  REQUIRE(second.exit_code == 0);

  auto a = saved_tensors(dir / "whole/checkpoints/step-8");
  auto b = saved_tensors(dir / "split/checkpoints/step-8");
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
  // The logged losses (train and valid) match line for line, the restart leaving no trace, though
  // it fell inside a logging interval: train at steps 3, 6 and 8, valid at 4 and 8.
  CHECK(train_lines(dir / "whole/metrics.jsonl") == train_lines(dir / "split/metrics.jsonl"));
  CHECK(train_lines(dir / "whole/metrics.jsonl").size() == 5u);
}

TEST_CASE("loading refuses a checkpoint of another shape or tokenizer, listing every difference", "[train]") {
  test::ScratchDir dir("mismatch");
  auto small = test::small_model(Family::kGpt, "learned");
  CheckpointStore store(dir / "run", 2);
  store.save(1, small, nullptr, nlohmann::json{{"step", 1}}, "tok-a");
  const std::string path = dir / "run/checkpoints/step-1";
  REQUIRE_FALSE(verify_checkpoint(path).has_value());

  auto same = test::small_model(Family::kGpt, "learned", 50, 99);
  CHECK_NOTHROW(load_checkpoint(path, same, nullptr, "tok-a"));
  for (const auto& [x, y] : {std::make_pair(small->parameters(), same->parameters())})
    for (size_t i = 0; i < x.size(); ++i) CHECK(torch::equal(x[i], y[i]));

  auto config = test::small_config(Family::kGpt, "rope");
  config.d_model = 48;
  config.layers = 3;
  auto other = make_model(config, 60);
  try {
    load_checkpoint(path, other, nullptr, "tok-b");
    FAIL("loaded a mismatched checkpoint");
  } catch (const InputError& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains("tokenizer: checkpoint was trained with tokenizer tok-a, the experiment's is tok-b"));
    CHECK_THAT(message, Catch::Contains("token_embedding.weight: shape 50x32 in the checkpoint, 60x48 in the model"));
    CHECK_THAT(message, Catch::Contains("decoder.block_2.self_attn.qkv.weight: in the model, not in the checkpoint"));
    CHECK_THAT(message, Catch::Contains("decoder.position.table.weight: in the checkpoint, not in the model"));
  }
}

TEST_CASE("damaged checkpoints are rejected and the newest valid one is used", "[train]") {
  test::ScratchDir dir("damaged");
  auto model = test::small_model(Family::kGpt, "rope");
  CheckpointStore store(dir / "run", 5);
  for (int step : {1, 2, 3}) store.save(step, model, nullptr, nlohmann::json{{"step", step}}, "tok");
  CHECK(*store.newest_valid() == dir / "run/checkpoints/step-3");

  {  // flip one byte of step-3's weights
    std::fstream f(dir / "run/checkpoints/step-3/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(200);
    char c;
    f.get(c);
    f.seekp(200);
    f.put(char(c ^ 0x10));
  }
  std::filesystem::resize_file(dir / "run/checkpoints/step-2/trainer.json", 3);  // truncate step-2
  std::vector<std::string> skipped;
  CHECK(*store.newest_valid(&skipped) == dir / "run/checkpoints/step-1");
  REQUIRE(skipped.size() == 2);
  CHECK_THAT(skipped[0], Catch::Contains("model.safetensors fails its checksum"));
  CHECK_THAT(skipped[1], Catch::Contains("trainer.json has the wrong size"));
  CHECK_THROWS_AS(load_checkpoint(dir / "run/checkpoints/step-3", model, nullptr, "tok"), InputError);

  // A checkpoint directory without its manifest (a write cut short) is never loaded.
  std::filesystem::remove(dir / "run/checkpoints/step-1/MANIFEST.json");
  CHECK_FALSE(store.newest_valid().has_value());
}

TEST_CASE("only the newest keep_checkpoints are kept", "[train]") {
  test::ScratchDir dir("keep");
  auto model = test::small_model(Family::kGpt, "none");
  CheckpointStore store(dir / "run", 2);
  for (int step : {10, 20, 30}) store.save(step, model, nullptr, nlohmann::json{{"step", step}}, "tok");
  CHECK_FALSE(std::filesystem::exists(dir / "run/checkpoints/step-10"));
  CHECK(std::filesystem::exists(dir / "run/checkpoints/step-20"));
  std::ifstream latest(dir / "run/latest");
  std::string line;
  std::getline(latest, line);
  CHECK(line == "checkpoints/step-30");
}

TEST_CASE("SIGTERM and SIGINT save at the next step boundary and exit 143 or 130; resume continues", "[train]") {
  const int signal = GENERATE(SIGTERM, SIGINT);
  CAPTURE(signal);
  test::ScratchDir dir("signal-" + std::to_string(signal));
  const std::string out = dir / "run";
  const std::string train = fmt::format(
      "'{}' train experiments/quickstart-tiny.yaml -q --set tokenizer.model='{}' --set output='{}' "
      "--set train.steps=100000 --set train.log_every=1 --set train.eval_every=0 --set train.save_every=0",
      QKV_BINARY, dir / "spm.model", out);
  // Start training, wait until it has logged a step, signal it, report its exit code.
  const std::string script = fmt::format(
      "{} & pid=$!; for i in $(seq 600); do grep -q train '{}/metrics.jsonl' 2>/dev/null && break; sleep 0.1; done; "
      "kill -{} $pid; wait $pid; echo exit=$?",
      train, out, signal);
  auto result = test::run_shell(script);
  INFO(result.output);
  CHECK_THAT(result.output, Catch::Contains(fmt::format("exit={}", 128 + signal)));
  CHECK_THAT(result.output, Catch::Contains("received: saved step"));
  CheckpointStore store(out, 3);
  auto newest = store.newest_valid();
  REQUIRE(newest.has_value());
  const auto saved = nlohmann::json::parse(std::ifstream(*newest + "/trainer.json"));
  CHECK(saved["step"].get<int64_t>() >= 1);
  auto resumed = test::run_qkv(fmt::format("train experiments/quickstart-tiny.yaml -q --set tokenizer.model='{}' "
                                           "--set output='{}' --set train.steps=100000 --resume --stop-at {}",
                                           dir / "spm.model", out, saved["step"].get<int64_t>() + 2));
  CHECK(resumed.exit_code == 0);
  CHECK(std::filesystem::exists(fmt::format("{}/checkpoints/step-{}", out, saved["step"].get<int64_t>() + 2)));
}

TEST_CASE("checkpoints of runs from before model.safetensors (model.pt) still load", "[train]") {
  test::ScratchDir dir("model-pt");
  auto saved = test::small_model(Family::kGpt, "learned");
  CheckpointStore(dir / "run", 1).save(1, saved, nullptr, nlohmann::json{{"step", 1}}, "tok");
  const std::filesystem::path path = dir / "run/checkpoints/step-1";
  // Rewrite it as qkv wrote checkpoints until 2026-12: the tensors in torch::save's archive, in
  // the manifest's order, and the manifest naming model.pt.
  auto manifest = nlohmann::json::parse(std::ifstream(path / "MANIFEST.json"));
  std::vector<torch::Tensor> values;
  for (const auto& p : saved->named_parameters()) values.push_back(p.value().detach().clone());
  for (const auto& b : saved->named_buffers()) values.push_back(b.value().detach().clone());
  torch::save(values, (path / "model.pt").string());
  std::filesystem::remove(path / "model.safetensors");
  manifest["files"].erase("model.safetensors");
  manifest["files"]["model.pt"] = {{"bytes", std::filesystem::file_size(path / "model.pt")},
                                   {"fnv1a64", file_checksum((path / "model.pt").string())}};
  std::ofstream(path / "MANIFEST.json") << manifest.dump(2);
  REQUIRE_FALSE(verify_checkpoint(path.string()).has_value());
  auto loaded = test::small_model(Family::kGpt, "learned", 50, 99);
  load_checkpoint(path.string(), loaded, nullptr, "tok");
  const auto a = saved->parameters(), b = loaded->parameters();
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
}
