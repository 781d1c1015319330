// safetensors reading and writing; the checks follow the format's own loader: the header length
// within the file and at most 100 MB, a JSON object, known dtypes, element counts that match the
// byte ranges, and ranges that tile the data with no gap or overlap.
#include "transformer/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors stores little-endian bytes; this reader maps them as they are"
#endif

namespace qkv::io {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxHeader = 100000000;  // the format's own limit on the header

const std::vector<std::pair<const char*, torch::ScalarType>>& dtypes() {
  static const std::vector<std::pair<const char*, torch::ScalarType>> table = {
      {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
      {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};
  return table;
}

}  // namespace

std::string dtype_name(torch::ScalarType dtype) {
  for (const auto& [name, type] : dtypes())
    if (type == dtype) return name;
  throw std::invalid_argument(fmt::format("safetensors has no dtype for {}", c10::toString(dtype)));
}

struct SafetensorsFile::Mapping {
  char* base = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (base) ::munmap(base, size);
  }
};

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path), map_(std::make_shared<Mapping>()) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  ::fstat(fd, &st);
  const auto size = uint64_t(st.st_size);
  if (size < 8) {
    ::close(fd);
    throw InputError(fmt::format("{}: byte 0: header length: the file has {} bytes, fewer than the 8 of the length", path, size));
  }
  // Private and writable: tensors handed out are writable views, and writing one copies its page.
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (base == MAP_FAILED) throw InputError(fmt::format("{}: cannot map: {}", path, std::strerror(err)));
  map_->base = static_cast<char*>(base);
  map_->size = size;
  uint64_t n = 0;
  std::memcpy(&n, map_->base, 8);
  if (n > kMaxHeader)
    throw InputError(fmt::format("{}: byte 0: header length: {} bytes, more than the format's limit of {}", path, n, kMaxHeader));
  if (n > size - 8)
    throw InputError(fmt::format("{}: byte 0: header length: {} bytes runs past the end of the file ({} bytes)", path, n, size));
  data_offset_ = int64_t(8 + n);
  parse_header(std::string(map_->base + 8, n));
  check_layout(size - 8 - n);
}

namespace {

// Where a tensor's name first appears in the header, for messages: byte 8 + its position.
uint64_t located(const std::string& header, const std::string& name) {
  const auto at = header.find(json(name).dump());
  return 8 + (at == std::string::npos ? 0 : at);
}

std::vector<int64_t> shape_of(const json& value, const std::string& where) {
  if (!value.is_array()) throw InputError(where + "shape: not a list of sizes");
  std::vector<int64_t> shape;
  for (const auto& size : value) {
    if (!size.is_number_unsigned() || size.get<uint64_t>() > uint64_t(INT64_MAX))
      throw InputError(fmt::format("{}shape: {} is not a size", where, size.dump()));
    shape.push_back(size.get<int64_t>());
  }
  return shape;
}

torch::ScalarType dtype_of(const json& value, const std::string& where) {
  if (value.is_string())
    for (const auto& [name, type] : dtypes())
      if (value.get<std::string>() == name) return type;
  throw InputError(fmt::format("{}dtype: {} is not one qkv reads (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", where,
                               value.dump()));
}

}  // namespace

void SafetensorsFile::parse_header(const std::string& header) {
  json parsed;
  try {
    parsed = json::parse(header);
  } catch (const json::parse_error& e) {
    throw InputError(fmt::format("{}: byte {}: header: invalid JSON ({})", path_, 8 + (e.byte > 0 ? e.byte - 1 : 0), e.what()));
  }
  if (!parsed.is_object()) throw InputError(fmt::format("{}: byte 8: header: not a JSON object", path_));
  for (const auto& [name, value] : parsed.items()) {
    const std::string where = fmt::format("{}: byte {}: tensor {}: ", path_, located(header, name), name);
    if (name == "__metadata__") {
      if (!value.is_object()) throw InputError(where + "not an object of strings");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) throw InputError(fmt::format("{}{}: not a string", where, key));
        metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    if (!value.is_object()) throw InputError(where + "not an object with dtype, shape and data_offsets");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!value.contains(key)) throw InputError(fmt::format("{}{}: missing", where, key));
    TensorEntry e;
    e.name = name;
    e.dtype = dtype_of(value["dtype"], where);
    e.shape = shape_of(value["shape"], where);
    const json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw InputError(fmt::format("{}data_offsets: {} is not [begin, end]", where, offsets.dump()));
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    uint64_t bytes = c10::elementSize(e.dtype);
    for (const int64_t size : e.shape)
      if (__builtin_mul_overflow(bytes, uint64_t(size), &bytes)) throw InputError(where + "shape: the byte count overflows");
    if (e.end < e.begin) throw InputError(fmt::format("{}data_offsets: end {} is before begin {}", where, e.end, e.begin));
    if (e.end - e.begin != bytes)
      throw InputError(fmt::format("{}shape: {} of {} needs {} bytes, data_offsets give {}", where, value["shape"].dump(),
                                   dtype_name(e.dtype), bytes, e.end - e.begin));
    entries_.push_back(std::move(e));
  }
}

