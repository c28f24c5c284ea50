// The functions a module imports: every proxy_* function of the Proxy-Wasm ABI 0.2.1 (module
// "env") and the WASI functions SDKs import (module "wasi_snapshot_preview1").
//
// Each is an unchecked Wasmtime host function: it finds its Instance in the store's data, reads
// its arguments from the raw values, and answers with a status the SDKs expect from that call.
#pragma once

#include <wasmtime.h>

#include <string>
#include <string_view>

namespace stavka::wasm {

// Defines them all in `linker`. Returns "" or what went wrong.
std::string define_host_functions(wasmtime_linker_t* linker);

// True if (module, name) is one of them.
bool is_host_function(std::string_view module, std::string_view name);

}  // namespace stavka::wasm
