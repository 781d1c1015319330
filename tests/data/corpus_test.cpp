// Corpora at any size: sources as files, folders, globs and lists, plain or gzip or Zstandard,
// text or JSON Lines, documents as lines, paragraphs or files; token shards equal to encoding the
// documents by hand, the same for any number of threads and any shard size; the block order is a
// permutation per epoch in constant memory; and bad sources and damaged shards are named.
#include <catch2/catch.hpp>

#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <set>

#include "helpers.h"
#include "transformer/data/block_order.h"
#include "transformer/data/corpus.h"
#include "transformer/data/segment_pairs.h"
#include "transformer/data/text_blocks.h"
#include "transformer/tasks/masked_lm.h"
#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

using namespace qkv;

namespace {

Tokenizer letters() { return Tokenizer::symbols("abcdefghijklmnopqrstuvwxyz"); }

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

void write_gzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), unsigned(text.size()));
  gzclose(f);
}

void write_zstd(const std::string& path, const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
  write(path, out);
}

// The split's tokens as int64.
std::vector<int64_t> tokens_of(TokenShards& shards) {
  std::vector<int64_t> out(size_t(shards.size()));
  shards.copy(0, shards.size(), out.data());
  return out;
}

// Documents encoded by hand: each line's symbols, eos (3) after each document.
std::vector<int64_t> by_hand(const std::vector<std::vector<std::string>>& documents) {
  const Tokenizer t = letters();
  std::vector<int64_t> out;
  for (const auto& doc : documents) {
    for (const auto& line : doc)
      for (int id : t.encode(line)) out.push_back(id);
    out.push_back(3);
  }
  return out;
}

DataConfig corpus(const test::ScratchDir& dir, Paths train) {
  DataConfig d;
  d.train = std::move(train);
  d.cache = dir / "cache";
  return d;
}

std::shared_ptr<TokenShards> prepared(const DataConfig& d, int64_t threads = 1, int64_t shard_tokens = 1 << 27) {
  CorpusOptions o;
  o.threads = threads;
  o.quiet = true;
  o.rebuild = true;
  o.shard_tokens = shard_tokens;
  return open_corpus(d, 1, "train", letters(), o);
}

}  // namespace

TEST_CASE("a corpus's sources: files, folders, globs and lists, plain, gzip and Zstandard", "[data]") {
  test::ScratchDir dir("corpus-sources");
  std::filesystem::create_directories(dir.path() / "folder/sub");
  write(dir / "a.txt", "ab cd\n\nef\n");
  write_gzip(dir / "folder/b.txt.gz", "gh\nij\n");
  write_zstd(dir / "folder/sub/c.txt.zst", "kl\n");
  write(dir / "folder/.hidden", "zz\n");  // hidden files are not sources
  // A list of a file and a folder: the folder's files in path order (b.txt.gz, then sub/c.txt.zst).
  DataConfig d = corpus(dir, Paths{});
  d.train.items = {dir / "a.txt", dir / "folder"};
  CHECK(tokens_of(*prepared(d)) == by_hand({{"ab cd"}, {"ef"}, {"gh"}, {"ij"}, {"kl"}}));
  d.train.items = {(dir.path() / "folder" / "*.gz").string()};  // a glob
  CHECK(tokens_of(*prepared(d)) == by_hand({{"gh"}, {"ij"}}));
}