void SafetensorsFile::check_layout(uint64_t data_bytes) {
  std::stable_sort(entries_.begin(), entries_.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  std::string previous;
  for (const auto& e : entries_) {
    const std::string where = fmt::format("{}: byte {}: tensor {}: data_offsets: ", path_, data_offset_ + int64_t(e.begin), e.name);
    if (e.end > data_bytes)
      throw InputError(fmt::format("{}[{}, {}] runs past the data ({} bytes)", where, e.begin, e.end, data_bytes));
    if (e.begin < covered) throw InputError(fmt::format("{}[{}, {}] overlaps tensor {}", where, e.begin, e.end, previous));
    if (e.begin > covered) throw InputError(fmt::format("{}bytes {} to {} before it belong to no tensor", where, covered, e.begin));
    covered = e.end;
    previous = e.name;
  }
  if (covered != data_bytes)
    throw InputError(fmt::format("{}: byte {}: data: bytes {} to {} belong to no tensor", path_, data_offset_ + int64_t(covered),
                                 covered, data_bytes));
  for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
}

const TensorEntry& SafetensorsFile::entry(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) throw InputError(fmt::format("{}: tensor {}: not in the file", path_, name));
  return entries_[it->second];
}

torch::Tensor SafetensorsFile::get(const std::string& name) const {
  const TensorEntry& e = entry(name);
  char* bytes = map_->base + data_offset_ + e.begin;
  const auto options = torch::TensorOptions().dtype(e.dtype);
  if (reinterpret_cast<uintptr_t>(bytes) % c10::elementSize(e.dtype) != 0) {  // the format does not promise alignment
    torch::Tensor copy = torch::empty(e.shape, options);
    std::memcpy(copy.data_ptr(), bytes, e.end - e.begin);
    return copy;
  }
  auto keep = map_;
  return torch::from_blob(bytes, e.shape, [keep](void*) {}, options);
}

void SafetensorsFile::release(const std::string& name) const {
  const TensorEntry& e = entry(name);
  release(name, 0, e.end - e.begin);
}

