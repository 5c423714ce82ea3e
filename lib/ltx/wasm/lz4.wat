;; LZ4 block kernels for ltxkit: the same decompressor checks and the same compressor algorithm as
;; lib/ltx/lz4-block.ts, on wide (8-byte) loads and stores. Assembled into lz4-module.ts and lz4.wasm by
;; build.mjs; test/ltx/wasm-kernels.test.ts checks both against this source.
;;
;; Fixed memory, never grown (so a JavaScript view on it stays valid):
;;   [0, 262144)          compressor hash table: 65536 i32 entries of position + base
;;   [262144, +66048)     IN: the block to decompress, or the data to compress
;;   [328704, +66048)     OUT: the decompressed data, or the compressed block
;; Each region is followed by at least 64 bytes of slack, so wide copies may overshoot by up to 7
;; bytes past what they were asked for without leaving memory. Every bound that matters to the
;; format is checked exactly, as the TypeScript decompressor checks it.
(module
  (memory (export "memory") 7 7)
  (global $base (mut i32) (i32.const 1))

  ;; Decompresses the block at [IN, IN+n) into OUT, producing at most cap bytes. Returns the number
  ;; of bytes produced, or -1 for a malformed block (the TypeScript decoder then names the error).
  (func (export "decompress") (param $n i32) (param $cap i32) (result i32)
    (local $s i32) (local $se i32) (local $d i32) (local $de i32) (local $token i32)
    (local $lit i32) (local $ml i32) (local $off i32) (local $b i32) (local $m i32) (local $end i32)
    (local.set $s (i32.const 262144))
    (local.set $se (i32.add (i32.const 262144) (local.get $n)))
    (local.set $d (i32.const 328704))
    (local.set $de (i32.add (i32.const 328704) (local.get $cap)))
    (if (i32.eqz (local.get $n)) (then (return (i32.const -1))))
    (loop $seq
      (if (i32.ge_u (local.get $s) (local.get $se)) (then (return (i32.const -1))))
      (local.set $token (i32.load8_u (local.get $s)))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (local.set $lit (i32.shr_u (local.get $token) (i32.const 4)))
      (if (i32.eq (local.get $lit) (i32.const 15))
        (then
          (loop $more
            (if (i32.ge_u (local.get $s) (local.get $se)) (then (return (i32.const -1))))
            (local.set $b (i32.load8_u (local.get $s)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (local.set $lit (i32.add (local.get $lit) (local.get $b)))
            (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
      (if (local.get $lit)
        (then
          (if (i32.gt_u (local.get $lit) (i32.sub (local.get $se) (local.get $s))) (then (return (i32.const -1))))
          (if (i32.gt_u (local.get $lit) (i32.sub (local.get $de) (local.get $d))) (then (return (i32.const -1))))
          (local.set $end (i32.add (local.get $d) (local.get $lit)))
          (loop $copy
            (i64.store (local.get $d) (i64.load (local.get $s)))
            (local.set $d (i32.add (local.get $d) (i32.const 8)))
            (local.set $s (i32.add (local.get $s) (i32.const 8)))
            (br_if $copy (i32.lt_u (local.get $d) (local.get $end))))
          (local.set $s (i32.sub (local.get $s) (i32.sub (local.get $d) (local.get $end))))
          (local.set $d (local.get $end))))
      ;; The last sequence carries literals only.
      (if (i32.eq (local.get $s) (local.get $se))
        (then (return (i32.sub (local.get $d) (i32.const 328704)))))
      (if (i32.gt_u (i32.add (local.get $s) (i32.const 2)) (local.get $se)) (then (return (i32.const -1))))
      (local.set $off (i32.load16_u (local.get $s)))
      (local.set $s (i32.add (local.get $s) (i32.const 2)))
      (if (i32.eqz (local.get $off)) (then (return (i32.const -1))))
      (if (i32.gt_u (local.get $off) (i32.sub (local.get $d) (i32.const 328704))) (then (return (i32.const -1))))
      (local.set $ml (i32.and (local.get $token) (i32.const 15)))
      (if (i32.eq (local.get $ml) (i32.const 15))
        (then
          (loop $more
            (if (i32.ge_u (local.get $s) (local.get $se)) (then (return (i32.const -1))))
            (local.set $b (i32.load8_u (local.get $s)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (local.set $ml (i32.add (local.get $ml) (local.get $b)))
            (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
      (local.set $ml (i32.add (local.get $ml) (i32.const 4)))
      (if (i32.gt_u (local.get $ml) (i32.sub (local.get $de) (local.get $d))) (then (return (i32.const -1))))
      (local.set $m (i32.sub (local.get $d) (local.get $off)))
      (local.set $end (i32.add (local.get $d) (local.get $ml)))
      (if (i32.ge_u (local.get $off) (i32.const 8))
        (then
          ;; Each 8-byte step reads bytes already written (offset >= 8).
          (loop $copy
            (i64.store (local.get $d) (i64.load (local.get $m)))
            (local.set $d (i32.add (local.get $d) (i32.const 8)))
            (local.set $m (i32.add (local.get $m) (i32.const 8)))
            (br_if $copy (i32.lt_u (local.get $d) (local.get $end)))))
        (else
          ;; Overlapping match: the pattern repeats every `off` bytes.
          (loop $copy
            (i32.store8 (local.get $d) (i32.load8_u (local.get $m)))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (local.set $m (i32.add (local.get $m) (i32.const 1)))
            (br_if $copy (i32.lt_u (local.get $d) (local.get $end))))))
      (local.set $d (local.get $end))
      (br $seq))
    (unreachable))

  ;; Writes the continuation bytes of a length (r = length - 15): 255s, then the rest.
  (func $putLen (param $op i32) (param $r i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.lt_u (local.get $r) (i32.const 255)))
        (i32.store8 (local.get $op) (i32.const 255))
        (local.set $op (i32.add (local.get $op) (i32.const 1)))
        (local.set $r (i32.sub (local.get $r) (i32.const 255)))
        (br $l)))
    (i32.store8 (local.get $op) (local.get $r))
    (i32.add (local.get $op) (i32.const 1)))

  ;; Copies n bytes in 8-byte steps (overshooting into the slack); returns dst + n.
  (func $copy (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (local.get $n)))
    (if (local.get $n)
      (then
        (loop $l
          (i64.store (local.get $dst) (i64.load (local.get $src)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
          (local.set $src (i32.add (local.get $src) (i32.const 8)))
          (br_if $l (i32.lt_u (local.get $dst) (local.get $end))))))
    (local.get $end))

  ;; Writes the token and literal length of a sequence; `nibble` is its match nibble.
  (func $putToken (param $op i32) (param $lit i32) (param $nibble i32) (result i32)
    (if (result i32) (i32.ge_u (local.get $lit) (i32.const 15))
      (then
        (i32.store8 (local.get $op) (i32.or (i32.const 0xf0) (local.get $nibble)))
        (call $putLen (i32.add (local.get $op) (i32.const 1)) (i32.sub (local.get $lit) (i32.const 15))))
      (else
        (i32.store8 (local.get $op) (i32.or (i32.shl (local.get $lit) (i32.const 4)) (local.get $nibble)))
        (i32.add (local.get $op) (i32.const 1)))))

  ;; Compresses [IN, IN+n) (n <= 65536) into OUT; returns the block length. Positions ip, ref and
  ;; anchor count from IN. The hash table is never cleared: entries hold position + base and base
  ;; rises by n + 1 per call, so an entry from an earlier call reads as a negative position.
  (func (export "compress") (param $n i32) (result i32)
    (local $b i32) (local $op i32) (local $anchor i32) (local $ip i32) (local $ref i32)
    (local $r1 i32) (local $r2 i32) (local $seq i32) (local $s1 i32) (local $s2 i32) (local $h i32)
    (local $h1 i32) (local $len i32) (local $lit i32) (local $ml i32) (local $from i32) (local $end i32)
    (local $x i64) (local $mflimit i32) (local $matchlimit i32) (local $p2 i32)
    (if (i32.gt_u (global.get $base) (i32.sub (i32.const 0x3fff0000) (local.get $n)))
      (then
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 262144))
        (global.set $base (i32.const 1))))
    (local.set $b (global.get $base))
    (global.set $base (i32.add (global.get $base) (i32.add (local.get $n) (i32.const 1))))
    (local.set $op (i32.const 328704))
    (if (i32.ge_u (local.get $n) (i32.const 13))
      (then
        (local.set $mflimit (i32.sub (local.get $n) (i32.const 12)))
        (local.set $matchlimit (i32.sub (local.get $n) (i32.const 5)))
        (block $outer
          (loop $main
            ;; Find a match: three positions per step from one 8-byte read, then skip ahead,
            ;; further the longer nothing matched.
            (block $found
              (loop $search
                (br_if $outer (i32.gt_u (i32.add (local.get $ip) (i32.const 2)) (local.get $mflimit)))
                (local.set $x (i64.load offset=262144 (local.get $ip)))
                (local.set $seq (i32.wrap_i64 (local.get $x)))
                (local.set $s1 (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 8))))
                (local.set $h (i32.shl (i32.shr_u (i32.mul (local.get $seq) (i32.const -1640531535)) (i32.const 16)) (i32.const 2)))
                (local.set $h1 (i32.shl (i32.shr_u (i32.mul (local.get $s1) (i32.const -1640531535)) (i32.const 16)) (i32.const 2)))
                (local.set $ref (i32.sub (i32.load (local.get $h)) (local.get $b)))
                (local.set $r1 (i32.sub (i32.load (local.get $h1)) (local.get $b)))
                (i32.store (local.get $h) (i32.add (local.get $ip) (local.get $b)))
                (i32.store (local.get $h1) (i32.add (i32.add (local.get $ip) (i32.const 1)) (local.get $b)))
                (if (i32.ge_s (local.get $ref) (i32.const 0))
                  (then
                    (if (i32.le_u (i32.sub (local.get $ip) (local.get $ref)) (i32.const 65535))
                      (then
                        (br_if $found (i32.eq (i32.load offset=262144 (local.get $ref)) (local.get $seq)))))))
                (local.set $s2 (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 16))))
                (local.set $h (i32.shl (i32.shr_u (i32.mul (local.get $s2) (i32.const -1640531535)) (i32.const 16)) (i32.const 2)))
                (local.set $r2 (i32.sub (i32.load (local.get $h)) (local.get $b)))
                (if (i32.ge_s (local.get $r1) (i32.const 0))
                  (then
                    (if (i32.le_u (i32.sub (i32.add (local.get $ip) (i32.const 1)) (local.get $r1)) (i32.const 65535))
                      (then
                        (if (i32.eq (i32.load offset=262144 (local.get $r1)) (local.get $s1))
                          (then
                            (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
                            (local.set $ref (local.get $r1))
                            (br $found)))))))
                (i32.store (local.get $h) (i32.add (i32.add (local.get $ip) (i32.const 2)) (local.get $b)))
                (if (i32.ge_s (local.get $r2) (i32.const 0))
                  (then
                    (if (i32.le_u (i32.sub (i32.add (local.get $ip) (i32.const 2)) (local.get $r2)) (i32.const 65535))
                      (then
                        (if (i32.eq (i32.load offset=262144 (local.get $r2)) (local.get $s2))
                          (then
                            (local.set $ip (i32.add (local.get $ip) (i32.const 2)))
                            (local.set $ref (local.get $r2))
                            (br $found)))))))
                (local.set $ip (i32.add (local.get $ip)
                  (i32.add (i32.const 4) (i32.shr_u (i32.sub (i32.add (local.get $ip) (i32.const 2)) (local.get $anchor)) (i32.const 7)))))
                (br $search)))
            ;; Extend backwards over equal bytes.
            (block $bk
              (loop $back
                (br_if $bk (i32.le_u (local.get $ip) (local.get $anchor)))
                (br_if $bk (i32.le_s (local.get $ref) (i32.const 0)))
                (br_if $bk (i32.ne (i32.load8_u offset=262143 (local.get $ip)) (i32.load8_u offset=262143 (local.get $ref))))
                (local.set $ip (i32.sub (local.get $ip) (i32.const 1)))
                (local.set $ref (i32.sub (local.get $ref) (i32.const 1)))
                (br $back)))
            ;; Extend forwards, eight bytes at a time, never past matchlimit.
            (local.set $len (i32.const 4))
            (block $done
              (block $tail
                (loop $wide
                  (br_if $tail (i32.gt_u (i32.add (i32.add (local.get $ip) (local.get $len)) (i32.const 8)) (local.get $matchlimit)))
                  (local.set $x (i64.xor
                    (i64.load offset=262144 (i32.add (local.get $ip) (local.get $len)))
                    (i64.load offset=262144 (i32.add (local.get $ref) (local.get $len)))))
                  (if (i64.ne (local.get $x) (i64.const 0))
                    (then
                      (local.set $len (i32.add (local.get $len) (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $x)) (i64.const 3)))))
                      (br $done)))
                  (local.set $len (i32.add (local.get $len) (i32.const 8)))
                  (br $wide)))
              (loop $byte
                (br_if $done (i32.ge_u (i32.add (local.get $ip) (local.get $len)) (local.get $matchlimit)))
                (br_if $done (i32.ne
                  (i32.load8_u offset=262144 (i32.add (local.get $ip) (local.get $len)))
                  (i32.load8_u offset=262144 (i32.add (local.get $ref) (local.get $len)))))
                (local.set $len (i32.add (local.get $len) (i32.const 1)))
                (br $byte)))
            ;; One sequence: token, the literals since anchor (8 bytes at a time), offset, length.
            (local.set $lit (i32.sub (local.get $ip) (local.get $anchor)))
            (local.set $ml (i32.sub (local.get $len) (i32.const 4)))
            (local.set $op (call $putToken (local.get $op) (local.get $lit)
              (select (i32.const 15) (local.get $ml) (i32.ge_u (local.get $ml) (i32.const 15)))))
            (if (local.get $lit)
              (then
                (local.set $from (i32.add (i32.const 262144) (local.get $anchor)))
                (local.set $end (i32.add (local.get $op) (local.get $lit)))
                (loop $lits
                  (i64.store (local.get $op) (i64.load (local.get $from)))
                  (local.set $op (i32.add (local.get $op) (i32.const 8)))
                  (local.set $from (i32.add (local.get $from) (i32.const 8)))
                  (br_if $lits (i32.lt_u (local.get $op) (local.get $end))))
                (local.set $op (local.get $end))))
            (i32.store16 (local.get $op) (i32.sub (local.get $ip) (local.get $ref)))
            (local.set $op (i32.add (local.get $op) (i32.const 2)))
            (if (i32.ge_u (local.get $ml) (i32.const 15))
              (then (local.set $op (call $putLen (local.get $op) (i32.sub (local.get $ml) (i32.const 15))))))
            (local.set $ip (i32.add (local.get $ip) (local.get $len)))
            (local.set $anchor (local.get $ip))
            (br_if $outer (i32.gt_u (local.get $ip) (local.get $mflimit)))
            (local.set $p2 (i32.sub (local.get $ip) (i32.const 2)))
            (i32.store (i32.shl (i32.shr_u (i32.mul (i32.load offset=262144 (local.get $p2)) (i32.const -1640531535)) (i32.const 16)) (i32.const 2)) (i32.add (local.get $p2) (local.get $b)))
            (br $main)))))
    ;; The last literals.
    (local.set $op (call $putToken (local.get $op) (i32.sub (local.get $n) (local.get $anchor)) (i32.const 0)))
    (local.set $op (call $copy (local.get $op) (i32.add (i32.const 262144) (local.get $anchor)) (i32.sub (local.get $n) (local.get $anchor))))
    (i32.sub (local.get $op) (i32.const 328704)))
)
