// The host functions (see host_functions.h). Conventions:
//  - arguments are u32 (pointers and sizes in the module's memory) unless the ABI says i64;
//  - statuses are the Proxy-Wasm 0.2.1 specification's for each function; where it says nothing
//    the choice is written next to the function (tests/modules/abi_conformance.c checks them);
//  - an enum argument out of its range (map, buffer, stream type, log level) is BAD_ARGUMENT;
//  - a pointer the module gives that falls outside its memory gets INVALID_MEMORY_ACCESS, as the
//    specification says (the SDKs abort on it, which then traps); a malformed header map, an
//    allocator that returns a bad pointer or proc_exit is a fault (the module traps);
//  - values handed to the module are copied into memory it allocates (proxy_on_memory_allocate
//    or malloc) and become the module's to free.
#include "wasm/host_functions.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <ctime>
#include <vector>

#include "http/headers.h"
#include "net/address.h"
#include "runtime/log.h"
#include "wasm/abi.h"
#include "wasm/codec/map_codec.h"
#include "wasm/filter_chain.h"
#include "wasm/instance.h"
#include "wasm/shared_state.h"
#include "wasm/engine.h"
#include "wasm/worker_modules.h"

namespace stavka::wasm {

namespace {

using Raw = wasmtime_val_raw_t;
using HostFn = int32_t (*)(Instance&, Raw*);

inline uint32_t u(const Raw* a, int i) { return static_cast<uint32_t>(a[i].i32); }
inline int32_t status(Status s) { return static_cast<int32_t>(s); }

Instance& self(wasmtime_caller_t* caller) {
  return *static_cast<Instance*>(wasmtime_context_get_data(wasmtime_caller_context(caller)));
}

wasm_trap_t* trampoline(void* env, wasmtime_caller_t* caller, Raw* args, size_t) {
  Instance& in = self(caller);
  in.memory_moved();
  int32_t result = reinterpret_cast<HostFn>(env)(in, args);
  if (in.raised()) {
    static const char message[] = "host function raised a fault";
    return wasmtime_trap_new(message, sizeof message - 1);
  }
  args[0].i32 = result;
  return nullptr;
}

// Bytes the module passed; false (the caller answers INVALID_MEMORY_ACCESS) when they are not
// all inside its memory.
bool arg_bytes(Instance& in, uint32_t ptr, uint32_t size, std::string_view* out) {
  return in.read(ptr, size, out);
}

// Enum arguments: the ABI's values, anything else is BAD_ARGUMENT.
bool known_map(int32_t type) {
  return static_cast<uint32_t>(type) <= static_cast<uint32_t>(MapType::http_call_response_trailers);
}
bool known_buffer(int32_t type) {
  return static_cast<uint32_t>(type) <= static_cast<uint32_t>(BufferType::call_data);
}

Stream* stream_of(Instance& in) {
  HttpContext* c = in.effective();
  return c ? c->stream : nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string le64(uint64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}

// --- logging and time -------------------------------------------------------------------------

runtime::LogLevel host_level(int32_t level) {
  if (level <= static_cast<int32_t>(LogLevel::debug)) return runtime::LogLevel::debug;
  if (level == static_cast<int32_t>(LogLevel::info)) return runtime::LogLevel::info;
  if (level == static_cast<int32_t>(LogLevel::warn)) return runtime::LogLevel::warn;
  return runtime::LogLevel::error;
}

void module_log(Instance& in, runtime::LogLevel level, std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (!runtime::log_enabled(level)) return;
  runtime::log(level, "module %s: %.*s", in.module().name().c_str(), static_cast<int>(text.size()),
               text.data());
}

int32_t proxy_log(Instance& in, Raw* a) {
  if (u(a, 0) > static_cast<uint32_t>(LogLevel::critical)) return status(Status::bad_argument);
  std::string_view text;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &text)) return status(Status::invalid_memory_access);
  module_log(in, host_level(a[0].i32), text);
  return status(Status::ok);
}

int32_t proxy_get_log_level(Instance& in, Raw* a) {
  LogLevel level = LogLevel::error;
  if (runtime::log_enabled(runtime::LogLevel::debug)) level = LogLevel::debug;
  else if (runtime::log_enabled(runtime::LogLevel::info)) level = LogLevel::info;
  else if (runtime::log_enabled(runtime::LogLevel::warn)) level = LogLevel::warn;
  if (!in.write_u32(u(a, 0), static_cast<uint32_t>(level))) return status(Status::invalid_memory_access);
  return status(Status::ok);
}

uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

int32_t proxy_get_current_time_nanoseconds(Instance& in, Raw* a) {
  if (!in.write_u64(u(a, 0), clock_ns(CLOCK_REALTIME))) return status(Status::invalid_memory_access);
  return status(Status::ok);
}

int32_t proxy_set_tick_period_milliseconds(Instance& in, Raw* a) {
  in.tick_period_ms = u(a, 0);
  if (in.worker()) in.worker()->tick_period_changed(in);
  return status(Status::ok);
}

// --- buffers ----------------------------------------------------------------------------------

// The request or response body a body callback of this context is running on, if the type is
// that one.
std::string* body_of(Instance& in, int32_t type) {
  Stream* s = stream_of(in);
  if (!s || !s->body) return nullptr;
  const auto t = static_cast<BufferType>(type);
  if (t == (s->body_is_response ? BufferType::response_body : BufferType::request_body)) {
    return s->body;
  }
  return nullptr;
}

// The buffer of a (known) type, or nullopt when it is not available here: a body only in its
// body callback, an HTTP call's body only in proxy_on_http_call_response.
std::optional<std::string_view> buffer_of(Instance& in, int32_t type) {
  if (std::string* body = body_of(in, type)) return std::string_view(*body);
  switch (static_cast<BufferType>(type)) {
    case BufferType::vm_configuration:
      return std::string_view(in.module().config().vm_configuration);
    case BufferType::plugin_configuration:
      return std::string_view(in.module().config().configuration);
    case BufferType::http_call_response_body:
      if (!in.call_response()) return std::nullopt;
      return in.call_response()->body;
    default:
      return std::nullopt;
  }
}

// OK; BAD_ARGUMENT for an unknown type or a start past the end; NOT_FOUND when the buffer is
// not available, or has no byte at `start` (an empty buffer: the SDKs take it as "none").
int32_t proxy_get_buffer_bytes(Instance& in, Raw* a) {
  if (!known_buffer(a[0].i32)) return status(Status::bad_argument);
  std::optional<std::string_view> whole = buffer_of(in, a[0].i32);
  if (!whole) return status(Status::not_found);
  const uint32_t start = u(a, 1), max = u(a, 2);
  if (start > whole->size()) return status(Status::bad_argument);
  if (start == whole->size()) return status(Status::not_found);
  return status(in.copy_out(whole->substr(start, max), u(a, 3), u(a, 4)));
}

int32_t proxy_get_buffer_status(Instance& in, Raw* a) {
  if (!known_buffer(a[0].i32)) return status(Status::bad_argument);
  std::optional<std::string_view> whole = buffer_of(in, a[0].i32);
  if (!whole) return status(Status::not_found);
  if (!in.write_u32(u(a, 1), static_cast<uint32_t>(whole->size())) || !in.write_u32(u(a, 2), 0)) {
    return status(Status::invalid_memory_access);
  }
  return status(Status::ok);
}

// Replaces bytes [start, start + size) of the body a body callback runs on (size clamped to
// the end: start 0 and the whole size replaces it, start at the end appends). OK; BAD_ARGUMENT
// for an unknown type or a start past the end; NOT_FOUND for any other buffer (the
// configurations and an HTTP call's answer are read-only) and outside body callbacks.
int32_t proxy_set_buffer_bytes(Instance& in, Raw* a) {
  if (!known_buffer(a[0].i32)) return status(Status::bad_argument);
  std::string* body = body_of(in, a[0].i32);
  if (!body) return status(Status::not_found);
  std::string_view data;
  if (!arg_bytes(in, u(a, 3), u(a, 4), &data)) return status(Status::invalid_memory_access);
  const uint32_t start = u(a, 1);
  if (start > body->size()) return status(Status::bad_argument);
  body->replace(start, std::min<size_t>(u(a, 2), body->size() - start), data);
  return status(Status::ok);
}

// --- header maps -----------------------------------------------------------------------------

struct MapView {
  http::HeaderMap* headers = nullptr;
  Stream* stream = nullptr;
  bool request = false;   // pseudo-headers :method :path :authority :scheme
  bool response = false;  // pseudo-header :status
  bool writable = false;
};

// A response that is still bytes is made fields, except for adding to it (change_header).
std::optional<MapView> map_of(Instance& in, int32_t type, bool adding = false) {
  MapView v;
  Stream* s = stream_of(in);
  switch (static_cast<MapType>(type)) {
    case MapType::request_headers:
      if (!s || !s->request) return std::nullopt;
      v.headers = &s->request->headers;
      v.stream = s;
      v.request = true;
      v.writable = s->phase == Phase::request_headers;
      return v;
    case MapType::response_headers:
      if (!s || !s->response) return std::nullopt;
      v.headers = adding ? nullptr : &response_fields(*s);
      v.stream = s;
      v.response = true;
      v.writable = s->phase == Phase::response_headers;
      return v;
    case MapType::http_call_response_headers:
      if (!in.call_response()) return std::nullopt;
      v.headers = in.call_response()->headers;
      return v;
    case MapType::request_trailers:
    case MapType::response_trailers:
      // Only in a trailers callback, on that message's trailers.
      if (!s || !s->trailers ||
          s->trailers_are_response != (static_cast<MapType>(type) == MapType::response_trailers)) {
        return std::nullopt;
      }
      v.headers = s->trailers;
      v.stream = s;
      v.writable = true;
      return v;
    default:
      return std::nullopt;  // gRPC metadata: none
  }
}

std::optional<std::string> pseudo(const MapView& v, std::string_view name) {
  if (v.request) {
    if (name == ":method") return v.stream->request->method;
    if (name == ":path") return *v.stream->path;
    if (name == ":authority") return *v.stream->authority;
    if (name == ":scheme") return std::string(v.stream->scheme);
  }
  if (v.response && name == ":status") return std::to_string(v.stream->response->status);
  return std::nullopt;
}

// The map's encoding: pseudo-headers first, then the fields with lower-cased names.
std::string encode_map(const std::optional<MapView>& v) {
  std::string encoded;
  if (!v) {
    encode_pairs({}, encoded);
    return encoded;
  }
  std::vector<std::string> owned;  // pseudo-header values and lower-cased names
  owned.reserve(v->headers->size() + 4);
  Pairs pairs;
  pairs.reserve(v->headers->size() + 4);
  for (std::string_view p : {":authority", ":path", ":method", ":scheme", ":status"}) {
    if (auto value = pseudo(*v, p)) {
      owned.push_back(std::move(*value));
      pairs.emplace_back(p, owned.back());
    }
  }
  for (const http::Header& h : *v->headers) {
    owned.push_back(lower(h.name));
    pairs.emplace_back(owned.back(), h.value);
  }
  encode_pairs(pairs, encoded);
  return encoded;
}

// Every map function: BAD_ARGUMENT for an unknown map type. A known map with nothing in it at
// this point (trailers, gRPC metadata, an HTTP call's response outside its callback, the
// response during the request phase) reads as empty, and changes to it are ignored.
int32_t proxy_get_header_map_pairs(Instance& in, Raw* a) {
  if (!known_map(a[0].i32)) return status(Status::bad_argument);
  return status(in.copy_out(encode_map(map_of(in, a[0].i32)), u(a, 1), u(a, 2)));
}

int32_t proxy_get_header_map_size(Instance& in, Raw* a) {
  if (!known_map(a[0].i32)) return status(Status::bad_argument);
  std::string encoded = encode_map(map_of(in, a[0].i32));
  if (!in.write_u32(u(a, 1), static_cast<uint32_t>(encoded.size()))) return status(Status::invalid_memory_access);
  return status(Status::ok);
}

int32_t proxy_get_header_map_value(Instance& in, Raw* a) {
  if (!known_map(a[0].i32)) return status(Status::bad_argument);
  std::string_view name;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &name)) return status(Status::invalid_memory_access);
  auto v = map_of(in, a[0].i32);
  if (!v) return status(Status::not_found);
  if (!name.empty() && name[0] == ':' && (v->request || v->response)) {
    auto value = pseudo(*v, name);
    if (!value) return status(Status::not_found);
    return status(in.copy_out(*value, u(a, 3), u(a, 4)));
  }
  std::optional<std::string_view> first = v->headers->find(name);
  if (!first) return status(Status::not_found);
  std::vector<std::string_view> all = v->headers->all(name);
  if (all.size() == 1) return status(in.copy_out(*first, u(a, 3), u(a, 4)));
  std::string joined;
  for (std::string_view value : all) {
    if (!joined.empty()) joined += ",";
    joined += value;
  }
  return status(in.copy_out(joined, u(a, 3), u(a, 4)));
}

