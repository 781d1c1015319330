// qkv: the command users run. It parses the command line by the command table and reads and
// checks the experiment file itself, without loading LibTorch, so that a bad argument or file
// stops at once (a fraction of a second, a few megabytes) with its one-line error and exit code 2;
// every good command goes to qkv-engine (cli/main.cpp) beside it, with the same arguments.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "transformer/cli/commands.h"
#include "transformer/config/experiment.h"
#include "transformer/util/errors.h"

int main(int argc, char** argv) {
  using namespace qkv;
  cli::Invocation in;
  if (const int code = cli::parse_command_line(argc, argv, &in); code >= 0) return code;
  const cli::Command& verb = cli::command(in.verb);
  if (verb.takes_experiment) {
    ValidateOptions options;
    options.require_data = verb.needs_data(in);
    try {
      load_experiment(in.experiment, in.sets, options);
    } catch (const InputError& e) {
      fmt::print(stderr, "qkv: error: {}\n", e.what());
      return 2;
    } catch (const std::exception&) {
      // anything unexpected: the engine reports it
    }
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string engine = ((ec ? std::filesystem::path(argv[0]) : self).parent_path() / "qkv-engine").string();
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  ::execv(engine.c_str(), args.data());
  fmt::print(stderr, "qkv: failed: cannot run {}: {}\n", engine, std::strerror(errno));
  return 1;
}
