// safetensors, the tensor format of Hugging Face checkpoints, read and written exactly. A file is
// an 8-byte little-endian header length N, N bytes of JSON (one object per tensor: "dtype",
// "shape", "data_offsets" [begin, end) counted from the byte after the header; an optional
// "__metadata__" of strings), then the tensors' bytes, which must cover the data exactly. Reading
// maps the file and checks all of it before handing out a tensor; tensors are views of the
// mapping (copy-on-write: writing to one never touches the file) and keep it alive. Bad files
// raise InputError "PATH: byte B: FIELD: what".
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace qkv::io {

struct TensorEntry {
  std::string name;
  torch::ScalarType dtype = torch::kFloat32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // from the first byte after the header
};

// safetensors' name of a dtype ("F32", "BF16", ...); std::invalid_argument for one it lacks.
std::string dtype_name(torch::ScalarType dtype);

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }  // in the order of their bytes
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  // InputError "PATH: tensor NAME: not in the file" when absent.
  const TensorEntry& entry(const std::string& name) const;
  // The tensor as a view of the mapping (a copy when its bytes are not aligned to its element).
  torch::Tensor get(const std::string& name) const;
  // Gives the pages of a tensor already copied elsewhere back to the kernel, so loading a large
  // checkpoint into a model does not hold both in memory. Views of it read the file again.
  void release(const std::string& name) const;
  // The same for `bytes` bytes from `offset` within the tensor.
  void release(const std::string& name, uint64_t offset, uint64_t bytes) const;
  int64_t data_offset() const { return data_offset_; }  // where the tensors' bytes start

 private:
  struct Mapping;
  void parse_header(const std::string& header);
  void check_layout(uint64_t data_bytes);

  std::string path_;
  std::shared_ptr<Mapping> map_;
  int64_t data_offset_ = 0;
  std::vector<TensorEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint as Hugging Face saves one: a .safetensors file, a directory holding
// model.safetensors, or the shards named by model.safetensors.index.json ("weight_map": tensor ->
// file). Every shard is opened and every name of the map checked against its shard on opening.
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& path);

  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  const TensorEntry& entry(const std::string& name) const;
  torch::Tensor get(const std::string& name) const;
  void release(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  const SafetensorsFile& file_of(const std::string& name) const;

  std::string path_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index in files_
  std::map<std::string, std::string> metadata_;
};

// A tensor to write, made only when its bytes are written (a transposed or concatenated copy of
// a mapped checkpoint's tensor, say), so that writing a large model holds one such copy at a
// time; `done`, when set, runs after its bytes are out (to give mapped pages back).
struct TensorSource {
  std::string name;
  torch::ScalarType dtype = torch::kFloat32;
  std::vector<int64_t> shape;
  std::function<torch::Tensor()> make;
  std::function<void()> done;
  static TensorSource of(const std::string& name, const torch::Tensor& tensor);
};

// Writes tensors under their names (CPU copies made as needed; bytes little-endian, in the order
// given), the header padded with spaces to a multiple of 8 bytes as Hugging Face's writer does,
// atomically: a temporary file, fsync, rename. std::invalid_argument for a repeated name or a
// dtype safetensors lacks; std::runtime_error naming the path and errno when writing fails.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
void write_safetensors(const std::string& path, const std::vector<TensorSource>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace qkv::io