// Sets a pseudo-header; false if `name` is not one of this map's.
bool set_pseudo(MapView& v, std::string_view name, std::string_view value) {
  if (v.request) {
    if (name == ":method") v.stream->request->method.assign(value);
    else if (name == ":path") v.stream->path->assign(value);
    else if (name == ":authority") {
      v.stream->authority->assign(value);
      v.stream->authority_changed = true;
      v.headers->set("Host", value);
    } else if (name == ":scheme") {
    } else return false;
    return true;
  }
  if (v.response && name == ":status") {
    int code = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), code);
    if (ec == std::errc() && end == value.data() + value.size() && code >= 100 && code <= 999) {
      v.stream->response->status = code;
      v.stream->response->reason = http::reason_phrase(code);
    }
    return true;
  }
  return false;
}

bool valid_field(std::string_view name, std::string_view value) {
  if (!http::is_token(name)) return false;
  // Framing and connection management stay the host's.
  if (http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding") ||
      http::iequals(name, "connection")) {
    return false;
  }
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

int32_t change_header(Instance& in, Raw* a, bool add) {
  if (!known_map(a[0].i32)) return status(Status::bad_argument);
  std::string_view name, value;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &name) || !arg_bytes(in, u(a, 3), u(a, 4), &value)) {
    return status(Status::invalid_memory_access);
  }
  const bool pseudo_header = !name.empty() && name[0] == ':';
  auto v = map_of(in, a[0].i32, add && !pseudo_header);
  if (!v || !v->writable) return status(Status::ok);  // nothing to change at this point
  if (pseudo_header) {
    set_pseudo(*v, name, value);
    return status(Status::ok);
  }
  if (!valid_field(name, value)) {
    module_log(in, runtime::LogLevel::warn, "refused a header with a malformed name or value");
    return status(Status::ok);
  }
  if (add && v->response) add_response_field(*v->stream, name, value);
  else if (add) v->headers->add(name, value);
  else v->headers->set(name, value);
  return status(Status::ok);
}

