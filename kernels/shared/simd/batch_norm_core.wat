;; The SIMD core of BatchNormInference, shared by the cpu kernel and the wasm
;; backend's kernel. Per element, in float64 (f64x2), with the channel's
;; m = mean, s = gamma / sqrt(variance + epsilon) and b = beta:
;;
;;     v = (f64(x) - m) * s + b          out = f32(v)
;;
;; every operation a separate IEEE op (no fused multiply-add), in the order of
;; the JS loop in kernels/shared/rounded_batch_norm.ts, so f32(v) is
;; bit-identical to its. f32(v) is the float32 nearest to the exact formula
;; unless v lies close to a float32 rounding boundary. The certificate that it
;; does not, on v's float64 bits and one per-channel word, with no conversion
;; (the proof: "The SIMD certificate" in rounded_batch_norm.ts):
;;
;;     |v| >= L[c], L = max(|b| 2^-9, 2^-126)  v finite, no deep cancellation
;;     low29(v) not in [2^28 - 2^13, 2^28 + 2^13]  far from a float32 boundary
;;
;; (low29: the low 29 bits of v, 2^28 where a float32 boundary would be).
;; Both as one i32x4 signed compare per pair, on the lanes of
;; (v & BITS) - BIAS: the low word of a lane against a constant, the high
;; word (|v|'s exponent and top bits) against the channel's threshold
;; 0x100000 + hi(L), rounded up (batch_norm_core.ts writes it):
;;
;;     fail = T > (v & BITS) - BIAS     (i32x4.gt_s; a lane of -1 fails)
;;     BITS = 0x1fffffff 0x7fffffff     BIAS = 0x8fffe000 0xfff00000
;;     T    = 0x80004001 0x100000 + hi(L)
;;
;; low word: low29 - (2^28 - 2^13) - 2^31 is at most -2^31 + 2^14 exactly in
;; the band; high word: hi(|v|) + 0x100000 is below T exactly when
;; hi(|v|) < hi(L) or hi(|v|) >= 0x7ff00000 (infinite or NaN v wrap past
;; 2^31). A group (16 elements periodic, 4 runs) where any element fails is
;; computed again one element at a time with the JS loop's error interval
;;
;;     err = (|p| + |v|) * 2^-50,  p = (x - m) * s;  flagged when f32(v - err)
;;     and f32(v + err) differ in any bit
;;
;; and the caller re-checks a range whose call returned 1 element by element,
;; rounding the flagged ones exactly (kernels/shared/exact_round.ts).
;;
;; The memory is imported (env.memory): the cpu kernel passes a small fixed
;; memory of its own, the wasm backend's kernel its heap. The generator builds
;; this text twice: as is, and with the import declared `shared` (the
;; threaded wasm backend's memory is a SharedArrayBuffer). Source of
;; kernels/shared/simd/batch_norm_core_wasm.ts: after editing, run
;; `node tools/generate_batch_norm_simd_wasm.js`; test/cpu.test.ts fails while
;; the two differ. Pointers are byte offsets; x and y are float32 (4-aligned)
;; and do not overlap (a group is recomputed from x after y is written);
;; tables are float64 (8-aligned). Both functions return 1 if any element was
;; flagged, else 0.
(module
  (import "env" "memory" (memory 1))

  ;; periodic(x, y, n, tab, period): the channel of an element repeats every
  ;; `period` elements (a multiple of 16), and x starts at position 0 of that
  ;; pattern. `tab` holds per pair of positions j, j+1 (64 bytes):
  ;; m[j] m[j+1] s[j] s[j+1] b[j] b[j+1] as float64, then T for j, j+1 as
  ;; four i32 (see the top). 16 elements per SIMD step, the last n mod 16 one
  ;; at a time.
  (func (export "periodic")
        (param $x i32) (param $y i32) (param $n i32) (param $tab i32) (param $period i32)
        (result i32)
    (local $end i32) (local $t i32) (local $tabEnd i32) (local $flag i32)
    (local $v v128) (local $fail v128) (local $bits v128) (local $bias v128)
    (local.set $bits (v128.const i32x4 0x1fffffff 0x7fffffff 0x1fffffff 0x7fffffff))
    (local.set $bias (v128.const i32x4 0x8fffe000 0xfff00000 0x8fffe000 0xfff00000))
    (local.set $end (i32.add (local.get $x)
                             (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2))))
    (local.set $t (local.get $tab))
    (local.set $tabEnd (i32.add (local.get $tab) (i32.shl (local.get $period) (i32.const 5))))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        ;; eight pairs; pair k: x at offset 8k, its table entry at 64k
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $x))) (v128.load offset=0 (local.get $t))) (v128.load offset=16 (local.get $t))) (v128.load offset=32 (local.get $t))))
        (v128.store64_lane offset=0 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=48 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $x))) (v128.load offset=64 (local.get $t))) (v128.load offset=80 (local.get $t))) (v128.load offset=96 (local.get $t))))
        (v128.store64_lane offset=8 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=112 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $x))) (v128.load offset=128 (local.get $t))) (v128.load offset=144 (local.get $t))) (v128.load offset=160 (local.get $t))))
        (v128.store64_lane offset=16 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=176 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $x))) (v128.load offset=192 (local.get $t))) (v128.load offset=208 (local.get $t))) (v128.load offset=224 (local.get $t))))
        (v128.store64_lane offset=24 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=240 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $x))) (v128.load offset=256 (local.get $t))) (v128.load offset=272 (local.get $t))) (v128.load offset=288 (local.get $t))))
        (v128.store64_lane offset=32 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=304 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $x))) (v128.load offset=320 (local.get $t))) (v128.load offset=336 (local.get $t))) (v128.load offset=352 (local.get $t))))
        (v128.store64_lane offset=40 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=368 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $x))) (v128.load offset=384 (local.get $t))) (v128.load offset=400 (local.get $t))) (v128.load offset=416 (local.get $t))))
        (v128.store64_lane offset=48 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=432 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $x))) (v128.load offset=448 (local.get $t))) (v128.load offset=464 (local.get $t))) (v128.load offset=480 (local.get $t))))
        (v128.store64_lane offset=56 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (v128.load offset=496 (local.get $t)) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
        (if (v128.any_true (local.get $fail))
          (then
            (local.set $flag (i32.or (local.get $flag)
              (call $pattern (local.get $x) (local.get $y) (i32.const 16) (local.get $t))))
            (local.set $fail (v128.const i64x2 0 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $y (i32.add (local.get $y) (i32.const 64)))
        (local.set $t (i32.add (local.get $t) (i32.const 512)))
        (if (i32.eq (local.get $t) (local.get $tabEnd))
          (then (local.set $t (local.get $tab))))
        (br $step)))
    (i32.or (local.get $flag)
            (call $pattern (local.get $x) (local.get $y) (i32.and (local.get $n) (i32.const 15))
                           (local.get $t))))

  ;; The first n (<= 16) elements of a periodic step at x, its entries at t,
  ;; one at a time; returns 1 if any was flagged.
  (func $pattern (param $x i32) (param $y i32) (param $n i32) (param $t i32) (result i32)
    (local $i i32) (local $e i32) (local $flag i32)
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; element i's entry: t + 64 * (i >> 1) + 8 * (i & 1)
        (local.set $e (i32.add (local.get $t)
                               (i32.add (i32.shl (i32.shr_u (local.get $i) (i32.const 1)) (i32.const 6))
                                        (i32.shl (i32.and (local.get $i) (i32.const 1)) (i32.const 3)))))
        (local.set $flag (i32.or (local.get $flag)
          (call $one (local.get $x) (local.get $y) (f64.load offset=0 (local.get $e))
                     (f64.load offset=16 (local.get $e)) (f64.load offset=32 (local.get $e)))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one)))
    (local.get $flag))

  ;; One element with scalar f64 ops and the error interval (the JS loop's
  ;; test); returns 1 if flagged.
  (func $one (param $x i32) (param $y i32) (param $m f64) (param $s f64) (param $b f64)
        (result i32)
    (local $p f64) (local $v f64) (local $err f64)
    (local.set $v (f64.add (local.tee $p (f64.mul (f64.sub (f64.promote_f32 (f32.load (local.get $x))) (local.get $m)) (local.get $s))) (local.get $b)))
    (local.set $err (f64.mul (f64.add (f64.abs (local.get $p)) (f64.abs (local.get $v))) (f64.const 0x1p-50)))
    (f32.store (local.get $y) (f32.demote_f64 (local.get $v)))
    (i32.ne (i32.reinterpret_f32 (f32.demote_f64 (f64.sub (local.get $v) (local.get $err))))
            (i32.reinterpret_f32 (f32.demote_f64 (f64.add (local.get $v) (local.get $err))))))

  ;; runs(x, y, n, inner, len, c, channels, tab): the n elements at x are runs
  ;; of `inner` elements of one channel each; the first run has `len` elements
  ;; (1..inner) and channel `c`, each next run the next channel, wrapping at
  ;; `channels`. `tab` holds m[c] s[c] b[c] as float64 and T[c] as two i32
  ;; (32 bytes per channel).
  ;; Within a run: 4 elements per SIMD step with the channel's values
  ;; splatted, then the last (len mod 4) one at a time.
  (func (export "runs")
        (param $x i32) (param $y i32) (param $n i32) (param $inner i32) (param $len i32)
        (param $c i32) (param $channels i32) (param $tab i32) (result i32)
    (local $end i32) (local $runEnd i32) (local $left i32) (local $entry i32) (local $flag i32)
    (local $mf f64) (local $sf f64) (local $bf f64)
    (local $m v128) (local $s v128) (local $b v128) (local $l v128)
    (local $v v128) (local $fail v128) (local $bits v128) (local $bias v128)
    (local.set $bits (v128.const i32x4 0x1fffffff 0x7fffffff 0x1fffffff 0x7fffffff))
    (local.set $bias (v128.const i32x4 0x8fffe000 0xfff00000 0x8fffe000 0xfff00000))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $run
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        ;; runEnd = x + 4 * min(len, (end - x) / 4)
        (local.set $left (i32.shr_u (i32.sub (local.get $end) (local.get $x)) (i32.const 2)))
        (if (i32.gt_u (local.get $len) (local.get $left))
          (then (local.set $len (local.get $left))))
        (local.set $runEnd (i32.add (local.get $x) (i32.shl (local.get $len) (i32.const 2))))
        (local.set $entry (i32.add (local.get $tab) (i32.shl (local.get $c) (i32.const 5))))
        (local.set $mf (f64.load offset=0 (local.get $entry)))
        (local.set $sf (f64.load offset=8 (local.get $entry)))
        (local.set $bf (f64.load offset=16 (local.get $entry)))
        (local.set $m (f64x2.splat (local.get $mf)))
        (local.set $s (f64x2.splat (local.get $sf)))
        (local.set $b (f64x2.splat (local.get $bf)))
        (local.set $l (v128.load64_splat offset=24 (local.get $entry)))
        (block $quadsDone
          (loop $quad
            (br_if $quadsDone
              (i32.gt_u (i32.add (local.get $x) (i32.const 16)) (local.get $runEnd)))
            (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $x))) (local.get $m)) (local.get $s)) (local.get $b)))
            (v128.store64_lane offset=0 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
            (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (local.get $l) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
            (local.set $v (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $x))) (local.get $m)) (local.get $s)) (local.get $b)))
            (v128.store64_lane offset=8 0 (local.get $y) (f32x4.demote_f64x2_zero (local.get $v)))
            (local.set $fail (v128.or (local.get $fail) (i32x4.gt_s (local.get $l) (i32x4.sub (v128.and (local.get $v) (local.get $bits)) (local.get $bias)))))
            (if (v128.any_true (local.get $fail))
              (then
                (local.set $flag (i32.or (local.get $flag) (call $same (local.get $x) (local.get $y)
                  (i32.add (local.get $x) (i32.const 16)) (local.get $mf) (local.get $sf) (local.get $bf))))
                (local.set $fail (v128.const i64x2 0 0))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (br $quad)))
        (local.set $flag (i32.or (local.get $flag) (call $same (local.get $x) (local.get $y)
          (local.get $runEnd) (local.get $mf) (local.get $sf) (local.get $bf))))
        (local.set $y (i32.add (local.get $y) (i32.sub (local.get $runEnd) (local.get $x))))
        (local.set $x (local.get $runEnd))
        ;; the next run: the next channel, a full run
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (if (i32.eq (local.get $c) (local.get $channels))
          (then (local.set $c (i32.const 0))))
        (local.set $len (local.get $inner))
        (br $run)))
    (local.get $flag))

  ;; Elements x up to xEnd of one channel, one at a time; returns 1 if any was
  ;; flagged.
  (func $same (param $x i32) (param $y i32) (param $xEnd i32) (param $m f64) (param $s f64)
        (param $b f64) (result i32)
    (local $flag i32)
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $x) (local.get $xEnd)))
        (local.set $flag (i32.or (local.get $flag)
          (call $one (local.get $x) (local.get $y) (local.get $m) (local.get $s) (local.get $b))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $one)))
    (local.get $flag)))
