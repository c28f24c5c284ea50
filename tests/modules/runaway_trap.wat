;; runaway_trap: a Proxy-Wasm module whose proxy_on_request_headers traps (`unreachable`, what a
;; Rust panic or a C abort() compiles to).
;;
;; The host must count the trap, apply on_error, replace the instance for the next request, and
;; disable the module after max_faults within fault_window.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $heap))
    (global.set $heap
      (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7))
               (i32.const -8)))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    unreachable)
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1)))
