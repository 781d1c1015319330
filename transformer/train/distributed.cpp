// c10d rendezvous and the all-reduces of data-parallel training: gradients in buckets, scalars.
#include "transformer/train/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL  // CUDA builds (CMakeLists.txt): gradients of GPU runs are all-reduced by NCCL
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "transformer/core/device.h"
#include "transformer/util/errors.h"

namespace qkv {

struct Distributed::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;  // scalars, barriers, and gradients on the CPU
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  // gradients on GPUs
#endif
};

Distributed::~Distributed() = default;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (!value || !*value) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(value, &end, 10);
  if (*end != '\0' || v < 0) throw InputError(fmt::format("environment: {}: expected a non-negative integer, found '{}'", name, value));
  return v;
}

std::string env_string(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// Turns off TCPStoreOptions::useLibUV where this LibTorch has the field and it was on; false otherwise.
template <typename Options>
auto disable_libuv(Options& options, int) -> decltype(options.useLibUV = false, bool()) {
  if (!options.useLibUV) return false;
  options.useLibUV = false;
  return true;
}
template <typename Options>
bool disable_libuv(Options&, long) {
  return false;
}

}  // namespace

std::unique_ptr<Distributed> Distributed::from_environment() {
  auto d = std::make_unique<Distributed>();
  d->world_ = env_int("WORLD_SIZE", 1);
  if (d->world_ <= 1) {
    d->world_ = 1;
    return d;
  }
  d->rank_ = env_int("RANK", -1);
  if (d->rank_ < 0 || d->rank_ >= d->world_) {
    throw InputError(fmt::format("environment: RANK: expected 0 to {} with WORLD_SIZE={}, found '{}'", d->world_ - 1,
                                 d->world_, env_string("RANK", "")));
  }
  d->local_world_ = env_int("LOCAL_WORLD_SIZE", d->world_);
  const std::string address = env_string("MASTER_ADDR", "127.0.0.1");
  const int64_t port = env_int("MASTER_PORT", 29500);
  if (port <= 0 || port > 65535) throw InputError(fmt::format("environment: MASTER_PORT: expected 1 to 65535, found {}", port));
  const auto timeout = std::chrono::milliseconds(env_int("QKV_DIST_TIMEOUT_S", 300) * 1000);

  c10d::TCPStoreOptions options;
  options.port = uint16_t(port);
  options.isServer = d->rank_ == 0;
  options.numWorkers = size_t(d->world_);
  options.timeout = timeout;
  d->group_ = std::make_unique<Group>();
  try {
    try {
      d->group_->store = c10::make_intrusive<c10d::TCPStore>(address, options);
    } catch (const std::exception& e) {
      // LibTorch >= 2.4 asks for the libuv store by default, which a LibTorch built without libuv
      // (Debian's) refuses before opening a socket: fall back to the classic store there.
      if (std::string(e.what()).find("libuv") == std::string::npos || !disable_libuv(options, 0)) throw;
      d->group_->store = c10::make_intrusive<c10d::TCPStore>(address, options);
    }
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    const std::string interface = env_string("GLOO_SOCKET_IFNAME", "");
    if (!interface.empty()) {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else if (address == "127.0.0.1" || address == "localhost") {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    gloo_options->threads = 1;
    d->group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(d->group_->store, int(d->rank_), int(d->world_), gloo_options);
#ifdef USE_C10D_NCCL
    if (compute_device().is_cuda()) {
      // Its own key space in the store, beside Gloo's.
      auto prefixed = c10::make_intrusive<c10d::PrefixStore>("nccl", d->group_->store);
      d->group_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, int(d->rank_), int(d->world_));
    }
#endif
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("rank {} of {}: rendezvous at {}:{} failed: {}", d->rank_, d->world_, address, port,
                                         std::string(e.what()).substr(0, std::string(e.what()).find('\n'))));
  }
  return d;
}

void Distributed::sum_gradients(const std::vector<torch::Tensor>& params) const {
  if (!active()) return;
  constexpr int64_t kBucketBytes = 25 << 20;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  for (size_t first = 0; first < grads.size();) {
    size_t last = first;
    int64_t bytes = 0;
    while (last < grads.size() && (last == first || bytes + grads[last].nbytes() <= size_t(kBucketBytes))) bytes += grads[last++].nbytes();
    std::vector<torch::Tensor> flat_parts;
    for (size_t i = first; i < last; ++i) flat_parts.push_back(grads[i].reshape({-1}));
    std::vector<torch::Tensor> bucket{torch::cat(flat_parts)};
#ifdef USE_C10D_NCCL
    if (group_->nccl && bucket[0].is_cuda()) {
      group_->nccl->allreduce(bucket)->wait();
    } else {
      group_->gloo->allreduce(bucket)->wait();
    }
#else
    group_->gloo->allreduce(bucket)->wait();
#endif
    int64_t offset = 0;
    for (size_t i = first; i < last; ++i) {
      const int64_t n = grads[i].numel();
      grads[i].copy_(bucket[0].narrow(0, offset, n).view_as(grads[i]));
      offset += n;
    }
    first = last;
  }
}

double Distributed::sum(double value) const {
  if (!active()) return value;
  std::vector<torch::Tensor> t{torch::tensor({value}, torch::kFloat64)};
  group_->gloo->allreduce(t)->wait();
  return t[0].item<double>();
}

double Distributed::max(double value) const {
  if (!active()) return value;
  std::vector<torch::Tensor> t{torch::tensor({value}, torch::kFloat64)};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  group_->gloo->allreduce(t, options)->wait();
  return t[0].item<double>();
}

std::vector<double> Distributed::broadcast(std::vector<double> values) const {
  if (!active()) return values;
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64)};
  group_->gloo->broadcast(t)->wait();
  auto out = t[0].contiguous();
  return std::vector<double>(out.data_ptr<double>(), out.data_ptr<double>() + out.numel());
}

void Distributed::barrier() const {
  if (active()) group_->gloo->barrier()->wait();
}

}  // namespace qkv
