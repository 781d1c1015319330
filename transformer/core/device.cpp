// The compute device of the process.
#include "transformer/core/device.h"

#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>

namespace qkv {

namespace {

torch::Device g_device(torch::kCPU);

}  // namespace

torch::Device resolve_device(DeviceKind kind, std::string* problem) {
  if (problem) problem->clear();
  if (kind == DeviceKind::kCpu) return torch::kCPU;
  const int64_t count = torch::cuda::is_available() ? int64_t(torch::cuda::device_count()) : 0;
  if (count == 0) {
    if (kind == DeviceKind::kCuda && problem) *problem = "cuda: LibTorch sees no GPU (a CPU-only build, or no device visible)";
    return torch::kCPU;
  }
  const char* local = std::getenv("LOCAL_RANK");
  const int64_t rank = local && *local ? std::strtoll(local, nullptr, 10) : 0;
  return torch::Device(torch::kCUDA, c10::DeviceIndex(std::max<int64_t>(rank, 0) % count));
}

void set_compute_device(torch::Device device) { g_device = device; }

torch::Device compute_device() { return g_device; }

void synchronize_compute_device() {
  if (g_device.is_cuda()) torch::cuda::synchronize(g_device.index());
}

}  // namespace qkv
