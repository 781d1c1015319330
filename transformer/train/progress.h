// The progress line of long work: step, loss, learning rate, tokens/s and ETA, rewritten in place
// on a terminal and printed every log interval otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qkv {

std::string format_duration(double seconds);  // "1h02m", "3m12s", "45s"
std::string format_rate(double per_second);   // "12.3k"

class Progress {
 public:
  Progress(int64_t total_steps, bool quiet);
  void update(int64_t step, double loss, double lr, double tokens_per_s, double eta_s);
  void message(const std::string& text);  // a line of its own, keeping the progress line intact
  void finish();

 private:
  int64_t total_;
  bool quiet_, tty_, open_ = false;
};

}  // namespace qkv
