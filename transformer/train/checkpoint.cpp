// Atomic checkpoint writing, verification and checked loading.
#include "transformer/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "transformer/io/safetensors.h"
#include "transformer/util/checksum.h"
#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"
#include "transformer/util/fault_point.h"

namespace qkv {

namespace fs = std::filesystem;

namespace {

constexpr int kFormat = 1;

int64_t step_of(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (name.rfind("step-", 0) != 0) return -1;
  try {
    return std::stoll(name.substr(5));
  } catch (...) {
    return -1;
  }
}

// The model's tensors (parameters, then buffers) in a fixed order, with their names.
std::vector<std::pair<std::string, torch::Tensor>> model_tensors(Model& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : model->named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

// Visits the weights a verified checkpoint holds, in its manifest's order, as slices of rows
// (tensor index, name, rows, first row): model.safetensors is mapped and read in slices of at
// most 16 MiB whose pages are given back once visited, so loading a model holds no second copy of
// it, not even of its largest tensor; model.pt of runs written before 2026-12 is read whole.
void visit_saved(const std::string& path, const nlohmann::json& manifest,
                 const std::function<void(size_t, const std::string&, const torch::Tensor&, int64_t)>& visit) {
  const auto& saved = manifest.at("tensors");
  if (manifest.at("files").contains("model.safetensors")) {
    const io::SafetensorsFile file((fs::path(path) / "model.safetensors").string());
    for (size_t i = 0; i < saved.size(); ++i) {
      const std::string name = saved[i].at("name");
      const torch::Tensor t = file.get(name);
      const uint64_t row_bytes = t.dim() == 0 || t.size(0) == 0 ? 0 : uint64_t(t.numel() / t.size(0)) * t.element_size();
      const int64_t rows = t.dim() == 0 ? 1 : std::max<int64_t>(1, int64_t((16u << 20) / std::max<uint64_t>(1, row_bytes)));
      if (t.dim() == 0 || rows >= t.size(0)) {
        visit(i, name, t, 0);
      } else {
        for (int64_t first = 0; first < t.size(0); first += rows) {
          const int64_t n = std::min(rows, t.size(0) - first);
          visit(i, name, t.narrow(0, first, n), first);
          file.release(name, uint64_t(first) * row_bytes, uint64_t(n) * row_bytes);
        }
      }
      file.release(name);
    }
    return;
  }
  std::vector<torch::Tensor> values;
  torch::load(values, (fs::path(path) / "model.pt").string());
  TORCH_CHECK(values.size() == saved.size(), path, ": model.pt holds ", values.size(), " tensors, its manifest lists ", saved.size());
  for (size_t i = 0; i < saved.size(); ++i) visit(i, saved[i].at("name").get<std::string>(), values[i], 0);
}

// Where a slice visited by visit_saved goes in `whole`.
torch::Tensor rows_of(const torch::Tensor& whole, const torch::Tensor& slice, int64_t first) {
  return whole.dim() == 0 ? whole : whole.narrow(0, first, slice.dim() == 0 ? 1 : slice.size(0));
}

}  // namespace


CheckpointStore::CheckpointStore(std::string run_dir, int64_t keep, std::string subdir, std::string pointer)
    : run_dir_(std::move(run_dir)), dir_((fs::path(run_dir_) / subdir).string()), pointer_(std::move(pointer)), keep_(keep) {}

void CheckpointStore::save(int64_t step, Model& model, torch::optim::Optimizer* optimizer,
                           const nlohmann::json& trainer_state, const std::string& tokenizer_checksum) {
  std::vector<io::TensorSource> sources;
  for (const auto& [name, tensor] : model_tensors(model)) sources.push_back(io::TensorSource::of(name, tensor));
  save_tensors(step, sources, optimizer, trainer_state, tokenizer_checksum);
}

void CheckpointStore::save_tensors(int64_t step, const std::vector<io::TensorSource>& named,
                                   torch::optim::Optimizer* optimizer, const nlohmann::json& trainer_state,
                                   const std::string& tokenizer_checksum) {
  const fs::path final_dir = fs::path(dir_) / fmt::format("step-{}", step);
  const fs::path tmp_dir = fs::path(dir_) / fmt::format(".tmp-step-{}", step);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) io_failure("cannot create", dir_, ec.value());
  for (const auto& entry : fs::directory_iterator(dir_, ec))  // left by a process killed mid-write
    if (entry.path().filename().string().rfind(".tmp-step-", 0) == 0) fs::remove_all(entry.path(), ec);
  fs::create_directories(tmp_dir, ec);
  if (ec) io_failure("cannot create", tmp_dir.string(), ec.value());

