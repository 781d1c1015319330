// A full disk and a read-only output directory stop the run with one line naming the path and
// errno, earlier checkpoints intact; non-finite losses and gradients (injected with
// QKV_INJECT_NAN) under the halt and skip policies, with one and two ranks.
#include <catch2/catch.hpp>

#include <sys/mount.h>

#include "faults.h"
#include "transformer/train/checkpoint.h"

using namespace qkv;

namespace {

// A small tmpfs at `path`, unmounted when the object goes; mounted() false where mounting is not
// permitted (then the test says so and checks nothing).
class SmallDisk {
 public:
  SmallDisk(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directories(path);
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool remount(bool read_only) {
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT | (read_only ? MS_RDONLY : 0), nullptr) == 0;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

std::string args(const test::ScratchDir& dir, const std::string& out) {
  return fmt::format("train experiments/quickstart-tiny.yaml -q --resume --set tokenizer.model='{}' --set output='{}' "
                     "--set train.steps=40 --set train.log_every=1 --set train.eval_every=0 --set train.save_every=5 "
                     "--set train.keep_checkpoints=10",
                     dir / "spm.model", out);
}

int64_t lines_of(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

}  // namespace

TEST_CASE("a full disk: one line with the path and errno, earlier checkpoints intact", "[faults]") {
  test::ScratchDir dir("full");
  auto warm = test::run_qkv(args(dir, dir / "warm") + " --stop-at 1");  // the tokenizer, outside the small disk
  REQUIRE(warm.exit_code == 0);
  SmallDisk disk(dir / "disk", "3m");
  if (!disk.mounted()) {
    WARN("tmpfs cannot be mounted here (not permitted): full-disk case not run");
    return;
  }
  auto full = test::run_qkv(args(dir, dir / "disk/run"));
  INFO(full.output);
  CHECK(full.exit_code == 1);
  CHECK(lines_of(full.output) == 1);
  CHECK_THAT(full.output, Catch::Contains(dir / "disk/run") && Catch::Contains("No space left on device (errno 28)"));
  auto newest = CheckpointStore(dir / "disk/run", 10).newest_valid();
  REQUIRE(newest);  // at least one checkpoint fitted, and it is complete
  CHECK_FALSE(verify_checkpoint(*newest));
}

TEST_CASE("a read-only output directory: one line with the path and errno; resuming after it works", "[faults]") {
  test::ScratchDir dir("readonly");
  SmallDisk disk(dir / "disk", "64m");
  if (!disk.mounted()) {
    WARN("tmpfs cannot be mounted here (not permitted): read-only case not run");
    return;
  }
  const std::string run = dir / "disk/run";
  auto part = test::run_qkv(args(dir, run) + " --stop-at 10");
  REQUIRE(part.exit_code == 0);
  REQUIRE(disk.remount(true));
  auto refused = test::run_qkv(args(dir, run));
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK(lines_of(refused.output) == 1);
  CHECK_THAT(refused.output, Catch::Contains(run) && Catch::Contains("Read-only file system (errno 30)"));
  REQUIRE(disk.remount(false));
  CHECK_FALSE(verify_checkpoint(run + "/checkpoints/step-10"));
  auto resumed = test::run_qkv(args(dir, run));
  CHECK(resumed.exit_code == 0);
  CHECK(test::train_losses(run).size() == 40);
}

TEST_CASE("non-finite loss or gradients: halt names the step and tensor; skip counts and goes on", "[faults]") {
  test::ScratchDir dir("nan");
  const std::string base = args(dir, dir / "x");
  auto run = [&](const std::string& inject, const std::string& out, const std::string& more) {
    return test::run_shell(fmt::format("QKV_INJECT_NAN={} '{}' {} --set output='{}' {}", inject, QKV_BINARY, base, out, more));
  };
  auto halt_loss = run("loss@7", dir / "h1", "");
  INFO(halt_loss.output);
  CHECK(halt_loss.exit_code == 1);
  CHECK_THAT(halt_loss.output, Catch::Contains("step 8: loss is nan; stopped (train.nan_policy: halt)"));
  CHECK(lines_of(halt_loss.output) == 1);
  CHECK_FALSE(verify_checkpoint(dir / "h1/checkpoints/step-5"));  // earlier checkpoints stay

  auto halt_grad = run("grad@3", dir / "h2", "");
  CHECK(halt_grad.exit_code == 1);
  CHECK_THAT(halt_grad.output, Catch::Contains("step 4: gradient of token_embedding.weight is not finite"));

  auto skip = run("loss@3,grad@9", dir / "s1", "--set train.nan_policy=skip");
  INFO(skip.output);
  CHECK(skip.exit_code == 0);
  std::ifstream log(dir / "s1/metrics.jsonl");
  int64_t skipped = 0;
  for (std::string line; std::getline(log, line);) skipped += line.find("\"skipped\"") != std::string::npos;
  CHECK(skipped == 2);
  CHECK(test::train_losses(dir / "s1").size() == 38);  // the two skipped steps log no loss

  auto too_many = run("loss@3,loss@4,loss@5", dir / "s2", "--set train.nan_policy=skip --set train.max_nan_skips=3");
  CHECK(too_many.exit_code == 1);
  CHECK_THAT(too_many.output, Catch::Contains("step 6: loss is nan; 3 steps in a row were not finite"));

  // One rank's gradients: the average carries the NaN to both ranks, which decide alike.
  auto rank_halt = run("grad@5:1", dir / "r1", "--nproc 2");
  INFO(rank_halt.output);
  CHECK(rank_halt.exit_code == 1);
  CHECK_THAT(rank_halt.output, Catch::Contains("step 6: gradient of"));
  auto rank_skip = run("grad@5:1", dir / "r2", "--nproc 2 --set train.nan_policy=skip");
  INFO(rank_skip.output);
  CHECK(rank_skip.exit_code == 0);
  CHECK(test::train_losses(dir / "r2").size() == 39);
}
