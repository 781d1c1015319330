// Checkpoints of a run: model (safetensors; older runs' model.pt still read), optimizer and trainer
// state under runs/NAME/checkpoints/step-N/,
// written to a temporary name, flushed, renamed, and sealed by a manifest of checksums written
// last. Only a checkpoint whose manifest verifies is ever loaded; loading compares every tensor's
// name and shape, and the tokenizer, with the experiment's and lists each difference.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "transformer/io/safetensors.h"
#include "transformer/models/model.h"

namespace qkv {

class CheckpointStore {
 public:
  // Checkpoints under run_dir/subdir/step-N; `pointer` (a file in run_dir) names the newest, when
  // not empty. The best checkpoint of a run lives in its own store: subdir "best", no pointer.
  CheckpointStore(std::string run_dir, int64_t keep, std::string subdir = "checkpoints", std::string pointer = "latest");

  // Writes step-N (model.safetensors, optimizer.pt, trainer.json, MANIFEST.json) and points
  // `latest` at it; removes the oldest beyond `keep`.
  void save(int64_t step, Model& model, torch::optim::Optimizer* optimizer,
            const nlohmann::json& trainer_state, const std::string& tokenizer_checksum);
  // The same from named tensors (the model's parameters then buffers, by their module names).
  void save_tensors(int64_t step, const std::vector<io::TensorSource>& tensors,
                    torch::optim::Optimizer* optimizer, const nlohmann::json& trainer_state,
                    const std::string& tokenizer_checksum);

  // Newest checkpoint whose manifest verifies, newest first by step; invalid ones are skipped and
  // described in `skipped`.
  std::optional<std::string> newest_valid(std::vector<std::string>* skipped = nullptr) const;
  // Up to `count` valid checkpoints, newest first.
  std::vector<std::string> newest_valid(int64_t count) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string run_dir_, dir_, pointer_;
  int64_t keep_;
};

// Checks a checkpoint directory's manifest and checksums; returns the reason when invalid.
std::optional<std::string> verify_checkpoint(const std::string& path);

// Loads model weights (and the optimizer, when given) from a verified checkpoint, after checking
// names, shapes and the tokenizer checksum; InputError listing every difference otherwise.
// Returns the trainer state saved with it.
nlohmann::json load_checkpoint(const std::string& path, Model& model, torch::optim::Optimizer* optimizer,
                               const std::string& tokenizer_checksum);

// Loads the element-wise mean of the weights of several verified checkpoints of one model
// (Vaswani et al. 2017, 6.1: the last checkpoints averaged); names, shapes and the tokenizer are
// checked as load_checkpoint does. Returns the trainer state of the first.
nlohmann::json average_checkpoints(const std::vector<std::string>& paths, Model& model,
                                   const std::string& tokenizer_checksum);

// What initialising a model from another run's checkpoint did (fine-tuning): tensors taken from
// it, tensors of the checkpoint left out (not in the model, or shaped differently, with the reason)
// and tensors of the model it did not provide, which keep their fresh initial values.
struct InitReport {
  std::string checkpoint;
  int64_t step = 0;
  std::vector<std::string> loaded, skipped, initialised;
};
// Loads every tensor of a verified checkpoint whose name and shape match the model's (only
// compares when load_values is false). InputError when the tokenizer differs or nothing matches.
InitReport init_from_checkpoint(const std::string& path, Model& model, const std::string& tokenizer_checksum,
                                bool load_values);

}  // namespace qkv