  nlohmann::json manifest;
  manifest["format"] = kFormat;
  manifest["step"] = step;
  manifest["tokenizer"] = tokenizer_checksum;
  try {
    // Serialised in memory, then written with checked, flushed writes: a full disk or an
    // unwritable directory is reported with the path and errno, and only the temporary
    // directory is lost.
    {
      // streamed tensor by tensor from where they are: no second copy of the model in memory
      nlohmann::json shapes = nlohmann::json::array();
      for (const io::TensorSource& t : named) shapes.push_back({{"name", t.name}, {"shape", t.shape}});
      manifest["tensors"] = shapes;
      io::write_safetensors((tmp_dir / "model.safetensors").string(), named, {{"format", "pt"}});
      fault_point("model", step);
    }
    if (optimizer) {
      std::ostringstream bytes;
      torch::save(*optimizer, bytes);
      write_file_durable((tmp_dir / "optimizer.pt").string(), bytes.str());
      fault_point("optimizer", step);
    }
    write_file_durable((tmp_dir / "trainer.json").string(), trainer_state.dump(2) + "\n");
    fault_point("trainer", step);
  } catch (...) {
    fs::remove_all(tmp_dir, ec);
    throw;
  }
  nlohmann::json files = nlohmann::json::object();
  for (const auto& entry : fs::directory_iterator(tmp_dir)) {
    const std::string path = entry.path().string();
    files[entry.path().filename().string()] = {{"bytes", fs::file_size(entry.path())}, {"fnv1a64", file_checksum(path)}};
  }
  manifest["files"] = files;
  fsync_path(tmp_dir.string(), true);
  fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) io_failure("cannot rename into place", final_dir.string(), ec.value());
  fsync_path(dir_, true);
  fault_point("rename", step);
  write_file_atomic((final_dir / "MANIFEST.json").string(), manifest.dump(2) + "\n");
  fault_point("manifest", step);
  if (!pointer_.empty()) {
    write_file_atomic((fs::path(run_dir_) / pointer_).string(), fs::relative(final_dir, run_dir_).string() + "\n");
  }
  fault_point("latest", step);

  // Keep the newest `keep` complete checkpoints.
  std::vector<fs::path> complete;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (step_of(entry.path()) >= 0) complete.push_back(entry.path());
  std::sort(complete.begin(), complete.end(), [](const fs::path& a, const fs::path& b) { return step_of(a) > step_of(b); });
  for (size_t i = size_t(keep_); i < complete.size(); ++i) fs::remove_all(complete[i], ec);
}

std::optional<std::string> verify_checkpoint(const std::string& path) {
  const fs::path manifest_path = fs::path(path) / "MANIFEST.json";
  if (!fs::exists(manifest_path)) return std::string("no manifest (incomplete write)");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(manifest_path.string()));
    if (manifest.at("format").get<int>() != kFormat) return std::string("unknown checkpoint format");
    for (const auto& [name, entry] : manifest.at("files").items()) {
      const fs::path file = fs::path(path) / name;
      if (!fs::exists(file)) return fmt::format("{} is missing", name);
      if (fs::file_size(file) != entry.at("bytes").get<uint64_t>()) return fmt::format("{} has the wrong size", name);
      if (file_checksum(file.string()) != entry.at("fnv1a64").get<std::string>()) return fmt::format("{} fails its checksum", name);
    }
    if (!manifest.at("files").contains("model.safetensors") && !manifest.at("files").contains("model.pt"))
      return std::string("neither model.safetensors nor model.pt is in the manifest");
  } catch (const std::exception& e) {
    return fmt::format("unreadable manifest: {}", e.what());
  }
  return std::nullopt;
}

