// Where this process computes (train.device): the CPU, or one GPU. The command sets it once; batch
// building, decoding and the autocast scope read it, as LibTorch's own autocast state is global.
#pragma once

#include <torch/torch.h>

#include <string>

#include "transformer/config/config.h"

namespace qkv {

// cpu, or cuda:LOCAL_RANK (modulo the GPUs present) for cuda and for auto when LibTorch sees a GPU.
// An empty string on success, else why cuda cannot be used.
torch::Device resolve_device(DeviceKind kind, std::string* problem);

void set_compute_device(torch::Device device);
torch::Device compute_device();

// Waits for the work queued on the compute device: before a clock is read.
void synchronize_compute_device();

}  // namespace qkv
