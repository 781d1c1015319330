// qkv train --nproc N's launcher (cli/launch.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qkv::cli {

// Starts nproc workers running `qkv ARGS...` as one data-parallel group; their exit code.
int launch_workers(int64_t nproc, const std::vector<std::string>& worker_args);

}  // namespace qkv::cli
