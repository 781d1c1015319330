// qkv-engine: runs a verb of the qkv command (cli/front.cpp checks the command line and the
// experiment first). `qkv VERB EXPERIMENT.yaml [--set key=value ...]`; exit codes 0 success,
// 1 failure at run time, 2 bad input (arguments, configuration, data).
#include <c10/util/Exception.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "transformer/cli/commands.h"
#include "transformer/util/allocator.h"
#include "transformer/util/errors.h"

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  qkv::keep_freed_memory();  // training steps reuse their buffers instead of faulting in fresh pages
  qkv::cli::Invocation in;
  if (const int code = qkv::cli::parse_command_line(argc, argv, &in); code >= 0) return code;
  const qkv::cli::Runner run = qkv::cli::find_runner(in.verb);
  if (!run) {
    fmt::print(stderr, "qkv: failed: no runner for {}\n", in.verb);
    return 1;
  }
  try {
    return run(in);
  } catch (const qkv::InputError& e) {
    fmt::print(stderr, "qkv: error: {}\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "qkv: failed: {}\n", first_line(e.what_without_backtrace()));
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "qkv: failed: {}\n", first_line(e.what()));
    return 1;
  }
}