int32_t proxy_replace_header_map_value(Instance& in, Raw* a) { return change_header(in, a, false); }
int32_t proxy_add_header_map_value(Instance& in, Raw* a) { return change_header(in, a, true); }

int32_t proxy_remove_header_map_value(Instance& in, Raw* a) {
  if (!known_map(a[0].i32)) return status(Status::bad_argument);
  std::string_view name;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &name)) return status(Status::invalid_memory_access);
  auto v = map_of(in, a[0].i32);
  if (v && v->writable && (name.empty() || name[0] != ':') && valid_field(name, "")) v->headers->remove(name);
  return status(Status::ok);
}

int32_t proxy_set_header_map_pairs(Instance& in, Raw* a) {
  if (!known_map(a[0].i32)) return status(Status::bad_argument);
  std::string_view bytes;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &bytes)) return status(Status::invalid_memory_access);
  auto pairs = decode_pairs(bytes);
  if (!pairs) {
    in.raise(Fault::contract, "passed a malformed header map to proxy_set_header_map_pairs");
    return status(Status::bad_argument);
  }
  auto v = map_of(in, a[0].i32);
  if (!v || !v->writable) return status(Status::ok);
  v->headers->clear();
  for (const auto& [name, value] : *pairs) {
    if (!name.empty() && name[0] == ':') set_pseudo(*v, name, value);
    else if (valid_field(name, value)) v->headers->add(name, value);
  }
  return status(Status::ok);
}

// --- properties ------------------------------------------------------------------------------

std::string address_of(int fd, bool local, uint16_t* port) {
  net::SocketAddress addr;
  socklen_t len = sizeof addr.storage;
  int r = local ? getsockname(fd, addr.get(), &len) : getpeername(fd, addr.get(), &len);
  if (r != 0) return "";
  *port = addr.port();
  return addr.text();
}

bool parse_u64(std::string_view text, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The value of a property, or nullopt when it has none here.
std::optional<std::string> property(Instance& in, const std::vector<std::string_view>& p) {
  Stream* s = stream_of(in);
  const std::string_view first = p[0];
  const std::string_view second = p.size() > 1 ? p[1] : std::string_view();
  if (p.size() == 1) {
    if (first == "plugin_name" || first == "plugin_vm_id") return in.module().name();
    if (first == "plugin_root_id") return in.module().config().root_id;
  }
  if (first == "stavka" && s) {
    if (second == "site" && p.size() == 2) return std::string(s->site);
    if (second == "cache" && p.size() == 3) {
      const CacheView& c = s->cache;
      std::string_view name = p[2];
      if (name == "key") return c.key_changed || !c.default_key ? c.key : c.default_key();
      if (name == "bypass") return std::string(c.bypass ? "true" : "false");
      if (name == "ttl") return c.ttl ? std::optional(std::to_string(*c.ttl)) : std::nullopt;
      if (name == "readahead") return c.readahead ? std::optional(std::to_string(*c.readahead)) : std::nullopt;
      if (name == "surrogate_keys") return c.surrogate_keys;
      if (name == "status") {
        return c.status.empty() ? std::nullopt : std::optional(std::string(c.status));
      }
      if (name == "object_size") return c.object_size ? std::optional(std::to_string(*c.object_size)) : std::nullopt;
      if (name == "age") return c.age ? std::optional(std::to_string(*c.age)) : std::nullopt;
    }
    return std::nullopt;
  }
  if (s && p.size() == 2 && first == "request" && s->request) {
    const std::string& path = *s->path;
    if (second == "path") return path;
    if (second == "url_path") return path.substr(0, path.find('?'));
    if (second == "query") {
      size_t q = path.find('?');
      return q == std::string::npos ? std::string() : path.substr(q + 1);
    }
    if (second == "host") return *s->authority;
    if (second == "scheme") return std::string(s->scheme);
    if (second == "method") return s->request->method;
    if (second == "protocol") {
      return "HTTP/" + std::to_string(s->request->version_major) + "." +
             std::to_string(s->request->version_minor);
    }
    if (second == "referer") {
      std::optional<std::string_view> v = s->request->headers.find("referer");
      return v ? std::optional<std::string>(*v) : std::nullopt;
    }
    if (second == "useragent") {
      std::optional<std::string_view> v = s->request->headers.find("user-agent");
      return v ? std::optional<std::string>(*v) : std::nullopt;
    }
    if (second == "id") {
      std::optional<std::string_view> v = s->request->headers.find("x-request-id");
      return v ? std::optional<std::string>(*v) : std::nullopt;
    }
    if (second == "time") {
      const auto ago = std::chrono::steady_clock::now() - s->start;
      const auto unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
          (std::chrono::system_clock::now() - ago).time_since_epoch());
      return le64(static_cast<uint64_t>(unix_ns.count()));
    }
    if (second == "size") return le64(s->request_bytes);
    if (second == "total_size") {
      // With the head's size as HTTP/1.1 text (as Envoy: the uncompressed size of the headers).
      uint64_t head = s->request->method.size() + path.size() + 13;  // " " " HTTP/1.1\r\n"
      for (const http::Header& h : s->request->headers) head += h.name.size() + h.value.size() + 4;
      return le64(head + 2 + s->request_bytes);
    }
    return std::nullopt;
  }
  if (s && p.size() == 2 && first == "response" && s->response) {
    if (second == "code") return le64(static_cast<uint64_t>(s->response->status));
    if (second == "code_details") return s->response->reason;
    return std::nullopt;
  }
  if (s && p.size() == 2 && (first == "source" || first == "destination")) {
    // The peer's port is not in the Stream (client_port stays 0): both sides come from the
    // client socket, looked up when asked.
    const bool source = first == "source";
    uint16_t port = 0;
    std::string address = s->client_fd >= 0 ? address_of(s->client_fd, !source, &port) : "";
    if (source && address.empty() && !s->client_ip.empty()) {
      address = std::string(s->client_ip);
      if (address.find(':') != std::string::npos) address = "[" + address + "]";
      port = s->client_port;
      address += ":" + std::to_string(port);
    }
    if (address.empty()) return std::nullopt;
    if (second == "address") return address;
    if (second == "port") return le64(port);
    return std::nullopt;
  }
  if (s) {
    std::string joined;
    for (size_t i = 0; i < p.size(); ++i) {
      if (i) joined.push_back('.');
      joined.append(p[i]);
    }
    for (const auto& [name, value] : s->properties) {
      if (name == joined) return value;
    }
  }
  return std::nullopt;
}

