// The reading, encoding and writing threads of corpus preparation.
#include "transformer/data/corpus_pipeline.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "transformer/data/documents.h"
#include "transformer/data/token_shards.h"
#include "transformer/util/errors.h"

namespace qkv {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kChunkBytes = 1 << 20;
using Clock = std::chrono::steady_clock;

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

struct Chunk {
  int64_t index = 0, first_document = 0;
  std::vector<std::vector<std::string>> documents;
  // Per output: the tokens, where each document starts in them, and how many documents.
  std::vector<int32_t> tokens[2];
  std::vector<int64_t> starts[2];
  int64_t counts[2] = {0, 0};
  std::exception_ptr error;
};

void encode_chunk(Chunk& chunk, const Tokenizer& tokenizer, double fraction, uint64_t seed) {
  const int eos = tokenizer.special().eos;
  for (size_t d = 0; d < chunk.documents.size(); ++d) {
    const int out = fraction > 0 ? held_out(seed, chunk.first_document + int64_t(d), fraction) : 0;
    chunk.starts[out].push_back(int64_t(chunk.tokens[out].size()));
    for (const auto& line : chunk.documents[d])
      for (int id : tokenizer.encode(line)) chunk.tokens[out].push_back(id);
    chunk.tokens[out].push_back(eos);
    ++chunk.counts[out];
  }
  chunk.documents.clear();
  chunk.documents.shrink_to_fit();
}

// Worker threads that encode chunks; results are taken back in chunk order.
class EncoderPool {
 public:
  EncoderPool(int64_t threads, const Tokenizer& tokenizer, double fraction, uint64_t seed)
      : tokenizer_(tokenizer), fraction_(fraction), seed_(seed) {
    for (int64_t t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~EncoderPool() {
    {
      std::lock_guard<std::mutex> g(lock_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  void submit(std::unique_ptr<Chunk> chunk) {
    {
      std::lock_guard<std::mutex> g(lock_);
      pending_.push_back(std::move(chunk));
      ++in_flight_;
    }
    wake_.notify_one();
  }
  size_t in_flight() const { return in_flight_; }
  // The next chunk in order, waiting for it to be encoded.
  std::unique_ptr<Chunk> take(int64_t index) {
    std::unique_lock<std::mutex> g(lock_);
    done_cv_.wait(g, [&] { return done_.count(index) > 0; });
    auto chunk = std::move(done_[index]);
    done_.erase(index);
    --in_flight_;
    return chunk;
  }

 private:
  void work() {
    for (;;) {
      std::unique_ptr<Chunk> chunk;
      {
        std::unique_lock<std::mutex> g(lock_);
        wake_.wait(g, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;
        chunk = std::move(pending_.front());
        pending_.pop_front();
      }
      try {
        encode_chunk(*chunk, tokenizer_, fraction_, seed_);
      } catch (...) {
        chunk->error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> g(lock_);
        const int64_t index = chunk->index;
        done_[index] = std::move(chunk);
      }
      done_cv_.notify_all();
    }
  }

  const Tokenizer& tokenizer_;
  double fraction_;
  uint64_t seed_;
  std::vector<std::thread> workers_;
  std::mutex lock_;
  std::condition_variable wake_, done_cv_;
  std::deque<std::unique_ptr<Chunk>> pending_;
  std::map<int64_t, std::unique_ptr<Chunk>> done_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
};

// "prepare data.train: 123.4 of 512.0 MB, 12.3 MB/s, 4.5M tokens, ETA 0:31", on one line at a
// terminal, every 10 s otherwise.
class PrepareProgress {
 public:
  PrepareProgress(std::string label, bool quiet) : label_(std::move(label)), quiet_(quiet), tty_(::isatty(2) != 0) {}
  void update(int64_t bytes, int64_t total, int64_t tokens, bool last = false) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    if (quiet_ || (!last && elapsed - shown_ < (tty_ ? 0.5 : 10.0))) return;
    shown_ = elapsed;
    const double rate = double(bytes) / std::max(elapsed, 1e-9) / 1e6;
    const double eta = rate > 0 ? double(total - bytes) / 1e6 / rate : 0;
    const std::string line = fmt::format("prepare {}: {:.1f} of {:.1f} MB, {:.1f} MB/s, {:.2f}M tokens, ETA {}:{:02d}", label_,
                                         double(bytes) / 1e6, double(total) / 1e6, rate, double(tokens) / 1e6,
                                         int64_t(eta) / 60, int64_t(eta) % 60);
    std::fprintf(stderr, tty_ ? "\r%s\033[K%s" : "%s%s", line.c_str(), last || !tty_ ? "\n" : "");
  }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  std::string label_;
  bool quiet_, tty_;
  double shown_ = -1e9;
  Clock::time_point start_ = Clock::now();
};

}  // namespace

int held_out(uint64_t seed, int64_t document, double valid_fraction) {
  const double u = double(mix(mix(seed ^ 0xA5A5ULL) ^ uint64_t(document)) >> 11) * (1.0 / 9007199254740992.0);
  return u < valid_fraction ? 1 : 0;
}

PreparedCorpus encode_corpus(const EncodeJob& job, const std::string& label) {
  const int bytes_per_token = job.tokenizer->vocab_size() <= 65536 ? 2 : 4;
  std::vector<std::unique_ptr<ShardWriter>> writers;
  int64_t skip = 0;  // documents an interrupted write already holds
  for (const auto& dir : job.outputs) {
    std::error_code ec;
    if (job.options.rebuild) fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(fmt::format("{}: cannot create the corpus folder: {}", dir, ec.message()));
    fs::remove(fs::path(dir) / "manifest.json", ec);  // incomplete until it is written again
    writers.push_back(std::make_unique<ShardWriter>(dir, bytes_per_token, job.options.shard_tokens));
  }
  if (writers.size() == 1) skip = writers[0]->resume(job.resume_options);
  nlohmann::json progress_record{{"options", job.resume_options}};
  DocumentReader reader(job.files, *job.data);
  PrepareProgress progress(label, job.options.quiet);
  const int64_t threads = job.options.threads > 0 ? job.options.threads : int64_t(std::thread::hardware_concurrency());
  std::unique_ptr<EncoderPool> pool;
  if (threads > 1) pool = std::make_unique<EncoderPool>(threads, *job.tokenizer, job.valid_fraction, job.seed);
  int64_t next_index = 0, write_index = 0, document = 0;
  auto write = [&](Chunk& chunk) {
    if (chunk.error) std::rethrow_exception(chunk.error);
    for (size_t out = 0; out < writers.size(); ++out)
      if (!chunk.tokens[out].empty()) writers[out]->append(chunk.tokens[out], chunk.counts[out], chunk.starts[out]);
    ++write_index;
    progress.update(reader.bytes_read(), reader.total_bytes(), writers[0]->tokens());
  };
  auto chunk = std::make_unique<Chunk>();
  int64_t chunk_bytes = 0;
  auto flush = [&] {
    if (chunk->documents.empty()) return;
    chunk->index = next_index++;
    if (!pool) {
      encode_chunk(*chunk, *job.tokenizer, job.valid_fraction, job.seed);
      write(*chunk);
    } else {
      pool->submit(std::move(chunk));
      while (pool->in_flight() >= size_t(2 * threads)) write(*pool->take(write_index));
    }
    chunk = std::make_unique<Chunk>();
    chunk->first_document = document;
    chunk_bytes = 0;
  };
  std::vector<std::string> lines;
  while (reader.next(lines)) {
    if (skip > 0) {
      --skip, ++document, chunk->first_document = document;
      continue;
    }
    for (const auto& line : lines) chunk_bytes += int64_t(line.size()) + 1;
    chunk->documents.push_back(std::move(lines));
    ++document;
    if (chunk_bytes >= kChunkBytes) flush();
  }
  flush();
  while (pool && write_index < next_index) write(*pool->take(write_index));
  pool.reset();
  if (writers[0]->documents() == 0) {
    throw InputError(fmt::format("{}: no document in {} file{} (an empty corpus)", label, job.files.size(),
                                 job.files.size() == 1 ? "" : "s"));
  }
  PreparedCorpus result;
  result.dir = job.outputs[0];
  result.tokens = writers[0]->tokens();
  result.documents = writers[0]->documents();
  result.bytes = reader.total_bytes();
  for (auto& w : writers) w->finish(job.manifest);
  progress.update(reader.total_bytes(), reader.total_bytes(), result.tokens, /*last=*/true);
  result.seconds = progress.seconds();
  result.fresh = true;
  return result;
}

}  // namespace qkv
