#include "wasm/instance.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "runtime/log.h"
#include "wasm/engine.h"
#include "wasm/filter_chain.h"
#include "wasm/shared_state.h"
#include "wasm/worker_modules.h"

namespace stavka::wasm {

namespace {

constexpr std::string_view names[] = {
    "_initialize",
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_tick",
    "proxy_on_request_headers",
    "proxy_on_request_body",
    "proxy_on_request_trailers",
    "proxy_on_response_headers",
    "proxy_on_response_body",
    "proxy_on_response_trailers",
    "proxy_on_log",
    "proxy_on_done",
    "proxy_on_delete",
    "proxy_on_http_call_response",
    "proxy_on_queue_ready",
    "proxy_on_memory_allocate",
};
static_assert(std::size(names) == static_cast<size_t>(Export::count));

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view export_name(Export e) { return names[static_cast<int>(e)]; }

std::shared_ptr<Instance> Instance::start(std::shared_ptr<const Module> module,
                                          WorkerModules* worker, std::string* error) {
  std::shared_ptr<Instance> instance(new Instance(std::move(module), worker));
  if (!instance->instantiate(error) || !instance->begin(error)) return nullptr;
  return instance;
}

Instance::~Instance() {
  flush_calls();
  if (store_) wasmtime_store_delete(store_);
  for (auto& [fd, file] : wasi_files) ::close(file.fd);
}

bool Instance::instantiate(std::string* error) {
  const config::ModuleConfig& cfg = module_->config();
  store_ = wasmtime_store_new(Engine::get().raw(), this, nullptr);
  context_ = wasmtime_store_context(store_);
  wasmtime_store_limiter(store_, static_cast<int64_t>(cfg.memory_limit), -1, -1, -1, -1);
  slot_ = &Engine::this_thread_slot();  // the instance is used on this thread only
  arm_deadline();  // for the start function
  wasm_trap_t* trap = nullptr;
  wasmtime_error_t* e = wasmtime_instance_pre_instantiate(module_->pre(), context_, &instance_, &trap);
  slot_->running_until(0);
  if (e) {
    *error = "instantiation failed: " + take_message(e);
    return false;
  }
  if (trap) {
    *error = "start function trapped: " + take_message(trap);
    return false;
  }
  wasmtime_extern_t item;
  if (!wasmtime_instance_export_get(context_, &instance_, "memory", 6, &item) ||
      item.kind != WASMTIME_EXTERN_MEMORY) {
    *error = "exports no memory named \"memory\"";
    return false;
  }
  memory_ = item.of.memory;
  if (cfg.allow_wasi) {
    for (const std::string& dir : cfg.wasi_dirs) {
      int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) {
        *error = "cannot open wasi_dirs folder " + dir + ": " + std::strerror(errno);
        return false;
      }
      wasi_files[next_wasi_fd++] = {fd, true, dir};
    }
  }
  for (int i = 0; i < static_cast<int>(Export::count); ++i) {
    std::string_view name = names[i];
    bool found = wasmtime_instance_export_get(context_, &instance_, name.data(), name.size(), &item);
    if (!found && static_cast<Export>(i) == Export::memory_allocate) {
      found = wasmtime_instance_export_get(context_, &instance_, "malloc", 6, &item);
    }
    if (found && item.kind == WASMTIME_EXTERN_FUNC) {
      exports_[i] = item.of.func;
      present_[i] = true;
    }
  }
  if (!present_[static_cast<int>(Export::memory_allocate)]) {
    *error = "exports neither proxy_on_memory_allocate nor malloc";
    return false;
  }
  return true;
}

// _initialize, then the root context: created, VM started, plugin configured.
bool Instance::begin(std::string* error) {
  const config::ModuleConfig& cfg = module_->config();
  uint32_t ok = 1;
  if (!call(Export::initialize, {}) || !call(Export::context_create, {root_id, 0})) {
    *error = "failed to initialise (see the module's fault above)";
    return false;
  }
  if (!call(Export::vm_start, {root_id, static_cast<uint32_t>(cfg.vm_configuration.size())}, &ok)) {
    *error = "proxy_on_vm_start faulted";
    return false;
  }
  if (ok == 0) {
    *error = "proxy_on_vm_start returned false";
    return false;
  }
  if (!call(Export::configure, {root_id, static_cast<uint32_t>(cfg.configuration.size())}, &ok)) {
    *error = "proxy_on_configure faulted";
    return false;
  }
  if (ok == 0) {
    *error = "proxy_on_configure returned false (the module rejected its configuration)";
    return false;
  }
  return true;
}

bool Instance::call(Export e, std::initializer_list<uint32_t> args, uint32_t* result) {
  if (broken_) return false;
  const int index = static_cast<int>(e);
  if (!present_[index]) return true;
  wasmtime_val_raw_t values[8];
  size_t n = 0;
  for (uint32_t a : args) values[n++].i32 = static_cast<int32_t>(a);
  if (n == 0) values[0].i64 = 0;
  if (depth_++ == 0) arm_deadline();
  // Counted here and added to the module's shared counter in batches: a shared atomic per call
  // would bounce its cache line between workers on every request.
  if (++unflushed_calls_ == 256) flush_calls();
  wasm_trap_t* trap = nullptr;
  memory_moved();
  wasmtime_error_t* error = wasmtime_func_call_unchecked(context_, &exports_[index], values,
                                                         std::max<size_t>(n, 1), &trap);
  memory_moved();
  if (--depth_ == 0) {
    slot_->running_until(0);
    // proxy_set_effective_context lasts for the callback that called it: the next callback
    // starts in the root context unless its caller enters another (set_effective before call).
    effective_ = nullptr;
    effective_id_ = root_id;
  }
  Fault raised = Fault::none;
  std::string message;
  if (take_raised(&raised, &message)) {
    if (trap) wasm_trap_delete(trap);
    if (error) wasmtime_error_delete(error);
    fault(e, raised, message);
    return false;
  }
  if (trap) {
    wasmtime_trap_code_t code;
    Fault kind = Fault::trap;
    if (wasmtime_trap_code(trap, &code) && code == WASMTIME_TRAP_CODE_INTERRUPT) kind = Fault::cpu_limit;
    // An allocator that aborts because memory.grow hit the limit traps as `unreachable`.
    if (kind == Fault::trap &&
        wasmtime_memory_data_size(context_, &memory_) + (64 << 10) > module_->config().memory_limit) {
      kind = Fault::memory;
    }
    fault(e, kind, take_message(trap));
    return false;
  }
  if (error) {
    int status = 0;
    if (wasmtime_error_exit_status(error, &status)) {
      wasmtime_error_delete(error);
      fault(e, Fault::trap, "called proc_exit(" + std::to_string(status) + ")");
    } else {
      fault(e, Fault::trap, take_message(error));
    }
    return false;
  }
  if (result) *result = static_cast<uint32_t>(values[0].i32);
  return true;
}

void Instance::arm_deadline() {
  // On a worker, its loop time: no clock read per call. It is behind by the batch of
  // completions the worker is on, which a tick more of deadline allows for.
  const Engine::Clock::time_point start = worker_ ? worker_->reactor().now() : Engine::Clock::now();
  if (start != call_start_) {  // (calls in one loop iteration share their start)
    call_start_ = start;
    start_epoch_ = Engine::epoch_at(start);
  }
  const uint64_t deadline = start_epoch_ + module_->cpu_ticks() + 1;
  if (deadline != armed_deadline_) {  // (else the store has it: calls of one iteration)
    armed_deadline_ = deadline;
    const uint64_t epoch = Engine::epoch();  // the ticker's: it may lag
    wasmtime_context_set_epoch_deadline(context_, deadline > epoch ? deadline - epoch : 1);
  }
  slot_->running_until(deadline);
}

void Instance::flush_calls() {
  module_->stats().calls.fetch_add(unflushed_calls_, std::memory_order_relaxed);
  unflushed_calls_ = 0;
}

void Instance::fault(Export e, Fault kind, const std::string& message) {
  if (depth_ > 0) {
    // A nested call (the allocator, from a host function): the outer call reports it.
    raise(kind, message);
    return;
  }
  broken_ = true;
  ModuleStats& stats = module_->stats();
  const char* what = "trapped";
  switch (kind) {
    case Fault::cpu_limit:
      stats.cpu_overruns.fetch_add(1, std::memory_order_relaxed);
      what = "ran past its CPU limit";
      break;
    case Fault::memory:
      stats.traps.fetch_add(1, std::memory_order_relaxed);
      what = "ran out of memory (memory_limit)";
      break;
    case Fault::contract:
      stats.traps.fetch_add(1, std::memory_order_relaxed);
      what = "broke the ABI";
      break;
    default:
      stats.traps.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  uint64_t unlogged = 0;
  if (stats.log_fault(now_ms(), &unlogged)) {
    std::string skipped;
    if (unlogged) skipped = " (" + std::to_string(unlogged) + " faults before it not logged)";
    runtime::log(runtime::LogLevel::warn, "module %s: %.*s %s: %s%s", module_->name().c_str(),
                 static_cast<int>(export_name(e).size()), export_name(e).data(), what,
                 message.c_str(), skipped.c_str());
  }
  if (worker_) {
    worker_->charge_fault(*module_, Engine::Clock::now() - call_start_);
  }
  if (const_cast<Module&>(*module_).record_fault(now_ms())) {
    runtime::log(runtime::LogLevel::error,
                 "module %s: disabled after %u faults within %lld ms; load it again to re-enable",
                 module_->name().c_str(), module_->config().max_faults,
                 static_cast<long long>(module_->config().fault_window.count()));
  }
}

void Instance::add_context(HttpContext* c) {
  c->place = static_cast<uint32_t>(contexts_.size());
  contexts_.emplace_back(c->id, c);
}

void Instance::remove_context(HttpContext* c) {
  const uint32_t id = c->id;
  auto& entry = contexts_[c->place];
  entry = contexts_.back();
  entry.second->place = c->place;
  contexts_.pop_back();
  if (effective_id_ == id) {
    effective_ = nullptr;
    effective_id_ = root_id;
  }
}

HttpContext* Instance::context(uint32_t id) const {
  for (const auto& [context_id, c] : contexts_) {
    if (context_id == id) return c;
  }
  return nullptr;
}

bool Instance::set_effective(uint32_t id) {
  if (id == root_id) {
    effective_ = nullptr;
    effective_id_ = root_id;
    return true;
  }
  HttpContext* c = context(id);
  if (!c) return false;
  effective_ = c;
  effective_id_ = id;
  return true;
}

uint8_t* Instance::memory(uint32_t ptr, uint32_t size) {
  if (!memory_base_) {
    memory_base_ = wasmtime_memory_data(context_, &memory_);
    memory_size_ = wasmtime_memory_data_size(context_, &memory_);
  }
  if (uint64_t{ptr} + size > memory_size_) return nullptr;
  return memory_base_ + ptr;
}

bool Instance::read(uint32_t ptr, uint32_t size, std::string_view* out) {
  uint8_t* p = memory(ptr, size);
  if (!p) return false;
  *out = std::string_view(reinterpret_cast<const char*>(p), size);
  return true;
}

bool Instance::write_u32(uint32_t ptr, uint32_t value) {
  uint8_t* p = memory(ptr, 4);
  if (!p) return false;
  std::memcpy(p, &value, 4);  // wasm is little-endian, as is every host Stavka runs on
  return true;
}

bool Instance::write_u64(uint32_t ptr, uint64_t value) {
  uint8_t* p = memory(ptr, 8);
  if (!p) return false;
  std::memcpy(p, &value, 8);
  return true;
}

Status Instance::copy_out(std::string_view bytes, uint32_t ret_ptr, uint32_t ret_size) {
  if (!memory(ret_ptr, 4) || !memory(ret_size, 4)) return Status::invalid_memory_access;
  uint32_t at = 0;
  if (!call(Export::memory_allocate, {static_cast<uint32_t>(bytes.size())}, &at)) {
    return Status::internal_failure;  // the fault is raised when the host function returns
  }
  uint8_t* p = memory(at, static_cast<uint32_t>(bytes.size()));
  if (!p || (at == 0 && !bytes.empty())) {
    raise(Fault::contract, "its allocator returned an invalid pointer");
    return Status::internal_failure;
  }
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  write_u32(ret_ptr, at);
  write_u32(ret_size, static_cast<uint32_t>(bytes.size()));
  return Status::ok;
}

void Instance::raise(Fault fault, std::string message) {
  if (raised_ != Fault::none) return;  // the first cause is the one reported
  raised_ = fault;
  raised_message_ = std::move(message);
}

bool Instance::take_raised(Fault* fault, std::string* message) {
  if (raised_ == Fault::none || depth_ > 0) return false;
  *fault = raised_;
  *message = std::move(raised_message_);
  raised_ = Fault::none;
  return true;
}

}  // namespace stavka::wasm