int32_t proxy_get_property(Instance& in, Raw* a) {
  std::string_view path;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &path)) return status(Status::invalid_memory_access);
  auto value = property(in, split_path(path));
  if (!value) return status(Status::not_found);
  return status(in.copy_out(*value, u(a, 2), u(a, 3)));
}

// stavka.cache.* (settable ones) and properties of the module's own. Read-only names refuse.
Status set_property(Instance& in, const std::vector<std::string_view>& p, std::string_view value) {
  Stream* s = stream_of(in);
  if (!s) return Status::not_found;
  if (p.size() == 3 && p[0] == "stavka" && p[1] == "cache") {
    CacheView& c = s->cache;
    std::string_view name = p[2];
    uint64_t n = 0;
    if (name == "key") {
      if (value.empty()) return Status::bad_argument;
      c.key.assign(value);
      c.key_changed = true;
    } else if (name == "bypass") {
      if (value == "true" || value == "1") c.bypass = true;
      else if (value == "false" || value == "0") c.bypass = false;
      else return Status::bad_argument;
    } else if (name == "ttl") {
      if (!parse_u64(value, &n) || n > (uint64_t{1} << 40)) return Status::bad_argument;
      c.ttl = static_cast<int64_t>(n);
    } else if (name == "readahead") {
      if (!parse_u64(value, &n)) return Status::bad_argument;
      c.readahead = n;
    } else if (name == "surrogate_keys") {
      c.surrogate_keys = std::string(value);
    } else {
      return Status::bad_argument;  // status, object_size, age: read-only
    }
    return Status::ok;
  }
  std::string_view root = p[0];
  if (root == "stavka" || root == "request" || root == "response" || root == "source" ||
      root == "destination" || root.starts_with("plugin_")) {
    return Status::bad_argument;  // the host's own: read-only
  }
  std::string joined;
  for (size_t i = 0; i < p.size(); ++i) {
    if (i) joined.push_back('.');
    joined.append(p[i]);
  }
  for (auto& [name, old] : s->properties) {
    if (name == joined) {
      old.assign(value);
      return Status::ok;
    }
  }
  s->properties.emplace_back(std::move(joined), std::string(value));
  return Status::ok;
}

int32_t proxy_set_property(Instance& in, Raw* a) {
  std::string_view path, value;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &path) || !arg_bytes(in, u(a, 2), u(a, 3), &value)) {
    return status(Status::invalid_memory_access);
  }
  Status st = set_property(in, split_path(path), value);
  if (st != Status::ok) {
    std::string shown(path);
    for (char& c : shown) {
      if (c == '\0') c = '.';
    }
    module_log(in, runtime::LogLevel::warn,
               "proxy_set_property " + shown + ": " +
                   (st == Status::not_found ? "no request in this context" : "read-only or bad value"));
  }
  return status(st);
}

// --- shared data and queues ---------------------------------------------------------------------

int32_t proxy_get_shared_data(Instance& in, Raw* a) {
  std::string_view key;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &key)) return status(Status::invalid_memory_access);
  std::string value;
  uint32_t cas = 0;
  if (SharedData::get().read(key, &value, &cas) != Status::ok) return status(Status::not_found);
  if (!in.write_u32(u(a, 4), cas)) return status(Status::invalid_memory_access);
  return status(in.copy_out(value, u(a, 2), u(a, 3)));
}

int32_t proxy_set_shared_data(Instance& in, Raw* a) {
  std::string_view key, value;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &key) || !arg_bytes(in, u(a, 2), u(a, 3), &value)) {
    return status(Status::invalid_memory_access);
  }
  return status(SharedData::get().write(key, value, u(a, 4)));
}

int32_t proxy_register_shared_queue(Instance& in, Raw* a) {
  std::string_view name;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &name)) return status(Status::invalid_memory_access);
  std::function<void(uint32_t)> notify;
  if (in.worker()) notify = in.worker()->queue_notifier(in.module().name());
  uint32_t id = SharedQueues::get().subscribe(in.module().name(), name, in.worker(), std::move(notify));
  if (!in.write_u32(u(a, 2), id)) return status(Status::invalid_memory_access);
  return status(Status::ok);
}

int32_t proxy_resolve_shared_queue(Instance& in, Raw* a) {
  std::string_view vm_id, name;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &vm_id) || !arg_bytes(in, u(a, 2), u(a, 3), &name)) {
    return status(Status::invalid_memory_access);
  }
  auto id = SharedQueues::get().resolve(vm_id.empty() ? std::string_view(in.module().name()) : vm_id, name);
  if (!id) return status(Status::not_found);
  if (!in.write_u32(u(a, 4), *id)) return status(Status::invalid_memory_access);
  return status(Status::ok);
}

int32_t proxy_dequeue_shared_queue(Instance& in, Raw* a) {
  std::string value;
  Status st = SharedQueues::get().dequeue(u(a, 0), &value);
  if (st != Status::ok) return status(st);
  return status(in.copy_out(value, u(a, 1), u(a, 2)));
}

int32_t proxy_enqueue_shared_queue(Instance& in, Raw* a) {
  std::string_view value;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &value)) return status(Status::invalid_memory_access);
  return status(SharedQueues::get().enqueue(u(a, 0), value));
}

// --- the stream ----------------------------------------------------------------------------------

