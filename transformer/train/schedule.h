// Learning-rate schedules: linear warmup, then constant, cosine, linear or inverse-sqrt decay.
#pragma once

#include <cstdint>

#include "transformer/config/config.h"

namespace qkv {

// Learning rate for optimizer step `step` (0-based) of train.steps.
double learning_rate(const TrainConfig& train, int64_t step);

}  // namespace qkv
