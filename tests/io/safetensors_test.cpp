// safetensors: a file laid out by hand from the format's definition reads back with the right
// dtypes, shapes and values; what qkv writes reads back bit for bit and has the format's layout;
// sharded checkpoints; and each kind of bad file refused with its file, byte and field.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "transformer/io/safetensors.h"
#include "transformer/util/errors.h"

using namespace qkv;
using namespace qkv::io;

namespace {

// A safetensors file from its parts: the 8-byte little-endian length, the header as given, the data.
void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = char((n >> (8 * i)) & 0xff);
  out.write(length, 8);
  out << header << data;
}

std::string bytes_of(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// The InputError message of opening `path`, or "" when it opens.
std::string refusal(const std::string& path) {
  try {
    SafetensorsFile file(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), size_t(x.numel()) * x.element_size()) == 0;
}

}  // namespace

TEST_CASE("a safetensors file laid out by hand reads back with its dtypes, shapes, values and metadata", "[io]") {
  test::ScratchDir dir("st-hand");
  // F32 [2] = 1.5, -2; F16 [1] = 1.0 (0x3c00); BF16 [1] = -2.0 (0xc000); I64 [] = 7; I32 [0].
  const std::string data = bytes_of({0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,  // F32
                                     0x00, 0x3c,                                      // F16
                                     0x00, 0xc0,                                      // BF16
                                     0x07, 0, 0, 0, 0, 0, 0, 0});                     // I64
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("h":{"dtype":"F16","shape":[1,1],"data_offsets":[8,10]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]},)"
      R"("n":{"dtype":"I64","shape":[],"data_offsets":[12,20]},"e":{"dtype":"I32","shape":[0,3],"data_offsets":[20,20]}})";
  write_raw(dir / "m.safetensors", header, data);
  const SafetensorsFile f(dir / "m.safetensors");
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.entries().size() == 5);
  CHECK(f.data_offset() == int64_t(8 + header.size()));
  CHECK(torch::equal(f.get("w"), torch::tensor({1.5f, -2.0f})));
  CHECK(f.get("h").scalar_type() == torch::kFloat16);
  CHECK(f.get("h").sizes() == torch::IntArrayRef({1, 1}));
  CHECK(f.get("h").item<float>() == 1.0f);
  CHECK(f.get("b").scalar_type() == torch::kBFloat16);
  CHECK(f.get("b").item<float>() == -2.0f);
  CHECK(f.get("n").dim() == 0);
  CHECK(f.get("n").item<int64_t>() == 7);
  CHECK(f.get("e").numel() == 0);
  CHECK_FALSE(f.contains("x"));
  CHECK_THROWS_WITH(f.get("x"), Catch::Contains("m.safetensors: tensor x: not in the file"));
}

TEST_CASE("what qkv writes has the format's layout and reads back bit for bit", "[io]") {
  test::ScratchDir dir("st-write");
  torch::manual_seed(3);
  const std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"layer.0.weight", torch::randn({5, 3})},
      {"transposed", torch::randn({4, 6}).t()},  // not contiguous
      {"half", torch::randn({7}).to(torch::kFloat16)},
      {"bf16", torch::randn({3, 3}).to(torch::kBFloat16)},
      {"double", torch::randn({2}, torch::kFloat64)},
      {"ids", torch::arange(11, torch::kInt64)},
      {"i32", torch::arange(5, torch::kInt32)},
      {"mask", torch::tensor({true, false, true})},
      {"bytes", torch::arange(3, torch::kUInt8)},
      {"scalar", torch::tensor(2.5f)},
      {"empty", torch::empty({0, 4})}};
  const std::string path = dir / "out.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}});
  const SafetensorsFile f(path);
  CHECK(f.data_offset() % 8 == 0);
  for (const auto& [name, t] : tensors) {
    CAPTURE(name);
    CHECK(same_bits(f.get(name), t));
  }
  CHECK(f.metadata().at("format") == "pt");
  // The header by itself: JSON padded with spaces, each tensor's range in the order given.
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  std::memcpy(&n, all.data(), 8);
  const auto header = nlohmann::json::parse(all.substr(8, n));
  CHECK(header["layer.0.weight"]["data_offsets"] == nlohmann::json::array({0, 60}));
  CHECK(header["transposed"]["shape"] == nlohmann::json::array({6, 4}));
  CHECK(header["half"]["dtype"] == "F16");
  CHECK(all.size() == 8 + n + 60 + 96 + 14 + 18 + 16 + 88 + 20 + 3 + 3 + 4 + 0);
  // Written twice, the same bytes; the old file stands until the new one is complete.
  write_safetensors(path, tensors, {{"format", "pt"}});
  std::ifstream again(path, std::ios::binary);
  CHECK(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()) == all);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK_THROWS_AS((write_safetensors(dir / "twice.safetensors", {{"a", torch::ones(1)}, {"a", torch::ones(1)}})), std::invalid_argument);
  CHECK_THROWS_AS((write_safetensors(dir / "complex.safetensors", {{"c", torch::ones(1, torch::kComplexFloat)}})), std::invalid_argument);
}