// OK; BAD_ARGUMENT for an unknown stream type; UNIMPLEMENTED for the TCP streams (downstream,
// upstream), which an HTTP proxy's modules do not have.
int32_t proxy_continue_stream(Instance& in, Raw* a) {
  const uint32_t type = u(a, 0);
  if (type > static_cast<uint32_t>(StreamType::upstream)) return status(Status::bad_argument);
  if (type == static_cast<uint32_t>(StreamType::downstream) ||
      type == static_cast<uint32_t>(StreamType::upstream)) {
    return status(Status::unimplemented);
  }
  // Resumes whichever of the request and the response this stream holds paused (at most one
  // is at any time); OK when neither is.
  if (HttpContext* c = in.effective()) c->chain->resume();
  return status(Status::ok);
}

int32_t proxy_continue_request(Instance& in, Raw*) {
  if (HttpContext* c = in.effective()) c->chain->resume();
  return status(Status::ok);
}

int32_t proxy_continue_response(Instance& in, Raw*) {
  if (HttpContext* c = in.effective()) c->chain->resume();
  return status(Status::ok);
}

// Any of the four stream types resets the HTTP stream (the client connection closes without a
// response); BAD_ARGUMENT for an unknown type.
int32_t proxy_close_stream(Instance& in, Raw* a) {
  if (u(a, 0) > static_cast<uint32_t>(StreamType::upstream)) return status(Status::bad_argument);
  if (HttpContext* c = in.effective()) {
    c->stream->reset = true;
    c->chain->answered();
  }
  return status(Status::ok);
}

int32_t proxy_send_local_response(Instance& in, Raw* a) {
  std::string_view details, body, headers;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &details) || !arg_bytes(in, u(a, 3), u(a, 4), &body) ||
      !arg_bytes(in, u(a, 5), u(a, 6), &headers)) {
    return status(Status::invalid_memory_access);
  }
  HttpContext* c = in.effective();
  if (!c) {
    module_log(in, runtime::LogLevel::warn, "proxy_send_local_response outside an HTTP context");
    return status(Status::bad_argument);
  }
  auto pairs = decode_pairs(headers);
  if (!pairs) {
    in.raise(Fault::contract, "passed a malformed header map to proxy_send_local_response");
    return status(Status::bad_argument);
  }
  int code = static_cast<int>(u(a, 0));
  if (code < 200 || code > 599) {
    module_log(in, runtime::LogLevel::warn, "proxy_send_local_response with status " +
                                                std::to_string(code) + ": sent as 500");
    code = 500;
  }
  LocalResponse r;
  r.status = code;
  r.details.assign(details);
  r.body.assign(body);
  for (const auto& [name, value] : *pairs) {
    if (valid_field(name, value)) r.headers.emplace_back(std::string(name), std::string(value));
  }
  c->stream->local_response = std::move(r);
  in.module().stats().local_responses.fetch_add(1, std::memory_order_relaxed);
  c->chain->answered();
  return status(Status::ok);
}

int32_t proxy_http_call(Instance& in, Raw* a) {
  std::string_view upstream, headers, body, trailers;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &upstream) || !arg_bytes(in, u(a, 2), u(a, 3), &headers) ||
      !arg_bytes(in, u(a, 4), u(a, 5), &body) || !arg_bytes(in, u(a, 6), u(a, 7), &trailers)) {
    return status(Status::invalid_memory_access);
  }
  if (!in.memory(u(a, 9), 4)) return status(Status::invalid_memory_access);
  auto pairs = decode_pairs(headers);
  if (!pairs) return status(Status::bad_argument);
  // The specification requires :method, :path and :authority.
  bool method = false, path = false, authority = false;
  for (const auto& [name, value] : *pairs) {
    method |= name == ":method" && !value.empty();
    path |= name == ":path" && !value.empty();
    authority |= name == ":authority" && !value.empty();
  }
  if (!method || !path || !authority) return status(Status::bad_argument);
  if (!in.worker()) return status(Status::internal_failure);  // a test start makes no calls
  uint32_t token = 0;
  Status st = in.worker()->http_call(in, upstream, *pairs, body, u(a, 8), &token);
  if (st == Status::ok) in.write_u32(u(a, 9), token);
  return status(st);
}

int32_t proxy_grpc_unsupported(Instance& in, Raw*) {
  module_log(in, runtime::LogLevel::warn, "gRPC calls are not supported (no HTTP/2 upstreams)");
  return status(Status::internal_failure);
}

int32_t proxy_grpc_token(Instance&, Raw*) { return status(Status::not_found); }

int32_t proxy_get_status(Instance& in, Raw* a) {
  const Instance::CallResponse* r = in.call_response();
  if (!in.write_u32(u(a, 0), r ? static_cast<uint32_t>(r->status) : 0)) {
    return status(Status::invalid_memory_access);
  }
  return status(in.copy_out("", u(a, 1), u(a, 2)));
}

int32_t proxy_set_effective_context(Instance& in, Raw* a) {
  return status(in.set_effective(u(a, 0)) ? Status::ok : Status::bad_argument);
}

// The host never waits for a context whose proxy_on_done answered false (its log and delete
// follow at once), so no context is ever pending finalization: NOT_FOUND, as the spec says.
int32_t proxy_done(Instance&, Raw*) { return status(Status::not_found); }

int32_t proxy_call_foreign_function(Instance& in, Raw* a) {
  std::string_view name, args;
  if (!arg_bytes(in, u(a, 0), u(a, 1), &name) || !arg_bytes(in, u(a, 2), u(a, 3), &args)) {
    return status(Status::invalid_memory_access);
  }
  if (name != "stavka.purge_url" && name != "stavka.purge_tag") return status(Status::not_found);
  if (!in.worker()) return status(in.copy_out("0", u(a, 4), u(a, 5)));
  std::optional<uint64_t> removed = name == "stavka.purge_url" ? in.worker()->purge_url(args)
                                                               : in.worker()->purge_tag(args);
  if (!removed) return status(Status::not_found);
  return status(in.copy_out(std::to_string(*removed), u(a, 4), u(a, 5)));
}

// --- metrics ------------------------------------------------------------------------------------

int32_t proxy_define_metric(Instance& in, Raw* a) {
  std::string_view name;
  if (!arg_bytes(in, u(a, 1), u(a, 2), &name)) return status(Status::invalid_memory_access);
  int32_t type = a[0].i32;
  if (type < 0 || type > 2) return status(Status::bad_argument);
  auto id = in.module().stats().define(static_cast<MetricType>(type), name);
  if (!id) {
    in.raise(Fault::contract, "defined more metrics than a module may (256)");
    return status(Status::internal_failure);
  }
  if (!in.write_u32(u(a, 3), *id)) return status(Status::invalid_memory_access);
  return status(Status::ok);
}

int32_t proxy_increment_metric(Instance& in, Raw* a) {
  return status(in.module().stats().increment(u(a, 0), a[1].i64));
}

int32_t proxy_record_metric(Instance& in, Raw* a) {
  return status(in.module().stats().record(u(a, 0), static_cast<uint64_t>(a[1].i64)));
}

