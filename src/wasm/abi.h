// The Proxy-Wasm ABI 0.2.1 as the host sees it: status codes, map and buffer types, actions.
//
// Values are the ABI's; the SDKs hard-code them, so they never change. A host function answers
// only with the statuses the SDKs expect from that function (an SDK aborts the module on any
// other), which is why each host function in host_functions.cc documents what it returns.
#pragma once

#include <cstdint>

namespace stavka::wasm {

enum class Status : int32_t {
  ok = 0,
  not_found = 1,
  bad_argument = 2,
  serialization_failure = 3,
  parse_failure = 4,
  invalid_memory_access = 6,
  empty = 7,
  cas_mismatch = 8,
  internal_failure = 10,
  unimplemented = 12,
};

enum class MapType : int32_t {
  request_headers = 0,
  request_trailers = 1,
  response_headers = 2,
  response_trailers = 3,
  grpc_initial_metadata = 4,
  grpc_trailing_metadata = 5,
  http_call_response_headers = 6,
  http_call_response_trailers = 7,
};

enum class BufferType : int32_t {
  request_body = 0,
  response_body = 1,
  downstream_data = 2,
  upstream_data = 3,
  http_call_response_body = 4,
  grpc_receive_buffer = 5,
  vm_configuration = 6,
  plugin_configuration = 7,
  call_data = 8,
};

// What an HTTP callback asks of the host: go on, or hold the stream until the module resumes it.
enum class Action : int32_t { proceed = 0, pause = 1 };

enum class StreamType : int32_t { request = 0, response = 1, downstream = 2, upstream = 3 };

enum class MetricType : int32_t { counter = 0, gauge = 1, histogram = 2 };

enum class LogLevel : int32_t { trace = 0, debug = 1, info = 2, warn = 3, error = 4, critical = 5 };

// WASI errno values the host returns (wasi_snapshot_preview1).
namespace wasi_errno {
constexpr int32_t success = 0;
constexpr int32_t badf = 8;
constexpr int32_t fault = 21;
constexpr int32_t inval = 28;
constexpr int32_t io = 29;
constexpr int32_t isdir = 31;
constexpr int32_t noent = 44;
constexpr int32_t nosys = 52;
constexpr int32_t notsup = 58;
constexpr int32_t notdir = 54;
constexpr int32_t spipe = 70;
constexpr int32_t notcapable = 76;
}  // namespace wasi_errno

}  // namespace stavka::wasm
