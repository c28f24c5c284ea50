// The modules part of the admin API (/api/v1/modules), on the admin listener:
//
//   GET /api/v1/modules          every module: name, generation, digest, file, disabled, ...
//   GET /api/v1/modules/NAME     one module
//   PUT /api/v1/modules/NAME     body: the new version's .wasm bytes (at most
//                                max_module_bytes); answered once every worker runs it
//
// Answers are JSON; errors are {"error": CODE, "message": TEXT} with the status saying which
// (404 unknown module, 405, 413, 422 refused by the loader, 500 not saved, 503 shutting down).
// Runs on the admin listener's reactor; the push itself runs on the ModuleControl's thread
// and this coroutine waits for it without blocking the reactor.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/module_control.h"
#include "runtime/task.h"

namespace stavka::admin {

// The largest module a push may carry.
inline constexpr size_t max_module_bytes = 64u << 20;

struct ApiResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type
  std::string content_type = "application/json";
};

// True for paths this API answers (so the listener routes them here).
bool is_modules_path(std::string_view path);

// The body a request may carry: max_module_bytes for a push to a module `control` has, 0 (none)
// otherwise, so a push to an unknown module is answered 404 without reading its body.
size_t modules_body_limit(std::string_view method, std::string_view path,
                          const ModuleControl* control);

// Answers one request; `control` may be null (no modules API: 503).
runtime::Task<ApiResponse> handle_modules(std::string method, std::string path, std::string body,
                                          ModuleControl* control);

// Shared by the admin listener for its own JSON errors.
ApiResponse json_error(int status, std::string_view code, std::string_view message);

}  // namespace stavka::admin