std::optional<std::string> CheckpointStore::newest_valid(std::vector<std::string>* skipped) const {
  if (!fs::is_directory(dir_)) return std::nullopt;
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (step_of(entry.path()) >= 0) candidates.push_back(entry.path());
  std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) { return step_of(a) > step_of(b); });
  for (const auto& candidate : candidates) {
    auto problem = verify_checkpoint(candidate.string());
    if (!problem) return candidate.string();
    if (skipped) skipped->push_back(fmt::format("{}: {}", candidate.string(), *problem));
  }
  return std::nullopt;
}

std::vector<std::string> CheckpointStore::newest_valid(int64_t count) const {
  std::vector<std::string> out;
  if (!fs::is_directory(dir_)) return out;
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (step_of(entry.path()) >= 0) candidates.push_back(entry.path());
  std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) { return step_of(a) > step_of(b); });
  for (const auto& c : candidates) {
    if (int64_t(out.size()) >= count) break;
    if (!verify_checkpoint(c.string())) out.push_back(c.string());
  }
  return out;
}

nlohmann::json average_checkpoints(const std::vector<std::string>& paths, Model& model,
                                   const std::string& tokenizer_checksum) {
  TORCH_CHECK(!paths.empty(), "no checkpoints to average");
  auto state = load_checkpoint(paths[0], model, nullptr, tokenizer_checksum);
  if (paths.size() == 1) return state;
  auto tensors = model_tensors(model);
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  std::map<std::string, torch::Tensor> sums;
  for (const auto& [name, tensor] : tensors) sums[name] = tensor.detach().to(torch::kCPU, torch::kFloat64).clone();
  const auto first = nlohmann::json::parse(read_file((fs::path(paths[0]) / "MANIFEST.json").string()));
  for (size_t k = 1; k < paths.size(); ++k) {
    if (auto problem = verify_checkpoint(paths[k])) throw InputError(fmt::format("{}: invalid checkpoint: {}", paths[k], *problem));
    const auto manifest = nlohmann::json::parse(read_file((fs::path(paths[k]) / "MANIFEST.json").string()));
    if (manifest.at("tensors") != first.at("tensors") || manifest.at("tokenizer") != first.at("tokenizer")) {
      throw InputError(fmt::format("{}: holds other tensors or another tokenizer than {}; cannot average them", paths[k], paths[0]));
    }
    visit_saved(paths[k], manifest, [&](size_t, const std::string& name, const torch::Tensor& rows, int64_t first) {
      rows_of(sums.at(name), rows, first) += rows.to(torch::kFloat64);
    });
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, sum] : sums) by_name.at(name).copy_(sum / double(paths.size()));
  return state;
}

