// Fuzzes the Proxy-Wasm header-map decoder (bytes a module wrote into its memory) and checks
// that whatever decodes re-encodes to the same bytes.
#include <cstdlib>
#include <string>
#include <string_view>

#include "wasm/codec/map_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto pairs = stavka::wasm::decode_pairs(bytes);
  if (pairs) {
    std::string again;
    stavka::wasm::encode_pairs(*pairs, again);
    if (!bytes.empty() && again != bytes) std::abort();
  }
  stavka::wasm::split_path(bytes);
  return 0;
}