TEST_CASE("documents: lines, paragraphs, files, and JSON Lines' text field", "[data]") {
  test::ScratchDir dir("corpus-documents");
  write(dir / "p.txt", "one\ntwo\n\n\nthree\n");
  write(dir / "q.txt", "four\nfive");  // no final line end
  DataConfig d = corpus(dir, Paths{});
  d.train.items = {dir / "p.txt", dir / "q.txt"};
  d.documents = Documents::kParagraph;
  auto paragraphs = prepared(d);
  CHECK(tokens_of(*paragraphs) == by_hand({{"one", "two"}, {"three"}, {"four", "five"}}));
  CHECK(paragraphs->documents() == 3);
  int64_t starts[4];
  paragraphs->document_starts(0, 4, starts);
  CHECK(std::vector<int64_t>(starts, starts + 4) == std::vector<int64_t>{0, 7, 13, 22});  // o n e t w o + eos ...
  d.documents = Documents::kFile;
  CHECK(tokens_of(*prepared(d)) == by_hand({{"one", "two", "three"}, {"four", "five"}}));
  write(dir / "d.jsonl", "{\"text\": \"ab\\ncd\", \"id\": 1}\n\n{\"body\": \"x\", \"text\": \"ef\"}\n");
  DataConfig j = corpus(dir, Paths(dir / "d.jsonl"));
  j.format = DataFormat::kJsonl;
  CHECK(tokens_of(*prepared(j)) == by_hand({{"ab", "cd"}, {"ef"}}));
  j.text_field = "body";
  j.on_error = OnError::kSkip;
  j.max_skipped = 0.5;
  CHECK(tokens_of(*prepared(j)) == by_hand({{"x"}}));  // the first object has no body: skipped
}

TEST_CASE("the tokens are the same for any number of threads and any shard size", "[data]") {
  test::ScratchDir dir("corpus-threads");
  std::string text;  // about 3 MB: several 1 MiB chunks
  for (int i = 0; i < 300000; ++i) text += std::string(size_t(1 + i % 17), char('a' + i % 26)) + "\n";
  write(dir / "big.txt", text);
  DataConfig d = corpus(dir, Paths(dir / "big.txt"));
  const auto one = tokens_of(*prepared(d, 1));
  for (const int64_t threads : {2, 3}) {
    CAPTURE(threads);
    CHECK(tokens_of(*prepared(d, threads)) == one);
  }
  auto sharded = prepared(d, 2, 50000);  // a shard closes at the first chunk past 50k tokens: reads span them
  CHECK(sharded->manifest().at("shards").size() == 3);
  CHECK(tokens_of(*sharded) == one);
  CHECK(sharded->documents() == 300000);
  std::vector<int64_t> doc(4);
  int64_t start = 0;
  sharded->document_starts(123456, 1, &start);
  sharded->copy(start, 4, doc.data());
  const int64_t letter = 7 + (123456 % 26);
  CHECK(doc[0] == letter);
}

