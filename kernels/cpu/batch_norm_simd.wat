;; WebAssembly SIMD loops of the cpu BatchNormInference kernel:
;;
;;     y = f32(f64(x) * scale + shift)
;;
;; on float32 data in this module's memory, in place. Each pair of elements is
;; loaded (64 bits), promoted to f64x2, multiplied by the channels' float64
;; scales, the float64 shifts added (a separate add, never a fused
;; multiply-add), and rounded once to float32 (demote) and stored: the same IEEE
;; operations in the same order as the kernel's JS loop
;; `out[i] = x[i] * scale[c] + shift[c]`, so the results are bit-identical to
;; it (NaN where it gives NaN; which NaN is left open by IEEE 754 and wasm).
;; (Pairs through 64-bit loads and lane stores need no shuffles; measured as
;; fast as 128-bit loads split and rejoined by i8x16.shuffle in the periodic
;; loop, ~10% faster in the runs loop.)
;;
;; This is the source of kernels/cpu/batch_norm_simd_wasm.ts: after editing,
;; run `node kernels/cpu/generate_batch_norm_simd_wasm.js` (wabt's wat2wasm);
;; test/cpu_wasm.test.ts fails while the two differ. kernels/cpu/batch_norm_simd.ts
;; chooses the offsets and lengths.
(module
  ;; 5 pages (320 KiB), fixed: a 64 KiB chunk and a 256 KiB table. Never
  ;; grown: growing detaches the old ArrayBuffer, and once any ArrayBuffer has
  ;; been detached V8 compiles every typed-array access in the process with
  ;; extra checks (measured: tf.batchNorm on the cpu backend 1.5-2x slower).
  (memory (export "memory") 5 5)

  ;; periodic(p, n, tab, period): the channel of an element repeats every
  ;; `period` elements (a multiple of 16), and the data at byte offset `p`
  ;; starts at position 0 of that pattern. `tab` (byte offset, 16-aligned)
  ;; holds, per pair of positions j, j+1: scale[j], scale[j+1], shift[j],
  ;; shift[j+1] (32 bytes). 16 elements (8 pairs) per step, so n is rounded up
  ;; to a multiple of 16: the caller leaves room for the padding and ignores it.
  ;; (16 per step measured ~1.3x faster than 4 per step.)
  (func (export "periodic")
        (param $p i32) (param $n i32) (param $tab i32) (param $period i32)
    (local $end i32) (local $t i32) (local $tabEnd i32)
    ;; end = p + 4 * ((n + 15) & ~15)
    (local.set $end
      (i32.add (local.get $p)
               (i32.shl (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16))
                        (i32.const 2))))
    (local.set $t (local.get $tab))
    ;; tabEnd = tab + 16 * period
    (local.set $tabEnd (i32.add (local.get $tab) (i32.shl (local.get $period) (i32.const 4))))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store64_lane offset=0 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $p)))
                         (v128.load offset=0 (local.get $t)))
              (v128.load offset=16 (local.get $t)))))
        (v128.store64_lane offset=8 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p)))
                         (v128.load offset=32 (local.get $t)))
              (v128.load offset=48 (local.get $t)))))
        (v128.store64_lane offset=16 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p)))
                         (v128.load offset=64 (local.get $t)))
              (v128.load offset=80 (local.get $t)))))
        (v128.store64_lane offset=24 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $p)))
                         (v128.load offset=96 (local.get $t)))
              (v128.load offset=112 (local.get $t)))))
        (v128.store64_lane offset=32 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $p)))
                         (v128.load offset=128 (local.get $t)))
              (v128.load offset=144 (local.get $t)))))
        (v128.store64_lane offset=40 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $p)))
                         (v128.load offset=160 (local.get $t)))
              (v128.load offset=176 (local.get $t)))))
        (v128.store64_lane offset=48 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $p)))
                         (v128.load offset=192 (local.get $t)))
              (v128.load offset=208 (local.get $t)))))
        (v128.store64_lane offset=56 0 (local.get $p)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $p)))
                         (v128.load offset=224 (local.get $t)))
              (v128.load offset=240 (local.get $t)))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (local.set $t (i32.add (local.get $t) (i32.const 256)))
        (if (i32.eq (local.get $t) (local.get $tabEnd))
          (then (local.set $t (local.get $tab))))
        (br $step))))

  ;; runs(p, n, inner, len, c, channels, tab): the n elements at byte offset p
  ;; are runs of `inner` elements of one channel each; the first run has `len`
  ;; elements (1..inner) and channel `c`, each next run the next channel,
  ;; wrapping at `channels`. `tab` (byte offset, 8-aligned) holds scale[c],
  ;; shift[c] as float64, 16 bytes per channel. Within a run: 4 elements per
  ;; step with the channel's scale and shift splatted, then the last
  ;; (len mod 4) one at a time.
  (func (export "runs")
        (param $p i32) (param $n i32) (param $inner i32) (param $len i32)
        (param $c i32) (param $channels i32) (param $tab i32)
    (local $end i32) (local $runEnd i32) (local $left i32) (local $entry i32)
    (local $sf f64) (local $tf f64) (local $s v128) (local $t v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $run
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        ;; runEnd = p + 4 * min(len, (end - p) / 4)
        (local.set $left (i32.shr_u (i32.sub (local.get $end) (local.get $p)) (i32.const 2)))
        (if (i32.gt_u (local.get $len) (local.get $left))
          (then (local.set $len (local.get $left))))
        (local.set $runEnd (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
        ;; this run's scale and shift, as scalars and splatted
        (local.set $entry (i32.add (local.get $tab) (i32.shl (local.get $c) (i32.const 4))))
        (local.set $sf (f64.load offset=0 (local.get $entry)))
        (local.set $tf (f64.load offset=8 (local.get $entry)))
        (local.set $s (f64x2.splat (local.get $sf)))
        (local.set $t (f64x2.splat (local.get $tf)))
        (block $quadsDone
          (loop $quad
            (br_if $quadsDone
              (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $runEnd)))
            (v128.store64_lane offset=0 0 (local.get $p)
              (f32x4.demote_f64x2_zero
                (f64x2.add
                  (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $p)))
                             (local.get $s))
                  (local.get $t))))
            (v128.store64_lane offset=8 0 (local.get $p)
              (f32x4.demote_f64x2_zero
                (f64x2.add
                  (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p)))
                             (local.get $s))
                  (local.get $t))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $quad)))
        (block $tailDone
          (loop $one
            (br_if $tailDone (i32.ge_u (local.get $p) (local.get $runEnd)))
            (f32.store (local.get $p)
              (f32.demote_f64
                (f64.add
                  (f64.mul (f64.promote_f32 (f32.load (local.get $p))) (local.get $sf))
                  (local.get $tf))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $one)))
        ;; the next run: the next channel, a full run
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (if (i32.eq (local.get $c) (local.get $channels))
          (then (local.set $c (i32.const 0))))
        (local.set $len (local.get $inner))
        (br $run)))))