int32_t proxy_get_metric(Instance& in, Raw* a) {
  uint64_t value = 0;
  Status st = in.module().stats().read(u(a, 0), &value);
  if (st != Status::ok) return status(st);
  if (!in.write_u64(u(a, 1), value)) return status(Status::invalid_memory_access);
  return status(Status::ok);
}

// --- WASI ----------------------------------------------------------------------------------------

using namespace wasi_errno;

// stdout is logged at info, stderr at error (the specification's levels); BADF for any other fd.
int32_t wasi_fd_write(Instance& in, Raw* a) {
  const uint32_t fd = u(a, 0), iovs = u(a, 1), count = u(a, 2), ret = u(a, 3);
  if (fd != 1 && fd != 2) return in.wasi_files.count(fd) ? notcapable : badf;
  std::string text;
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t* iov = in.memory(iovs + i * 8, 8);
    if (!iov) return fault;
    uint32_t ptr, len;
    std::memcpy(&ptr, iov, 4);
    std::memcpy(&len, iov + 4, 4);
    std::string_view part;
    if (!in.read(ptr, len, &part)) return fault;
    text.append(part);
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) module_log(in, fd == 1 ? runtime::LogLevel::info : runtime::LogLevel::error,
                                std::string_view(text).substr(start, end - start));
    start = end + 1;
  }
  if (!in.write_u32(ret, static_cast<uint32_t>(text.size()))) return fault;
  return success;
}

Instance::WasiFile* wasi_file(Instance& in, uint32_t fd) {
  auto it = in.wasi_files.find(fd);
  return it == in.wasi_files.end() ? nullptr : &it->second;
}

int32_t wasi_fd_read(Instance& in, Raw* a) {
  const uint32_t fd = u(a, 0), iovs = u(a, 1), count = u(a, 2), ret = u(a, 3);
  if (fd == 0) return in.write_u32(ret, 0) ? success : fault;  // stdin: always at its end
  Instance::WasiFile* f = wasi_file(in, fd);
  if (!f) return badf;
  if (f->directory) return isdir;
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t* iov = in.memory(iovs + i * 8, 8);
    if (!iov) return fault;
    uint32_t ptr, len;
    std::memcpy(&ptr, iov, 4);
    std::memcpy(&len, iov + 4, 4);
    uint8_t* dst = in.memory(ptr, len);
    if (!dst) return fault;
    ssize_t n = ::read(f->fd, dst, len);
    if (n < 0) return io;
    total += static_cast<uint64_t>(n);
    if (static_cast<uint32_t>(n) < len) break;
  }
  return in.write_u32(ret, static_cast<uint32_t>(total)) ? success : fault;
}

int32_t wasi_fd_close(Instance& in, Raw* a) {
  const uint32_t fd = u(a, 0);
  if (fd <= 2) return success;
  Instance::WasiFile* f = wasi_file(in, fd);
  if (!f || f->directory) return badf;  // the preopened folders stay open
  ::close(f->fd);
  in.wasi_files.erase(fd);
  return success;
}

int32_t wasi_fd_seek(Instance& in, Raw* a) {
  const uint32_t fd = u(a, 0);
  Instance::WasiFile* f = wasi_file(in, fd);
  if (!f) return fd <= 2 ? spipe : badf;
  if (f->directory) return isdir;
  int whence = a[2].i32 == 0 ? SEEK_SET : a[2].i32 == 1 ? SEEK_CUR : a[2].i32 == 2 ? SEEK_END : -1;
  if (whence < 0) return inval;
  off_t at = ::lseek(f->fd, static_cast<off_t>(a[1].i64), whence);
  if (at < 0) return inval;
  return in.write_u64(u(a, 3), static_cast<uint64_t>(at)) ? success : fault;
}

int32_t wasi_fd_fdstat_get(Instance& in, Raw* a) {
  const uint32_t fd = u(a, 0);
  uint8_t filetype;
  uint64_t rights;
  if (fd <= 2) {
    filetype = 2;  // character device
    rights = fd == 0 ? 0x2 : 0x40;  // fd_read / fd_write
  } else if (Instance::WasiFile* f = wasi_file(in, fd)) {
    filetype = f->directory ? 3 : 4;
    // Read-only: fd_read, fd_seek, fd_tell, fd_filestat_get, path_open, path_filestat_get,
    // fd_readdir, fd_fdstat_set_flags.
    rights = f->directory ? ((1u << 13) | (1u << 18) | (1u << 14) | (1u << 21) | (1u << 2))
                          : ((1u << 1) | (1u << 2) | (1u << 5) | (1u << 21));
  } else {
    return badf;
  }
  uint8_t* p = in.memory(u(a, 1), 24);
  if (!p) return fault;
  std::memset(p, 0, 24);
  p[0] = filetype;
  std::memcpy(p + 8, &rights, 8);
  std::memcpy(p + 16, &rights, 8);
  return success;
}

int32_t wasi_fd_prestat_get(Instance& in, Raw* a) {
  Instance::WasiFile* f = wasi_file(in, u(a, 0));
  if (!f || !f->directory) return badf;
  uint8_t* p = in.memory(u(a, 1), 8);
  if (!p) return fault;
  std::memset(p, 0, 8);
  uint32_t len = static_cast<uint32_t>(f->name.size());
  std::memcpy(p + 4, &len, 4);
  return success;
}

int32_t wasi_fd_prestat_dir_name(Instance& in, Raw* a) {
  Instance::WasiFile* f = wasi_file(in, u(a, 0));
  if (!f || !f->directory) return badf;
  uint8_t* p = in.memory(u(a, 1), u(a, 2));
  if (!p) return fault;
  std::memcpy(p, f->name.data(), std::min<size_t>(f->name.size(), u(a, 2)));
  return success;
}

// Opens `path` below folder `dir`, read-only; symbolic links and ".." may not leave the folder.
int open_beneath(int dir, std::string_view path, bool directory) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  std::string p(path);
  return static_cast<int>(::syscall(SYS_openat2, dir, p.c_str(), &how, sizeof how));
}

int32_t errno_to_wasi(int e) {
  switch (e) {
    case ENOENT: return noent;
    case ENOTDIR: return notdir;
    case EISDIR: return isdir;
    case EXDEV: case EPERM: case EACCES: return notcapable;
    default: return io;
  }
}