TEST_CASE("tensors are views of the mapping that outlive the file object and never write to the file", "[io]") {
  test::ScratchDir dir("st-views");
  const std::string path = dir / "v.safetensors";
  write_safetensors(path, {{"a", torch::arange(4096, torch::kFloat32)}, {"b", torch::ones(3)}});
  torch::Tensor a;
  {
    const SafetensorsFile f(path);
    a = f.get("a");
    f.release("a");  // pages given back are read from the file again
  }
  CHECK(a[4095].item<float>() == 4095.0f);
  a.mul_(2);  // copy-on-write
  CHECK(a[10].item<float>() == 20.0f);
  CHECK(SafetensorsFile(path).get("a")[10].item<float>() == 10.0f);
}

TEST_CASE("a sharded checkpoint reads through model.safetensors.index.json", "[io]") {
  test::ScratchDir dir("st-shards");
  write_safetensors(dir / "model-00001-of-00002.safetensors", {{"wte", torch::ones({4, 2})}, {"wpe", torch::zeros({3, 2})}});
  write_safetensors(dir / "model-00002-of-00002.safetensors", {{"ln_f.weight", torch::full({2}, 3.0)}});
  auto index = [&](const std::string& weight_map) {
    std::ofstream(dir / "model.safetensors.index.json") << R"({"metadata":{"total_size":60},"weight_map":)" << weight_map << "}";
  };
  index(R"({"wte":"model-00001-of-00002.safetensors","wpe":"model-00001-of-00002.safetensors",)"
        R"("ln_f.weight":"model-00002-of-00002.safetensors"})");
  const SafetensorsCheckpoint c(dir.path().string());
  CHECK((c.names() == std::vector<std::string>{"ln_f.weight", "wpe", "wte"}));
  CHECK(c.get("ln_f.weight")[1].item<float>() == 3.0f);
  CHECK(c.get("wte").sizes() == torch::IntArrayRef({4, 2}));
  CHECK(c.metadata().at("total_size") == "60");
  CHECK_THROWS_WITH(c.get("lm_head.weight"), Catch::Contains("tensor lm_head.weight: not in the checkpoint"));
  index(R"({"wte":"model-00003-of-00002.safetensors"})");
  CHECK_THROWS_WITH(SafetensorsCheckpoint(dir.path().string()), Catch::Contains("weight_map: wte: no such shard"));
  index(R"({"wte":"model-00002-of-00002.safetensors"})");
  CHECK_THROWS_WITH(SafetensorsCheckpoint(dir.path().string()), Catch::Contains("weight_map: wte: not in"));
  std::filesystem::remove(dir / "model.safetensors.index.json");
  CHECK_THROWS_WITH(SafetensorsCheckpoint(dir.path().string()), Catch::Contains("no model.safetensors or model.safetensors.index.json"));
}

TEST_CASE("bad safetensors files are refused naming the file, the byte and the field", "[io]") {
  test::ScratchDir dir("st-bad");
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  const std::string data(12, '\0');
  auto refused = [&](const std::string& header, const std::string& bytes) {
    write_raw(dir / "bad.safetensors", header, bytes);
    return refusal(dir / "bad.safetensors");
  };
  CHECK(refused(ok, data).empty());
  {
    std::ofstream(dir / "bad.safetensors") << "abc";
    CHECK_THAT(refusal(dir / "bad.safetensors"), Catch::Contains("bad.safetensors: byte 0: header length: the file has 3 bytes"));
  }
  {
    std::ofstream out(dir / "bad.safetensors", std::ios::binary);
    const uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
    out.close();
    CHECK_THAT(refusal(dir / "bad.safetensors"), Catch::Contains("byte 0: header length: 1000 bytes runs past the end of the file (10 bytes)"));
  }
  CHECK_THAT(refused(R"({"a":{"dtype":"F32",)", ""), Catch::Contains("header: invalid JSON"));
  CHECK_THAT(refused("[1, 2]", ""), Catch::Contains("byte 8: header: not a JSON object"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", std::string(2, '\0')),
             Catch::Contains("byte 9: tensor a: dtype: \"F8_E4M3\" is not one qkv reads"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(4, '\0')),
             Catch::Contains("tensor a: data_offsets: [0, 8] runs past the data (4 bytes)"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                     std::string(8, '\0')),
             Catch::Contains("tensor b: data_offsets: [4, 8] overlaps tensor a"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')),
             Catch::Contains("tensor a: shape: [3] of F32 needs 12 bytes, data_offsets give 8"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, '\0')),
             Catch::Contains("tensor a: data_offsets: bytes 0 to 4 before it belong to no tensor"));
  CHECK_THAT(refused(ok, std::string(16, '\0')), Catch::Contains("data: bytes 12 to 16 belong to no tensor"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", ""), Catch::Contains("tensor a: shape: -1 is not a size"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F32","data_offsets":[0,0]}})", ""), Catch::Contains("tensor a: shape: missing"));
  CHECK_THAT(refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, '\0')),
             Catch::Contains("tensor a: data_offsets: end 4 is before begin 8"));
}
