// Instance: a module instantiated in a store of its own, on one worker (or on the loading thread
// for a test start), with its root context started.
//
// An instance belongs to one thread: its store is not thread-safe. A worker keeps one instance
// per module for all its requests (isolation = "worker"); with isolation = "request" each request
// gets a new one. Each request's HTTP context holds a shared_ptr to the instance it runs in, so
// an instance replaced by a swap lives until its last request ends.
//
// Every call into the module goes through call(): it sets the CPU deadline, and a trap, an
// overrun or a broken contract (a bad pointer, a wrong result) is a fault: logged under the
// module's name, counted, and the instance is marked broken (its memory may be inconsistent), so
// the worker replaces it before the next request. Host functions (host_functions.cc) reach the
// instance through the store's data and act on the context the current call is for.
#pragma once

#include <wasmtime.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/headers.h"
#include "wasm/abi.h"
#include "wasm/engine.h"
#include "wasm/module.h"

namespace stavka::wasm {

class WorkerModules;  // worker_modules.h
struct HttpContext;   // filter_chain.h

enum class Export : uint8_t {
  initialize,
  context_create,
  vm_start,
  configure,
  tick,
  request_headers,
  request_body,
  request_trailers,
  response_headers,
  response_body,
  response_trailers,
  log,
  done,
  context_delete,
  http_call_response,
  queue_ready,
  memory_allocate,
  count,
};

// The export's name, for messages.
std::string_view export_name(Export e);

// What a host function left for the trampoline to raise after it returns.
enum class Fault : uint8_t { none, trap, cpu_limit, memory, contract };

class Instance : public std::enable_shared_from_this<Instance> {
 public:
  // Instantiates and starts `module`: nullptr with *error when it fails. `worker` is nullptr
  // for a test start (no timers, HTTP calls or queues then).
  static std::shared_ptr<Instance> start(std::shared_ptr<const Module> module,
                                         WorkerModules* worker, std::string* error);
  ~Instance();
  Instance(const Instance&) = delete;

  const Module& module() const { return *module_; }
  WorkerModules* worker() const { return worker_; }
  bool broken() const { return broken_; }
  static constexpr uint32_t root_id = 1;

  // Calls an exported callback with i32 arguments. False when the module faulted (or the
  // instance was already broken); a missing optional export is a successful no-op that leaves
  // *result as it was.
  bool call(Export e, std::initializer_list<uint32_t> args, uint32_t* result = nullptr);
  bool has(Export e) const { return present_[static_cast<int>(e)]; }

  uint32_t new_context_id() { return next_context_id_++; }
  // A request's context (c->id set), found by id while it lives; removal is O(1).
  void add_context(HttpContext* c);
  void remove_context(HttpContext* c);
  HttpContext* context(uint32_t id) const;

  // The context host calls act on: the one the current callback is for, or the one
  // proxy_set_effective_context chose (nullptr: the root context). Back to the root context
  // when the outermost call into the module returns.
  HttpContext* effective() const { return effective_; }
  uint32_t effective_id() const { return effective_id_; }
  bool set_effective(uint32_t id);
  // The same for a context the caller holds (no lookup): the host's own calls into a context.
  void set_effective(HttpContext* c, uint32_t id) {
    effective_ = c;
    effective_id_ = id;
  }

  // Set while proxy_on_http_call_response runs: the call's response for get_header_map_* and
  // get_buffer_bytes.
  struct CallResponse {
    http::HeaderMap* headers = nullptr;
    std::string_view body;
    int status = 0;
  };
  const CallResponse* call_response() const { return call_response_; }
  void set_call_response(const CallResponse* r) { call_response_ = r; }

  // --- for host functions ------------------------------------------------------------------
  // Module memory [ptr, ptr + size), or nullptr when out of bounds.
  uint8_t* memory(uint32_t ptr, uint32_t size);
  // The module ran (and may have grown or moved its memory) since the last access: on entry
  // to every host function and around every call into the module.
  void memory_moved() { memory_base_ = nullptr; }
  bool read(uint32_t ptr, uint32_t size, std::string_view* out);
  bool write_u32(uint32_t ptr, uint32_t value);
  bool write_u64(uint32_t ptr, uint64_t value);
  // Allocates size bytes in the module (its allocator), copies bytes there, and stores the
  // pointer and size at ret_ptr and ret_size. Status::invalid_memory_access on a bad pointer;
  // a fault in the allocator is raised as a trap once the host function returns.
  Status copy_out(std::string_view bytes, uint32_t ret_ptr, uint32_t ret_size);
  // The fault a host function wants raised when it returns (a trap in a nested call).
  void raise(Fault fault, std::string message);
  bool take_raised(Fault* fault, std::string* message);

  bool raised() const { return raised_ != Fault::none; }

  // Per-instance host state.
  uint32_t tick_period_ms = 0;
  bool ticking = false;  // a tick loop runs for this instance (worker_modules.cc)
  uint32_t next_call_token = 1;
  // WASI descriptors beyond 0-2: the folders of wasi_dirs (3, 4, ...) and files opened in them.
  struct WasiFile {
    int fd = -1;
    bool directory = false;
    std::string name;  // a folder's name as the module sees it
  };
  std::unordered_map<uint32_t, WasiFile> wasi_files;
  uint32_t next_wasi_fd = 3;

 private:
  Instance(std::shared_ptr<const Module> module, WorkerModules* worker)
      : module_(std::move(module)), worker_(worker) {}
  bool instantiate(std::string* error);
  bool begin(std::string* error);
  void fault(Export e, Fault kind, const std::string& message);
  void flush_calls();
  // Sets the store's epoch deadline for a call starting now, and tells the ticker.
  void arm_deadline();

  std::shared_ptr<const Module> module_;
  WorkerModules* worker_;
  wasmtime_store_t* store_ = nullptr;
  wasmtime_context_t* context_ = nullptr;
  wasmtime_instance_t instance_{};
  wasmtime_memory_t memory_{};
  // The memory's base and size, looked up on the first access after the module last ran (only
  // running wasm grows it): host functions reach it several times per call.
  uint8_t* memory_base_ = nullptr;
  size_t memory_size_ = 0;
  wasmtime_func_t exports_[static_cast<int>(Export::count)] = {};
  bool present_[static_cast<int>(Export::count)] = {};
  int depth_ = 0;
  std::chrono::steady_clock::time_point call_start_{};  // when the outermost call began
  uint64_t start_epoch_ = 0;                            // the epoch of call_start_
  uint64_t armed_deadline_ = 0;  // the epoch the store's deadline was last set to
  Engine::Slot* slot_ = nullptr;                        // this thread's (the instance's)
  uint32_t unflushed_calls_ = 0;
  bool broken_ = false;
  uint32_t next_context_id_ = root_id + 1;
  // Live HTTP contexts: as many as the worker's requests in flight on this instance, so a
  // vector (no node allocation per request), searched linearly by id; each context knows its
  // place in it.
  std::vector<std::pair<uint32_t, HttpContext*>> contexts_;
  HttpContext* effective_ = nullptr;
  uint32_t effective_id_ = root_id;
  const CallResponse* call_response_ = nullptr;
  Fault raised_ = Fault::none;
  std::string raised_message_;
};

}  // namespace stavka::wasm