int32_t wasi_path_open(Instance& in, Raw* a) {
  // (dirfd, dirflags, path, path_len, oflags, rights_base i64, rights_inheriting i64, fdflags, ret)
  Instance::WasiFile* dir = wasi_file(in, u(a, 0));
  if (!dir || !dir->directory) return badf;
  const uint32_t oflags = u(a, 4);
  const uint64_t write_rights = (1u << 6) | (1u << 4) | (1u << 9) | (1u << 10) | (1u << 22);
  if ((oflags & ~uint32_t{2}) != 0 || (static_cast<uint64_t>(a[5].i64) & write_rights) != 0 ||
      (u(a, 7) & ~uint32_t{0}) != 0) {
    if ((oflags & ~uint32_t{2}) != 0 || (static_cast<uint64_t>(a[5].i64) & (1u << 6)) != 0) {
      return notcapable;  // create, truncate, exclusive, write: read-only access only
    }
  }
  std::string_view path;
  if (!in.read(u(a, 2), u(a, 3), &path)) return fault;
  int fd = open_beneath(dir->fd, path, (oflags & 2) != 0);
  if (fd < 0) return errno_to_wasi(errno);
  struct stat st{};
  bool is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  uint32_t guest = in.next_wasi_fd++;
  in.wasi_files[guest] = {fd, is_dir, std::string(path)};
  return in.write_u32(u(a, 8), guest) ? success : fault;
}

void put_filestat(uint8_t* p, const struct stat& st) {
  std::memset(p, 0, 64);
  uint64_t v = st.st_dev;
  std::memcpy(p, &v, 8);
  v = st.st_ino;
  std::memcpy(p + 8, &v, 8);
  p[16] = S_ISDIR(st.st_mode) ? 3 : S_ISREG(st.st_mode) ? 4 : S_ISLNK(st.st_mode) ? 7 : 0;
  v = st.st_nlink;
  std::memcpy(p + 24, &v, 8);
  v = static_cast<uint64_t>(st.st_size);
  std::memcpy(p + 32, &v, 8);
  auto ns = [](const timespec& t) {
    return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
  };
  v = ns(st.st_atim);
  std::memcpy(p + 40, &v, 8);
  v = ns(st.st_mtim);
  std::memcpy(p + 48, &v, 8);
  v = ns(st.st_ctim);
  std::memcpy(p + 56, &v, 8);
}

int32_t wasi_fd_filestat_get(Instance& in, Raw* a) {
  Instance::WasiFile* f = wasi_file(in, u(a, 0));
  if (!f) return badf;
  struct stat st{};
  if (fstat(f->fd, &st) != 0) return io;
  uint8_t* p = in.memory(u(a, 1), 64);
  if (!p) return fault;
  put_filestat(p, st);
  return success;
}

int32_t wasi_path_filestat_get(Instance& in, Raw* a) {
  // (dirfd, flags, path, path_len, ret)
  Instance::WasiFile* dir = wasi_file(in, u(a, 0));
  if (!dir || !dir->directory) return badf;
  std::string_view path;
  if (!in.read(u(a, 2), u(a, 3), &path)) return fault;
  int fd = open_beneath(dir->fd, path, false);
  if (fd < 0 && errno == EISDIR) fd = open_beneath(dir->fd, path, true);
  if (fd < 0) return errno_to_wasi(errno);
  struct stat st{};
  int r = fstat(fd, &st);
  ::close(fd);
  if (r != 0) return io;
  uint8_t* p = in.memory(u(a, 4), 64);
  if (!p) return fault;
  put_filestat(p, st);
  return success;
}

int32_t wasi_environ_sizes_get(Instance& in, Raw* a) {
  const auto& env = in.module().config().environment;
  uint32_t bytes = 0;
  for (const auto& [name, value] : env) bytes += static_cast<uint32_t>(name.size() + value.size() + 2);
  if (!in.write_u32(u(a, 0), static_cast<uint32_t>(env.size())) || !in.write_u32(u(a, 1), bytes)) return fault;
  return success;
}

int32_t wasi_environ_get(Instance& in, Raw* a) {
  uint32_t ptrs = u(a, 0), buf = u(a, 1);
  for (const auto& [name, value] : in.module().config().environment) {
    std::string entry = name + "=" + value;
    uint8_t* p = in.memory(buf, static_cast<uint32_t>(entry.size() + 1));
    if (!p || !in.write_u32(ptrs, buf)) return fault;
    std::memcpy(p, entry.c_str(), entry.size() + 1);
    ptrs += 4;
    buf += static_cast<uint32_t>(entry.size() + 1);
  }
  return success;
}

int32_t wasi_args_sizes_get(Instance& in, Raw* a) {
  if (!in.write_u32(u(a, 0), 0) || !in.write_u32(u(a, 1), 0)) return fault;
  return success;
}

int32_t wasi_args_get(Instance&, Raw*) { return success; }

// WASI's four clocks; NOTSUP for any other id (the specification's errno).
int32_t wasi_clock_time_get(Instance& in, Raw* a) {
  clockid_t id;
  switch (a[0].i32) {
    case 0: id = CLOCK_REALTIME; break;
    case 1: id = CLOCK_MONOTONIC; break;
    case 2: id = CLOCK_PROCESS_CPUTIME_ID; break;
    case 3: id = CLOCK_THREAD_CPUTIME_ID; break;
    default: return notsup;
  }
  return in.write_u64(u(a, 2), clock_ns(id)) ? success : fault;
}

int32_t wasi_clock_res_get(Instance& in, Raw* a) {
  if (a[0].i32 < 0 || a[0].i32 > 3) return inval;
  return in.write_u64(u(a, 1), 1) ? success : fault;
}

// At most 64 KiB per call (more is INVAL, "too large" in the specification): a module seeds a
// generator with this, it does not stream from it.
constexpr uint32_t max_random_bytes = 64 << 10;

int32_t wasi_random_get(Instance& in, Raw* a) {
  if (u(a, 1) > max_random_bytes) return inval;
  uint8_t* p = in.memory(u(a, 0), u(a, 1));
  if (!p) return fault;
  size_t done = 0;
  while (done < u(a, 1)) {
    ssize_t n = getrandom(p + done, u(a, 1) - done, 0);
    if (n <= 0) return io;
    done += static_cast<size_t>(n);
  }
  return success;
}

int32_t wasi_proc_exit(Instance& in, Raw* a) {
  in.raise(Fault::trap, "called proc_exit(" + std::to_string(a[0].i32) + ")");
  return 0;
}

int32_t wasi_sched_yield(Instance&, Raw*) { return success; }
int32_t wasi_nosys(Instance&, Raw*) { return nosys; }
int32_t wasi_badf(Instance&, Raw*) { return badf; }

// --- the table ------------------------------------------------------------------------------------

struct HostFunction {
  const char* module;
  const char* name;
  const char* params;   // i = i32, I = i64
  const char* results;
  HostFn fn;
};

constexpr const char* env = "env";
constexpr const char* wasi = "wasi_snapshot_preview1";

