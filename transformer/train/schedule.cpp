// Learning-rate schedules.
#include "transformer/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace qkv {

double learning_rate(const TrainConfig& t, int64_t step) {
  const double peak = t.lr;
  if (t.warmup > 0 && step < t.warmup) return peak * double(step + 1) / double(t.warmup);
  const double floor = peak * t.min_lr;
  const double span = double(std::max<int64_t>(1, t.steps - t.warmup));
  const double progress = std::clamp(double(step - t.warmup) / span, 0.0, 1.0);
  switch (t.schedule) {
    case Schedule::kConstant: return peak;
    case Schedule::kCosine: return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
    case Schedule::kLinear: return peak - (peak - floor) * progress;
    case Schedule::kInverseSqrt:
      // Vaswani et al. 5.3: proportional to step^-0.5 after warmup, continuous at its end.
      return peak * std::sqrt(double(std::max<int64_t>(1, t.warmup))) / std::sqrt(double(step + 1));
  }
  return peak;
}

}  // namespace qkv
