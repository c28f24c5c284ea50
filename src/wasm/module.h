// Module: one compiled version of a configured module, shared by every worker; ModuleSet: the
// modules in force, published as one immutable generation.
//
// Loading compiles the bytes, links them against the host functions (host_functions.h) into a
// pre-instantiated module, and test-starts it in a throwaway store (_initialize, root context,
// proxy_on_vm_start, proxy_on_configure): a module that fails any of this is refused with the
// reason, and whatever ran before stays. Loading blocks for as long as Cranelift takes, so it
// runs on the main thread or a helper thread, never on a reactor.
//
// A request holds the ModuleSet it started with (through its instances, instance.h), so a swap
// never changes a request half-way; the old generation is freed when its last request ends.
#pragma once

#include <wasmtime.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace stavka::wasm {

class ModuleStats;  // shared_state.h

class Module {
 public:
  // nullptr with *error set ("module NAME (SOURCE): ...") when the module cannot be used.
  // SOURCE is where the bytes came from: config.file unless `source` says otherwise (a push).
  static std::shared_ptr<Module> load(const config::ModuleConfig& config, std::string bytes,
                                      std::string* error, std::string_view source = {});
  static std::shared_ptr<Module> load_file(const config::ModuleConfig& config, std::string* error);
  ~Module();
  Module(const Module&) = delete;

  const config::ModuleConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  uint64_t generation() const { return generation_; }
  const std::string& digest() const { return digest_; }  // of the bytes: size and hash
  const std::string& bytes() const { return bytes_; }
  wasmtime_instance_pre_t* pre() const { return pre_; }
  uint64_t cpu_ticks() const { return cpu_ticks_; }
  ModuleStats& stats() const { return *stats_; }

  // Faults: counted in a window of config().fault_window; max_faults of them disable the
  // module (every worker) until it is loaded again. Any thread.
  bool disabled() const { return disabled_.load(std::memory_order_relaxed); }
  // Records a fault; true when this one disabled the module.
  bool record_fault(int64_t now_ms);

 private:
  Module() = default;

  config::ModuleConfig config_;
  std::string bytes_;
  std::string digest_;
  uint64_t generation_ = 0;
  uint64_t cpu_ticks_ = 0;
  wasmtime_module_t* module_ = nullptr;
  wasmtime_linker_t* linker_ = nullptr;
  wasmtime_instance_pre_t* pre_ = nullptr;
  ModuleStats* stats_ = nullptr;  // process-wide, by module name (outlives generations)
  std::atomic<bool> disabled_{false};
  std::atomic<int64_t> window_start_ms_{0};
  std::atomic<uint32_t> window_faults_{0};
};

class ModuleSet {
 public:
  // Loads the modules `config` defines. A module whose file and settings are the same as in
  // `previous` keeps its compiled version. A module that fails to load: with `previous`
  // holding one of that name, the previous one stays (the error is logged and returned in
  // *errors); without, the whole build fails (nullptr). Blocking (compiles).
  static std::shared_ptr<const ModuleSet> build(const config::Config& config,
                                                const ModuleSet* previous,
                                                std::vector<std::string>* errors);

  // This set with `module` replacing the one of its name (a push of a new version).
  std::shared_ptr<const ModuleSet> with(std::shared_ptr<Module> module) const;

  bool empty() const { return modules_.empty(); }
  const std::vector<std::shared_ptr<Module>>& modules() const { return modules_; }
  const Module* find(std::string_view name) const;
  // The modules a site runs, in its order (empty for a site without modules).
  const std::vector<const Module*>& chain(std::string_view site) const;

 private:
  void index(const config::Config& config);

  std::vector<std::shared_ptr<Module>> modules_;
  std::unordered_map<std::string, std::vector<const Module*>> chains_;
};

}  // namespace stavka::wasm
