// The modules admin API; see modules_api.h.
#include "admin/modules_api.h"

#include <coroutine>
#include <cstdio>

#include "admin/json.h"
#include "runtime/reactor.h"

namespace stavka::admin {

namespace {

constexpr std::string_view prefix = "/api/v1/modules";

// "" for the collection, the name for /api/v1/modules/NAME, nullopt-like "/" for anything else.
std::string_view module_of(std::string_view path, bool* collection) {
  *collection = path == prefix || path == std::string(prefix) + "/";
  if (*collection) return {};
  std::string_view rest = path.substr(prefix.size());
  if (!rest.starts_with('/')) return {};
  rest.remove_prefix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return {};
  return rest;
}

void append_number(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  out += buf;
}

// The members of one module (without braces), shared by the listing and the push answer.
void append_module(std::string& out, const ModuleInfo& m) {
  out += "\"name\":";
  append_json_string(out, m.name);
  out += ",\"generation\":" + std::to_string(m.generation);
  out += ",\"digest\":";
  append_json_string(out, m.digest);
  out += ",\"size\":" + std::to_string(m.size);
  out += ",\"file\":";
  append_json_string(out, m.file);
  out += ",\"disabled\":";
  out += m.disabled ? "true" : "false";
  out += ",\"isolation\":";
  append_json_string(out, m.isolation);
  out += ",\"sites\":[";
  for (size_t i = 0; i < m.sites.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, m.sites[i]);
  }
  out += ']';
}

std::string known_names(const std::vector<ModuleInfo>& modules) {
  if (modules.empty()) return "none is configured";
  std::string names = "configured: ";
  for (size_t i = 0; i < modules.size(); ++i) names += (i ? ", " : "") + modules[i].name;
  return names;
}

ApiResponse unknown_module(std::string_view name, const ModuleControl& control) {
  return json_error(404, "unknown_module",
                    "no module named \"" + std::string(name) + "\" (" +
                        known_names(control.list()) + ")");
}

ApiResponse method_not_allowed(std::string_view allow) {
  ApiResponse r = json_error(405, "method_not_allowed", "allowed: " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

}  // namespace

ApiResponse json_error(int status, std::string_view code, std::string_view message) {
  ApiResponse r;
  r.status = status;
  r.body = "{\"error\":";
  append_json_string(r.body, code);
  r.body += ",\"message\":";
  append_json_string(r.body, message);
  r.body += "}\n";
  return r;
}

bool is_modules_path(std::string_view path) {
  return path == prefix || path.starts_with(std::string(prefix) + "/");
}

size_t modules_body_limit(std::string_view method, std::string_view path,
                          const ModuleControl* control) {
  bool collection = false;
  if (method != "PUT" || !is_modules_path(path) || !control) return 0;
  std::string_view name = module_of(path, &collection);
  if (name.empty()) return 0;
  for (const ModuleInfo& m : control->list()) {
    if (m.name == name) return max_module_bytes;
  }
  return 0;
}

runtime::Task<ApiResponse> handle_modules(std::string method, std::string path, std::string body,
                                          ModuleControl* control) {
  bool collection = false;
  std::string name(module_of(path, &collection));
  if (!collection && name.empty()) co_return json_error(404, "not_found", "no such path: " + path);
  if (!control) co_return json_error(503, "unavailable", "modules cannot be managed here");
  bool read = method == "GET" || method == "HEAD";
  if (collection) {
    if (!read) co_return method_not_allowed("GET, HEAD");
    ApiResponse r;
    r.body = "{\"modules\":[";
    std::vector<ModuleInfo> modules = control->list();
    for (size_t i = 0; i < modules.size(); ++i) {
      r.body += i ? ",{" : "{";
      append_module(r.body, modules[i]);
      r.body += '}';
    }
    r.body += "]}\n";
    co_return r;
  }
  if (read) {
    for (const ModuleInfo& m : control->list()) {
      if (m.name != name) continue;
      ApiResponse r;
      r.body = "{";
      append_module(r.body, m);
      r.body += "}\n";
      co_return r;
    }
    co_return unknown_module(name, *control);
  }
  if (method != "PUT") co_return method_not_allowed("GET, HEAD, PUT");
  // A named awaiter, not a braced temporary in the co_await: GCC 12 destroys such temporaries
  // twice.
  ControlAwaiter<PushResult> push{
      [control, name = std::move(name), body = std::move(body)](
          std::function<void(PushResult)> done) mutable {
        control->push(std::move(name), std::move(body), std::move(done));
      },
      {}};
  PushResult p = co_await push;
  if (p.status != 200) co_return json_error(p.status, p.error, p.message);
  ApiResponse r;
  r.body = "{";
  append_module(r.body, p.module);
  r.body += ",\"previous_generation\":" + std::to_string(p.previous_generation);
  r.body += ",\"workers\":" + std::to_string(p.workers);
  r.body += ",\"load_ms\":";
  append_number(r.body, p.load_ms);
  r.body += ",\"publish_ms\":";
  append_number(r.body, p.publish_ms);
  r.body += "}\n";
  co_return r;
}

}  // namespace stavka::admin
