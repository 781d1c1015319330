// libqkv_spm.so: SentencePiece behind a C interface (see spm_bridge.h for why).
#include "transformer/text/spm_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace sentencepiece::logging {
void SetMinLogLevel(int level);  // exported by libsentencepiece; quiets its log
}

namespace {

size_t copy_out(const std::string& s, char* out, size_t cap) {
  if (s.size() <= cap) std::memcpy(out, s.data(), s.size());
  return s.size();
}

void set_error(const std::string& message, char* error, size_t cap) {
  if (!error || cap == 0) return;
  const size_t n = std::min(message.size(), cap - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

}  // namespace

extern "C" {

void* qkv_spm_open(const char* bytes, size_t size, char* error, size_t error_cap) {
  sentencepiece::logging::SetMinLogLevel(2);
  auto* processor = new sentencepiece::SentencePieceProcessor();
  const auto status = processor->LoadFromSerializedProto(std::string(bytes, size));
  if (!status.ok()) {
    set_error(status.ToString(), error, error_cap);
    delete processor;
    return nullptr;
  }
  return processor;
}

void qkv_spm_close(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

int qkv_spm_piece_size(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize(); }

int qkv_spm_piece_to_id(void* handle, const char* piece) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->PieceToId(piece);
}

int qkv_spm_special(void* handle, int which) {
  auto* p = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  switch (which) {
    case 0: return p->pad_id();
    case 1: return p->unk_id();
    case 2: return p->bos_id();
    case 3: return p->eos_id();
  }
  return -1;
}

size_t qkv_spm_encode(void* handle, const char* text, size_t size, int* ids, size_t cap) {
  std::vector<int> out;
  static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string(text, size), &out).IgnoreError();
  if (out.size() <= cap) std::memcpy(ids, out.data(), out.size() * sizeof(int));
  return out.size();
}

size_t qkv_spm_decode(void* handle, const int* ids, size_t count, char* out, size_t cap) {
  std::string text;
  static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Decode(std::vector<int>(ids, ids + count), &text).IgnoreError();
  return copy_out(text, out, cap);
}

size_t qkv_spm_id_to_piece(void* handle, int id, char* out, size_t cap) {
  return copy_out(static_cast<sentencepiece::SentencePieceProcessor*>(handle)->IdToPiece(id), out, cap);
}

int qkv_spm_train(const char* const* keys, const char* const* values, size_t count, unsigned seed, char* error,
                  size_t error_cap) {
  sentencepiece::logging::SetMinLogLevel(2);
  sentencepiece::SetRandomGeneratorSeed(seed);
  std::unordered_map<std::string, std::string> args;
  for (size_t i = 0; i < count; ++i) args[keys[i]] = values[i];
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) {
    set_error(status.ToString(), error, error_cap);
    return 1;
  }
  return 0;
}

}  // extern "C"
