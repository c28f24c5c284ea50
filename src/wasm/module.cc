#include "wasm/module.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <fstream>
#include <iterator>

#include "runtime/log.h"
#include "wasm/engine.h"
#include "wasm/host_functions.h"
#include "wasm/instance.h"
#include "wasm/shared_state.h"

namespace stavka::wasm {

namespace {

std::atomic<uint64_t> next_generation{1};

std::string digest_of(std::string_view bytes) {
  char out[48];
  std::snprintf(out, sizeof out, "%zu-%016zx", bytes.size(), std::hash<std::string_view>{}(bytes));
  return out;
}

bool has_export(const wasmtime_module_t* module, std::string_view name) {
  wasm_exporttype_vec_t exports;
  wasmtime_module_exports(module, &exports);
  bool found = false;
  for (size_t i = 0; i < exports.size && !found; ++i) {
    const wasm_name_t* n = wasm_exporttype_name(exports.data[i]);
    found = std::string_view(n->data, n->size) == name;
  }
  wasm_exporttype_vec_delete(&exports);
  return found;
}

wasm_trap_t* unknown_import(void* env, wasmtime_caller_t*, wasmtime_val_raw_t*, size_t) {
  const auto* name = static_cast<const std::string*>(env);
  std::string message = "called " + *name + ", which Stavka does not provide";
  return wasmtime_trap_new(message.data(), message.size());
}

// Imports the host does not define get a function of the right type that traps when called,
// so that a module importing something it never calls still loads.
bool stub_unknown_imports(const std::string& module_name, wasmtime_module_t* module,
                          wasmtime_linker_t* linker, std::string* error) {
  wasm_importtype_vec_t imports;
  wasmtime_module_imports(module, &imports);
  bool ok = true;
  for (size_t i = 0; i < imports.size && ok; ++i) {
    const wasm_importtype_t* import = imports.data[i];
    const wasm_name_t* from = wasm_importtype_module(import);
    const wasm_name_t* name = wasm_importtype_name(import);
    std::string_view m(from->data, from->size), n(name->data, name->size);
    if (is_host_function(m, n)) continue;
    const wasm_externtype_t* type = wasm_importtype_type(import);
    const wasm_functype_t* func = wasm_externtype_as_functype_const(type);
    std::string full = std::string(m) + "." + std::string(n);
    if (!func) {
      *error = "imports " + full + ", which is not a function (Stavka provides only functions)";
      ok = false;
      break;
    }
    runtime::log(runtime::LogLevel::warn,
                 "module %s: imports %s, which Stavka does not provide: calling it traps",
                 module_name.c_str(), full.c_str());
    if (wasmtime_error_t* e = wasmtime_linker_define_func_unchecked(
            linker, from->data, from->size, name->data, name->size, func, unknown_import,
            new std::string(full), [](void* p) { delete static_cast<std::string*>(p); })) {
      *error = "cannot stub " + full + ": " + take_message(e);
      ok = false;
    }
  }
  wasm_importtype_vec_delete(&imports);
  return ok;
}

}  // namespace

std::shared_ptr<Module> Module::load(const config::ModuleConfig& config, std::string bytes,
                                     std::string* error, std::string_view source) {
  ModuleStats& stats = ModuleStats::for_module(config.name);
  std::shared_ptr<Module> m(new Module());
  stats.versions_live.fetch_add(1, std::memory_order_relaxed);
  m->config_ = config;
  m->digest_ = digest_of(bytes);
  m->bytes_ = std::move(bytes);
  m->stats_ = &stats;  // before anything can fail: the destructor counts the version out
  m->cpu_ticks_ = Engine::ticks_for(config.cpu_limit);
  Engine::get().limit_in_use(config.cpu_limit);
  auto failed = [&](const std::string& why) {
    *error = "module " + config.name + " (" + std::string(source.empty() ? config.file : source) +
             "): " + why;
    stats.load_failures.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  };
  wasm_engine_t* engine = Engine::get().raw();
  if (wasmtime_error_t* e = wasmtime_module_new(
          engine, reinterpret_cast<const uint8_t*>(m->bytes_.data()), m->bytes_.size(), &m->module_)) {
    return failed("not a valid WebAssembly module: " + take_message(e));
  }
  if (!has_export(m->module_, "proxy_abi_version_0_2_1") &&
      !has_export(m->module_, "proxy_abi_version_0_2_0")) {
    return failed(has_export(m->module_, "proxy_abi_version_0_1_0")
                      ? "built for Proxy-Wasm ABI 0.1.0; Stavka runs 0.2.0 and 0.2.1"
                      : "exports no proxy_abi_version_0_2_x function: not a Proxy-Wasm module");
  }
  m->linker_ = wasmtime_linker_new(engine);
  if (std::string why = define_host_functions(m->linker_); !why.empty()) return failed(why);
  std::string why;
  if (!stub_unknown_imports(config.name, m->module_, m->linker_, &why)) return failed(why);
  if (wasmtime_error_t* e = wasmtime_linker_instantiate_pre(m->linker_, m->module_, &m->pre_)) {
    return failed("cannot link: " + take_message(e));
  }
  // The test start: the module must come up before any worker is given it.
  if (!Instance::start(m, nullptr, &why)) return failed(why);
  m->generation_ = next_generation.fetch_add(1);
  stats.loads.fetch_add(1, std::memory_order_relaxed);
  stats.generation.store(m->generation_, std::memory_order_relaxed);
  stats.disabled.store(0, std::memory_order_relaxed);
  return m;
}

std::shared_ptr<Module> Module::load_file(const config::ModuleConfig& config, std::string* error) {
  std::ifstream in(config.file, std::ios::binary);
  if (!in.is_open()) {
    *error = "module " + config.name + ": cannot open " + config.file + ": " + std::strerror(errno);
    ModuleStats::for_module(config.name).load_failures.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return load(config, std::move(bytes), error);
}

Module::~Module() {
  if (stats_) stats_->versions_live.fetch_sub(1, std::memory_order_relaxed);
  if (pre_) wasmtime_instance_pre_delete(pre_);
  if (linker_) wasmtime_linker_delete(linker_);
  if (module_) wasmtime_module_delete(module_);
}

bool Module::record_fault(int64_t now_ms) {
  int64_t start = window_start_ms_.load(std::memory_order_relaxed);
  if (now_ms - start > config_.fault_window.count()) {
    window_start_ms_.store(now_ms, std::memory_order_relaxed);
    window_faults_.store(0, std::memory_order_relaxed);
  }
  uint32_t faults = window_faults_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (faults < config_.max_faults) return false;
  bool was = disabled_.exchange(true);
  if (!was) stats_->disabled.store(1, std::memory_order_relaxed);
  return !was;
}

// --- ModuleSet ------------------------------------------------------------------------------

std::shared_ptr<const ModuleSet> ModuleSet::build(const config::Config& config,
                                                  const ModuleSet* previous,
                                                  std::vector<std::string>* errors) {
  auto set = std::make_shared<ModuleSet>();
  for (const config::ModuleConfig& mc : config.modules) {
    const Module* old = previous ? previous->find(mc.name) : nullptr;
    std::string error;
    std::shared_ptr<Module> loaded;
    if (old && old->config() == mc && !old->disabled()) {
      // Same settings: reuse the compiled module if the file still holds the same bytes.
      std::ifstream in(mc.file, std::ios::binary);
      std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      if (in.good() || in.eof()) {
        if (digest_of(bytes) == old->digest() && bytes == old->bytes()) {
          for (const auto& m : previous->modules_) {
            if (m.get() == old) loaded = m;
          }
        } else {
          loaded = Module::load(mc, std::move(bytes), &error);
        }
      }
    }
    if (!loaded && error.empty()) loaded = Module::load_file(mc, &error);
    if (!loaded) {
      errors->push_back(error);
      if (!old) return nullptr;
      errors->back() += "; keeping the version loaded before";
      for (const auto& m : previous->modules_) {
        if (m.get() == old) loaded = m;
      }
    }
    set->modules_.push_back(std::move(loaded));
  }
  set->index(config);
  return set;
}

void ModuleSet::index(const config::Config& config) {
  chains_.clear();
  for (const config::SiteConfig& site : config.sites) {
    std::vector<const Module*>& chain = chains_[site.name];
    for (const std::string& name : site.modules) {
      if (const Module* m = find(name)) chain.push_back(m);
    }
  }
}

std::shared_ptr<const ModuleSet> ModuleSet::with(std::shared_ptr<Module> module) const {
  auto set = std::make_shared<ModuleSet>(*this);
  const Module* replaced = nullptr;
  for (auto& m : set->modules_) {
    if (m->name() == module->name()) {
      replaced = m.get();
      m = module;
    }
  }
  if (!replaced) set->modules_.push_back(module);
  for (auto& [site, chain] : set->chains_) {
    for (const Module*& m : chain) {
      if (m == replaced) m = module.get();
    }
  }
  return set;
}

const Module* ModuleSet::find(std::string_view name) const {
  for (const auto& m : modules_) {
    if (m->name() == name) return m.get();
  }
  return nullptr;
}

const std::vector<const Module*>& ModuleSet::chain(std::string_view site) const {
  static const std::vector<const Module*> none;
  if (chains_.empty()) return none;
  auto it = chains_.find(std::string(site));
  return it == chains_.end() ? none : it->second;
}

}  // namespace stavka::wasm
