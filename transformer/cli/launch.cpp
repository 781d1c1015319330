// qkv train --nproc N: starts N local workers of this same command as ranks 0..N-1 of one
// data-parallel group (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and
// a free MASTER_PORT in their environment), forwards SIGINT and SIGTERM to them, and stops the
// others when one fails, so that no rank waits forever on a peer that is gone.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "transformer/cli/launch.h"

namespace qkv::cli {

namespace {

volatile std::sig_atomic_t g_forward = 0;
void remember_signal(int signal) { g_forward = signal; }

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 29500;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace

int launch_workers(int64_t nproc, const std::vector<std::string>& worker_args) {
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int64_t rank = 0; rank < nproc; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> argv{const_cast<char*>("qkv")};
      for (const auto& a : worker_args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  auto previous_int = std::signal(SIGINT, remember_signal);
  auto previous_term = std::signal(SIGTERM, remember_signal);
  std::vector<int> codes(pids.size(), -1);
  size_t running = pids.size();
  bool stopping = false;
  auto stop_all = [&](int signal) {
    for (size_t i = 0; i < pids.size(); ++i)
      if (codes[i] < 0) ::kill(pids[i], signal);
  };
  auto failed_at = std::chrono::steady_clock::time_point{};
  while (running > 0) {
    if (g_forward) {  // Ctrl-C or SIGTERM: every rank saves at the same step boundary and exits
      stop_all(g_forward);
      g_forward = 0;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] != pid) continue;
        codes[i] = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        --running;
        // A rank that failed leaves the others waiting on it: stop them (SIGKILL if they linger).
        if (codes[i] != 0 && codes[i] != 130 && codes[i] != 143 && !stopping) {
          stopping = true;
          failed_at = std::chrono::steady_clock::now();
          stop_all(SIGTERM);
        }
      }
      continue;
    }
    if (stopping && std::chrono::steady_clock::now() - failed_at > std::chrono::seconds(20)) stop_all(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  // Rank 0's code, unless another rank failed first.
  for (size_t i = 0; i < codes.size(); ++i)
    if (codes[i] != 0 && codes[i] != 130 && codes[i] != 143) return codes[i];
  return codes[0];
}

}  // namespace qkv::cli
