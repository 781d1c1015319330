// Preparing a corpus survives what happens to it: SIGKILL between shards and inside one leaves
// nothing a later run trusts, and `qkv prepare` again completes the job with the tokens of an
// uninterrupted one; a full disk stops it with the path and errno, no manifest, and the shards
// already closed intact. Bad sources stop the qkv command with one line and exit code 2.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <zlib.h>

#include "faults.h"
#include "transformer/data/token_shards.h"

using namespace qkv;

namespace {

// 12,000 verses (1.7 MB): two 1 MiB chunks, so a 100k-token shard closes after each.
std::string corpus_text() {
  std::ifstream in(test::source_path("data/web/train.txt"));
  std::string text, line;
  for (int i = 0; i < 12000 && std::getline(in, line); ++i) text += line + "\n";
  return text;
}

// quickstart-tiny on `train`, its shards in `cache`.
std::string sets(const test::ScratchDir& dir, const std::string& cache, const std::string& train) {
  return fmt::format("-q --set tokenizer.model='{}' --set data.train='{}' --set data.cache='{}' --set data.test=",
                     dir / "spm.model", train, cache);
}

std::string prepare_args(const test::ScratchDir& dir, const std::string& cache, const std::string& train) {
  return "prepare experiments/quickstart-tiny.yaml " + sets(dir, cache, train);
}

// The one train shard folder under a cache.
std::string train_dir(const std::string& cache) {
  for (const auto& entry : std::filesystem::directory_iterator(cache))
    if (entry.path().filename().string().rfind("train-", 0) == 0) return entry.path().string();
  return "";
}

std::vector<int64_t> tokens_in(const std::string& cache) {
  TokenShards shards(train_dir(cache));
  std::vector<int64_t> out(size_t(shards.size()));
  shards.copy(0, shards.size(), out.data());
  return out;
}

}  // namespace

TEST_CASE("a prepare killed between shards or inside one completes when run again, with the same tokens", "[faults]") {
  test::ScratchDir dir("corpus-kill");
  std::ofstream(dir / "train.txt") << corpus_text();
  auto fresh = test::run_qkv(prepare_args(dir, dir / "fresh", dir / "train.txt"));
  INFO(fresh.output);
  REQUIRE(fresh.exit_code == 0);
  const auto want = tokens_in(dir / "fresh");
  REQUIRE(want.size() > 300000);
  for (const std::string fault : {"shard-data@0", "shard@0", "shard-data@1", "shard@1"}) {
    CAPTURE(fault);
    const std::string cache = dir / ("killed-" + fault);
    auto killed = test::run_shell(fmt::format("QKV_SHARD_TOKENS=100000 QKV_FAULT_KILL={} '{}' {}; echo exit=$?", fault, QKV_BINARY,
                                              prepare_args(dir, cache, dir / "train.txt")));
    CHECK(test::exit_of(killed) == 137);  // SIGKILL
    CHECK_FALSE(std::filesystem::exists(train_dir(cache) + "/manifest.json"));  // nothing to trust yet
    auto again = test::run_shell(fmt::format("QKV_SHARD_TOKENS=100000 '{}' {}", QKV_BINARY, prepare_args(dir, cache, dir / "train.txt")));
    INFO(again.output);
    REQUIRE(again.exit_code == 0);
    CHECK(tokens_in(cache) == want);
  }
}

TEST_CASE("a full disk while preparing: the path and errno, no manifest, closed shards intact", "[faults]") {
  test::ScratchDir dir("corpus-full");
  std::ofstream(dir / "train.txt") << corpus_text();
  auto warm = test::run_qkv(prepare_args(dir, dir / "warm", dir / "train.txt"));  // the tokenizer, outside the small disk
  REQUIRE(warm.exit_code == 0);
  const std::string disk = dir / "disk";
  std::filesystem::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=1m") != 0) {
    WARN("tmpfs cannot be mounted here (not permitted): full-disk case not run");
    return;
  }
  auto full = test::run_shell(fmt::format("QKV_SHARD_TOKENS=100000 '{}' {}", QKV_BINARY, prepare_args(dir, disk, dir / "train.txt")));
  INFO(full.output);
  CHECK(full.exit_code == 1);
  CHECK(std::count(full.output.begin(), full.output.end(), '\n') == 1);
  CHECK_THAT(full.output, Catch::Contains(disk) && Catch::Contains("No space left on device (errno 28)"));
  const std::string shards = train_dir(disk);
  CHECK_FALSE(std::filesystem::exists(shards + "/manifest.json"));
  // The shards recorded as closed still verify.
  const auto progress = nlohmann::json::parse(std::ifstream(shards + "/progress.json"));
  REQUIRE(progress["shards"].size() >= 1);
  for (const auto& s : progress["shards"]) {
    std::ifstream in(shards + "/" + s["file"].get<std::string>(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(crc32_of(bytes.data(), bytes.size()) == s["crc"].get<uint32_t>());
  }
  ::umount2(disk.c_str(), MNT_DETACH);
}

TEST_CASE("bad corpora stop the qkv command with one line and exit code 2", "[faults]") {
  test::ScratchDir dir("corpus-cli-bad");
  const std::string text = corpus_text();
  gzFile f = gzopen((dir / "t.txt.gz").c_str(), "wb");
  gzwrite(f, text.data(), unsigned(text.size()));
  gzclose(f);
  std::filesystem::resize_file(dir / "t.txt.gz", std::filesystem::file_size(dir / "t.txt.gz") / 3);
  std::ofstream(dir / "spm-train.txt") << text;  // the tokenizer learns from a good file
  auto tok = test::run_qkv(prepare_args(dir, dir / "c0", dir / "spm-train.txt"));
  REQUIRE(tok.exit_code == 0);
  auto truncated = test::run_qkv(prepare_args(dir, dir / "c1", dir / "t.txt.gz"));
  CHECK(truncated.exit_code == 2);
  CHECK(std::count(truncated.output.begin(), truncated.output.end(), '\n') == 1);
  CHECK_THAT(truncated.output, Catch::Matches("qkv: error: .*t\\.txt\\.gz: byte [0-9]+: the gzip stream ends early \\(truncated file\\)\n"));
  // A source edited after preparing: named; --rebuild-data prepares it again.
  std::ofstream(dir / "spm-train.txt", std::ios::app) << "One more verse.\n";
  auto edited = test::run_qkv(fmt::format("train experiments/quickstart-tiny.yaml {} --set output='{}'",
                                          sets(dir, dir / "c0", dir / "spm-train.txt"), dir / "run"));
  CHECK(edited.exit_code == 2);
  CHECK_THAT(edited.output, Catch::Contains("spm-train.txt: changed since") && Catch::Contains("--rebuild-data"));
  auto rebuilt = test::run_qkv(prepare_args(dir, dir / "c0", dir / "spm-train.txt") + " --rebuild-data");
  CHECK(rebuilt.exit_code == 0);
}
