// Data-parallel training on PyTorch's c10d: ranks rendezvous through a TCPStore (rank 0 serves it)
// and all-reduce gradients in buckets through ProcessGroupGloo. Ranks come from the variables
// torchrun and Slurm-style launchers set: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT (and GLOO_SOCKET_IFNAME to pick an interface). Without them training
// runs as one process. train.batch_size stays the global batch: each rank takes its contiguous
// share of every batch (train/step.h), so the data order, and the step, do not depend on the
// number of ranks.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "transformer/tasks/task.h"

namespace qkv {

class Distributed {
 public:
  // One process, no communication.
  Distributed() = default;
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  // Joins the group the environment describes (one process when WORLD_SIZE is unset or 1).
  // InputError for malformed variables; runtime_error when the rendezvous fails.
  static std::unique_ptr<Distributed> from_environment();

  int64_t rank() const { return rank_; }
  int64_t world() const { return world_; }
  int64_t local_world() const { return local_world_; }
  bool active() const { return world_ > 1; }
  bool leader() const { return rank_ == 0; }

  // Sums the gradients of `params` over the ranks (each rank's loss is already divided by the
  // whole batch's counts), in buckets of about 25 MB; a parameter without a gradient counts as
  // zeros, so every rank reduces the same buckets.
  void sum_gradients(const std::vector<torch::Tensor>& params) const;
  // Sum and maximum of a value over the ranks.
  double sum(double value) const;
  double max(double value) const;
  // Rank 0's values, on every rank.
  std::vector<double> broadcast(std::vector<double> values) const;
  void barrier() const;

 private:
  struct Group;
  int64_t rank_ = 0, world_ = 1, local_world_ = 1;
  std::unique_ptr<Group> group_;
};

}  // namespace qkv
