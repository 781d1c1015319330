// Catch2 entry point: one intra-op thread per test process, since ctest runs suites in parallel.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "transformer/util/allocator.h"

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  qkv::keep_freed_memory();
  return Catch::Session().run(argc, argv);
}
