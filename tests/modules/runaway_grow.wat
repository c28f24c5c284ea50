;; runaway_grow: a Proxy-Wasm module whose proxy_on_request_headers allocates without bound.
;;
;; It grows its linear memory a page (64 KiB) at a time and writes to each new page, as a
;; leaking allocator would; when memory.grow fails (the host's memory_limit) it aborts the way a
;; Rust or C allocator does on exhaustion, with `unreachable`. The host must count the fault as
;; memory exhaustion, apply on_error, and disable the module after max_faults.
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
    (local $page i32)
    (loop $more
      (local.set $page (memory.grow (i32.const 1)))
      (if (i32.eq (local.get $page) (i32.const -1))
        (then unreachable))  ;; out of memory: the allocator aborts
      ;; touch the new page so it is memory really used, not only reserved
      (i32.store (i32.shl (local.get $page) (i32.const 16)) (local.get $page))
      (br $more))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1)))
