// C interface of libqkv_spm.so, the module through which qkv uses SentencePiece. Debian's
// libsentencepiece carries its own protobuf-lite, whose exported symbols collide with LibTorch's
// libprotobuf when both are linked into one program (a crash while loading). The module is
// opened with RTLD_DEEPBIND so SentencePiece binds to its own copy; only plain C types cross.
#pragma once

#include <cstddef>

extern "C" {
void* qkv_spm_open(const char* bytes, size_t size, char* error, size_t error_cap);
void qkv_spm_close(void* handle);
int qkv_spm_piece_size(void* handle);
int qkv_spm_piece_to_id(void* handle, const char* piece);
int qkv_spm_special(void* handle, int which);  // 0 pad, 1 unk, 2 bos, 3 eos
// Return the number of ids or bytes produced; when above cap, nothing was written past cap.
size_t qkv_spm_encode(void* handle, const char* text, size_t size, int* ids, size_t cap);
size_t qkv_spm_decode(void* handle, const int* ids, size_t count, char* out, size_t cap);
size_t qkv_spm_id_to_piece(void* handle, int id, char* out, size_t cap);
// Trains with SentencePiece's own option names; returns 0 on success.
int qkv_spm_train(const char* const* keys, const char* const* values, size_t count, unsigned seed, char* error,
                  size_t error_cap);
}