const HostFunction functions[] = {
    {env, "proxy_log", "iii", "i", proxy_log},
    {env, "proxy_get_log_level", "i", "i", proxy_get_log_level},
    {env, "proxy_get_current_time_nanoseconds", "i", "i", proxy_get_current_time_nanoseconds},
    {env, "proxy_set_tick_period_milliseconds", "i", "i", proxy_set_tick_period_milliseconds},
    {env, "proxy_get_buffer_bytes", "iiiii", "i", proxy_get_buffer_bytes},
    {env, "proxy_set_buffer_bytes", "iiiii", "i", proxy_set_buffer_bytes},
    {env, "proxy_get_buffer_status", "iii", "i", proxy_get_buffer_status},
    {env, "proxy_get_header_map_pairs", "iii", "i", proxy_get_header_map_pairs},
    {env, "proxy_set_header_map_pairs", "iii", "i", proxy_set_header_map_pairs},
    {env, "proxy_get_header_map_size", "ii", "i", proxy_get_header_map_size},
    {env, "proxy_get_header_map_value", "iiiii", "i", proxy_get_header_map_value},
    {env, "proxy_replace_header_map_value", "iiiii", "i", proxy_replace_header_map_value},
    {env, "proxy_remove_header_map_value", "iii", "i", proxy_remove_header_map_value},
    {env, "proxy_add_header_map_value", "iiiii", "i", proxy_add_header_map_value},
    {env, "proxy_get_property", "iiii", "i", proxy_get_property},
    {env, "proxy_set_property", "iiii", "i", proxy_set_property},
    {env, "proxy_get_shared_data", "iiiii", "i", proxy_get_shared_data},
    {env, "proxy_set_shared_data", "iiiii", "i", proxy_set_shared_data},
    {env, "proxy_register_shared_queue", "iii", "i", proxy_register_shared_queue},
    {env, "proxy_resolve_shared_queue", "iiiii", "i", proxy_resolve_shared_queue},
    {env, "proxy_dequeue_shared_queue", "iii", "i", proxy_dequeue_shared_queue},
    {env, "proxy_enqueue_shared_queue", "iii", "i", proxy_enqueue_shared_queue},
    {env, "proxy_continue_stream", "i", "i", proxy_continue_stream},
    {env, "proxy_close_stream", "i", "i", proxy_close_stream},
    {env, "proxy_continue_request", "", "i", proxy_continue_request},
    {env, "proxy_continue_response", "", "i", proxy_continue_response},
    {env, "proxy_send_local_response", "iiiiiiii", "i", proxy_send_local_response},
    {env, "proxy_http_call", "iiiiiiiiii", "i", proxy_http_call},
    {env, "proxy_dispatch_http_call", "iiiiiiiiii", "i", proxy_http_call},
    {env, "proxy_grpc_call", "iiiiiiiiiiii", "i", proxy_grpc_unsupported},
    {env, "proxy_grpc_stream", "iiiiiiiii", "i", proxy_grpc_unsupported},
    {env, "proxy_grpc_send", "iiii", "i", proxy_grpc_token},
    {env, "proxy_grpc_cancel", "i", "i", proxy_grpc_token},
    {env, "proxy_grpc_close", "i", "i", proxy_grpc_token},
    {env, "proxy_get_status", "iii", "i", proxy_get_status},
    {env, "proxy_set_effective_context", "i", "i", proxy_set_effective_context},
    {env, "proxy_done", "", "i", proxy_done},
    {env, "proxy_call_foreign_function", "iiiiii", "i", proxy_call_foreign_function},
    {env, "proxy_define_metric", "iiii", "i", proxy_define_metric},
    {env, "proxy_increment_metric", "iI", "i", proxy_increment_metric},
    {env, "proxy_record_metric", "iI", "i", proxy_record_metric},
    {env, "proxy_get_metric", "ii", "i", proxy_get_metric},
    {wasi, "fd_write", "iiii", "i", wasi_fd_write},
    {wasi, "fd_read", "iiii", "i", wasi_fd_read},
    {wasi, "fd_close", "i", "i", wasi_fd_close},
    {wasi, "fd_seek", "iIii", "i", wasi_fd_seek},
    {wasi, "fd_fdstat_get", "ii", "i", wasi_fd_fdstat_get},
    {wasi, "fd_fdstat_set_flags", "ii", "i", wasi_nosys},
    {wasi, "fd_prestat_get", "ii", "i", wasi_fd_prestat_get},
    {wasi, "fd_prestat_dir_name", "iii", "i", wasi_fd_prestat_dir_name},
    {wasi, "fd_filestat_get", "ii", "i", wasi_fd_filestat_get},
    {wasi, "fd_readdir", "iiiIi", "i", wasi_nosys},
    {wasi, "fd_sync", "i", "i", wasi_badf},
    {wasi, "fd_tell", "ii", "i", wasi_nosys},
    {wasi, "path_open", "iiiiiIIii", "i", wasi_path_open},
    {wasi, "path_filestat_get", "iiiii", "i", wasi_path_filestat_get},
    {wasi, "environ_sizes_get", "ii", "i", wasi_environ_sizes_get},
    {wasi, "environ_get", "ii", "i", wasi_environ_get},
    {wasi, "args_sizes_get", "ii", "i", wasi_args_sizes_get},
    {wasi, "args_get", "ii", "i", wasi_args_get},
    {wasi, "clock_time_get", "iIi", "i", wasi_clock_time_get},
    {wasi, "clock_res_get", "ii", "i", wasi_clock_res_get},
    {wasi, "random_get", "ii", "i", wasi_random_get},
    {wasi, "proc_exit", "i", "", wasi_proc_exit},
    {wasi, "sched_yield", "", "i", wasi_sched_yield},
    {wasi, "poll_oneoff", "iiii", "i", wasi_nosys},
};

wasm_functype_t* functype(const char* params, const char* results) {
  auto vec = [](const char* kinds, wasm_valtype_vec_t* out) {
    size_t n = std::strlen(kinds);
    wasm_valtype_vec_new_uninitialized(out, n);
    for (size_t i = 0; i < n; ++i) out->data[i] = wasm_valtype_new(kinds[i] == 'I' ? WASM_I64 : WASM_I32);
  };
  wasm_valtype_vec_t p, r;
  vec(params, &p);
  vec(results, &r);
  return wasm_functype_new(&p, &r);
}

}  // namespace

std::string define_host_functions(wasmtime_linker_t* linker) {
  for (const HostFunction& f : functions) {
    wasm_functype_t* type = functype(f.params, f.results);
    wasmtime_error_t* error = wasmtime_linker_define_func_unchecked(
        linker, f.module, std::strlen(f.module), f.name, std::strlen(f.name), type, trampoline,
        reinterpret_cast<void*>(f.fn), nullptr);
    wasm_functype_delete(type);
    if (error) return std::string("cannot define ") + f.name + ": " + take_message(error);
  }
  return "";
}

bool is_host_function(std::string_view module, std::string_view name) {
  for (const HostFunction& f : functions) {
    if (module == f.module && name == f.name) return true;
  }
  return false;
}

}  // namespace stavka::wasm