TEST_CASE("masked-LM sequences read through the document index equal packing the documents in memory", "[data]") {
  test::ScratchDir dir("corpus-pairs");
  std::string text;
  std::vector<std::vector<int>> lines;  // what pack_pairs packs: each document's tokens, no eos
  const Tokenizer t = letters();
  for (int i = 0; i < 260000; ++i) {  // 3.4 MB: four chunks of 1 MiB, so four shards
    const std::string line(size_t(1 + (i * 7) % 23), char('a' + i % 26));
    text += line + "\n";
    lines.push_back(t.encode(line));
  }
  write(dir / "c.txt", text);
  DataConfig d = corpus(dir, Paths(dir / "c.txt"));
  auto shards = prepared(d, 2, 5000);  // a shard per chunk: sequences span them
  REQUIRE(shards->manifest().at("shards").size() > 3);
  for (const int64_t max_len : {16, 64}) {
    const auto in_memory = pack_pairs(lines, max_len);
    const PairSplit corpus_pairs(shards, max_len);
    REQUIRE(corpus_pairs.size() == in_memory.size());
    CHECK(corpus_pairs.has_pairs());
    for (size_t row = 0; row < in_memory.size(); ++row) {
      const TextPair p = corpus_pairs.at(row);
      if (p.a != in_memory[row].a || p.b != in_memory[row].b) FAIL("sequence " << row << " differs at length " << max_len);
    }
  }
  // The packing file is reused, and a damaged one is made again rather than trusted.
  const auto packing = std::filesystem::path(shards->directory()) / "pairs-64.bin";
  REQUIRE(std::filesystem::exists(packing));
  {
    std::fstream f(packing, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  const PairSplit again(shards, 64);
  const auto in_memory = pack_pairs(lines, 64);
  REQUIRE(again.size() == in_memory.size());
  CHECK(again.at(17).a == in_memory[17].a);
  CHECK(again.at(in_memory.size() - 1).b == in_memory.back().b);
}

TEST_CASE("data.valid_fraction holds out documents chosen from the seed, the same on every preparation", "[data]") {
  test::ScratchDir dir("corpus-holdout");
  std::string text;
  for (int i = 0; i < 2000; ++i) text += std::string(size_t(2 + i % 5), char('a' + i % 26)) + "\n";
  write(dir / "t.txt", text);
  DataConfig d = corpus(dir, Paths(dir / "t.txt"));
  d.valid_fraction = 0.1;
  CorpusOptions o;
  o.quiet = true;
  auto train = open_corpus(d, 7, "train", letters(), o);
  auto valid = open_corpus(d, 7, "valid", letters(), o);
  CHECK(train->documents() + valid->documents() == 2000);
  CHECK(valid->documents() > 150);
  CHECK(valid->documents() < 250);
  CHECK(train->size() + valid->size() == int64_t(text.size()));  // every letter and every eos, once
}

TEST_CASE("the block order: a permutation per epoch from the seed alone, in constant memory", "[data]") {
  for (const int64_t n : {1, 2, 7, 100, 1001}) {
    CAPTURE(n);
    const BlockOrder order(n, 42, true);
    std::set<int64_t> epoch0, epoch1;
    bool differs = false;
    for (int64_t p = 0; p < n; ++p) {
      epoch0.insert(order.at(p));
      epoch1.insert(order.at(n + p));
      differs = differs || order.at(p) != order.at(n + p);
    }
    CHECK(int64_t(epoch0.size()) == n);
    CHECK(int64_t(epoch1.size()) == n);
    CHECK(*epoch0.rbegin() == n - 1);
    if (n > 2) CHECK(differs);
    CHECK(BlockOrder(n, 42, true).at(n + 3) == order.at(n + 3));  // a fresh order (a resumed run) agrees
  }
  // 4 * 10^7 blocks (10^10 tokens of 256-token blocks): positions in any epoch, no table built.
  const BlockOrder huge(40000000, 1, true);
  std::set<int64_t> seen;
  for (int64_t p = 0; p < 1000; ++p) seen.insert(huge.at(5 * 40000000LL + p));
  CHECK(seen.size() == 1000u);
  CHECK(*seen.rbegin() < 40000000);
}

TEST_CASE("damaged and changed corpora are named: truncated and flipped shards, edited sources, another tokenizer",
          "[data]") {
  test::ScratchDir dir("corpus-damage");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "abcdefghij\n";
  write(dir / "t.txt", text);
  DataConfig d = corpus(dir, Paths(dir / "t.txt"));
  prepared(d);
  const std::string shard_dir = corpus_dir(d, 1, "train", letters().checksum());
  const std::string shard = shard_dir + "/shard-00000.bin";
  CorpusOptions keep;
  keep.quiet = true;
  {  // a flipped byte: found when its page is first read, named with both checksums
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x7f');
  }
  auto flipped = open_corpus(d, 1, "train", letters(), keep);
  std::vector<int64_t> out(10);
  CHECK_THROWS_WITH(flipped->copy(400, 10, out.data()),
                    Catch::Contains("shard-00000.bin: bytes 0-") && Catch::Contains("have crc32") &&
                        Catch::Contains("--rebuild-data"));
  std::filesystem::resize_file(shard, 999);  // truncated: named when the set is opened
  CHECK_THROWS_WITH(open_corpus(d, 1, "train", letters(), keep), Catch::Contains("shard-00000.bin: 999 bytes where its manifest has"));
  prepared(d);
  write(dir / "t.txt", text + "more\n");  // a source edited after preparing
  CHECK_THROWS_WITH(open_corpus(d, 1, "train", letters(), keep),
                    Catch::Contains("t.txt: changed since") && Catch::Contains("size was 55000, now 55005"));
  // Shards belong to a tokenizer's content: another tokenizer gets its own, this one's stay as
  // they are, and a copy of the same file (a run's tokenizer.model) finds them.
  prepared(d);
  const Tokenizer other = Tokenizer::symbols("abcdefghijklmnopqrstuvwxyz0");
  CHECK(corpus_dir(d, 1, "train", other.checksum()) != shard_dir);
  auto theirs = open_corpus(d, 1, "train", other, keep);
  CHECK(theirs->manifest().at("tokenizer_checksum") == other.checksum());
  CHECK(open_corpus(d, 1, "train", letters(), keep)->manifest().at("tokenizer_checksum") == letters().checksum());
  // A manifest that does not match its folder's tokenizer (copied by hand) is refused, named.
  const std::string manifest = shard_dir + "/manifest.json";
  auto json = nlohmann::json::parse(read_file(manifest));
  json["tokenizer_checksum"] = "0000";
  write(manifest, json.dump());
  CHECK_THROWS_WITH(open_corpus(d, 1, "train", letters(), keep),
                    Catch::Contains("prepared with tokenizer") && Catch::Contains("of checksum 0000, which is now"));
}

TEST_CASE("bad sources: truncated gzip and Zstandard, broken JSON Lines, invalid UTF-8, an empty corpus", "[data]") {
  test::ScratchDir dir("corpus-bad");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line number " + std::to_string(i) + "\n";
  write_gzip(dir / "t.gz", text);
  std::filesystem::resize_file(dir / "t.gz", std::filesystem::file_size(dir / "t.gz") / 2);
  CHECK_THROWS_WITH(prepared(corpus(dir, Paths(dir / "t.gz"))),
                    Catch::Matches(".*t\\.gz: byte [0-9]+: the gzip stream ends early \\(truncated file\\)"));
  write_zstd(dir / "t.zst", text);
  std::filesystem::resize_file(dir / "t.zst", std::filesystem::file_size(dir / "t.zst") - 7);
  CHECK_THROWS_WITH(prepared(corpus(dir, Paths(dir / "t.zst"))),
                    Catch::Matches(".*t\\.zst: byte [0-9]+: the Zstandard stream ends early \\(truncated file\\)"));
  write(dir / "b.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"ok\"\n");
  DataConfig j = corpus(dir, Paths(dir / "b.jsonl"));
  j.format = DataFormat::kJsonl;
  CHECK_THROWS_WITH(prepared(j), Catch::Contains("b.jsonl:2: not valid JSON"));
  write(dir / "m.jsonl", "{\"text\": \"ok\"}\n{\"title\": \"no text\"}\n");
  j.train = Paths(dir / "m.jsonl");
  CHECK_THROWS_WITH(prepared(j), Catch::Contains("m.jsonl:2: text: missing field"));
  write(dir / "u.txt", "fine\nbad \xC3\x28 byte\n");
  CHECK_THROWS_WITH(prepared(corpus(dir, Paths(dir / "u.txt"))), Catch::Contains("u.txt:2: invalid UTF-8 at byte 5"));
  write(dir / "e.txt", "\n  \n");
  CHECK_THROWS_WITH(prepared(corpus(dir, Paths(dir / "e.txt"))), Catch::Contains("data.train: no document in 1 file"));
}

TEST_CASE("shards an older qkv wrote (another format) are prepared again without being asked", "[data]") {
  test::ScratchDir dir("corpus-format");
  write(dir / "t.txt", "abc\nde\nf\n");
  DataConfig d = corpus(dir, Paths(dir / "t.txt"));
  auto first = prepared(d);
  const std::vector<int64_t> tokens = tokens_of(*first);
  const std::string manifest = first->directory() + "/manifest.json";
  first.reset();
  auto json = nlohmann::json::parse(read_file(manifest));
  json["format"] = kShardFormat - 1;
  write(manifest, json.dump());
  CHECK(shard_state(std::filesystem::path(manifest).parent_path().string()) == ShardState::kOtherFormat);
  CorpusOptions o;
  o.quiet = true;  // no rebuild asked for
  auto again = open_corpus(d, 1, "train", letters(), o);
  CHECK(again->manifest().at("format") == kShardFormat);
  CHECK(tokens_of(*again) == tokens);
}
