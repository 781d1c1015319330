// Progress line.
#include "transformer/train/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace qkv {

std::string format_duration(double seconds) {
  if (!(seconds >= 0)) return "?";
  const int64_t s = int64_t(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string format_rate(double x) {
  if (x >= 1e6) return fmt::format("{:.2f}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

Progress::Progress(int64_t total_steps, bool quiet) : total_(total_steps), quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}

void Progress::update(int64_t step, double loss, double lr, double tokens_per_s, double eta_s) {
  if (quiet_) return;
  const std::string line = fmt::format("step {}/{}  loss {:.4f}  lr {:.2e}  {} tok/s  ETA {}", step, total_, loss, lr,
                                       format_rate(tokens_per_s), format_duration(eta_s));
  if (tty_) {
    fmt::print(stderr, "\r\033[K{}", line);
    open_ = true;
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

void Progress::message(const std::string& text) {
  if (quiet_) return;
  if (open_) fmt::print(stderr, "\r\033[K");
  fmt::print(stderr, "{}\n", text);
  open_ = false;
  std::fflush(stderr);
}

void Progress::finish() {
  if (open_) fmt::print(stderr, "\n");
  open_ = false;
}

}  // namespace qkv