nlohmann::json load_checkpoint(const std::string& path, Model& model, torch::optim::Optimizer* optimizer,
                               const std::string& tokenizer_checksum) {
  if (auto problem = verify_checkpoint(path)) throw InputError(fmt::format("{}: invalid checkpoint: {}", path, *problem));
  const auto manifest = nlohmann::json::parse(read_file((fs::path(path) / "MANIFEST.json").string()));

  std::vector<std::string> differences;
  if (!tokenizer_checksum.empty() && manifest.at("tokenizer").get<std::string>() != tokenizer_checksum) {
    differences.push_back(fmt::format("tokenizer: checkpoint was trained with tokenizer {}, the experiment's is {}",
                                      manifest.at("tokenizer").get<std::string>(), tokenizer_checksum));
  }
  auto tensors = model_tensors(model);
  std::map<std::string, std::vector<int64_t>> saved;
  for (const auto& entry : manifest.at("tensors")) saved[entry.at("name")] = entry.at("shape").get<std::vector<int64_t>>();
  for (const auto& [name, tensor] : tensors) {
    auto it = saved.find(name);
    if (it == saved.end()) {
      differences.push_back(fmt::format("{}: in the model, not in the checkpoint", name));
    } else if (it->second != tensor.sizes().vec()) {
      differences.push_back(fmt::format("{}: shape {} in the checkpoint, {} in the model", name,
                                        fmt::join(it->second, "x"), fmt::join(tensor.sizes().vec(), "x")));
    }
  }
  for (const auto& [name, shape] : saved) {
    const bool known = std::any_of(tensors.begin(), tensors.end(), [&](const auto& t) { return t.first == name; });
    if (!known) differences.push_back(fmt::format("{}: in the checkpoint, not in the model", name));
  }
  if (!differences.empty()) {
    std::string text;
    for (const auto& d : differences) text += "\n  " + d;
    throw InputError(fmt::format("{}: checkpoint does not match the experiment ({} difference{}):{}", path,
                                 differences.size(), differences.size() == 1 ? "" : "s", text));
  }

  {
    torch::NoGradGuard no_grad;
    std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
    visit_saved(path, manifest, [&](size_t, const std::string& name, const torch::Tensor& rows, int64_t first) {
      rows_of(by_name.at(name), rows, first).copy_(rows);
    });
  }
  if (optimizer) torch::load(*optimizer, (fs::path(path) / "optimizer.pt").string());
  return nlohmann::json::parse(read_file((fs::path(path) / "trainer.json").string()));
}

InitReport init_from_checkpoint(const std::string& path, Model& model, const std::string& tokenizer_checksum,
                                bool load_values) {
  if (auto problem = verify_checkpoint(path)) throw InputError(fmt::format("{}: invalid checkpoint: {}", path, *problem));
  const auto manifest = nlohmann::json::parse(read_file((fs::path(path) / "MANIFEST.json").string()));
  if (!tokenizer_checksum.empty() && manifest.at("tokenizer").get<std::string>() != tokenizer_checksum) {
    throw InputError(fmt::format("{}: was trained with another tokenizer ({}, the experiment's is {}); a fine-tuned run "
                                 "uses its pretrained run's tokenizer: leave tokenizer.model out",
                                 path, manifest.at("tokenizer").get<std::string>(), tokenizer_checksum));
  }
  InitReport report;
  report.checkpoint = path;
  report.step = manifest.at("step").get<int64_t>();
  auto tensors = model_tensors(model);
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  std::set<std::string> provided;
  torch::NoGradGuard no_grad;
  const auto& saved = manifest.at("tensors");
  for (size_t i = 0; i < saved.size(); ++i) {
    const std::string name = saved[i].at("name");
    const auto shape = saved[i].at("shape").get<std::vector<int64_t>>();
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      report.skipped.push_back(fmt::format("{} (not in this model)", name));
    } else if (it->second.sizes().vec() != shape) {
      report.skipped.push_back(fmt::format("{} (shape {} in the checkpoint, {} in this model)", name, fmt::join(shape, "x"),
                                           fmt::join(it->second.sizes().vec(), "x")));
    } else {
      report.loaded.push_back(name);
      provided.insert(name);
    }
  }
  if (load_values) {
    visit_saved(path, manifest, [&](size_t, const std::string& name, const torch::Tensor& rows, int64_t first) {
      if (provided.count(name)) rows_of(by_name.at(name), rows, first).copy_(rows);
    });
  }
  for (const auto& [name, tensor] : tensors)
    if (!provided.count(name)) report.initialised.push_back(name);
  if (report.loaded.empty()) throw InputError(fmt::format("{}: no tensor of the checkpoint fits this model", path));
  return report;
}

}  // namespace qkv