void SafetensorsFile::release(const std::string& name, uint64_t offset, uint64_t bytes) const {
  const TensorEntry& e = entry(name);
  offset = std::min<uint64_t>(offset, e.end - e.begin);
  bytes = std::min<uint64_t>(bytes, e.end - e.begin - offset);
  const auto page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<uintptr_t>(map_->base + data_offset_ + e.begin + offset);
  const uintptr_t begin = (first + page - 1) / page * page;  // whole pages inside the range only
  const uintptr_t end = (first + bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& path) : path_(path) {
  fs::path index = path;
  if (fs::is_directory(path)) {
    index = fs::path(path) / "model.safetensors.index.json";
    if (!fs::exists(index)) index = fs::path(path) / "model.safetensors";
    if (!fs::exists(index)) throw InputError(fmt::format("{}: no model.safetensors or model.safetensors.index.json", path));
  }
  if (index.extension() != ".json") {
    files_.push_back(std::make_unique<SafetensorsFile>(index.string()));
    for (const auto& e : files_[0]->entries()) where_[e.name] = 0;
    metadata_ = files_[0]->metadata();
    return;
  }
  const std::string text = read_file(index.string());
  json parsed;
  try {
    parsed = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(fmt::format("{}: byte {}: invalid JSON ({})", index.string(), e.byte > 0 ? e.byte - 1 : 0, e.what()));
  }
  if (!parsed.is_object() || !parsed.contains("weight_map") || !parsed["weight_map"].is_object())
    throw InputError(fmt::format("{}: weight_map: missing or not an object", index.string()));
  if (parsed.contains("metadata") && parsed["metadata"].is_object())
    for (const auto& [key, value] : parsed["metadata"].items()) metadata_[key] = value.is_string() ? value.get<std::string>() : value.dump();
  std::map<std::string, size_t> shard_index;
  for (const auto& [name, file] : parsed["weight_map"].items()) {
    if (!file.is_string()) throw InputError(fmt::format("{}: weight_map: {}: not a file name", index.string(), name));
    const std::string shard = (index.parent_path() / file.get<std::string>()).string();
    auto found = shard_index.find(shard);
    if (found == shard_index.end()) {
      if (!fs::exists(shard)) throw InputError(fmt::format("{}: weight_map: {}: no such shard {}", index.string(), name, shard));
      files_.push_back(std::make_unique<SafetensorsFile>(shard));
      found = shard_index.emplace(shard, files_.size() - 1).first;
    }
    if (!files_[found->second]->contains(name))
      throw InputError(fmt::format("{}: weight_map: {}: not in {}", index.string(), name, shard));
    where_[name] = found->second;
  }
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, file] : where_) out.push_back(name);
  return out;
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw InputError(fmt::format("{}: tensor {}: not in the checkpoint", path_, name));
  return *files_[it->second];
}

const TensorEntry& SafetensorsCheckpoint::entry(const std::string& name) const { return file_of(name).entry(name); }
torch::Tensor SafetensorsCheckpoint::get(const std::string& name) const { return file_of(name).get(name); }
void SafetensorsCheckpoint::release(const std::string& name) const { file_of(name).release(name); }

namespace {

// The header: __metadata__ first, then the tensors in the order of their bytes; spaces pad it
// to a multiple of 8 so the data that follows is aligned.
std::string header_of(const std::vector<TensorSource>& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorSource& t : tensors) {
    if (header.contains(t.name) || t.name == "__metadata__")
      throw std::invalid_argument(fmt::format("safetensors: tensor {} given twice", t.name));
    int64_t numel = 1;
    for (const int64_t d : t.shape) numel *= d;
    const uint64_t bytes = uint64_t(numel) * c10::elementSize(t.dtype);
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

TensorSource TensorSource::of(const std::string& name, const torch::Tensor& tensor) {
  return TensorSource{name, tensor.scalar_type(), tensor.sizes().vec(), [tensor] { return tensor; }, {}};
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSource> sources;
  for (const auto& [name, t] : tensors) sources.push_back(TensorSource::of(name, t));
  write_safetensors(path, sources, metadata);
}

void write_safetensors(const std::string& path, const std::vector<TensorSource>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = header_of(tensors, metadata);
  const std::string temporary = path + ".tmp";
  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  if (!out) io_failure("cannot create", temporary, errno);
  auto put = [&](const void* bytes, size_t n) {
    if (n > 0 && std::fwrite(bytes, 1, n, out) != n) {
      const int err = errno;
      std::fclose(out);
      std::remove(temporary.c_str());
      io_failure("cannot write", temporary, err);
    }
  };
  const uint64_t length = header.size();
  put(&length, 8);
  put(header.data(), header.size());
  for (const TensorSource& source : tensors) {
    {
      const torch::Tensor bytes = source.make().detach().to(torch::kCPU).contiguous();
      if (bytes.scalar_type() != source.dtype || bytes.sizes().vec() != source.shape)
        throw std::invalid_argument(fmt::format("safetensors: tensor {} is not the dtype and shape announced", source.name));
      put(bytes.data_ptr(), size_t(bytes.numel()) * bytes.element_size());
    }
    if (source.done) source.done();
  }
  if (std::fflush(out) != 0 || ::fsync(::fileno(out)) != 0) {
    const int err = errno;
    std::fclose(out);
    std::remove(temporary.c_str());
    io_failure("cannot write", temporary, err);
  }
  std::fclose(out);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) io_failure("cannot rename to " + path, temporary, errno);
  fsync_path(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string(), true);
}

}  // namespace qkv::io
