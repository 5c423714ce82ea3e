;; CRC-64/ISO over 64 KiB chunks for ltxkit, with WebAssembly SIMD: eight lanes of 8 KiB each run
;; the same 32-bit shift-and-xor fold as lib/ltx/checksum.ts (two lanes per i64x2 vector, four
;; vectors interleaved), then Horner's rule joins them: state = (..((L0·K ⊕ L1)·K ⊕ L2)..)·K ⊕ L7
;; with K = x^65536 mod P, multiplied through a table the caller fills. Assembled into
;; crc64-module.ts (and crc64.wasm) by build.mjs; test/ltx/wasm-kernels.test.ts checks both against
;; this source, test/ltx/checksum.test.ts the results against the TypeScript CRC.
;;
;; Memory (fixed, never grown):
;;   [0, 65536)         the chunk
;;   [65536, 65600)     the state in (u64 at 65536) and out; the eight lane states while joining
;;   [69632, 86016)     the table of ·K: entry [i][b] (8 bytes) = (b << 8i)·K mod P
(module
  (memory (export "memory") 2 2)

  ;; s·K mod P through the table.
  (func $mulK (param $s i64) (result i64)
    (local $r i64) (local $i i32)
    (loop $l
      (local.set $r (i64.xor (local.get $r)
        (i64.load offset=69632
          (i32.add (i32.shl (local.get $i) (i32.const 11))
                   (i32.shl (i32.and (i32.wrap_i64 (local.get $s)) (i32.const 255)) (i32.const 3))))))
      (local.set $s (i64.shr_u (local.get $s) (i64.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (local.get $r))

  ;; Folds the chunk into the state at 65536.
  (func (export "chunk")
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $v v128) (local $m v128)
    (local $p i32) (local $s i64) (local $j i32)
    (local.set $m (v128.const i64x2 0xffffffff 0xffffffff))
    (local.set $a (v128.load64_zero (i32.const 65536)))
    ;; Each step folds one 32-bit word into each of two lanes: s' = s>>32 ⊕ v<<32 ⊕ v<<31 ⊕ v<<29 ⊕ v<<28
    ;; with v = the low 32 bits of s ⊕ w (the fold of lib/ltx/checksum.ts). Written out four times:
    ;; not every engine inlines calls.
    (loop $l
      (local.set $v (v128.and (v128.xor (local.get $a) (v128.load32_lane offset=8192 2 (local.get $p) (v128.load32_zero (local.get $p)))) (local.get $m)))
      (local.set $a (v128.xor
        (v128.xor (i64x2.shr_u (local.get $a) (i32.const 32)) (i64x2.shl (local.get $v) (i32.const 32)))
        (v128.xor (v128.xor (i64x2.shl (local.get $v) (i32.const 31)) (i64x2.shl (local.get $v) (i32.const 29)))
                  (i64x2.shl (local.get $v) (i32.const 28)))))
      (local.set $v (v128.and (v128.xor (local.get $b) (v128.load32_lane offset=24576 2 (local.get $p) (v128.load32_zero offset=16384 (local.get $p)))) (local.get $m)))
      (local.set $b (v128.xor
        (v128.xor (i64x2.shr_u (local.get $b) (i32.const 32)) (i64x2.shl (local.get $v) (i32.const 32)))
        (v128.xor (v128.xor (i64x2.shl (local.get $v) (i32.const 31)) (i64x2.shl (local.get $v) (i32.const 29)))
                  (i64x2.shl (local.get $v) (i32.const 28)))))
      (local.set $v (v128.and (v128.xor (local.get $c) (v128.load32_lane offset=40960 2 (local.get $p) (v128.load32_zero offset=32768 (local.get $p)))) (local.get $m)))
      (local.set $c (v128.xor
        (v128.xor (i64x2.shr_u (local.get $c) (i32.const 32)) (i64x2.shl (local.get $v) (i32.const 32)))
        (v128.xor (v128.xor (i64x2.shl (local.get $v) (i32.const 31)) (i64x2.shl (local.get $v) (i32.const 29)))
                  (i64x2.shl (local.get $v) (i32.const 28)))))
      (local.set $v (v128.and (v128.xor (local.get $d) (v128.load32_lane offset=57344 2 (local.get $p) (v128.load32_zero offset=49152 (local.get $p)))) (local.get $m)))
      (local.set $d (v128.xor
        (v128.xor (i64x2.shr_u (local.get $d) (i32.const 32)) (i64x2.shl (local.get $v) (i32.const 32)))
        (v128.xor (v128.xor (i64x2.shl (local.get $v) (i32.const 31)) (i64x2.shl (local.get $v) (i32.const 29)))
                  (i64x2.shl (local.get $v) (i32.const 28)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $p) (i32.const 8192))))
    (v128.store (i32.const 65536) (local.get $a))
    (v128.store (i32.const 65552) (local.get $b))
    (v128.store (i32.const 65568) (local.get $c))
    (v128.store (i32.const 65584) (local.get $d))
    (local.set $s (i64.load (i32.const 65536)))
    (local.set $j (i32.const 1))
    (loop $join
      (local.set $s (i64.xor (call $mulK (local.get $s))
        (i64.load offset=65536 (i32.shl (local.get $j) (i32.const 3)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $join (i32.lt_u (local.get $j) (i32.const 8))))
    (i64.store (i32.const 65536) (local.get $s)))
)
